import Foundation

/// What `berth create --driver generic` was asked for: an existing Debian or Ubuntu server, reached
/// over SSH with the user's key.
public struct GenericCreateRequest: Sendable {
    public var name: String
    /// The server's IPv4 address (`--generic-ip-address`).
    public var address: String
    /// `--generic-ssh-user`: root, or a user with password-less sudo (Docker Machine's default: root).
    public var user = "root"
    public var port = 22
    /// `--generic-ssh-key`: the private key; copied into the machine folder.
    public var key: URL
    public var engine = MachineConfig.EngineOptions()
    /// Extra names for the server certificate (`--tls-san`).
    public var tlsSANs: [String] = []
    /// How long to wait for Docker's TLS endpoint once its configuration is in place.
    public var waitTimeout: Duration?
    public var registerDockerContext = true

    public init(name: String, address: String, key: URL) {
        self.name = name
        self.address = address
        self.key = key
    }

    /// The key berth uses when `--generic-ssh-key` is not given: the user's usual one.
    public static func defaultKey(home: String = NSHomeDirectory()) -> URL? {
        ["id_ed25519", "id_ecdsa", "id_rsa"].map { URL(fileURLWithPath: home).appendingPathComponent(".ssh/\($0)") }
            .first { FileManager.default.isReadableFile(atPath: $0.path) }
    }

    func validate() throws {
        try MachineName.validate(name)
        var v4 = in_addr()
        guard inet_pton(AF_INET, address, &v4) == 1 else {
            throw BerthError(.invalidArgument, "--generic-ip-address takes the server's IPv4 address, such as 192.0.2.10, not \"\(address)\"")
        }
        guard user.range(of: "^[a-z_][a-z0-9_.-]{0,31}$", options: .regularExpression) != nil else {
            throw BerthError(.invalidArgument, "--generic-ssh-user takes a user name, not \"\(user)\"")
        }
        guard (1...65535).contains(port) else {
            throw BerthError(.invalidArgument, "--generic-ssh-port must be between 1 and 65535, not \(port)")
        }
        guard FileManager.default.isReadableFile(atPath: key.path) else {
            throw BerthError(.invalidArgument, "cannot read the --generic-ssh-key file \(key.path)")
        }
        for name in tlsSANs { try ServerCertificateNames.validate(name) }
        try engine.validate()
    }
}

extension MachineConfig {
    /// The record of an existing server: its address and SSH access; nothing of a hypervisor.
    /// The libvirt parts stay (empty) so the file reads the same to every berth of config version 2.
    static func generic(_ request: GenericCreateRequest) -> MachineConfig {
        var config = MachineConfig(
            name: request.name,
            hardware: .init(cpus: 0, memoryMiB: 0, diskGiB: 0),
            hypervisor: .init(uri: "", virtType: "", domainName: "", storagePool: ""),
            image: .init(name: "", hasDocker: true, diskVolume: "", kernelVolume: nil, initrdVolume: nil, kernelCommandLine: nil),
            network: .init(name: "", mac: "", ip: request.address),
            engine: request.engine,
            ssh: .init(user: request.user, port: request.port, keyFile: "", knownHostsFile: SSHHostKey.knownHostsFileName,
                       hostKeyLearnt: true),
            status: .creating)
        config.driver = genericDriver
        config.autoPublish = false
        config.tlsSANs = request.tlsSANs.isEmpty ? nil : request.tlsSANs
        return config
    }
}

extension Machines {
    /// Takes over an existing server in stages: SSH (the key copied in, the server's host key learnt
    /// and pinned from then on, its system checked), certificates, Docker Engine (installed from the
    /// distribution's packages when missing; berth's TLS files, daemon.json and drop-in put in place,
    /// the owner's own files kept aside; Docker restarted), waiting for Docker. As with any create,
    /// the machine is recorded first and a failure undoes what was done, on the server too.
    public func createGeneric(_ request: GenericCreateRequest, reporter: StageReporter) async throws -> MachineConfig {
        try request.validate()
        try store.prepare()
        let lock = try await claimNewName(request.name)
        defer { withExtendedLifetime(lock) {} }
        if let other = genericMachine(at: request.address, port: request.port) {
            throw BerthError(.machineExists, "machine \"\(other)\" already manages the server at \(request.address); use it, or `berth rm \(other)` first")
        }
        let store = self.store
        var config = MachineConfig.generic(request)
        let operation = StagedOperation(reporter: reporter)
        let created = try await operation.run { operation in
            try store.save(config)
            operation.onFailure("machine record") { try store.remove(request.name) }

            let facts = try await operation.stage("SSH") { () -> GenericServerScripts.Facts in
                let keys = try SSHKeyPair.importKey(from: request.key, into: try store.machineDirectory(request.name))
                config.ssh.keyFile = keys.privateKeyPath.lastPathComponent
                try store.save(config)
                // The first contact learns the server's host key; every later one insists on it.
                let ssh = try SSHCommand(config: config, store: store, learnsHostKey: true)
                let facts = GenericServerScripts.Facts(probeOutput: try await ssh.run("sh -c \(SSHCommand.quote(GenericServerScripts.probe))",
                                                                                      timeout: .seconds(60)))
                try Self.check(facts, of: config)
                return facts
            }
            config.generic = .init(system: facts.system, installedDocker: !facts.hasDocker)

            try await operation.stage("certificates") {
                try ensureServerCertificate(config)
            }

            try await operation.stage("Docker Engine") {
                if !facts.hasDocker {
                    reporter.note("installing Docker Engine (docker.io) from \(facts.system)'s packages on \(request.address)")
                }
                let ssh = try SSHCommand(config: config, store: store)
                try await ssh.run(ssh.asRoot("sh -c \(SSHCommand.quote(GenericServerScripts.backup))"))
                let frozen = config
                operation.onFailure("Docker's configuration on \(request.address)") {
                    try await self.removeEngineConfiguration(frozen)
                }
                try await ssh.install(try engineFiles(config) + [
                    (path: CloudConfig.installScriptPath, content: try CloudConfig.dockerInstallScript(), mode: "0755"),
                ])
                // Installs docker.io (and docker-cli where Debian splits it) when missing, then restarts Docker.
                try await ssh.run(ssh.asRoot(CloudConfig.installScriptPath), timeout: .seconds(1800))
            }

            try await operation.stage("waiting for Docker") {
                let endpoint = try endpoint(config)
                let deadline = ContinuousClock.now + (request.waitTimeout ?? .seconds(300))
                while !(await endpoint.ping()) {
                    guard ContinuousClock.now < deadline else {
                        throw BerthError(.timeout, "timed out waiting for Docker on \(config.dockerURL); see `berth ssh \(config.name) -- sudo journalctl -u docker` for the server's side")
                    }
                    try await Task.sleep(for: .seconds(1))
                }
            }
            config.status = .ready
            try store.save(config)
            return config
        }
        if request.registerDockerContext, let contexts = dockerContexts, let warning = registerDockerContext(created, in: contexts) {
            reporter.note(warning)
        }
        return created
    }

    /// A server berth can take: Debian or Ubuntu with apt, and root or password-less sudo.
    static func check(_ facts: GenericServerScripts.Facts, of config: MachineConfig) throws {
        let server = "the server at \(config.network.ip)"
        guard facts.isDebianFamily else {
            throw BerthError(.invalidArgument, "\(server) runs \(facts.system); berth's generic driver takes Debian and Ubuntu servers")
        }
        guard facts.canBeRoot else {
            throw BerthError(.invalidArgument, "\(server) does not let \(config.ssh.user) run sudo without a password; use --generic-ssh-user root, or give \(config.ssh.user) password-less sudo")
        }
    }

    /// The generic machine of this store that already manages the server at `address`, if any: two
    /// records would fight over one Docker Engine.
    func genericMachine(at address: String, port: Int) -> String? {
        store.machineNames().lazy.compactMap { try? self.config($0) }
            .first { $0.isGeneric && $0.network.ip == address && $0.ssh.port == port }?.name
    }

    /// Takes berth's files off an existing server (TLS files, daemon.json, the drop-in), puts back
    /// what the owner had, and restarts Docker (`rm --remove-engine-config`).
    public func removeEngineConfiguration(_ config: MachineConfig) async throws {
        let ssh = try SSHCommand(config: config, store: store)
        try await ssh.run(ssh.asRoot("sh -c \(SSHCommand.quote(GenericServerScripts.removal))"), timeout: .seconds(300))
    }
}
