import ArgumentParser
import Foundation
import MachineCore

struct Upgrade: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Upgrade Docker Engine in machines to the newest version their distribution packages.",
        discussion: "A stopped machine is started first, as Docker Machine did. Prints each machine's Docker Engine version afterwards.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var machines: MachineNames

    func run() async throws {
        let all = global.machines
        try await all.forEach(machines.resolved) { config in
            if try await all.state(of: config) == .stopped {
                Terminal.status("Starting machine \"\(config.name)\" so it can be upgraded...")
                try await all.start(config)
            }
            let version = try await all.upgrade(config)
            if let version {
                print("\(config.name): Docker Engine \(version)")
            } else {
                Terminal.warning("upgraded \"\(config.name)\", but its Docker Engine did not report a version")
            }
        }
    }
}
