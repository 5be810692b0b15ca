import ArgumentParser
import Foundation
import MachineCore

struct SSH: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ssh",
        abstract: "Log into a machine with SSH, or run a command in it.",
        discussion: """
            Runs the system's ssh as the machine's user with the machine's key; ssh's exit status is berth's. Everything after NAME is the command, options included:
              berth ssh dev
              berth ssh dev docker ps -a
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The machine's name.", completion: StoreCompletion.machines) var name: String = "default"
    @Argument(parsing: .captureForPassthrough, help: "The command to run in the machine (default: a login shell).")
    var command: [String] = []

    func run() async throws {
        let machines = global.machines
        let config = try await machines.runningConfig(name, headline: DockerMachineWording.sshHostNotRunning(name))
        let ssh = try SSHCommand(config: config, store: global.store)
        let command = self.command.first == "--" ? Array(self.command.dropFirst()) : self.command
        let tty = command.isEmpty && Terminal.standardInputIsTerminal
        try ProgramReplacement.exec("ssh", ssh.sshArguments(command: command, tty: tty))
    }
}

/// Replaces berth with another program (ssh, scp), so its terminal handling and exit status are the user's.
enum ProgramReplacement {
    static func exec(_ program: String, _ arguments: [String]) throws -> Never {
        guard let path = HelperProgram.which(program) else {
            throw BerthError(.command, "the \(program) program is missing; install openssh-client")
        }
        fflush(nil)
        let argv: [UnsafeMutablePointer<CChar>?] = ([program] + arguments).map { strdup($0) } + [nil]
        execv(path, argv)
        let reason = String(cString: strerror(errno))
        argv.forEach { free($0) }
        throw BerthError(.command, "cannot run \(path): \(reason)")
    }
}
