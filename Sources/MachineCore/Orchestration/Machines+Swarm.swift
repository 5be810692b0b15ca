import Foundation

/// Docker Swarm clusters (swarm mode) of berth's machines, made with Docker's own commands run in
/// the machines over SSH. berth keeps each node's role and cluster in its config (for `ls` and for
/// leaving cleanly); Docker keeps the cluster itself.
extension Machines {
    public typealias SwarmRole = MachineConfig.SwarmMembership.Role

    /// Makes the machine the first manager of a new swarm, advertised at its network address.
    @discardableResult
    public func initSwarm(_ name: String, labels: [String] = []) async throws -> MachineConfig {
        try await withMachineLock(name) {
            var config = try await swarmReady(name)
            let ssh = try SSHCommand(config: config, store: store)
            let address = config.network.ip
            try await ssh.run(ssh.asRoot(SwarmCommands.initialise(advertiseAddress: address)), timeout: .seconds(120))
            let node = try await nodeID(ssh)
            config.swarm = .init(role: .manager, manager: config.name, nodeID: node, advertiseAddress: address)
            try store.save(config)
            if !labels.isEmpty {
                try await ssh.run(ssh.asRoot(SwarmCommands.addLabels(labels, node: node)))
                config.swarm?.labels = labels
                try store.save(config)
            }
            return config
        }
    }

    /// The manager a machine is to join, checked before anything is made for the joiner (a create
    /// with `--swarm-join` asks first, so a wrong name costs no boot): a complete machine of this
    /// store that berth made a swarm manager, and running.
    public func swarmManager(_ name: String) async throws -> MachineConfig {
        let manager = try config(name)
        guard let swarm = manager.swarm, swarm.role == .manager else {
            throw BerthError(.invalidArgument, "machine \"\(name)\" is not a swarm manager; make it one with `berth swarm init \(name)`")
        }
        let state = try await state(of: manager)
        guard state == .running else {
            throw BerthError(.machineNotRunning, "swarm manager \"\(name)\" is \(state.rawValue.lowercased()); start it with `berth start \(name)`")
        }
        return manager
    }

    /// Joins a machine to the cluster `managerName` manages, as a worker or a manager. First checks
    /// that the machine reaches the manager's swarm port: machines on different hypervisor hosts
    /// whose networks do not route to each other cannot form a swarm, and Docker would only time out.
    @discardableResult
    public func joinSwarm(_ name: String, manager managerName: String, as role: SwarmRole = .worker,
                          labels: [String] = []) async throws -> MachineConfig {
        guard name != managerName else {
            throw BerthError(.invalidArgument, "machine \"\(name)\" cannot join its own swarm")
        }
        return try await withMachineLock(name) {
            var config = try await swarmReady(name)
            let manager = try await swarmManager(managerName)
            let managerSwarm = manager.swarm!
            let ssh = try SSHCommand(config: config, store: store)
            let managerSSH = try SSHCommand(config: manager, store: store)
            guard try await ssh.succeeds(SwarmCommands.reaches(managerSwarm.advertiseAddress)) else {
                throw BerthError(.provisioning, "machine \"\(name)\" cannot reach swarm manager \"\(managerName)\" at \(managerSwarm.advertiseAddress):\(SwarmCommands.managementPort): their networks do not route to each other (on different hypervisor hosts?), and a swarm's nodes must reach each other directly")
            }
            let token = try await managerSSH.run(managerSSH.asRoot(SwarmCommands.joinToken(for: role)))
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let address = config.network.ip
            try await ssh.run(ssh.asRoot(SwarmCommands.join(managerAddress: managerSwarm.advertiseAddress, advertiseAddress: address)),
                              input: Data((token + "\n").utf8), timeout: .seconds(180))
            // Recorded at once, so that whatever fails next, `rm` takes the node out of the cluster again.
            config.swarm = .init(role: role, manager: managerSwarm.manager, nodeID: try await nodeID(ssh), advertiseAddress: address)
            try store.save(config)
            if !labels.isEmpty {
                try await managerSSH.run(managerSSH.asRoot(SwarmCommands.addLabels(labels, node: config.swarm!.nodeID)))
                config.swarm?.labels = labels
                try store.save(config)
            }
            return config
        }
    }

    /// The machine to talk to for a machine's swarm (`env --swarm`, `config --swarm`): the machine
    /// itself when it is a manager, else a running manager of its swarm. Docker Machine pointed at the
    /// standalone Swarm's own endpoint; in swarm mode, a manager's Docker is where `docker service`
    /// and `docker node` work.
    public func swarmEndpoint(of name: String) async throws -> MachineConfig {
        let config = try config(name)
        guard let swarm = config.swarm else {
            throw BerthError(.invalidArgument, "machine \"\(name)\" is in no swarm; leave out --swarm, or make one with `berth swarm init \(name)`")
        }
        if swarm.role == .manager { return config }
        guard let manager = await runningManager(of: swarm.manager, except: name) else {
            throw BerthError(.machineNotRunning, "\(DockerMachineWording.hostNotRunning); no manager of swarm \"\(swarm.manager)\" is running: start \(swarm.manager)")
        }
        return manager
    }

    /// Takes a machine out of its swarm (`berth swarm leave`), as `rm` does before removing a node.
    @discardableResult
    public func leaveSwarm(_ name: String, force: Bool) async throws -> MachineConfig {
        try await withMachineLock(name) {
            let config = try config(name)
            guard config.swarm != nil else {
                throw BerthError(.invalidArgument, "machine \"\(name)\" is in no swarm berth knows of")
            }
            return try await leaveSwarmLocked(config, force: force)
        }
    }

    /// Leaves the swarm, under the caller's lock of the machine: drained first (a manager demoted
    /// first) so its tasks move to other nodes, then out of the swarm, then off the managers' node
    /// list, so the cluster keeps no node that is down. The last manager of a cluster that still has
    /// other nodes needs `force`, which dissolves the cluster: every node of it berth knows leaves too.
    /// Returns the config without its swarm record (already saved).
    @discardableResult
    func leaveSwarmLocked(_ config: MachineConfig, force: Bool) async throws -> MachineConfig {
        guard let swarm = config.swarm else { return config }
        let ssh = try SSHCommand(config: config, store: store)
        // A node whose Docker already left (by hand, or reinstalled) has nothing to leave.
        let running = try await state(of: config) == .running
        let active = running ? try await isSwarmActive(ssh) : false
        let otherManager = await runningManager(of: swarm.manager, except: config.name)
        if swarm.role == .manager, otherManager == nil {
            // The last manager: with other nodes left, leaving dissolves the cluster. Docker's node
            // list counts nodes berth did not join too.
            var others: [SwarmCommands.Node] = []
            if active {
                others = SwarmCommands.Node.parse(try await ssh.run(ssh.asRoot(SwarmCommands.nodes))).filter { $0.id != swarm.nodeID }
            }
            let members = clusterMembers(swarm.manager, except: config.name)
            if !(others.isEmpty && members.isEmpty), !force {
                let names = members.map(\.name) + others.filter { node in !members.contains { $0.swarm?.nodeID == node.id } }
                    .map(\.hostname)
                let list = names.isEmpty ? "" : " (\(names.joined(separator: ", ")))"
                throw BerthError(.invalidArgument, "machine \"\(config.name)\" is the last manager of a swarm that still has other nodes\(list): remove them first (`berth rm \(names.first ?? "NAME")`), or use -f to dissolve the swarm")
            }
            if active { try await ssh.run(ssh.asRoot(SwarmCommands.leave(force: true)), timeout: .seconds(120)) }
            for member in members { await dissolve(member) }
        } else {
            if let manager = otherManager {
                let managerSSH = try SSHCommand(config: manager, store: store)
                if swarm.role == .manager { try await managerSSH.run(managerSSH.asRoot(SwarmCommands.demote(node: swarm.nodeID))) }
                if active { try await drain(swarm.nodeID, through: managerSSH) }
            } else if !force {
                throw BerthError(.machineNotRunning, "no manager of swarm \"\(swarm.manager)\" is running to take \"\(config.name)\" off its node list; start \(swarm.manager), or use -f")
            }
            if active {
                try await ssh.run(ssh.asRoot(SwarmCommands.leave(force: otherManager == nil)), timeout: .seconds(120))
            }
            if let manager = otherManager {
                let managerSSH = try SSHCommand(config: manager, store: store)
                try await managerSSH.run(managerSSH.asRoot(SwarmCommands.removeNode(swarm.nodeID)))
                // The cluster was named after this manager: it takes the name of the one that remains.
                if swarm.manager == config.name { await rename(cluster: config.name, to: manager.name, except: config.name) }
            }
        }
        var left = config
        left.swarm = nil
        try store.save(left)
        return left
    }

    /// Marks the node unavailable and waits (up to a minute) until none of its tasks still runs,
    /// so services have moved to the other nodes before it leaves.
    func drain(_ node: String, through manager: SSHCommand) async throws {
        try await manager.run(manager.asRoot(SwarmCommands.drain(node: node)))
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let states = try await manager.run(manager.asRoot(SwarmCommands.taskStates(node: node)))
            if !states.split(separator: "\n").contains(where: { $0.hasPrefix("Running") || $0.hasPrefix("Starting") }) { return }
            try await Task.sleep(for: .seconds(1))
        }
        logger.warning("node \(node) still runs tasks a minute after it was drained; it leaves anyway")
    }

    /// Machines of this store in the cluster named `cluster`, but `except`.
    func clusterMembers(_ cluster: String, except: String) -> [MachineConfig] {
        store.machineNames().filter { $0 != except }.compactMap { try? config($0) }.filter { $0.swarm?.manager == cluster }
    }

    /// A running manager of the cluster other than `except`, the cluster's first manager preferred.
    func runningManager(of cluster: String, except: String) async -> MachineConfig? {
        let managers = clusterMembers(cluster, except: except).filter { $0.swarm?.role == .manager }
            .sorted { ($0.name == cluster ? 0 : 1) < ($1.name == cluster ? 0 : 1) }
        for manager in managers where (try? await state(of: manager)) == .running { return manager }
        return nil
    }

    /// After the last manager left: the node leaves the dead cluster too (if it runs), and its
    /// record goes. Best effort: a node that cannot be reached keeps Docker's stale state.
    func dissolve(_ member: MachineConfig) async {
        do {
            try await withMachineLock(member.name) {
                var config = try config(member.name)
                if try await state(of: config) == .running {
                    let ssh = try SSHCommand(config: config, store: store)
                    if try await isSwarmActive(ssh) { try await ssh.run(ssh.asRoot(SwarmCommands.leave(force: true)), timeout: .seconds(120)) }
                }
                config.swarm = nil
                try store.save(config)
            }
        } catch {
            logger.warning("\(member.name) could not leave the dissolved swarm: \((error as? BerthError)?.message ?? "\(error)")")
        }
    }

    /// Names the cluster after another machine in every member's record but `except`'s (whose
    /// lock the caller holds).
    func rename(cluster: String, to name: String, except: String) async {
        for member in clusterMembers(cluster, except: except) {
            try? await withMachineLock(member.name) {
                var config = try config(member.name)
                config.swarm?.manager = name
                try store.save(config)
            }
        }
    }

    /// A machine that can take part in a swarm: complete, running, and in none yet (by berth's record
    /// and by Docker's own state).
    func swarmReady(_ name: String) async throws -> MachineConfig {
        let config = try config(name)
        try requireComplete(config)
        let state = try await state(of: config)
        guard state == .running else { throw Self.notRunning(name, state) }
        if let swarm = config.swarm {
            throw BerthError(.invalidArgument, "machine \"\(name)\" is already a swarm \(swarm.role.rawValue) of \"\(swarm.manager)\"; `berth swarm leave \(name)` first")
        }
        let ssh = try SSHCommand(config: config, store: store)
        if try await isSwarmActive(ssh) {
            throw BerthError(.invalidArgument, "Docker in machine \"\(name)\" is already part of a swarm berth did not make; leave it with `berth ssh \(name) -- sudo docker swarm leave --force` first")
        }
        return config
    }

    func isSwarmActive(_ ssh: SSHCommand) async throws -> Bool {
        let state = try await ssh.run(ssh.asRoot(SwarmCommands.localState)).trimmingCharacters(in: .whitespacesAndNewlines)
        return state != "inactive"
    }

    func nodeID(_ ssh: SSHCommand) async throws -> String {
        let id = try await ssh.run(ssh.asRoot(SwarmCommands.nodeID)).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !id.isEmpty else { throw BerthError(.provisioning, "Docker in machine \"\(ssh.config.name)\" reports no swarm node ID") }
        return id
    }

    /// Runs `body` under the machine's lock (commands on one machine queue behind each other).
    func withMachineLock<T: Sendable>(_ name: String, _ body: () async throws -> T) async throws -> T {
        let lock = try await store.lock(name, timeout: .seconds(300))
        defer { withExtendedLifetime(lock) {} }
        return try await body()
    }
}
