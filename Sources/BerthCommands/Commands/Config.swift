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
    @Flag(help: "Connect to the machine's swarm: the machine itself if it is a swarm manager, else a running manager of its swarm.")
    var swarm = false

    func run() async throws {
        let machines = global.machines
        let wanted = swarm ? try await machines.swarmEndpoint(of: machine.name).name : machine.name
        let config = try await machines.runningConfig(wanted)
        try await machines.repairCertificates(config)
        let flags = DockerConfigFlags(machineDirectory: try global.store.machineDirectory(config.name), ip: config.dockerAddress.host,
                                      port: config.dockerAddress.port)
        print(flags.render(), terminator: "")
    }
}
