import ArgumentParser
import Foundation
import MachineCore

struct VersionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print berth's version, or with a NAME, the machine's Docker Engine version.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "A machine whose Docker Engine version to print.", completion: StoreCompletion.machines) var name: String?

    func run() async throws {
        guard let name else {
            print("berth version \(Berth.version)")
            return
        }
        let machines = global.machines
        let config = try await machines.runningConfig(name)
        guard let version = await (try machines.endpoint(config)).engineVersion() else {
            throw BerthError(.timeout, "Docker in \"\(name)\" does not answer at \(config.dockerURL); check it with `berth ssh \(name) systemctl status docker`")
        }
        print(version)
    }
}
