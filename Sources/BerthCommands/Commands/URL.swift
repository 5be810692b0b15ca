import ArgumentParser
import Foundation
import MachineCore

struct URLCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "url",
        abstract: "Print a running machine's Docker URL (tcp://IP:2376).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var machine: MachineNameArgument

    func run() async throws {
        print(try await global.machines.runningConfig(machine.name).dockerURL)
    }
}
