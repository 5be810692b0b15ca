import ArgumentParser
import Foundation
import MachineCore

struct Inspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a machine's configuration and current state as JSON.",
        discussion: "The JSON is the machine's config.json plus \"state\", \"url\" and \"machineDirectory\".")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var machine: MachineNameArgument
    @Option(name: [.short, .long], help: "Output format: json.") var format = "json"

    func validate() throws {
        guard format == "json" else { throw ValidationError("--format must be json, not \"\(format)\"") }
    }

    func run() async throws {
        let machines = global.machines
        let config = try machines.config(machine.name)
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
