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
        try await machines.each(in: global, done: "Provisioned") { try await $0.provision($1) }
    }
}
