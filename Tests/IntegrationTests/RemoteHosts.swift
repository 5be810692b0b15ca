import Foundation
import MachineCore
import Testing

extension RealMachines {
    /// A hypervisor host reached through SSH: here the same host, through an sshd the test starts on
    /// a free port of 127.0.0.1 with a key made for it, so every call goes the remote way (libvirt's
    /// SSH transport, the storage API, tunnels) even though the machine runs next door.
    @Suite(.serialized) struct RemoteHosts {
        @Test func aMachineOnAHostReachedThroughSSH() async throws {
            _ = try await TestImages.ensure(.docker)
            let sshd = try await TestSSHServer.start()
            defer { sshd.stop() }
            let uri = "qemu+ssh://root@127.0.0.1:\(sshd.port)/system?keyfile=\(sshd.clientKey)&no_verify=1"
            let name = "berth-it-remote"
            try await CLI.berth("rm", "-f", name, expectSuccess: false)

            let created = try await CLI.berth(["create", "--memory", "768", "--libvirt-uri", uri, name])
            #expect(!created.error.contains("waiting for SSH"), "a remote machine is reached through its Docker tunnel")
            let listing = try await CLI.berth("ls", "--format", "json", "--filter", "name=\(name)")
            let rows = try JSONDecoder().decode([MachineListing].self, from: Data(listing.output.utf8))
            #expect(rows.map(\.state) == [.running])
            let environment = try await CLI.dockerEnvironment(for: name)
            #expect(environment["DOCKER_HOST"]?.hasPrefix("tcp://127.0.0.1:") == true, "\(environment["DOCKER_HOST"] ?? "")")
            let info = try await CLI.docker(["info", "--format", "{{.Name}}"], machine: name)
            #expect(info.output.trimmingCharacters(in: .whitespacesAndNewlines) == name, "\(info.error)")
            let ssh = try await CLI.berth(["ssh", name, "--", "hostname"])
            #expect(ssh.output.trimmingCharacters(in: .whitespacesAndNewlines) == name, "ssh hops through the host: \(ssh.error)")
            let hosts = try await CLI.berth("hosts").output
            #expect(hosts.contains(uri), "\(hosts)")

            // A second store on the same host finds the image's volumes there and uploads nothing new.
            let image = try #require(TestImages.cache.entry(named: ImageCache.defaultImageName))
            let volume = "/var/lib/libvirt/images/berth/image-\(image.name)-\(image.contentTag).qcow2"
            let before = try FileManager.default.attributesOfItem(atPath: volume)[.modificationDate] as? Date
            let other = "/var/tmp/berth-remote-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: "\(other)/images", withDestinationPath: "\(CLI.storePath)/images")
            defer { try? FileManager.default.removeItem(atPath: other) }
            let second = try BackgroundBerth(["create", "--memory", "512", "--libvirt-uri", uri, "berth-it-remote2"], store: other,
                                             stopAt: "network")
            #expect(try await second.waitUntilStopped())
            second.signal(SIGINT)
            second.signal(SIGCONT)
            _ = try await second.wait()
            let after = try FileManager.default.attributesOfItem(atPath: volume)[.modificationDate] as? Date
            #expect(before != nil && before == after, "the image volume was not uploaded again")
            #expect(try await Witness.leftovers(of: "berth-it-remote2", store: other) == [])

            try await CLI.berth("stop", name)
            #expect(try await CLI.berth("status", name).output.contains("Stopped"))
            try await CLI.berth("start", name)
            let again = try await CLI.docker(["info", "--format", "{{.Name}}"], machine: name)
            #expect(again.output.trimmingCharacters(in: .whitespacesAndNewlines) == name, "\(again.error)")
            try await CLI.berth("rm", "-y", name)
            #expect(try await Witness.leftovers(of: name) == [])
            let console = "/var/lib/libvirt/images/berth/machine-\(name)-console.log"
            #expect(!FileManager.default.fileExists(atPath: console), "the remote console log went with the machine")
        }
    }
}

/// An sshd on a free port of 127.0.0.1 that lets root in with one key made for the test.
struct TestSSHServer {
    let folder: URL
    let port: Int
    let process: Process
    var clientKey: String { folder.appendingPathComponent("client").path }

    static func start() async throws -> TestSSHServer {
        let sshd = try #require(["/usr/sbin/sshd", "/sbin/sshd"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                "sshd (openssh-server) for the remote-host test")
        let folder = URL(fileURLWithPath: "/var/tmp/berth-sshd-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (key, type) in [("host", "ed25519"), ("client", "ed25519")] {
            _ = try await HelperProgram.capture("/usr/bin/ssh-keygen", ["-q", "-t", type, "-N", "", "-f", folder.appendingPathComponent(key).path])
        }
        try FileManager.default.copyItem(at: folder.appendingPathComponent("client.pub"), to: folder.appendingPathComponent("authorized_keys"))
        let listener = try Loopback.listen()
        close(listener.socket)
        let config = """
            Port \(listener.port)
            ListenAddress 127.0.0.1
            HostKey \(folder.appendingPathComponent("host").path)
            AuthorizedKeysFile \(folder.appendingPathComponent("authorized_keys").path)
            PermitRootLogin prohibit-password
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            StrictModes no
            UsePAM no
            PidFile \(folder.appendingPathComponent("sshd.pid").path)
            """
        try config.write(to: folder.appendingPathComponent("sshd_config"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: sshd)
        process.arguments = ["-D", "-e", "-f", folder.appendingPathComponent("sshd_config").path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<100 {
            if try !Loopback.canListen(port: listener.port) { break }  // sshd listens
            try await Task.sleep(for: .milliseconds(100))
        }
        return TestSSHServer(folder: folder, port: listener.port, process: process)
    }

    func stop() {
        process.terminate()
        try? FileManager.default.removeItem(at: folder)
    }
}
