import ArgumentParser
import Foundation
import MachineCore

struct NetworkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network",
        abstract: "List, inspect and remove the NAT networks berth made.",
        discussion: """
            berth makes a network the first time a machine asks for it (create --network NAME, default berth), on a \
            192.168.X.0/24 subnet that no route or address of this host uses, or on the subnet given with \
            create --subnet CIDR. Machines on one network reach each other by name (NAME or NAME.berth.internal). \
            A network that was deleted behind berth's back is made again by the next create or start, with the \
            machines' addresses.
            """,
        subcommands: [NetworkLs.self, NetworkInspect.self, NetworkRm.self])
}

/// A network with the machines of this store on it.
struct NetworkRow: Codable, Equatable {
    var network: LibvirtDriver.NetworkFacts
    var machines: [String]

    private enum Keys: String, CodingKey { case machines }

    func encode(to encoder: any Encoder) throws {
        try network.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(machines, forKey: .machines)
    }
}

extension GlobalOptions {
    /// berth's networks on the default libvirt connection, with this store's machines on each.
    func networkRows() async throws -> [NetworkRow] {
        let machines = self.machines
        let configs = machines.store.machineNames().compactMap { try? machines.config($0) }
        return try await machines.driver(uri: Machines.defaultURI).berthNetworks().map { facts in
            NetworkRow(network: facts, machines: configs.filter { $0.network.name == facts.name }.map(\.name))
        }
    }
}

struct NetworkLs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List berth's networks: NAME SUBNET BRIDGE STATE MACHINES.")

    @OptionGroup var global: GlobalOptions
    @Flag(name: .shortAndLong, help: "Print only network names.") var quiet = false
    @Option(name: [.short, .long], help: "Output format: table or json.") var format = "table"

    func validate() throws {
        guard OutputFormat(rawValue: format) != nil else { throw ValidationError("--format must be table or json, not \"\(format)\"") }
    }

    func run() async throws {
        let rows = try await global.networkRows()
        if quiet {
            rows.forEach { print($0.network.name) }
            return
        }
        switch OutputFormat(rawValue: format) ?? .table {
        case .json: print(try JSONOutput.string(rows))
        case .table:
            print(TextTable.render(header: ["NAME", "SUBNET", "BRIDGE", "STATE", "MACHINES"], rows: rows.map {
                [$0.network.name, $0.network.subnet, $0.network.bridge, $0.network.active ? "active" : "inactive",
                 $0.machines.joined(separator: ",")]
            }), terminator: "")
        }
    }
}

struct NetworkInspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Print a network's subnet, DHCP reservations and machines as JSON.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The network's name.") var name: String = "berth"

    func run() async throws {
        guard let row = try await global.networkRows().first(where: { $0.network.name == name }) else {
            throw BerthError(.invalidArgument, "berth has no network named \"\(name)\"; `berth network ls` lists them")
        }
        print(try JSONOutput.string(row))
    }
}

struct NetworkRm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Remove one of berth's networks; refused while machines use it.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The network's name.") var name: String

    func run() async throws {
        let driver = await global.machines.driver(uri: Machines.defaultURI)
        guard let row = try await global.networkRows().first(where: { $0.network.name == name }) else {
            throw BerthError(.invalidArgument, "berth has no network named \"\(name)\"; `berth network ls` lists them")
        }
        let users = Set(row.machines + (try await driver.domains(on: name)))
        guard users.isEmpty else {
            throw BerthError(.invalidArgument, "network \(name) is used by \(users.sorted().joined(separator: ", ")); remove those machines first")
        }
        try await driver.removeNetwork(named: name)
        Terminal.status("Removed network \"\(name)\".")
    }
}
