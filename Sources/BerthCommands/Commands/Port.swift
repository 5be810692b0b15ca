import ArgumentParser
import Foundation
import MachineCore
import Logging
import PortForwarding

struct Port: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Forward host ports to a machine's ports.",
        discussion: """
            A forward is written [HOST_IP:]HOST_PORT[-END]:GUEST_PORT[-END][/tcp|/udp]. HOST_IP is 127.0.0.1 unless \
            you name another address of this host (IPv6 in brackets); the protocol is tcp unless you say udp. A range \
            forwards each port to the port at the same place in the other range. For example:
              berth port add dev 8080:80                 127.0.0.1:8080 on the host to port 80 in dev
              berth port add dev 0.0.0.0:5432:5432       port 5432 for the host's networks too
              berth port add dev 5353:53/udp             a UDP port
              berth port add dev 9000-9002:9000-9002     three ports
              berth port rm dev 8080:80                  (or just: berth port rm dev 8080)
              berth port ls
            Forwards are saved with the machine, come up with create and start, go down with stop, kill and rm, and \
            keep working after the command that made them ends: a forwarder process per machine serves them, \
            without firewall rules, so they work for users who are not root. Ports below 1024 need root. With \
            auto-publish (on unless the machine was made with --no-auto-publish), each port a container publishes \
            (docker run -p 8080:80 …) is forwarded to the same port on 127.0.0.1 while the container runs.
            """,
        subcommands: [PortAdd.self, PortRm.self, PortLs.self])
}

/// Forward specs from the command line, checked.
func parsePortSpecs(_ texts: [String]) throws -> [PortSpec] {
    try texts.map { text in
        do {
            return try PortSpec(parsing: text)
        } catch {
            throw BerthError(.invalidArgument, "\(error)", cause: error)
        }
    }
}

struct PortAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Add forwards to a machine (see `berth port --help` for the syntax).")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The machine's name.") var name: String
    @Argument(help: "Forwards: [HOST_IP:]HOST_PORT[-END]:GUEST_PORT[-END][/tcp|/udp].") var specs: [String]

    func validate() throws {
        guard !specs.isEmpty else { throw ValidationError("give at least one forward, such as 8080:80") }
        for text in specs where (try? PortSpec(parsing: text)) == nil {
            _ = try parsePortSpecs([text])
        }
    }

    func run() async throws {
        let state = try await global.machines.addPorts(try parsePortSpecs(specs), to: name)
        for spec in try parsePortSpecs(specs) {
            Terminal.status("Forwarding \(spec)\(state == nil ? " (from the machine's next start)" : "").")
        }
    }
}

struct PortRm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Remove forwards from a machine, named as added or by their host side (8080, 127.0.0.1:8080/udp).")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The machine's name.") var name: String
    @Argument(help: "Forwards to remove.") var specs: [String]

    func validate() throws {
        guard !specs.isEmpty else { throw ValidationError("name the forward to remove, such as 8080:80 or 8080") }
    }

    func run() async throws {
        try await global.machines.removePorts(specs, from: name)
        Terminal.status("Removed \(specs.joined(separator: ", ")) from \"\(name)\".")
    }
}

/// One row of `berth port ls`.
struct PortRow: Codable, Equatable {
    var machine: String
    var host: String
    var guest: String
    var proto: String
    /// "configured" or "container NAME".
    var source: String
    /// listening, stopped (machine not running), down (forwarder not running), or the error.
    var state: String
}

struct PortLs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List forwards: configured ones and those auto-published for containers.",
        discussion: "Columns: MACHINE HOST GUEST PROTO SOURCE STATE. STATE is listening, stopped (the machine is not running), down (its forwarder is not running: `berth start NAME` revives it) or why the forward cannot be made.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Only this machine's forwards.") var name: String?
    @Option(name: [.short, .long], help: "Output format: table or json.") var format = "table"

    func validate() throws {
        guard OutputFormat(rawValue: format) != nil else { throw ValidationError("--format must be table or json, not \"\(format)\"") }
    }

    func run() async throws {
        let machines = global.machines
        let names = name.map { [$0] } ?? machines.store.machineNames()
        var rows: [PortRow] = []
        for name in names {
            guard let config = try? machines.config(name) else {
                if self.name != nil { _ = try machines.config(name) }
                continue
            }
            rows += try await Self.rows(for: config, machines: machines)
        }
        switch OutputFormat(rawValue: format) ?? .table {
        case .json: print(try JSONOutput.string(rows))
        case .table:
            print(TextTable.render(header: ["MACHINE", "HOST", "GUEST", "PROTO", "SOURCE", "STATE"],
                                   rows: rows.map { [$0.machine, $0.host, $0.guest, $0.proto, $0.source, $0.state] }), terminator: "")
        }
    }

    static func rows(for config: MachineConfig, machines: Machines) async throws -> [PortRow] {
        let running = (try? await machines.state(of: config)) == .running
        let forwarder = machines.forwarder(config.name)
        let state = running ? forwarder.state() : nil
        var rows: [PortRow] = []
        for spec in config.ports ?? [] {
            let entries = state?.entries.filter { $0.source == .spec(spec.description) } ?? []
            let status: String
            if !running {
                status = "stopped"
            } else if state == nil {
                status = "down"
            } else if let failed = entries.first(where: { !$0.listening }) {
                status = failed.error ?? "not listening"
            } else {
                status = "listening"
            }
            rows.append(PortRow(machine: config.name, host: Self.hostSide(spec), guest: Self.guestSide(spec, config: config),
                                proto: spec.proto.rawValue, source: "configured", state: status))
        }
        for entry in state?.entries ?? [] {
            guard case .container(let container) = entry.source else { continue }
            rows.append(PortRow(machine: config.name, host: "\(entry.rule.listenAddress):\(entry.rule.listenPort)",
                                guest: "\(entry.rule.targetHost):\(entry.rule.targetPort)", proto: entry.rule.proto.rawValue,
                                source: "container \(container)", state: entry.listening ? "listening" : (entry.error ?? "not listening")))
        }
        return rows
    }

    static func hostSide(_ spec: PortSpec) -> String {
        let ports = spec.hostPorts.count == 1 ? "\(spec.hostPorts.lowerBound)" : "\(spec.hostPorts.lowerBound)-\(spec.hostPorts.upperBound)"
        return spec.hostAddress.contains(":") ? "[\(spec.hostAddress)]:\(ports)" : "\(spec.hostAddress):\(ports)"
    }

    static func guestSide(_ spec: PortSpec, config: MachineConfig) -> String {
        let ports = spec.guestPorts.count == 1 ? "\(spec.guestPorts.lowerBound)" : "\(spec.guestPorts.lowerBound)-\(spec.guestPorts.upperBound)"
        return "\(config.network.ip):\(ports)"
    }
}

/// The process that serves a machine's forwards (started by create, start and port add; not for
/// people to run).
struct ForwarderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forwarder", abstract: "Serve a machine's port forwards (berth starts this itself).",
        shouldDisplay: false)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The machine's name.") var name: String

    func run() async throws {
        let service = try ForwardingService(machines: global.machines, name: name, logger: Logger(label: "berth.forwarder"))
        let work = Task { try await service.run() }
        var sources: [DispatchSourceSignal] = []
        for number in [SIGHUP, SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if number == SIGHUP { Task { await service.reload() } } else { work.cancel() }
            }
            source.resume()
            sources.append(source)
        }
        defer { sources.forEach { $0.cancel() } }
        try await work.value
    }
}
