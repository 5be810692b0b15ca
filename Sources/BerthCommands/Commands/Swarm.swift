import ArgumentParser
import Foundation
import MachineCore

/// `berth swarm`: Docker's swarm mode on machines that already exist, with Docker's own commands
/// run in the machines over SSH. The same as `create --swarm-manager` and `--swarm-join`.
struct SwarmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swarm",
        abstract: "Make machines a Docker Swarm cluster (swarm mode): init, join, leave.",
        discussion: """
            berth runs Docker's own commands in the machines (docker swarm init, join-token, join, leave; docker node \
            update, demote, rm) and records each machine's role and swarm, which `berth ls` shows in its SWARM column \
            and filters with --filter swarm=NAME. Then point docker at a manager (eval $(berth env NAME)) for \
            docker service and docker node. The nodes of a swarm must reach each other directly (port 2377 and \
            Docker's overlay ports): machines on different hypervisor hosts usually cannot.
            """,
        subcommands: [SwarmInit.self, SwarmJoin.self, SwarmLeave.self])
}

struct SwarmInit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Make a machine the first manager of a new swarm, advertised at its IP.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var machine: MachineNameArgument
    @Option(name: .customLong("label"), help: "A label for the node, as key=value (repeatable).") var labels: [String] = []

    func validate() throws { try SwarmLabels.validate(labels) }

    func run() async throws {
        let config = try await global.machines.initSwarm(machine.name, labels: labels)
        Terminal.status("Machine \"\(config.name)\" manages a new swarm at \(config.swarm?.advertiseAddress ?? ""):\(SwarmCommands.managementPort).")
    }
}

struct SwarmJoin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join", abstract: "Join a machine to the swarm MANAGER manages, as a worker or a manager.",
        discussion: "First checks that the machine reaches MANAGER's swarm port (2377), and says so in one line when it cannot.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "A manager of the swarm to join.", completion: StoreCompletion.machines) var manager: String
    @Argument(help: "The machine that joins.", completion: StoreCompletion.machines) var name: String
    @Option(name: .customLong("as"), help: "worker (the default) or manager.") var role = "worker"
    @Option(name: .customLong("label"), help: "A label for the node, as key=value (repeatable).") var labels: [String] = []

    func validate() throws {
        guard Machines.SwarmRole(rawValue: role) != nil else { throw ValidationError("--as must be worker or manager, not \"\(role)\"") }
        try SwarmLabels.validate(labels)
    }

    func run() async throws {
        let config = try await global.machines.joinSwarm(name, manager: manager, as: Machines.SwarmRole(rawValue: role) ?? .worker,
                                                          labels: labels)
        Terminal.status("Machine \"\(config.name)\" joined the swarm of \"\(config.swarm?.manager ?? manager)\" as a \(role).")
    }
}

struct SwarmLeave: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leave", abstract: "Take a machine out of its swarm, keeping the swarm healthy.",
        discussion: """
            The node is drained (its tasks move to other nodes), leaves, and is taken off the managers' node list; a \
            manager is demoted first. The last manager of a swarm that still has other nodes needs -f, which \
            dissolves the swarm: every node of it leaves.
            """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var machine: MachineNameArgument
    @Flag(name: .shortAndLong, help: "Leave even as the last manager (dissolving the swarm), or with no manager running.")
    var force = false

    func run() async throws {
        try await global.machines.leaveSwarm(machine.name, force: force)
        Terminal.status("Machine \"\(machine.name)\" left its swarm.")
    }
}

enum SwarmLabels {
    static func validate(_ labels: [String]) throws {
        for label in labels {
            do { try SwarmCommands.validate(label: label) } catch let error as BerthError {
                throw ValidationError(error.message.replacingOccurrences(of: "--swarm-label", with: "--label"))
            }
        }
    }
}
