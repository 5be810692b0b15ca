import Foundation
import Testing
@testable import BerthCommands
@testable import MachineCore

@Suite("berth mount: arguments, sshfs's options, and what is missing")
struct MountTests {
    @Test("NAME:PATH, user@NAME:PATH, and a PATH alone on machine default")
    func sources() {
        #expect(MountArguments.source("dev:/srv/app") == .init(machine: "dev", user: nil, path: "/srv/app"))
        #expect(MountArguments.source("root@dev:/etc") == .init(machine: "dev", user: "root", path: "/etc"))
        #expect(MountArguments.source("/home/docker") == .init(machine: "default", user: nil, path: "/home/docker"))
        #expect(MountArguments.source("dev:") == .init(machine: "dev", user: nil, path: ""))
    }

    @Test("sshfs gets the machine's key and pinned host key as -o options, commas escaped, the mount point after --")
    func sshfsArguments() throws {
        let store = Store(root: URL(fileURLWithPath: "/var/lib/berth,x"))
        var config = Fixtures.config("dev", ip: "192.168.124.5", sshPort: 2222)
        config.ssh.knownHostsFile = "known_hosts"
        let ssh = try SSHCommand(config: config, store: store)
        let arguments = MountArguments.sshfs(MountArguments.source("dev:/srv"), mountPoint: "-odd", ssh: ssh)
        #expect(arguments.suffix(5) == ["-p", "2222", "--", "docker@192.168.124.5:/srv", "-odd"])
        #expect(arguments.contains(#"IdentityFile=/var/lib/berth\,x/machines/dev/id_ed25519"#))
        #expect(arguments.contains(#"UserKnownHostsFile=/var/lib/berth\,x/machines/dev/known_hosts"#))
        #expect(arguments.contains("StrictHostKeyChecking=yes"))
        #expect(arguments.contains("HostKeyAlias=berth-dev"))
        #expect(!arguments.contains("-i"), "sshfs has no -i: the key goes as IdentityFile")
        // Every option is a pair of -o and its value.
        let options = arguments.prefix(arguments.count - 5)
        #expect(stride(from: 0, to: options.count, by: 2).allSatisfy { options[options.startIndex + $0] == "-o" })
        let other = MountArguments.sshfs(MountArguments.source("root@dev:/"), mountPoint: "/mnt", ssh: ssh)
        #expect(other.contains("root@192.168.124.5:/"))
    }

    @Test("unmount: fusermount3, else fusermount, else umount for root")
    func unmount() {
        #expect(MountArguments.unmountCommand("/mnt", isRoot: false) { _ in "/usr/bin/x" }! == ("fusermount3", ["-u", "--", "/mnt"]))
        #expect(MountArguments.unmountCommand("/mnt", isRoot: false) { $0 == "fusermount" ? "/bin/fusermount" : nil }!.0 == "fusermount")
        #expect(MountArguments.unmountCommand("/mnt", isRoot: true) { $0 == "umount" ? "/bin/umount" : nil }! == ("umount", ["--", "/mnt"]))
        #expect(MountArguments.unmountCommand("/mnt", isRoot: false) { $0 == "umount" ? "/bin/umount" : nil } == nil)
    }

    /// sshfs mounts, then leaves a daemon (and an ssh) holding whatever output it inherited; berth
    /// must return as soon as sshfs itself exits, and must not hand its own output to them.
    @Test("berth waits for sshfs, not for the daemon it leaves behind; a failure's message is kept")
    func daemonLeftBehind() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-fake-sshfs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let daemonizing = directory.appendingPathComponent("sshfs-ok")
        try "#!/bin/sh\necho mounting >&2\nsleep 30 &\nexit 0\n".write(to: daemonizing, atomically: true, encoding: .utf8)
        let failing = directory.appendingPathComponent("sshfs-fails")
        try "#!/bin/sh\necho 'read: Connection reset by peer' >&2\nexit 1\n".write(to: failing, atomically: true, encoding: .utf8)
        chmod(daemonizing.path, 0o755)
        chmod(failing.path, 0o755)

        let started = ContinuousClock.now
        let ok = try await SSHFSRun.mount(["a", "b"], program: daemonizing.path)
        #expect(ContinuousClock.now - started < .seconds(10), "returned while the daemon still runs")
        #expect(ok.status == 0)
        #expect(ok.errors == "mounting")
        let failed = try await SSHFSRun.mount([], program: failing.path)
        #expect(failed.status == 1)
        #expect(failed.errors == "read: Connection reset by peer")
    }

    @Test("without sshfs or fusermount, one line that says how to install them; a mount point that is not a folder is refused")
    func missingPrograms() async throws {
        let store = try TemporaryStore()
        defer { store.remove() }
        let noPath = ["PATH": "/nonexistent"]
        let mount = try await BerthBinary.run(["mount", "dev:/srv", "/tmp"], store: store, environment: noPath)
        #expect(mount.status == 1)
        #expect(mount.error == "berth: You must have a copy of the sshfs binary locally to use the mount feature; install it with `sudo apt-get install sshfs`\n")
        let unmount = try await BerthBinary.run(["mount", "-u", "dev:/srv", "/tmp/none"], store: store, environment: noPath)
        #expect(unmount.status == 1)
        #expect(unmount.error.contains("fusermount"))
        if HelperProgram.which("sshfs") != nil {
            let notFolder = try await BerthBinary.run(["mount", "dev:/srv", "/etc/hostname"], store: store)
            #expect(notFolder.error.contains("the mount point /etc/hostname is not a folder"))
        }
        #expect(ArgumentValidationTests.failure(["mount", "dev:"]) != nil, "no path and no mount point")
        #expect(ArgumentValidationTests.failure(["mount", "dev:", "/mnt"]) == nil)
    }
}
