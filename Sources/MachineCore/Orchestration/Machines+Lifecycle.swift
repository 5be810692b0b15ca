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
                        // Commands on one machine queue behind each other (an upgrade takes minutes).
                        let lock = try await self.store.lock(name, timeout: .seconds(900))
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
    /// with another IP (the network was made again on another subnet), the config and server
    /// certificate follow it; if the network had to be made again, the other machines on it get their
    /// reservations back too. Also (re)starts the machine's port forwarder, and returns what it
    /// reports, so the caller can say which forwards could not be made. The phases are kept in the
    /// machine's config (`timings`); with `guestTimings`, the guest's side too.
    @discardableResult
    public func start(_ config: MachineConfig, waitForDocker: Bool = true, timeout: Duration? = nil,
                      guestTimings: Bool = false) async throws -> ForwardState? {
        try requireComplete(config)
        if config.isGeneric { throw GenericDriver.powerRefused(config, "start") }
        let timeline = StageTimeline(forwardingTo: nil)
        let driver = await driver(for: config)
        // A running machine whose forwarder died gets it back.
        guard try await driver.state(config) != .running else { return try await syncForwarder(config) }
        var config = config
        var mark = ContinuousClock.now
        var moved = false
        if !config.network.isUserMode {
            let reservation = try await driver.reserveAddress(for: config.name, network: config.network.name, previous: config.network)
            moved = reservation.attachment.ip != config.network.ip || reservation.attachment.mac != config.network.mac
            if reservation.attachment != config.network {
                config.network = reservation.attachment
                try store.save(config)
            }
            if reservation.networkCreated { try await restoreReservations(on: config.network.name, except: config.name) }
        }
        let certificatesChanged = try ensureServerCertificate(config)
        if certificatesChanged || moved { refreshDockerContext(config) }
        timeline.add("network and certificates", from: mark)
        mark = .now
        try await driver.start(config)
        // A machine on another host is reached through its forwarder's tunnel.
        if config.tunnel != nil { try await syncForwarder(config) }
        timeline.add("boot", from: mark)
        guard waitForDocker || certificatesChanged || moved else { return nil }
        let deadline = ContinuousClock.now + (timeout ?? (config.hypervisor.virtType == "kvm" ? .seconds(300) : .seconds(900)))
        if certificatesChanged {
            mark = .now
            if config.tunnel == nil {
                try await waitUntil(deadline, for: config, what: "SSH on \(config.network.ip):22") {
                    await TCPProbe.isOpen(host: config.network.ip, port: config.ssh.port)
                }
            }
            try await pushCertificates(config)
            timeline.add("certificates installed over SSH", from: mark)
        }
        mark = .now
        let endpoint = try endpoint(config)
        try await waitUntil(deadline, for: config, what: "Docker on \(config.dockerURL)") { await endpoint.ping() }
        timeline.add("waiting for Docker", from: mark)
        var timings = BootTimings(operation: "start", phases: timeline.recorded)
        if guestTimings { timings = await withGuestTimings(timings, of: config, timeline: timeline) }
        if var saved = try? self.config(config.name) {
            saved.timings = timings
            try? store.save(saved)
        }
        return try await syncForwarder(config)
    }

    /// Makes sure the machine's server certificate is current for its address and its `--tls-san`
    /// names, issuing a new one otherwise; returns whether it did.
    @discardableResult
    func ensureServerCertificate(_ config: MachineConfig) throws -> Bool {
        try certificateFiles(config.name).ensureServerCertificate(
            store: storeCertificates, machineName: config.name, ip: config.network.ip, extraNames: config.tlsSANs ?? [])
    }

    /// Commands that act on a machine's parts refuse one whose create never finished.
    func requireComplete(_ config: MachineConfig) throws {
        guard config.isComplete else {
            throw BerthError(.machineNotRunning, "machine \"\(config.name)\" was not created completely (its create was interrupted); remove it with `berth rm -f \(config.name)` and create it again")
        }
    }

    public func stop(_ config: MachineConfig, timeout: Duration = .seconds(90)) async throws {
        if config.isGeneric { throw GenericDriver.powerRefused(config, "stop") }
        await forwarder(config.name).stop()
        try await driver(for: config).stop(config, timeout: timeout)
    }

    public func kill(_ config: MachineConfig) async throws {
        if config.isGeneric { throw GenericDriver.powerRefused(config, "kill") }
        await forwarder(config.name).stop()
        try await driver(for: config).kill(config)
    }

    public func restart(_ config: MachineConfig) async throws {
        if config.isGeneric { throw GenericDriver.powerRefused(config, "restart") }
        try await stop(config)
        try await start(config)
    }

    /// Removes everything of a machine: domain, volumes, address reservation, store folder.
    /// With `force`, a machine whose config is unreadable, or whose create was interrupted, or whose
    /// hypervisor parts are already gone, is removed anyway: by the names berth derives from the
    /// machine's name. A machine that does not exist is no error with `force`, as in Docker Machine.
    /// A swarm node first leaves its cluster (drained, then taken off the managers' node list), so
    /// the cluster stays healthy; a manager that still has workers needs `force`.
    /// An existing server (`--driver generic`) is only forgotten, unless `removeEngineConfig`
    /// asks for berth's files to be taken off it too.
    public func remove(_ name: String, force: Bool, removeEngineConfig: Bool = false) async throws {
        try MachineName.validate(name)
        guard store.exists(name) else {
            // A context left by a machine removed some other way goes too.
            if force { return removeDockerContext(of: name) }
            _ = try config(name)
            return
        }
        let lock = try await store.lock(name)
        defer { withExtendedLifetime(lock) {} }
        let recorded: MachineConfig?
        if force { recorded = try? config(name) } else { recorded = try config(name) }
        if let recorded, recorded.swarm != nil {
            do {
                try await leaveSwarmLocked(recorded, force: force)
            } catch let error as BerthError where force {
                logger.warning("\(name) did not leave its swarm cleanly: \(error.message)")
            }
        }
        await forwarder(name).stop()
        if let recorded, recorded.isGeneric {
            if removeEngineConfig {
                do {
                    try await removeEngineConfiguration(recorded)
                } catch let error as BerthError where force {
                    logger.warning("could not take berth's files off \(recorded.network.ip): \(error.message)")
                }
            }
            try store.remove(name)
            removeDockerContext(of: name)
            return
        }
        let uri = recorded?.hypervisor.uri ?? Self.defaultURI
        do {
            try await driver(uri: uri).removeMachine(named: name, recorded: recorded)
        } catch where force {
            // The hypervisor may be unreachable: the local record goes anyway, as asked.
            logger.warning("could not remove the libvirt parts of \(name): \(error)")
        }
        try store.remove(name)
        removeDockerContext(of: name)
    }

    /// Makes sure the server certificate names the machine's IP; when it had to be reissued and
    /// the machine is running, installs it in the guest, under the machine's lock so that two
    /// commands never install different certificates. Returns whether anything changed.
    @discardableResult
    public func repairCertificates(_ config: MachineConfig) async throws -> Bool {
        let files = try certificateFiles(config.name)
        if try files.serverCertificateIsCurrent(store: storeCertificates, ip: config.network.ip,
                                                extraNames: config.tlsSANs ?? []) { return false }
        let lock = try await store.lock(config.name, timeout: .seconds(120))
        defer { withExtendedLifetime(lock) {} }
        let changed = try ensureServerCertificate(config)
        guard changed else { return false }
        refreshDockerContext(config)
        if try await state(of: config) == .running { try await pushCertificates(config) }
        return true
    }

    /// Issues a new server certificate (and with `clientCertificates`, a new CA and client
    /// certificate for the whole store) and installs it in the running guest.
    public func regenerateCertificates(_ config: MachineConfig, clientCertificates: Bool) async throws {
        try requireComplete(config)
        let files = try certificateFiles(config.name)
        if clientCertificates { try storeCertificates.replaceAuthority() }
        try? FileManager.default.removeItem(at: files.serverCertificate)
        try ensureServerCertificate(config)
        refreshDockerContext(config)
        guard try await state(of: config) == .running else { return }
        try await pushCertificates(config)
        let endpoint = try endpoint(config)
        try await waitUntil(ContinuousClock.now + .seconds(120), for: config, what: "Docker on \(config.dockerURL)") {
            await endpoint.ping()
        }
    }

    /// Copies the CA, server certificate and key into the guest in one session (each written beside
    /// its place, then renamed) and restarts Docker.
    func pushCertificates(_ config: MachineConfig) async throws {
        let ssh = try SSHCommand(config: config, store: store)
        try await ssh.install(try tlsFiles(config))
        try await restartDocker(ssh)
    }

    /// Docker's TLS files for the machine: the store's CA, its server certificate and key.
    func tlsFiles(_ config: MachineConfig) throws -> [(path: String, content: String, mode: String)] {
        let (certificate, key) = try certificateFiles(config.name).serverPEM()
        return [
            (path: "/etc/docker/ca.pem", content: try SecureFile.readText(storeCertificates.caCertificate), mode: "0644"),
            (path: "/etc/docker/server.pem", content: certificate, mode: "0644"),
            (path: "/etc/docker/server-key.pem", content: key, mode: "0600"),
        ]
    }

    /// Everything that makes a Docker Engine berth's: the TLS files, daemon.json and the
    /// docker.service drop-in with the machine's engine options.
    func engineFiles(_ config: MachineConfig) throws -> [(path: String, content: String, mode: String)] {
        let daemon = DaemonConfig(labels: config.engine.labels, insecureRegistries: config.engine.insecureRegistries,
                                  registryMirrors: config.engine.registryMirrors, storageDriver: config.engine.storageDriver)
        let dropIn = DockerServiceDropIn(environment: config.engine.environment, engineOptions: config.engine.options)
        let engine: [(path: String, content: String, mode: String)]
        if config.image.berthInit != nil {
            // berth's own image: dockerd's environment and flags come from files its drop-in reads.
            engine = [(path: DockerServiceDropIn.environmentFilePath, content: dropIn.environmentFile(), mode: "0644"),
                      (path: DockerServiceDropIn.argumentsFilePath, content: dropIn.argumentsFile(), mode: "0644")]
        } else {
            engine = [(path: DockerServiceDropIn.path, content: dropIn.render(), mode: "0644")]
        }
        return try tlsFiles(config) + [(path: "/etc/docker/daemon.json", content: try daemon.render(), mode: "0644")] + engine
    }

    /// Restarts Docker Engine in the guest. systemd refuses a unit that started too often in a short
    /// while (docker.service allows 3 starts a minute); berth's own restarts are deliberate, so the
    /// counter is reset first and `provision` right after `upgrade` does not trip it.
    func restartDocker(_ ssh: SSHCommand) async throws {
        try await ssh.run(ssh.asRoot("sh -c 'systemctl reset-failed docker.service docker.socket >/dev/null 2>&1; systemctl restart docker.service'"))
    }

    /// Re-applies the machine's configuration in the guest: certificates, daemon.json and the
    /// Docker service drop-in, then restarts Docker.
    public func provision(_ config: MachineConfig) async throws {
        try requireComplete(config)
        let state = try await state(of: config)
        guard state == .running else { throw Self.notRunning(config.name, state) }
        try config.engine.validate()
        if try ensureServerCertificate(config) { refreshDockerContext(config) }
        let ssh = try SSHCommand(config: config, store: store)
        try await ssh.install(try engineFiles(config))
        // berth's own image reads dockerd's environment and flags from files; others need the drop-in read again.
        if config.image.berthInit == nil { try await ssh.run(ssh.asRoot("systemctl daemon-reload")) }
        try await restartDocker(ssh)
        let endpoint = try endpoint(config)
        try await waitUntil(ContinuousClock.now + .seconds(120), for: config, what: "Docker on \(config.dockerURL)") {
            await endpoint.ping()
        }
    }

    /// Upgrades Docker Engine in the guest from the distribution's packages.
    public func upgrade(_ config: MachineConfig) async throws -> String? {
        try requireComplete(config)
        let state = try await state(of: config)
        guard state == .running else { throw Self.notRunning(config.name, state) }
        let ssh = try SSHCommand(config: config, store: store)
        try await ssh.run(ssh.asRoot("env DEBIAN_FRONTEND=noninteractive sh -c 'apt-get update -q >/dev/null && apt-get install -y -q --only-upgrade docker.io containerd runc >/dev/null'"),
                          timeout: .seconds(1800))
        try await restartDocker(ssh)
        let endpoint = try endpoint(config)
        try await waitUntil(ContinuousClock.now + .seconds(120), for: config, what: "Docker on \(config.dockerURL)") {
            await endpoint.ping()
        }
        return await endpoint.engineVersion()
    }
}
