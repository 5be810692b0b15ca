import ArgumentParser
import Foundation
import MachineCore

struct IP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ip",
        abstract: "Print machines' IP addresses, one per line.",
        discussion: "The address is the machine's DHCP reservation on its network, so it stays the same across restarts.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var machines: MachineNames

    func run() async throws {
        let all = global.machines
        var failures: [BerthError] = []
        for name in machines.resolved {
            do {
                print(try all.config(name).network.ip)
            } catch let error as BerthError {
                failures.append(error)
            }
        }
        if failures.count == 1 { throw failures[0] }
        if !failures.isEmpty {
            throw BerthError(failures[0].code, failures.map(\.message).joined(separator: "; "))
        }
    }
}
