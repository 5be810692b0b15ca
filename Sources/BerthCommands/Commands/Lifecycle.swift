import ArgumentParser
import Foundation
import MachineCore

/// Names given on the command line; none means "default".
struct MachineNames: ParsableArguments {
    @Argument(help: "Machine names; none means \"default\".", completion: StoreCompletion.machines) var names: [String] = []
    var resolved: [String] { names.isEmpty ? ["default"] : names }

    /// Runs `action` on every named machine at once (each under its lock), then prints
    /// `<done> "NAME".` for each that succeeded; all failures are reported together.
    func each(in global: GlobalOptions, done: String,
              _ action: @escaping @Sendable (Machines, MachineConfig) async throws -> Void) async throws {
        let all = global.machines
        try await all.forEach(resolved) { config in
            try await action(all, config)
            Terminal.status("\(done) \"\(config.name)\".")
        }
    }
}

struct Start: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start machines (concurrently), waiting until Docker answers.",
        discussion: "If a machine's IP changed, its server certificate is reissued and installed by itself.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var machines: MachineNames
    @Flag(help: "Print berth's phases and the guest's boot phases on one time line; `inspect` keeps them.")
    var timings = false

    func run() async throws {
        let timings = self.timings
        try await machines.each(in: global, done: "Started") { machines, config in
            let forwards = try await machines.start(config, guestTimings: timings)
            if timings, let recorded = try? machines.config(config.name).timings { Terminal.status("\(config.name): \(recorded.rendered())") }
            for entry in forwards?.entries ?? [] where !entry.listening {
                Terminal.warning("\(config.name): \(entry.error ?? "cannot forward \(entry.rule)")")
            }
        }
    }
}

struct Stop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop machines cleanly (ACPI shutdown), then hard after --timeout.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var machines: MachineNames
    @Option(name: [.short, .long], help: "Seconds to wait for a clean shutdown.") var timeout = 90

    func validate() throws {
        guard (1...86_400).contains(timeout) else { throw ValidationError("--timeout must be between 1 and 86400 seconds, not \(timeout)") }
    }

    func run() async throws {
        let timeout = Duration.seconds(self.timeout)
        try await machines.each(in: global, done: "Stopped") { try await $0.stop($1, timeout: timeout) }
    }
}

struct Restart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Restart machines (stop, then start).")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var machines: MachineNames

    func run() async throws {
        try await machines.each(in: global, done: "Restarted") { try await $0.restart($1) }
    }
}

struct Kill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop machines at once, without a clean shutdown.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var machines: MachineNames

    func run() async throws {
        try await machines.each(in: global, done: "Killed") { try await $0.kill($1) }
    }
}

struct Rm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove machines: domain, disk, seed, address reservation and files.",
        discussion: """
            Asks first, reading the answer from standard input even when it is not a terminal (echo y | berth rm dev); \
            -y or -f skip the question. Unlike other commands, rm never means "default" by itself: name the machines. \
            The machine's Docker context (berth-NAME) goes too. A swarm node is drained, leaves its swarm and is \
            taken off the managers' node list first; the last manager of a swarm that still has other nodes needs -f, \
            which dissolves the swarm. An existing server (--driver generic) is only forgotten: its Docker keeps \
            berth's settings unless --remove-engine-config takes them off (TLS files, daemon.json, the systemd \
            drop-in; the server's own files put back; Docker restarted).
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The machines to remove (at least one).", completion: StoreCompletion.machines) var names: [String] = []
    @Flag(name: .shortAndLong, help: "Remove even if parts are already gone or the machine is broken; implies -y.") var force = false
    @Flag(name: .short, help: "Do not ask for confirmation.") var yes = false
    @Flag(name: .customLong("remove-engine-config"),
          help: "For an existing server (--driver generic): take berth's TLS files, daemon.json and drop-in off it too, and restart its Docker.")
    var removeEngineConfig = false

    func run() async throws {
        // Docker Machine's rule and words: removing is too final to fall back on "default".
        guard !names.isEmpty else { throw BerthError(.invalidArgument, DockerMachineWording.noMachineNamed) }
        if !yes && !force {
            Terminal.status("About to remove \(names.joined(separator: ", ")): each one's VM, disk, address reservation and files (an existing server is only forgotten).")
            guard try Confirmation.ask("Are you sure?", skipFlag: "-y") else {
                Terminal.status("Nothing removed.")
                return
            }
        }
        let all = global.machines
        var failures: [BerthError] = []
        for name in names {
            do {
                try await all.remove(name, force: force, removeEngineConfig: removeEngineConfig)
                Terminal.status("Removed \"\(name)\".")
            } catch let error as BerthError {
                failures.append(error)
            }
        }
        if failures.count == 1 { throw failures[0] }
        if let first = failures.first { throw BerthError(first.code, failures.map(\.message).joined(separator: "; ")) }
    }
}
