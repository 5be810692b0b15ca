import Foundation

/// How berth reaches a machine over SSH: the system's OpenSSH client with the machine's key,
/// as user `docker`. Host keys are not recorded: every machine is new and its address is reused.
public struct SSHCommand: Sendable {
    public let config: MachineConfig
    public let keyPath: String

    public init(config: MachineConfig, store: Store) {
        self.config = config
        self.keyPath = store.machineDirectory(config.name).appendingPathComponent(config.ssh.keyFile).path
    }

    public var destination: String { "\(config.ssh.user)@\(config.network.ip)" }

    /// Options shared by ssh and scp.
    public var commonOptions: [String] {
        ["-i", keyPath, "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10"]
    }

    /// Arguments for `ssh` that run `command` (or an interactive shell when empty).
    public func sshArguments(command: [String], tty: Bool) -> [String] {
        commonOptions + ["-p", String(config.ssh.port)] + (tty ? ["-t"] : []) + [destination] + command
    }

    /// Runs a command in the guest and returns what it printed; throws when it fails.
    @discardableResult
    public func run(_ command: String, input: Data? = nil) async throws -> String {
        guard let ssh = Subprocess.which("ssh") else {
            throw BerthError(.command, "the ssh program is missing; install openssh-client")
        }
        let output = try await Subprocess.capture(ssh, sshArguments(command: [command], tty: false) , input: input)
        guard output.status == 0 else {
            let detail = output.standardError.split(separator: "\n").last.map(String.init) ?? "exit \(output.status)"
            throw BerthError(.provisioning, "command in \(config.name) failed: \(detail)")
        }
        return output.standardOutput
    }

    /// Writes a file in the guest as root, with the given mode.
    public func install(_ content: String, at path: String, mode: String) async throws {
        let directory = (path as NSString).deletingLastPathComponent
        try await run("sudo mkdir -p '\(directory)' && sudo tee '\(path)' >/dev/null && sudo chmod \(mode) '\(path)'",
                      input: Data(content.utf8))
    }
}
