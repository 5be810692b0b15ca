import Foundation
import Libvirt

/// start, stop, restart, kill, rm and the repairs that go with them.
extension Machines {
    /// Runs `body` for each machine concurrently, each under its lock; collects every failure.
    public func forEach(_ names: [String], _ body: @escaping @Sendable (MachineConfig) async throws -> Void) async throws {
        let failures = await withTaskGroup(of: (String, (any Error)?).self) { group in
            for name in names {
                group.addTask {
                    do {
                        let config = try self.config(name)
                        let lock = try await self.store.lock(name)
                        defer { withExtendedLifetime(lock) {} }
                        try await body(config)
                        return (name, nil)
                    } catch {
                        return (name, error)
                    }
                }
            }
            var failures: [(String, any Error)] = []
            for await (name, error) in group { if let error { failures.append((name, error)) } }
            return failures.sorted { $0.0 < $1.0 }
        }
        guard let (_, firstError) = failures.first else { return }
        if failures.count == 1, let error = firstError as? BerthError { throw error }
        let summary = failures.map { "\($0.0): \(($0.1 as? BerthError)?.message ?? String(describing: $0.1))" }.joined(separator: "; ")
        throw BerthError((firstError as? BerthError)?.code ?? .hypervisor, summary)
    }

    /// Boots a stopped machine. Its address reservation is checked first: if the machine ended up
    /// with another IP (the network was recreated), the config and server certificate follow it.
    public func start(_ config: MachineConfig, waitForDocker: Bool = true, timeout: Duration? = nil) async throws {
        let driver = await driver(for: config)
        guard try await driver.state(config) != .running else { return }
        var config = config
        let attachment = try await driver.reserveAddress(for: config.name, network: config.network.name)
        let moved = attachment != config.network
        if moved {
            config.network = attachment
            try store.save(config)
        }
        let certificatesChanged = try certificateFiles(config.name).ensureServerCertificate(
            store: storeCertificates, machineName: config.name, ip: config.network.ip)
        try await driver.start(config)
        guard waitForDocker || certificatesChanged || moved else { return }
        let deadline = ContinuousClock.now + (timeout ?? (config.hypervisor.virtType == "kvm" ? .seconds(300) : .seconds(900)))
        if certificatesChanged {
            try await waitUntil(deadline, for: config, what: "SSH on \(config.network.ip):22") {
                await TCPProbe.isOpen(host: config.network.ip, port: config.ssh.port)
            }
            try await pushCertificates(config)
        }
        let endpoint = endpoint(config)
        try await waitUntil(deadline, for: config, what: "Docker on \(config.dockerURL)") { await endpoint.ping() }
    }

    public func stop(_ config: MachineConfig, timeout: Duration = .seconds(90)) async throws {
        try await driver(for: config).stop(config, timeout: timeout)
    }

    public func kill(_ config: MachineConfig) async throws {
        try await driver(for: config).kill(config)
    }

    public func restart(_ config: MachineConfig) async throws {
        try await stop(config)
        try await start(config)
    }

    /// Removes everything of a machine: domain, volumes, address reservation, store folder.
    /// With `force`, a machine whose config is unreadable or whose hypervisor parts are already
    /// gone is removed anyway.
    public func remove(_ name: String, force: Bool) async throws {
        let lock = try await store.lock(name)
        defer { withExtendedLifetime(lock) {} }
        let config: MachineConfig
        do {
            config = try self.config(name)
        } catch let error as BerthError where error.code != .machineNotFound && force {
            try store.remove(name)
            return
        }
        do {
            try await driver(for: config).remove(config)
        } catch where force {
            // The hypervisor's parts may already be gone (or unreachable): remove the local record anyway.
        }
        try store.remove(name)
    }

    /// Makes sure the server certificate names the machine's IP; when it had to be reissued and
    /// the machine is running, installs it in the guest. Returns whether anything changed.
    @discardableResult
    public func repairCertificates(_ config: MachineConfig) async throws -> Bool {
        let changed = try certificateFiles(config.name).ensureServerCertificate(
            store: storeCertificates, machineName: config.name, ip: config.network.ip)
        if changed, try await state(of: config) == .running { try await pushCertificates(config) }
        return changed
    }

    /// Issues a new server certificate (and with `clientCertificates`, a new CA and client
    /// certificate for the whole store) and installs it in the running guest.
    public func regenerateCertificates(_ config: MachineConfig, clientCertificates: Bool) async throws {
        let files = certificateFiles(config.name)
        if clientCertificates {
            for file in [storeCertificates.caCertificate, storeCertificates.caPrivateKey, storeCertificates.clientCertificate,
                         storeCertificates.clientPrivateKey] {
                try? FileManager.default.removeItem(at: file)
            }
        }
        try? FileManager.default.removeItem(at: files.serverCertificate)
        try files.ensureServerCertificate(store: storeCertificates, machineName: config.name, ip: config.network.ip)
        guard try await state(of: config) == .running else { return }
        try await pushCertificates(config)
        let endpoint = endpoint(config)
        try await waitUntil(ContinuousClock.now + .seconds(120), for: config, what: "Docker on \(config.dockerURL)") {
            await endpoint.ping()
        }
    }

    /// Copies the CA and server certificate into the guest and restarts Docker.
    func pushCertificates(_ config: MachineConfig) async throws {
        let ssh = SSHCommand(config: config, store: store)
        let (certificate, key) = try certificateFiles(config.name).serverPEM()
        try await ssh.install(try SecureFile.readText(storeCertificates.caCertificate), at: "/etc/docker/ca.pem", mode: "0644")
        try await ssh.install(certificate, at: "/etc/docker/server.pem", mode: "0644")
        try await ssh.install(key, at: "/etc/docker/server-key.pem", mode: "0600")
        try await ssh.run("sudo systemctl restart docker")
    }

    /// Re-applies the machine's configuration in the guest: certificates, daemon.json and the
    /// Docker service drop-in, then restarts Docker.
    public func provision(_ config: MachineConfig) async throws {
        guard try await state(of: config) == .running else {
            throw BerthError(.machineNotRunning, "machine \"\(config.name)\" is not running; start it with `berth start \(config.name)`")
        }
        try certificateFiles(config.name).ensureServerCertificate(store: storeCertificates, machineName: config.name,
                                                                  ip: config.network.ip)
        let ssh = SSHCommand(config: config, store: store)
        let daemon = DaemonConfig(labels: config.engine.labels, insecureRegistries: config.engine.insecureRegistries,
                                  registryMirrors: config.engine.registryMirrors, storageDriver: config.engine.storageDriver)
        try await ssh.install(try daemon.render(), at: "/etc/docker/daemon.json", mode: "0644")
        let dropIn = DockerServiceDropIn(environment: config.engine.environment, engineOptions: config.engine.options)
        try await ssh.install(dropIn.render(), at: DockerServiceDropIn.path, mode: "0644")
        try await ssh.run("sudo systemctl daemon-reload")
        try await pushCertificates(config)
        let endpoint = endpoint(config)
        try await waitUntil(ContinuousClock.now + .seconds(120), for: config, what: "Docker on \(config.dockerURL)") {
            await endpoint.ping()
        }
    }

    /// Upgrades Docker Engine in the guest from the distribution's packages.
    public func upgrade(_ config: MachineConfig) async throws -> String? {
        guard try await state(of: config) == .running else {
            throw BerthError(.machineNotRunning, "machine \"\(config.name)\" is not running; start it with `berth start \(config.name)`")
        }
        let ssh = SSHCommand(config: config, store: store)
        try await ssh.run("sudo env DEBIAN_FRONTEND=noninteractive sh -c 'apt-get update -q >/dev/null && apt-get install -y -q --only-upgrade docker.io containerd runc >/dev/null' && sudo systemctl restart docker")
        let endpoint = endpoint(config)
        try await waitUntil(ContinuousClock.now + .seconds(120), for: config, what: "Docker on \(config.dockerURL)") {
            await endpoint.ping()
        }
        return await endpoint.engineVersion()
    }
}
