import Foundation
import MachineCore
import Testing

/// Runs the real `berth` binary and the host's real `docker` client, as a user would.
enum CLI {
    /// A store outside the clone that keeps built images between runs (each is verified by
    /// checksum before reuse); machines made by the tests are always removed again.
    static let storePath = ProcessInfo.processInfo.environment["BERTH_TEST_STORE"] ?? "/var/tmp/berth-test-store"

    /// The berth binary `swift build` made (or `$BERTH_BINARY`).
    static var berthBinary: String {
        if let binary = ProcessInfo.processInfo.environment["BERTH_BINARY"] { return binary }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return packageRoot.appendingPathComponent(".build/debug/berth").path
    }

    static var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["BERTH_STORAGE_PATH"] = storePath
        environment.removeValue(forKey: "DOCKER_HOST")
        environment["NO_COLOR"] = "1"
        return environment
    }

    struct Result {
        let status: Int32
        let output: String
        let error: String
    }

    @discardableResult
    static func berth(_ arguments: String..., expectSuccess: Bool = true,
                      sourceLocation: SourceLocation = #_sourceLocation) async throws -> Result {
        try await berth(arguments, expectSuccess: expectSuccess, sourceLocation: sourceLocation)
    }

    @discardableResult
    static func berth(_ arguments: [String], expectSuccess: Bool = true,
                      sourceLocation: SourceLocation = #_sourceLocation) async throws -> Result {
        let output = try await Subprocess.capture(berthBinary, arguments, environment: environment)
        let result = Result(status: output.status, output: output.standardOutput, error: output.standardError)
        if expectSuccess {
            #expect(result.status == 0, "berth \(arguments.joined(separator: " ")) failed:\n\(result.error)",
                    sourceLocation: sourceLocation)
        }
        return result
    }

    /// The variables `berth env NAME` prints, parsed from its bash output.
    static func dockerEnvironment(for machine: String) async throws -> [String: String] {
        let env = try await berth("env", "--shell", "bash", machine)
        var variables = environment
        for line in env.output.split(separator: "\n") where line.hasPrefix("export ") {
            let assignment = line.dropFirst("export ".count)
            guard let equals = assignment.firstIndex(of: "=") else { continue }
            variables[String(assignment[..<equals])] = String(assignment[assignment.index(after: equals)...])
                .trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return variables
    }

    /// Runs the host's docker client against a machine.
    static func docker(_ arguments: [String], machine: String, input: Data? = nil) async throws -> Result {
        let docker = try #require(Subprocess.which("docker"), "the docker client (docker.io) on the host")
        let output = try await Subprocess.capture(docker, arguments, input: input,
                                                  environment: try await dockerEnvironment(for: machine))
        return Result(status: output.status, output: output.standardOutput, error: output.standardError)
    }

    /// A tiny image built offline: a static busybox (Debian's busybox-static) in a tarball.
    static func busyboxTarball() throws -> Data {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("berth-busybox-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("bin"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: root.appendingPathComponent("bin/busybox").path)
        for applet in ["sh", "cat", "echo"] {
            try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("bin/\(applet)").path,
                                                       withDestinationPath: "busybox")
        }
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-C", root.path, "-c", "."]
        let pipe = Pipe()
        tar.standardOutput = pipe
        try tar.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        tar.waitUntilExit()
        return data
    }
}

/// What libvirt holds for a machine, read with virsh as an outside witness.
enum Witness {
    static func virsh(_ arguments: String...) async throws -> String {
        let virsh = try #require(Subprocess.which("virsh"))
        return try await Subprocess.capture(virsh, ["-c", "qemu:///system"] + arguments).standardOutput
    }

    static func leftovers(of machine: String) async throws -> [String] {
        var found: [String] = []
        if try await virsh("list", "--all", "--name").split(separator: "\n").contains(where: { $0 == machine }) {
            found.append("domain \(machine)")
        }
        let volumes = try await virsh("vol-list", "berth")
        if volumes.contains("\(machine).qcow2") { found.append("disk volume") }
        if volumes.contains("\(machine)-seed.iso") { found.append("seed volume") }
        if try await virsh("net-dumpxml", "berth").contains("name=\"\(machine)\"") { found.append("DHCP reservation") }
        if FileManager.default.fileExists(atPath: "\(CLI.storePath)/machines/\(machine)") { found.append("machine folder") }
        return found
    }
}
