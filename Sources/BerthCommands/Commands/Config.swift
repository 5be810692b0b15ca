import ArgumentParser
import Foundation
import MachineCore

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Print the docker client flags that connect to a machine.",
        discussion: """
            One flag per line: --tlsverify, --tlscacert, --tlscert, --tlskey and -H. If the machine's IP changed, its server certificate is reissued first. Use it as:
              docker $(berth config NAME) ps
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var machine: MachineNameArgument

    func run() async throws {
        let machines = global.machines
        let config = try await machines.runningConfig(machine.name)
        try await machines.repairCertificates(config)
        let flags = DockerConfigFlags(machineDirectory: try global.store.machineDirectory(config.name), ip: config.dockerAddress.host,
                                      port: config.dockerAddress.port)
        print(flags.render(), terminator: "")
    }
}
