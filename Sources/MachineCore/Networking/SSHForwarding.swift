import Crypto
import Foundation
import PortForwarding

/// Forwards that can only go through SSH, over one master connection to which forwards are added
/// and cancelled as they come and go: into the machine (a port a container publishes on the
/// machine's own loopback, `docker run -p 127.0.0.1:8080:80`, answers only from inside it; a machine
/// on QEMU's user-mode network), or into a remote hypervisor host (its machines sit on that host's
/// network, which only that host reaches).
actor SSHForwarding {
    /// ssh's options and destination, as for any command over this connection.
    private let options: [String]
    private let destination: String
    private let socket: URL
    private var master: Process?

    init(guest ssh: SSHCommand) throws {
        try self.init(options: ssh.commonOptions + ["-p", String(ssh.config.ssh.port)], destination: ssh.destination,
                      identity: "guest \(ssh.keyPath)")
    }

    init(host: RemoteHost) throws {
        try self.init(options: host.sshOptions, destination: host.destination, identity: "host \(host.destination) \(host.port ?? 22)")
    }

    private init(options: [String], destination: String, identity: String) throws {
        self.options = options
        self.destination = destination
        // Unix socket paths are short (108 bytes): a private folder of this user's in /tmp.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("berth-\(getuid())")
        try SecureFile.createDirectory(folder)
        let key = SHA256.hash(data: Data(identity.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
        socket = folder.appendingPathComponent("\(key).ssh")
    }

    /// Forwards `rule` (listening on this host, to a port on the machine's loopback) through SSH.
    func add(_ rule: ForwardRule) async throws {
        // The same checks and messages as every other forward: is the host port free and allowed?
        let trial = Forwarder()
        do {
            try await trial.add([ForwardRule(proto: .tcp, listenAddress: rule.listenAddress, listenPort: rule.listenPort,
                                             targetHost: "127.0.0.1", targetPort: 9)])
        } catch {
            await trial.close()
            throw error
        }
        await trial.close()
        try await startMaster()
        try await control("forward", rule)
    }

    func remove(_ rule: ForwardRule) async {
        guard master != nil else { return }
        try? await control("cancel", rule)
    }

    func close() {
        if let master, master.isRunning { master.terminate() }
        master = nil
        try? FileManager.default.removeItem(at: socket)
    }

    private func control(_ operation: String, _ rule: ForwardRule) async throws {
        guard let program = HelperProgram.which("ssh") else { throw BerthError(.command, "the ssh program is missing; install openssh-client") }
        let forward = "\(HostAddress.withPort(rule.listenAddress, rule.listenPort)):\(HostAddress.withPort(rule.targetHost, rule.targetPort))"
        let output = try await HelperProgram.capture(program, ["-S", socket.path, "-O", operation, "-L", forward] + options
                                                     + [destination], timeout: .seconds(30))
        guard output.status == 0 else {
            throw BerthError(.command, "cannot forward port \(rule.listenPort) over SSH: \(output.standardError.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }

    private func startMaster() async throws {
        if let master, master.isRunning { return }
        guard let program = HelperProgram.which("ssh") else { throw BerthError(.command, "the ssh program is missing; install openssh-client") }
        try? FileManager.default.removeItem(at: socket)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = ["-M", "-S", socket.path, "-N", "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=no"]
            + options + [destination]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        master = process
        for _ in 0..<200 {
            if FileManager.default.fileExists(atPath: socket.path) { return }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BerthError(.command, "cannot open the SSH connection to \(destination) that carries forwards")
    }
}
