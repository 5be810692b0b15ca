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

    static var environment: [String: String] { environment(store: storePath) }

    /// The docker CLI's folder for the tests (contexts berth writes; no credentials).
    static let dockerConfig = FileManager.default.temporaryDirectory.appendingPathComponent("berth-it-docker-config").path

    static func environment(store: String, extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["BERTH_STORAGE_PATH"] = store
        // create writes berth-NAME contexts: into a folder of the tests' own, never the host's ~/.docker.
        environment["DOCKER_CONFIG"] = dockerConfig
        environment.removeValue(forKey: "DOCKER_HOST")
        environment["NO_COLOR"] = "1"
        environment.merge(extra) { _, new in new }
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
    static func berth(_ arguments: [String], expectSuccess: Bool = true, store: String = storePath,
                      extraEnvironment: [String: String] = [:], timeout: Duration? = nil,
                      sourceLocation: SourceLocation = #_sourceLocation) async throws -> Result {
        let output = try await HelperProgram.capture(berthBinary, arguments,
                                                  environment: environment(store: store, extra: extraEnvironment), timeout: timeout)
        let result = Result(status: output.status, output: output.standardOutput, error: output.standardError)
        if expectSuccess {
            #expect(result.status == 0, "berth \(arguments.joined(separator: " ")) failed:\n\(result.error)\(consoleTail(named: result.error))",
                    sourceLocation: sourceLocation)
        }
        return result
    }

    /// The end of the console log a failed berth command names, so that a test run's output shows
    /// what the guest was doing when berth gave up on it.
    static func consoleTail(named error: String, lines: Int = 60) -> String {
        guard let range = error.range(of: #"console log at (\S+\.log)"#, options: .regularExpression) else { return "" }
        let path = String(error[range].dropFirst("console log at ".count))
        guard let data = FileManager.default.contents(atPath: path) else { return "" }
        let tail = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).suffix(lines)
        return "\n--- the last \(tail.count) lines of \(path):\n" + tail.joined(separator: "\n")
    }

    /// The variables `berth env NAME` prints, parsed from its bash output.
    static func dockerEnvironment(for machine: String, store: String = storePath) async throws -> [String: String] {
        let env = try await berth(["env", "--shell", "bash", machine], store: store)
        var variables = environment(store: store)
        for line in env.output.split(separator: "\n") where line.hasPrefix("export ") {
            let assignment = line.dropFirst("export ".count)
            guard let equals = assignment.firstIndex(of: "=") else { continue }
            variables[String(assignment[..<equals])] = String(assignment[assignment.index(after: equals)...])
                .trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return variables
    }

    /// Runs the host's docker client against a machine.
    static func docker(_ arguments: [String], machine: String, store: String = storePath, input: Data? = nil) async throws -> Result {
        let docker = try #require(HelperProgram.which("docker"), "the docker client (docker.io) on the host")
        let output = try await HelperProgram.capture(docker, arguments, input: input,
                                                  environment: try await dockerEnvironment(for: machine, store: store),
                                                  timeout: .seconds(600))
        return Result(status: output.status, output: output.standardOutput, error: output.standardError)
    }

    /// A tiny image built offline: a static busybox (Debian's busybox-static) in a tarball, with
    /// the given applets and files.
    static func busyboxTarball(applets: [String] = ["sh", "cat", "echo"], files: [String: String] = [:]) throws -> Data {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("berth-busybox-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("bin"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: root.appendingPathComponent("bin/busybox").path)
        for applet in applets {
            try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("bin/\(applet)").path,
                                                       withDestinationPath: "busybox")
        }
        for (path, content) in files {
            let file = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try content.write(to: file, atomically: true, encoding: .utf8)
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
        try await virsh(arguments)
    }

    static func virsh(_ arguments: [String]) async throws -> String {
        let virsh = try #require(HelperProgram.which("virsh"))
        return try await HelperProgram.capture(virsh, ["-c", "qemu:///system"] + arguments, timeout: .seconds(60)).standardOutput
    }

    /// Everything berth could have left of a machine: its domain, its volumes (under either naming
    /// scheme), a reservation carrying its name on any network, its folder in `store`.
    static func leftovers(of machine: String, store: String = CLI.storePath) async throws -> [String] {
        var found: [String] = []
        if try await virsh("list", "--all", "--name").split(separator: "\n").contains(where: { $0 == machine }) {
            found.append("domain \(machine)")
        }
        let volumes = try await virsh("vol-list", "berth").split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
        for volume in volumes where [
            "machine-\(machine).qcow2", "machine-\(machine)-seed.iso", "\(machine).qcow2", "\(machine)-seed.iso",
        ].contains(volume) {
            found.append("volume \(volume)")
        }
        for network in try await virsh("net-list", "--all", "--name").split(separator: "\n").map(String.init) where !network.isEmpty {
            if try await virsh("net-dumpxml", network).contains("name=\"\(machine)\"") { found.append("reservation on \(network)") }
        }
        if FileManager.default.fileExists(atPath: "\(store)/machines/\(machine)") { found.append("machine folder") }
        return found
    }
}

/// A berth process the test controls: started in the background, stopped at a fault-injection
/// point (`BERTH_STOP_AT_STAGE`), sent real signals. Spawned and waited for with the C library
/// directly: what a berth leaves running (a libvirt SSH transport, a forwarder) must not keep the
/// test from seeing it end.
final class BackgroundBerth: @unchecked Sendable {
    let pid: pid_t
    private let errors: URL
    private var exitStatus: Int32?

    init(_ arguments: [String], store: String = CLI.storePath, stopAt stage: String? = nil) throws {
        errors = FileManager.default.temporaryDirectory.appendingPathComponent("berth-background-\(UUID().uuidString).err")
        let environment = CLI.environment(store: store, extra: stage.map { ["BERTH_STOP_AT_STAGE": $0] } ?? [:])
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, errors.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv: [UnsafeMutablePointer<CChar>?] = ([CLI.berthBinary] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, CLI.berthBinary, &actions, &attributes, argv, envp)
        guard result == 0 else { throw CocoaError(.executableLoad) }
        pid = child
    }

    /// Whether the process has not ended yet (reaping it when it has).
    var isRunning: Bool {
        guard exitStatus == nil else { return false }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return true }
        let signal = status & 0x7f
        exitStatus = signal == 0 ? (status >> 8) & 0xff : 128 + signal
        return false
    }

    /// Waits until the process stopped itself at its fault-injection point (state T in /proc).
    func waitUntilStopped(timeout: Duration = .seconds(120)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard isRunning else { return false }
            if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
               let close = stat.lastIndex(of: ")"), stat[stat.index(close, offsetBy: 2)] == "T" {
                return true
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    func signal(_ number: Int32) { kill(pid, number) }

    /// Waits for the process to end; returns its exit status (128+N for a signal) and what it printed on standard error.
    func wait(timeout: Duration = .seconds(900)) async throws -> (status: Int32, error: String) {
        let deadline = ContinuousClock.now + timeout
        while isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        if isRunning {
            kill(pid, SIGKILL)
            while isRunning { try await Task.sleep(for: .milliseconds(50)) }
        }
        let error = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: errors)
        return (exitStatus ?? -1, error)
    }
}
