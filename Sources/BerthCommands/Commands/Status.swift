import ArgumentParser
import Foundation
import MachineCore

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a machine's state: Running, Paused, Stopping, Stopped or Error.",
        discussion: "The state comes from libvirt, never from a saved field.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var machine: MachineNameArgument

    func run() async throws {
        let machines = global.machines
        let config = try machines.config(machine.name)
        print(try await machines.state(of: config).rawValue)
    }
}
