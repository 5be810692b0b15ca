import ArgumentParser
import Foundation
import MachineCore

struct Scp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy files between the host and machines with scp.",
        discussion: """
            Write a machine's side as NAME:PATH; a path without "NAME:" is on the host (write ./a:b for a local file whose name has a colon).
              berth scp ./app.tar dev:/tmp/
              berth scp -r dev:/var/log/ ./logs
            Copies between two machines go through the host.
            """)

    @OptionGroup var global: GlobalOptions
    @Flag(name: [.short, .long], help: "Copy folders recursively.") var recursive = false
    @Flag(name: [.short, .long], help: "No progress meter, warnings or diagnostics from scp.") var quiet = false
    @Argument(help: "Sources, then the destination: local paths or NAME:PATH.") var paths: [String] = []

    func validate() throws {
        guard paths.count >= 2 else { throw ValidationError("scp needs at least one source and a destination") }
        guard paths.contains(where: { ScpArguments.location($0).machine != nil }) else {
            throw ValidationError("scp needs a machine on one side: write it as NAME:PATH")
        }
    }

    func run() async throws {
        let machines = global.machines
        var access: [String: SSHCommand] = [:]
        for name in Set(paths.compactMap { ScpArguments.location($0).machine }).sorted() {
            access[name] = try SSHCommand(config: try await machines.runningConfig(name), store: global.store)
        }
        let arguments = try ScpArguments.translate(paths, recursive: recursive, quiet: quiet) { name in
            guard let ssh = access[name] else { throw BerthError(.machineNotFound, DockerMachineWording.doesNotExist(name)) }
            return ssh
        }
        try ProgramReplacement.exec("scp", arguments)
    }
}

/// Turns `berth scp` operands into `scp` arguments: NAME:PATH becomes USER@IP:PATH, with each
/// machine's key and berth's SSH options.
enum ScpArguments {
    struct Location: Equatable {
        /// The machine, or nil for a path on the host.
        var machine: String?
        var path: String
    }

    /// `dev:/tmp/x` is on machine dev; `/tmp/x`, `./a:b` and `:x` are on the host.
    static func location(_ operand: String) -> Location {
        guard let colon = operand.firstIndex(of: ":") else { return Location(machine: nil, path: operand) }
        let name = operand[..<colon]
        guard !name.isEmpty, !name.contains("/") else { return Location(machine: nil, path: operand) }
        return Location(machine: String(name), path: String(operand[operand.index(after: colon)...]))
    }

    static func translate(_ operands: [String], recursive: Bool, quiet: Bool = false,
                          access: (String) throws -> SSHCommand) throws -> [String] {
        var options: [String] = []
        var keys: [String] = []
        var port: Int?
        var translated: [String] = []
        for operand in operands {
            let location = location(operand)
            guard let name = location.machine else {
                translated.append(location.path)
                continue
            }
            let ssh = try access(name)
            if options.isEmpty {
                options = ssh.commonOptions
                keys.append(ssh.keyPath)
                port = ssh.config.ssh.port
            } else if !keys.contains(ssh.keyPath) {
                options += ["-i", ssh.keyPath]
                keys.append(ssh.keyPath)
            }
            translated.append("\(ssh.destination):\(location.path)")
        }
        if let port { options += ["-P", String(port)] }
        if recursive { options.append("-r") }
        if quiet { options.append("-q") }
        if keys.count > 1 { options.append("-3") }
        return options + ["--"] + translated
    }
}
