import ArgumentParser
import Foundation
import MachineCore

struct Env: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the commands that point the docker client at a machine.",
        discussion: "Use it as: eval $(berth env NAME). If the machine's IP changed, its server certificate is reissued first.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var machine: MachineNameArgument
    var name: String { machine.name }
    @Option(help: "The shell to print for: bash, zsh, fish, powershell, cmd, tcsh, emacs (default: detected from $SHELL).")
    var shell: String?
    @Flag(help: "Print the commands that undo the settings.") var unset = false
    @Flag(name: .customLong("no-proxy"), help: "Add the machine's IP to NO_PROXY.") var noProxy = false

    func run() async throws {
        let kind: ShellKind
        if let shell {
            guard let chosen = ShellKind(name: shell) else {
                throw BerthError(.invalidArgument, "unknown shell \"\(shell)\": use bash, zsh, fish, powershell, cmd, tcsh or emacs")
            }
            kind = chosen
        } else {
            kind = ShellKind.detect()
        }
        let environment = ProcessInfo.processInfo.environment
        if unset {
            print(DockerEnvironment.renderUnset(for: kind, noProxy: noProxy), terminator: "")
            return
        }
        let machines = global.machines
        let config = try await machines.runningConfig(name)
        try await machines.repairCertificates(config)
        var output = DockerEnvironment(machineName: config.name, ip: config.dockerAddress.host, port: config.dockerAddress.port,
                                       machineDirectory: try global.store.machineDirectory(config.name))
        if noProxy { output.addNoProxy(ip: config.dockerAddress.host, environment: environment) }
        print(output.render(for: kind), terminator: "")
    }
}
