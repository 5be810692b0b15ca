import ArgumentParser
import Foundation
import GoTemplate
import MachineCore

struct Inspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a machine's configuration and current state as JSON.",
        discussion: """
            The JSON is the machine's config.json plus "state", "url" and "machineDirectory". --format also takes a \
            Go template over Docker Machine's host JSON, as docker-machine inspect did: \
            '{{.Driver.IPAddress}}', '{{.Driver.SSHKeyPath}}', '{{.HostOptions.AuthOptions.CertDir}}', \
            '{{json .HostOptions.EngineOptions.Labels}}', or '{{json .}}' and '{{prettyjson .}}' for all of it.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var machine: MachineNameArgument
    @Option(name: [.short, .long], help: "Output format: json, or a Go template such as '{{.Driver.IPAddress}}'.")
    var format = "json"

    func validate() throws {
        guard format == "json" || OutputFormat.isTemplate(format) else {
            throw ValidationError("--format must be json or a Go template such as '{{.Driver.IPAddress}}', not \"\(format)\"")
        }
    }

    func run() async throws {
        let machines = global.machines
        let config = try machines.config(machine.name)
        if OutputFormat.isTemplate(format) {
            print(try Self.render(format, try DockerMachineHost(config: config, store: global.store)))
            return
        }
        var inspection = MachineInspection(config: config, state: .error,
                                           machineDirectory: try global.store.machineDirectory(config.name).path)
        do {
            inspection.state = try await machines.state(of: config)
        } catch {
            inspection.stateError = (error as? BerthError)?.message ?? "\(error)"
        }
        print(try JSONOutput.string(inspection))
    }
}

extension Inspect {
    /// Renders `format` over Docker Machine's host JSON, which Go tools saw as nested maps.
    static func render(_ format: String, _ host: DockerMachineHost) throws -> String {
        do {
            return try GoTemplate(format).render(TemplateValue(encoding: host))
        } catch let error as TemplateError {
            throw BerthError(.invalidArgument, "--format: \(error)")
        }
    }
}

/// What `inspect` prints: the config's own fields, with the derived state beside them.
struct MachineInspection: Encodable {
    var config: MachineConfig
    var state: MachineState
    var stateError: String?
    var machineDirectory: String

    private enum Keys: String, CodingKey { case state, stateError, url, machineDirectory }

    func encode(to encoder: any Encoder) throws {
        try config.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(state, forKey: .state)
        try container.encodeIfPresent(stateError, forKey: .stateError)
        try container.encode(config.dockerURL, forKey: .url)
        try container.encode(machineDirectory, forKey: .machineDirectory)
    }
}
