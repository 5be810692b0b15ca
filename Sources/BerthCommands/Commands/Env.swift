import ArgumentParser
import Foundation
import MachineCore

struct Env: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the commands that point the docker client at a machine.",
        discussion: """
            Use it as: eval $(berth env NAME). If the machine's IP changed, its server certificate is reissued first. \
            The closing hint repeats the command line as typed. -u/--unset undoes the settings and takes no NAME.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The machine's name (default: \"default\").", completion: StoreCompletion.machines) var name: String?
    @Option(help: "The shell to print for: bash, zsh, fish, powershell, cmd, tcsh, emacs (default: detected from $SHELL).")
    var shell: String?
    @Flag(name: [.short, .long], help: "Print the commands that undo the settings.") var unset = false
    @Flag(name: .customLong("no-proxy"), help: "Add the machine's IP to NO_PROXY.") var noProxy = false
    @Flag(help: "Point at the machine's swarm: the machine itself if it is a swarm manager, else a running manager of its swarm.")
    var swarm = false

    func run() async throws {
        // Docker Machine's words, as scripts may test them: --unset undoes whichever machine was set.
        if unset, name != nil { throw BerthError(.invalidArgument, DockerMachineWording.unsetTakesNoName) }
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
        let typed = Self.usageCommand(CommandLine.arguments)
        if unset {
            print(DockerEnvironment.renderUnset(for: kind, noProxy: noProxy, command: typed), terminator: "")
            return
        }
        let machines = global.machines
        let wanted = swarm ? try await machines.swarmEndpoint(of: name ?? "default").name : name ?? "default"
        let config = try await machines.runningConfig(wanted)
        try await machines.repairCertificates(config)
        var output = DockerEnvironment(machineName: config.name, ip: config.dockerAddress.host, port: config.dockerAddress.port,
                                       machineDirectory: try global.store.machineDirectory(config.name))
        if noProxy { output.addNoProxy(ip: config.dockerAddress.host, environment: environment) }
        print(output.render(for: kind, command: typed), terminator: "")
    }

    /// The command line the closing hint repeats: the words as typed (the program as it was called,
    /// path and all), joined by spaces, as Docker Machine printed it. Docker Machine put double quotes
    /// around the program's path when it held a space or a backslash; berth does so for every word,
    /// so that `-s "/my store"` comes out as something the shell can run again.
    static func usageCommand(_ arguments: [String]) -> String {
        arguments.map { word in
            word.contains(" ") || word.contains("\\") ? "\"\(word)\"" : word
        }.joined(separator: " ")
    }
}
