import ArgumentParser
import Foundation
import MachineCore

struct Upgrade: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Upgrade Docker Engine in machines to the newest version their distribution packages.",
        discussion: "Prints each machine's Docker Engine version afterwards. The machines must be running.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var machines: MachineNames

    func run() async throws {
        let all = global.machines
        try await all.forEach(machines.resolved) { config in
            let version = try await all.upgrade(config)
            if let version {
                print("\(config.name): Docker Engine \(version)")
            } else {
                Terminal.warning("upgraded \"\(config.name)\", but its Docker Engine did not report a version")
            }
        }
    }
}
