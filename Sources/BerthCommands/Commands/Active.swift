import ArgumentParser
import Foundation
import MachineCore

struct Active: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the name of the running machine that $DOCKER_HOST points at.",
        discussion: "Fails with \"no active host found\" when $DOCKER_HOST names no running machine.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let machines = global.machines
        let dockerHost = ProcessInfo.processInfo.environment["DOCKER_HOST"] ?? ""
        for config in machines.configs(withDockerURL: dockerHost) {
            if (try? await machines.state(of: config)) == .running {
                print(config.name)
                return
            }
        }
        throw BerthError(.machineNotFound, "no active host found")
    }
}
