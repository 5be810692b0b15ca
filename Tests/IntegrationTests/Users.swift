import Foundation
@testable import MachineCore
import Testing

extension RealMachines {
    /// berth as people run it: as themselves, not root. Users made for the test and removed after.
    @Suite(.serialized) struct Users {
        /// A user in the libvirt group uses qemu:///system; a user without it gets a clear refusal
        /// there and a working machine on qemu:///session. Both create, use and remove a machine.
        @Test func ordinaryUsersCreateUseAndRemoveMachines() async throws {
            _ = try await TestImages.ensure(.docker)
            try SystemImage.ensure()
            let berth = try InstalledBerth.path()
            let member = try await TestUser.make("berth-it-member", groups: ["libvirt"], berth: berth)
            let outsider = try await TestUser.make("berth-it-outside", groups: [], berth: berth)
            defer {
                member.remove()
                outsider.remove()
            }

            // Without berth's image anywhere, a user is told the one command to run as root.
            let unbuilt = try await member.berth(["create", "--memory", "512", "berth-it-unbuilt"],
                                                 environment: ["BERTH_SYSTEM_IMAGES": "/nonexistent"])
            #expect(unbuilt.status != 0)
            #expect(unbuilt.error.contains("sudo berth image build --system"), "\(unbuilt.error)")
            #expect(try await Witness.leftovers(of: "berth-it-unbuilt", store: member.store) == [])

            // A member of the libvirt group, on qemu:///system.
            let onSystem = "berth-it-member-m"
            let created = try await member.berth(["create", "--memory", "512", onSystem])
            #expect(created.status == 0, "\(created.error)")
            let info = try await member.docker(["info", "--format", "{{.Name}}"], machine: onSystem)
            #expect(info.output.trimmingCharacters(in: .whitespacesAndNewlines) == onSystem, "\(info.error)")
            let privileged = try await member.berth(["port", "add", onSystem, "80:80"])
            #expect(privileged.status != 0 && privileged.error.contains("needs root"), "\(privileged.error)")
            #expect(try await member.berth(["rm", "-y", onSystem]).status == 0)
            #expect(try await Witness.leftovers(of: onSystem, store: member.store) == [])

            // Outside the group, qemu:///system says why, in one line.
            let refused = try await outsider.berth(["create", "--memory", "512", "berth-it-refused"])
            #expect(refused.status != 0)
            #expect(refused.error.contains("libvirt group"), "\(refused.error)")
            #expect(refused.error.split(separator: "\n").count == 1, "\(refused.error)")

            // And has qemu:///session, with Docker on a port of 127.0.0.1.
            let onSession = "berth-it-session"
            let session = ["--libvirt-uri", "qemu:///session"]
            let made = try await outsider.berth(["create", "--memory", "512"] + session + [onSession])
            #expect(made.status == 0, "\(made.error)")
            let url = try await outsider.berth(["url", onSession]).output
            #expect(url.hasPrefix("tcp://127.0.0.1:"), "\(url)")
            let sessionInfo = try await outsider.docker(["info", "--format", "{{.Name}}"], machine: onSession)
            #expect(sessionInfo.output.trimmingCharacters(in: .whitespacesAndNewlines) == onSession, "\(sessionInfo.error)")
            #expect(try await outsider.berth(["ls"]).output.contains("Running"))
            let hostname = try await outsider.berth(["ssh", onSession, "--", "hostname"])
            #expect(hostname.output.trimmingCharacters(in: .whitespacesAndNewlines) == onSession, "\(hostname.error)")
            #expect(try await outsider.berth(["rm", "-y", onSession]).status == 0)
            let domains = try await outsider.run("/usr/bin/virsh", ["-c", "qemu:///session", "list", "--all", "--name"])
            #expect(!domains.output.contains(onSession))
            #expect(!FileManager.default.fileExists(atPath: "\(outsider.store)/machines/\(onSession)"))
        }
    }
}

/// berth's image in the host's system cache, where users who are not root find it. The test store's
/// build stands in for the administrator's `sudo berth image build --system`.
enum SystemImage {
    static func ensure() throws {
        let cache = ImageCache.system
        let built = TestImages.cache.entry(named: ImageCache.defaultImageName)
        if let image = cache.entry(named: ImageCache.defaultImageName), cache.verify(image), image.disk.sha256 == built?.disk.sha256 {
            return
        }
        let source = URL(fileURLWithPath: "\(CLI.storePath)/images/\(ImageCache.defaultImageName)")
        let destination = cache.directory.appendingPathComponent(ImageCache.defaultImageName)
        try FileManager.default.createDirectory(at: cache.directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        try? FileManager.default.removeItem(at: destination)
        try FileManager.default.copyItem(at: source, to: destination)
        ImageCache.makeReadableByAll(destination)
        chmod(cache.directory.path, 0o755)
        chmod(cache.directory.deletingLastPathComponent().path, 0o755)
    }
}

/// The berth under test, where every user can run it (the clone may sit in root's home).
enum InstalledBerth {
    static func path() throws -> String {
        let built = URL(fileURLWithPath: CLI.berthBinary)
        let folder = URL(fileURLWithPath: "/var/tmp/berth-it-bin")
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for item in try FileManager.default.contentsOfDirectory(atPath: built.deletingLastPathComponent().path)
        where item == "berth" || item.hasSuffix(".resources") {
            try FileManager.default.copyItem(at: built.deletingLastPathComponent().appendingPathComponent(item),
                                             to: folder.appendingPathComponent(item))
        }
        try HelperProgram.chmodTree(folder)
        return folder.appendingPathComponent("berth").path
    }
}

extension HelperProgram {
    /// Makes a folder tree readable and runnable by everyone (test set-up only).
    static func chmodTree(_ folder: URL) throws {
        chmod(folder.path, 0o755)
        let walker = FileManager.default.enumerator(atPath: folder.path)
        while let item = walker?.nextObject() as? String {
            let path = folder.appendingPathComponent(item).path
            var info = stat()
            stat(path, &info)
            chmod(path, (info.st_mode & S_IFMT) == S_IFDIR || (info.st_mode & 0o100) != 0 ? 0o755 : 0o644)
        }
    }
}

/// A user made for a test, who runs berth and docker as themselves.
struct TestUser {
    let name: String
    let home: String
    let berthPath: String
    var store: String { "\(home)/.local/share/berth" }

    static func make(_ name: String, groups: [String], berth: String) async throws -> TestUser {
        let user = TestUser(name: name, home: "/home/\(name)", berthPath: berth)
        user.remove()
        var arguments = ["-m", "-s", "/bin/sh"]
        if !groups.isEmpty { arguments += ["-G", groups.joined(separator: ",")] }
        let made = try await HelperProgram.capture("/usr/sbin/useradd", arguments + [name])
        try #require(made.status == 0, "useradd \(name): \(made.standardError)")
        return user
    }

    /// Runs a program as this user, with a plain login-like environment.
    func run(_ program: String, _ arguments: [String], environment extra: [String: String] = [:],
             input: Data? = nil) async throws -> CLI.Result {
        var environment = ["HOME": home, "USER": name, "LOGNAME": name, "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
                           "NO_COLOR": "1"]
        environment.merge(extra) { _, new in new }
        let assignments = environment.map { "\($0.key)=\($0.value)" }
        let output = try await HelperProgram.capture("/usr/sbin/runuser", ["-u", name, "--", "/usr/bin/env", "-i"] + assignments
                                                     + [program] + arguments, input: input, timeout: .seconds(1500))
        return CLI.Result(status: output.status, output: output.standardOutput, error: output.standardError)
    }

    func berth(_ arguments: [String], environment: [String: String] = [:]) async throws -> CLI.Result {
        try await run(berthPath, arguments, environment: environment)
    }

    /// The host's docker client, pointed at a machine by `berth env`, as this user.
    func docker(_ arguments: [String], machine: String) async throws -> CLI.Result {
        let env = try await berth(["env", "--shell", "bash", machine])
        var variables: [String: String] = [:]
        for line in env.output.split(separator: "\n") where line.hasPrefix("export ") {
            let assignment = line.dropFirst("export ".count)
            guard let equals = assignment.firstIndex(of: "=") else { continue }
            variables[String(assignment[..<equals])] = String(assignment[assignment.index(after: equals)...])
                .trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return try await run(try #require(HelperProgram.which("docker")), arguments, environment: variables)
    }

    /// Ends the user's processes (its session libvirt daemon, say) and removes the user and home.
    func remove() {
        Loopback.run("/usr/bin/pkill", ["-KILL", "-u", name])
        Loopback.run("/usr/sbin/userdel", ["-r", "-f", name])
    }
}
