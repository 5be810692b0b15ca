import Foundation
import Testing
@testable import MachineCore

/// `berth env`'s output evaluated by the real shells: a store path full of shell syntax comes out
/// as the same text, and nothing in it runs.
@Suite("env output evaluated by real shells")
struct ShellEvalTests {
    /// How each shell evaluates a file of `berth env` output, as its usage hint says, then prints
    /// the variable.
    static let shells: [(ShellKind, String, [String])] = [
        (.bash, "/bin/bash", ["-c", "eval \"$(cat \"$1\")\"; printenv DOCKER_CERT_PATH", "bash"]),
        (.zsh, "/usr/bin/zsh", ["-c", "eval \"$(cat \"$1\")\"; printenv DOCKER_CERT_PATH", "zsh"]),
        (.fish, "/usr/bin/fish", ["-c", "eval (cat $argv[1]); printenv DOCKER_CERT_PATH"]),
        (.tcsh, "/usr/bin/tcsh", ["-f", "-c", "eval `cat $1`; printenv DOCKER_CERT_PATH"]),
    ]

    static let hostile = [
        "/home/o'brien/store \"quoted\"/machines/dev",
        "/tmp/$(touch MARKER)/`touch MARKER`/machines/dev",
        "/tmp/dollar $HOME and !bang and \\back\\slash/machines/dev",
        "/tmp/semi;colon & ampersand | pipe/machines/dev",
    ]

    @Test(arguments: [0, 1, 2, 3])
    func hostileStorePathsEvaluateToThemselves(_ index: Int) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("berth-eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let marker = folder.appendingPathComponent("MARKER")
        let path = Self.hostile[index].replacingOccurrences(of: "MARKER", with: marker.path)
        var ran = 0
        for (kind, program, arguments) in Self.shells where FileManager.default.isExecutableFile(atPath: program) {
            let environment = DockerEnvironment(machineName: "dev", dockerHost: "tcp://192.168.124.2:2376", certPath: path)
            let script = folder.appendingPathComponent("env-\(kind.rawValue)")
            // The closing hint would run `berth env` again; evaluate only what sets the variables.
            let lines = environment.render(for: kind).split(separator: "\n").filter { !$0.hasPrefix(kind.comment) }
            try (lines.joined(separator: "\n") + "\n").write(to: script, atomically: true, encoding: .utf8)
            let shell = Process()
            shell.executableURL = URL(fileURLWithPath: program)
            shell.arguments = arguments + [script.path]
            shell.currentDirectoryURL = folder
            let output = Pipe()
            shell.standardOutput = output
            shell.standardError = FileHandle.nullDevice
            try shell.run()
            let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            shell.waitUntilExit()
            #expect(printed == path + "\n", "\(kind): \(printed.debugDescription)")
            #expect(!FileManager.default.fileExists(atPath: marker.path), "\(kind) ran a command from the path")
            ran += 1
        }
        #expect(ran >= 1)
    }

    @Test func ordinaryValuesStayExactlyAsDockerMachinePrintedThem() {
        let environment = DockerEnvironment(machineName: "dev", dockerHost: "tcp://192.168.124.2:2376", certPath: "/root/.local/share/berth/machines/dev")
        #expect(environment.render(for: .bash).contains("export DOCKER_CERT_PATH=\"/root/.local/share/berth/machines/dev\"\n"))
        #expect(environment.render(for: .tcsh).contains("setenv DOCKER_CERT_PATH \"/root/.local/share/berth/machines/dev\";\n"))
        #expect(environment.render(for: .cmd).contains("SET DOCKER_CERT_PATH=/root/.local/share/berth/machines/dev\n"))
    }
}
