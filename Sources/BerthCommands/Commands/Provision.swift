import ArgumentParser
import Foundation
import MachineCore

struct Provision: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-apply machines' Docker settings: certificates, daemon.json and dockerd's options.",
        discussion: "Use it after editing a machine's config.json, or when Docker in the machine lost its settings.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var machines: MachineNames

    func run() async throws {
        let all = global.machines
        try await all.forEach(machines.resolved) { config in
            try await all.provision(config)
            Terminal.status("Provisioned \"\(config.name)\".")
        }
    }
}
