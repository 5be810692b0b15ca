import Foundation

/// How berth reaches a machine over SSH: the system's OpenSSH client with the machine's key, as
/// user `docker`, talking only to the host key berth made for the guest (pinned in the machine's
/// known_hosts under the alias `berth-NAME`, so a changed address never matters and a different
/// key is refused).
public struct SSHCommand: Sendable {
    public let config: MachineConfig
    public let keyPath: String
    public let knownHostsPath: String

    /// Whether this connection may learn the host key (an existing server's first contact, when
    /// berth has no key of its own to pin yet); every later connection insists on the learnt key.
    public let learnsHostKey: Bool

    public init(config: MachineConfig, store: Store, learnsHostKey: Bool = false) throws {
        let directory = try store.machineDirectory(config.name)
        self.config = config
        self.keyPath = directory.appendingPathComponent(config.ssh.keyFile).path
        self.knownHostsPath = directory.appendingPathComponent(config.ssh.knownHostsFile ?? SSHHostKey.knownHostsFileName).path
        self.learnsHostKey = learnsHostKey
    }

    public var destination: String { "\(config.ssh.user)@\(config.network.ip)" }

    /// Options shared by ssh and scp.
    public var commonOptions: [String] {
        // Machines made before berth pinned host keys learn their key on first contact.
        let checking = config.ssh.knownHostsFile == nil || learnsHostKey ? "accept-new" : "yes"
        var options = ["-i", keyPath, "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=\(checking)",
                       "-o", "UserKnownHostsFile=\(knownHostsPath)", "-o", "GlobalKnownHostsFile=/dev/null",
                       "-o", "HostKeyAlias=\(SSHHostKey.alias(for: config.name))",
                       "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10",
                       "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3"]
        // berth's own host keys are ed25519; a server's learnt key is of whatever type it offered.
        if config.ssh.knownHostsFile != nil, config.ssh.hostKeyLearnt != true { options += ["-o", "HostKeyAlgorithms=ssh-ed25519"] }
        // A machine on another hypervisor host is reached through that host.
        if let tunnel = config.tunnel { options += ["-o", "ProxyCommand=\(tunnel.host.proxyCommand)"] }
        return options
    }

    /// Arguments for `ssh` that run `command` (or an interactive shell when empty).
    public func sshArguments(command: [String], tty: Bool) -> [String] {
        commonOptions + ["-p", String(config.ssh.port)] + (tty ? ["-t"] : []) + [destination] + command
    }

    /// Runs a command in the guest and returns what it printed; throws when it fails, with the
    /// end of what it printed on standard error. Gives up after `timeout`.
    @discardableResult
    public func run(_ command: String, input: Data? = nil, timeout: Duration = .seconds(300)) async throws -> String {
        guard let ssh = HelperProgram.which("ssh") else {
            throw BerthError(.command, "the ssh program is missing; install openssh-client")
        }
        let arguments = ["-o", "BatchMode=yes"] + sshArguments(command: [command], tty: false)
        let output = try await HelperProgram.capture(ssh, arguments, input: input, timeout: timeout)
        guard output.status == 0 else { throw failure(output) }
        return output.standardOutput
    }

    /// Runs a check in the guest: whether it exited 0. Throws only when the guest cannot be reached.
    public func succeeds(_ command: String, timeout: Duration = .seconds(60)) async throws -> Bool {
        guard let ssh = HelperProgram.which("ssh") else {
            throw BerthError(.command, "the ssh program is missing; install openssh-client")
        }
        let output = try await HelperProgram.capture(ssh, ["-o", "BatchMode=yes"] + sshArguments(command: [command], tty: false),
                                                     timeout: timeout)
        if output.status == 255 { throw failure(output) }
        return output.status == 0
    }

    /// A guest command's failure as one line that is still enough to act on.
    func failure(_ output: HelperProgram.Output) -> BerthError {
        let errors = output.standardError
        if errors.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") || errors.contains("Host key verification failed") {
            let pinned = config.ssh.hostKeyLearnt == true ? "the one berth learnt on first contact" : "the one berth gave it"
            return BerthError(.provisioning, "machine \"\(config.name)\" at \(config.network.ip) answered with an SSH host key that is not \(pinned) (pinned in \(knownHostsPath)); refusing to connect")
        }
        if output.status == 255 {
            let reason = errors.split(separator: "\n").last.map(String.init) ?? "no answer"
            return BerthError(.provisioning, "cannot reach machine \"\(config.name)\" over SSH at \(config.network.ip): \(reason)")
        }
        let lines = errors.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let detail = lines.suffix(4).joined(separator: " / ")
        let shown = detail.count > 600 ? "…" + detail.suffix(600) : detail
        return BerthError(.provisioning, "a command in machine \"\(config.name)\" failed (exit \(output.status))\(shown.isEmpty ? "" : ": \(shown)"); see `berth ssh \(config.name) -- sudo journalctl -b` for the guest's side")
    }

    /// Writes a file in the guest as root, with the given mode: to a temporary file first, then
    /// renamed, so the file is never half written.
    public func install(_ content: String, at path: String, mode: String) async throws {
        try await install([(path, content, mode)])
    }

    /// Writes several files in the guest in one session, each written beside its destination and
    /// then renamed into place, the renames last.
    public func install(_ files: [(path: String, content: String, mode: String)]) async throws {
        var script = "set -e; umask 077\n"
        var input = ""
        for (index, file) in files.enumerated() {
            let directory = (file.path as NSString).deletingLastPathComponent
            input += Data(file.content.utf8).base64EncodedString() + "\n"
            // Folders it makes are 0755 like any system folder (the files keep their own modes).
            script += "read -r f\(index); (umask 022 && mkdir -p \(Self.quote(directory))); "
            script += "printf '%s' \"$f\(index)\" | base64 -d > \(Self.quote(file.path + ".berth-new")); "
            script += "chmod \(file.mode) \(Self.quote(file.path + ".berth-new"))\n"
        }
        for file in files {
            script += "mv -f \(Self.quote(file.path + ".berth-new")) \(Self.quote(file.path))\n"
        }
        try await run(asRoot("sh -c \(Self.quote(script))"), input: Data(input.utf8))
    }

    /// `command` run as root: through password-less sudo, unless berth logs in as root (an existing
    /// server may have no sudo at all).
    public func asRoot(_ command: String) -> String {
        config.ssh.user == "root" ? command : "sudo -n \(command)"
    }

    /// Quotes a word for the guest's POSIX shell.
    static func quote(_ word: String) -> String {
        "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
