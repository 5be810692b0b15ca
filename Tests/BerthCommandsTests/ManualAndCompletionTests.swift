import ArgumentParser
import Foundation
import Testing
@testable import BerthCommands
@testable import MachineCore

@Suite("Man pages and shell completions")
struct ManualAndCompletionTests {
    /// The visible commands, as paths: ["ls"], ["image", "ls"], …
    static func commandPaths(_ command: any ParsableCommand.Type = Berth.self, prefix: [String] = []) -> [[String]] {
        command.configuration.subcommands.filter { $0.configuration.shouldDisplay }.flatMap { child -> [[String]] in
            let path = prefix + [child._commandName]
            return [path] + commandPaths(child, prefix: path)
        }
    }

    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The berth built beside this test bundle.
    static func berthBinary() throws -> URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("berth"),
            packageRoot.appendingPathComponent(".build/debug/berth"),
        ]
        return try #require(candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) },
                            "build berth first (swift build)")
    }

    static func run(_ executable: URL, _ arguments: [String], environment: [String: String] = [:]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("install-docs.sh writes a man page per command and bash, zsh and fish completions naming every command")
    func installDocs() throws {
        let prefix = try TemporaryStore()
        defer { prefix.remove() }
        let berth = try Self.berthBinary()
        let (status, output) = try Self.run(URL(fileURLWithPath: "/bin/bash"),
                                            [Self.packageRoot.appendingPathComponent("scripts/install-docs.sh").path, prefix.path],
                                            environment: ["BERTH": berth.path])
        #expect(status == 0, "\(output)")
        let man1 = prefix.root.appendingPathComponent("share/man/man1")
        let mainPage = try String(contentsOf: man1.appendingPathComponent("berth.1"), encoding: .utf8)
        #expect(mainPage.hasPrefix(".TH BERTH 1"))
        #expect(mainPage.contains(".SH COMMANDS"))
        let completions = try [
            "share/bash-completion/completions/berth", "share/zsh/site-functions/_berth", "share/fish/vendor_completions.d/berth.fish",
        ].map { try String(contentsOf: prefix.root.appendingPathComponent($0), encoding: .utf8) }
        let paths = Self.commandPaths()
        #expect(paths.contains(["use"]))
        #expect(paths.contains(["image", "rm"]))
        for path in paths {
            let title = (["berth"] + path).joined(separator: "-")
            let roffTitle = title.replacingOccurrences(of: "-", with: "\\-")
            let page = try String(contentsOf: man1.appendingPathComponent(title + ".1"), encoding: .utf8)
            #expect(page.contains(".SH NAME\n" + roffTitle + " \\- "), "\(path)")
            #expect(page.contains(".SH SYNOPSIS\n.B berth " + path.joined(separator: " ").replacingOccurrences(of: "-", with: "\\-")), "\(path)")
            #expect(mainPage.contains("\\fB" + roffTitle + "\\fR(1)"), "berth.1 names \(path)")
            for script in completions { #expect(script.contains(path.last!), "completion names \(path)") }
        }
        let lsPage = try String(contentsOf: man1.appendingPathComponent("berth-ls.1"), encoding: .utf8)
        #expect(lsPage.contains("\\fB\\-s\\fR, \\fB\\-\\-storage\\-path\\fR \\fIdir\\fR"))
        #expect(lsPage.contains("Go template"))
        #expect(!FileManager.default.fileExists(atPath: man1.appendingPathComponent("berth-generate-manual.1").path))
        // Each page is well-formed roff for man(1) when groff is here to check it.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/groff") {
            let (groffStatus, groffOutput) = try Self.run(URL(fileURLWithPath: "/usr/bin/groff"),
                                                          ["-man", "-Tutf8", "-ww", "-z", man1.appendingPathComponent("berth-ls.1").path])
            #expect(groffStatus == 0 && groffOutput.isEmpty, "\(groffOutput)")
        }
    }

    @Test("machine names complete from the store named on the command line")
    func machineCompletion() throws {
        let storage = try TemporaryStore()
        defer { storage.remove() }
        for name in ["dev", "devbox", "prod"] { try storage.store.save(Fixtures.config(name, ip: "192.168.122.10")) }
        #expect(StoreCompletion.store(for: ["berth", "-s", storage.path, "start"]).root.path == storage.path)
        #expect(StoreCompletion.store(for: ["berth", "ls", "--storage-path=/x"]).root.path == "/x")
        // The shell asks berth itself, the way the generated scripts do.
        let berth = try Self.berthBinary()
        let (_, script) = try Self.run(berth, ["--generate-completion-script", "bash"])
        #expect(script.contains("---completion"))
        let (status, output) = try Self.run(berth, ["---completion", "start", "--", "positional@0", "1", "3", "de",
                                                    "berth", "-s", storage.path, "start", "de"])
        #expect(status == 0, "\(output)")
        #expect(output.split(separator: "\n").map(String.init) == ["dev", "devbox"])
    }
}
