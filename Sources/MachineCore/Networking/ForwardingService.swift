import Foundation
import Logging
import PortForwarding

/// The work of a machine's port forwarder process (`berth forwarder NAME`, started by berth,
/// never by hand): forwards the machine's configured ports, follows its Docker Engine's events to
/// forward each running container's published ports (auto-publish), reloads the configuration on
/// SIGHUP, and ends when the machine stops. User-space sockets only: no firewall rules, so it works
/// for users who are not root.
public actor ForwardingService {
    let machines: Machines
    let name: String
    let logger: Logger
    private let forwarder: Forwarder
    private var config: MachineConfig
    private var generation = 0
    private var configured: [ForwardState.Entry] = []
    /// Auto-published forwards by container ID.
    private var published: [String: [ForwardState.Entry]] = [:]
    /// Docker's version while the event stream from it is open.
    private var engineVersion: String?
    /// SSH connections that carry forwards (to the machine; to its hypervisor host), made on first need.
    private var guestForwarding: SSHForwarding?
    private var hostForwarding: SSHForwarding?

    public init(machines: Machines, name: String, logger: Logger) throws {
        self.machines = machines
        self.name = name
        self.logger = logger
        self.forwarder = Forwarder(logger: logger)
        self.config = try machines.config(name)
    }

    /// Runs until the machine stops or the task is cancelled. Exits at once when another
    /// forwarder already serves this machine.
    public func run() async throws {
        let files = try ForwarderFiles(store: machines.store, machine: name)
        guard let lock = try StoreLock.tryAcquire(at: files.lock) else {
            logger.notice("another forwarder already serves \(name)")
            return
        }
        defer { withExtendedLifetime(lock) {} }
        await openEngineTunnel()
        await reload()
        let following = Task { await self.followDocker() }
        defer { following.cancel() }
        while !Task.isCancelled {
            if let state = try? await machines.state(of: config), state != .running, state != .creating { break }
            try? await Task.sleep(for: .seconds(2))
        }
        await forwarder.close()
        await guestForwarding?.close()
        await hostForwarding?.close()
        try? FileManager.default.removeItem(at: files.state)
    }

    /// How forwards reach this machine: straight to its address, or through SSH when the host has no
    /// route to it (QEMU's user-mode network; another hypervisor host).
    var route: ForwardState.Route {
        if config.tunnel != nil { return .hostSSH }
        return config.network.isUserMode ? .guestSSH : .direct
    }

    /// Where a forward to guest port `port` goes, on the route.
    func target(port: Int) -> String { route == .guestSSH ? "127.0.0.1" : config.network.ip }

    /// For a machine on another hypervisor host: Docker's endpoint on 127.0.0.1 here, through SSH to
    /// that host (what `berth env` points at).
    func openEngineTunnel() async {
        guard let tunnel = config.tunnel else { return }
        let rule = ForwardRule(listenAddress: "127.0.0.1", listenPort: tunnel.dockerPort, targetHost: config.network.ip,
                               targetPort: DaemonConfig.tlsPort)
        do {
            try await add(rule, route: .hostSSH)
        } catch {
            logger.error("cannot forward Docker's endpoint of \(name) through \(tunnel.host.destination): \(error)")
        }
    }

    /// Reads the configuration again and makes the configured forwards match it.
    public func reload() async {
        if let fresh = try? machines.config(name) { config = fresh }
        await remove(configured)
        configured = []
        for spec in config.ports ?? [] {
            let rules = spec.rules(to: target(port: 0))
            do {
                guard route == .direct || spec.proto == .tcp else {
                    throw BerthError(.invalidArgument, "UDP forwards need a machine on this host's libvirt network; SSH carries TCP only")
                }
                if route == .direct {
                    try await forwarder.add(rules)
                } else {
                    for rule in rules { try await add(rule, route: route) }
                }
                configured += rules.map { .init(rule: $0, source: .spec(spec.description), listening: true, route: route) }
            } catch {
                logger.warning("cannot forward \(spec): \(error)")
                configured += rules.map { .init(rule: $0, source: .spec(spec.description), listening: false, error: "\(error)", route: route) }
            }
        }
        generation += 1
        publishState()
    }

    /// Follows the machine's Docker events for as long as it runs, reconnecting when Docker
    /// restarts; replays what happened while it was away (`since`). While the stream is open Docker
    /// answers, so its version is kept for `ls`. Containers' ports are forwarded with auto-publish.
    func followDocker() async {
        let autoPublish = config.autoPublish ?? true
        var since: Int64?
        while !Task.isCancelled {
            do {
                let endpoint = try machines.endpoint(config)
                let api = endpoint.api()
                let events = try await api.events(since: since)
                // What runs now, then every change after it.
                let running = try await api.runningContainers()
                if autoPublish { await apply(running, replacingAll: true) }
                engineVersion = await endpoint.engineVersion()
                publishState()
                for try await event in events {
                    guard autoPublish else { continue }
                    if let time = event.time { since = time }
                    switch event.containerChange {
                    case .started(let id)?:
                        if let container = try await api.container(id) { await apply([container], replacingAll: false) }
                    case .stopped(let id)?:
                        await unpublish(containerID: id)
                    case nil:
                        continue
                    }
                }
            } catch {
                logger.info("Docker events of \(name) interrupted: \(error); trying again")
            }
            if engineVersion != nil {
                engineVersion = nil
                publishState()
            }
            try? await Task.sleep(for: .seconds(2))
        }
    }

    /// Forwards the published ports of `containers`. A host port that cannot be bound (already
    /// in use, privileged) is recorded with its reason and logged once, never fatal.
    func apply(_ containers: [ContainerPorts], replacingAll: Bool) async {
        if replacingAll {
            for id in published.keys where !containers.contains(where: { $0.id == id }) { await unpublish(containerID: id) }
        }
        for container in containers {
            let plan = AutoPublish.plan(for: [container], guestIP: target(port: 0))
            let previous = published[container.id] ?? []
            let wanted = Set(plan.rules + plan.loopbackRules)
            await remove(previous.filter { !wanted.contains($0.rule) })
            var entries: [ForwardState.Entry] = []
            // Ports on the machine's own loopback only SSH into the machine reaches.
            for (rule, route) in plan.rules.map({ ($0, route) }) + plan.loopbackRules.map({ ($0, ForwardState.Route.guestSSH) }) {
                if let kept = previous.first(where: { $0.rule == rule && $0.listening }) {
                    entries.append(kept)
                    continue
                }
                do {
                    try await add(rule, route: route)
                    entries.append(.init(rule: rule, source: .container(container.name), listening: true, route: route))
                } catch {
                    logger.warning("container \(container.name) publishes port \(rule.listenPort): \(error)")
                    entries.append(.init(rule: rule, source: .container(container.name), listening: false,
                                         error: "\(error)", route: route))
                }
            }
            published[container.id] = entries.isEmpty ? nil : entries
        }
        publishState()
    }

    func unpublish(containerID: String) async {
        guard let entries = published.removeValue(forKey: containerID) else { return }
        await remove(entries)
        publishState()
    }

    private func add(_ rule: ForwardRule, route: ForwardState.Route) async throws {
        switch route {
        case .direct: try await forwarder.add([rule])
        case .guestSSH: try await guestSSH().add(rule)
        case .hostSSH: try await hostSSH().add(rule)
        }
    }

    private func remove(_ entries: [ForwardState.Entry]) async {
        for entry in entries where entry.listening {
            switch entry.route {
            case .direct: await forwarder.remove([entry.rule])
            case .guestSSH: await guestForwarding?.remove(entry.rule)
            case .hostSSH: await hostForwarding?.remove(entry.rule)
            }
        }
    }

    private func guestSSH() throws -> SSHForwarding {
        if let guestForwarding { return guestForwarding }
        let made = try SSHForwarding(guest: try SSHCommand(config: config, store: machines.store))
        guestForwarding = made
        return made
    }

    private func hostSSH() throws -> SSHForwarding {
        if let hostForwarding { return hostForwarding }
        guard let tunnel = config.tunnel else { throw BerthError(.command, "machine \"\(name)\" is on this host") }
        let made = try SSHForwarding(host: tunnel.host)
        hostForwarding = made
        return made
    }

    /// Writes what the forwarder does now for the commands that ask.
    private func publishState() {
        guard let files = try? ForwarderFiles(store: machines.store, machine: name) else { return }
        let entries = configured + published.keys.sorted().flatMap { published[$0] ?? [] }
        let state = ForwardState(pid: getpid(), generation: generation, entries: entries, engineVersion: engineVersion)
        try? SecureFile.write(try Store.encoder.encode(state), to: files.state, mode: SecureFile.privateMode)
    }
}
