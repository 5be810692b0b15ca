import ArgumentParser
import Foundation
import MachineCore

/// Names given on the command line; none means "default".
struct MachineNames: ParsableArguments {
    @Argument(help: "Machine names (default: \"default\").") var names: [String] = []
    var resolved: [String] { names.isEmpty ? ["default"] : names }
}

struct Start: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start machines (concurrently), waiting until Docker answers.",
        discussion: "If a machine's IP changed, its server certificate is reissued and installed by itself.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var machines: MachineNames

    func run() async throws {
        let all = global.machines
        try await all.forEach(machines.resolved) { config in
            try await all.start(config)
            Terminal.status("Started \"\(config.name)\" at \(config.dockerURL).")
        }
    }
}

struct Stop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop machines cleanly (ACPI shutdown), then hard after --timeout.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var machines: MachineNames
    @Option(name: [.short, .long], help: "Seconds to wait for a clean shutdown.") var timeout = 90

    func run() async throws {
        let all = global.machines
        let timeout = self.timeout
        try await all.forEach(machines.resolved) { config in
            try await all.stop(config, timeout: .seconds(timeout))
            Terminal.status("Stopped \"\(config.name)\".")
        }
    }
}

struct Restart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Restart machines (stop, then start).")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var machines: MachineNames

    func run() async throws {
        let all = global.machines
        try await all.forEach(machines.resolved) { config in
            try await all.restart(config)
            Terminal.status("Restarted \"\(config.name)\".")
        }
    }
}

struct Kill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop machines at once, without a clean shutdown.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var machines: MachineNames

    func run() async throws {
        let all = global.machines
        try await all.forEach(machines.resolved) { config in
            try await all.kill(config)
            Terminal.status("Killed \"\(config.name)\".")
        }
    }
}

struct Rm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove machines: domain, disk, seed, address reservation and files.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var machines: MachineNames
    @Flag(name: .shortAndLong, help: "Remove even if parts are already gone or the machine is broken.") var force = false
    @Flag(name: .short, help: "Do not ask for confirmation.") var yes = false

    func run() async throws {
        let names = machines.resolved
        if !yes && !force {
            guard Terminal.standardInputIsTerminal else {
                throw BerthError(.invalidArgument, "rm needs confirmation: pass -y to remove without asking")
            }
            FileHandle.standardError.write(Data("Remove \(names.joined(separator: ", "))? (y/n): ".utf8))
            guard let answer = readLine(), answer.lowercased().hasPrefix("y") else {
                throw BerthError(.interrupted, "nothing removed")
            }
        }
        let all = global.machines
        var failures: [String] = []
        for name in names {
            do {
                try await all.remove(name, force: force)
                Terminal.status("Removed \"\(name)\".")
            } catch let error as BerthError {
                failures.append(error.message)
            }
        }
        if !failures.isEmpty { throw BerthError(.hypervisor, failures.joined(separator: "; ")) }
    }
}
