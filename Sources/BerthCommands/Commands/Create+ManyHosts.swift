import ArgumentParser
import Foundation
import MachineCore

/// `create --driver generic` and its `--generic-*` flags, as Docker Machine's generic driver took them.
struct GenericDriverOptions: ParsableArguments {
    @Option(name: [.short, .customLong("driver")],
            help: "libvirt (the default; kvm is taken as an alias, for Docker Machine's scripts) or generic (an existing Debian or Ubuntu server over SSH).")
    var driver = "libvirt"
    @Option(name: .customLong("generic-ip-address"), help: "generic: the server's IPv4 address.") var ipAddress: String?
    @Option(name: .customLong("generic-ssh-user"), help: "generic: the SSH user, root or one with password-less sudo (default: root).")
    var sshUser: String?
    @Option(name: .customLong("generic-ssh-key"),
            help: "generic: the SSH private key, copied into the machine folder (default: ~/.ssh/id_ed25519, id_ecdsa or id_rsa).")
    var sshKey: String?
    @Option(name: .customLong("generic-ssh-port"), help: "generic: the SSH port (default: 22).") var sshPort: Int?

    static let drivers = ["libvirt", "kvm", "generic"]

    var isGeneric: Bool { driver == MachineConfig.genericDriver }

    /// The generic flags that were given, by name.
    var givenGenericFlags: [String] {
        [("--generic-ip-address", ipAddress != nil), ("--generic-ssh-user", sshUser != nil),
         ("--generic-ssh-key", sshKey != nil), ("--generic-ssh-port", sshPort != nil)].filter(\.1).map(\.0)
    }

    func validate() throws {
        guard Self.drivers.contains(driver) else {
            throw ValidationError("--driver must be libvirt (or its alias kvm) or generic, not \"\(driver)\"")
        }
        if !isGeneric, let flag = givenGenericFlags.first {
            throw ValidationError("\(flag) needs --driver generic")
        }
        if isGeneric, ipAddress == nil {
            throw ValidationError("--driver generic needs --generic-ip-address: the address of the server to take over")
        }
        if let sshPort, !(1...65535).contains(sshPort) {
            throw ValidationError("--generic-ssh-port must be between 1 and 65535, not \(sshPort)")
        }
    }

    /// The request for `Machines.createGeneric`, with the user's usual key when none was given.
    func request(name: String) throws -> GenericCreateRequest {
        guard let key = sshKey.map({ URL(fileURLWithPath: $0) }) ?? GenericCreateRequest.defaultKey() else {
            throw BerthError(.invalidArgument, "--driver generic needs --generic-ssh-key: there is no ~/.ssh/id_ed25519, id_ecdsa or id_rsa to use")
        }
        var request = GenericCreateRequest(name: name, address: ipAddress ?? "", key: key)
        request.user = sshUser ?? "root"
        request.port = sshPort ?? 22
        return request
    }
}

/// `create --swarm-manager`, `--swarm-join MANAGER [--swarm-join-as manager]` and `--swarm-label`:
/// Docker's swarm mode. Docker Machine's own flags were for the standalone Swarm, which is gone;
/// they are taken only to say what to use instead.
struct SwarmCreateOptions: ParsableArguments {
    @Flag(name: .customLong("swarm-manager"), help: "Make the machine the first manager of a new swarm (docker swarm init).")
    var manager = false
    @Option(name: .customLong("swarm-join"), help: "Join the swarm the machine MANAGER manages (docker swarm join).",
            completion: StoreCompletion.machines)
    var join: String?
    @Option(name: .customLong("swarm-join-as"), help: "With --swarm-join: worker (the default) or manager.") var joinAs: String?
    @Option(name: .customLong("swarm-label"), help: "A label for the machine's swarm node, as key=value (repeatable).")
    var labels: [String] = []

    @Flag(name: .customLong("swarm"), help: .hidden) var legacySwarm = false
    @Flag(name: .customLong("swarm-master"), help: .hidden) var legacyMaster = false
    @Option(name: .customLong("swarm-discovery"), help: .hidden) var legacyDiscovery: String?

    /// What the machine does in a swarm once it is made; nil for nothing.
    enum Plan: Equatable {
        case initialise(labels: [String])
        case join(manager: String, role: Machines.SwarmRole, labels: [String])
    }

    var plan: Plan? {
        if manager { return .initialise(labels: labels) }
        if let join { return .join(manager: join, role: joinAs.flatMap(Machines.SwarmRole.init) ?? .worker, labels: labels) }
        return nil
    }

    func validate() throws {
        if legacySwarm || legacyMaster || legacyDiscovery != nil {
            throw ValidationError("--swarm, --swarm-master and --swarm-discovery made Docker Machine's standalone Swarm, which is gone; berth uses Docker's swarm mode: --swarm-manager for a new swarm, --swarm-join MANAGER to join one")
        }
        if manager, join != nil { throw ValidationError("--swarm-manager and --swarm-join exclude each other: a machine makes a swarm or joins one") }
        if let joinAs {
            guard join != nil else { throw ValidationError("--swarm-join-as needs --swarm-join MANAGER") }
            guard Machines.SwarmRole(rawValue: joinAs) != nil else {
                throw ValidationError("--swarm-join-as must be worker or manager, not \"\(joinAs)\"")
            }
        }
        if !labels.isEmpty, !manager, join == nil {
            throw ValidationError("--swarm-label needs --swarm-manager or --swarm-join")
        }
        if let join {
            do { try MachineName.validate(join) } catch let error as BerthError { throw ValidationError("--swarm-join: \(error.message)") }
        }
        for label in labels {
            do { try SwarmCommands.validate(label: label) } catch let error as BerthError { throw ValidationError(error.message) }
        }
    }
}

extension Create {
    /// The flags that only apply to machines berth makes itself, when given with --driver generic.
    var libvirtOnlyFlags: [String] {
        [("--cpus", cpus != 2), ("--memory", memory != "2048"), ("--disk-size", diskSize != "20"), ("--image", image != nil),
         ("--virt-type", virtType != nil), ("--network", network != "berth"), ("--subnet", subnet != nil),
         ("--libvirt-uri", libvirtURI != nil), ("--cloud-init", cloudInit != nil), ("--ssh-key", sshKey != nil),
         ("--publish", !publish.isEmpty)].filter(\.1).map(\.0)
    }

    func validateManyHosts() throws {
        if generic.isGeneric, let flag = libvirtOnlyFlags.first {
            let hint = flag == "--ssh-key" ? "; use --generic-ssh-key" : ""
            throw ValidationError("\(flag) applies to machines berth makes, not to --driver generic\(hint)")
        }
        if case .join(let manager, _, _) = swarm.plan, manager == name {
            throw ValidationError("--swarm-join names the machine being made; give the name of a swarm manager")
        }
    }

    /// Creates the machine with its driver, then sets up its swarm. A swarm that cannot be set up
    /// fails the create, and the machine is removed again, as any failed create leaves nothing.
    static func create(_ name: String, libvirt: CreateRequest, generic: GenericCreateRequest?, swarm plan: SwarmCreateOptions.Plan?,
                       machines: Machines, reporter: StageReporter) async throws -> MachineConfig {
        // The manager is checked before anything is made, so a wrong name costs no boot.
        if case .join(let manager, _, _) = plan { _ = try await machines.swarmManager(manager) }
        let config: MachineConfig
        if let generic {
            config = try await machines.createGeneric(generic, reporter: reporter)
        } else {
            config = try await machines.create(libvirt, reporter: reporter)
        }
        guard let plan else { return config }
        let operation = StagedOperation(reporter: reporter)
        do {
            return try await operation.run { operation in
                operation.onFailure("machine \(name)") {
                    try await machines.remove(name, force: true, removeEngineConfig: config.isGeneric)
                }
                return try await operation.stage("swarm") {
                    switch plan {
                    case .initialise(let labels):
                        return try await machines.initSwarm(name, labels: labels)
                    case .join(let manager, let role, let labels):
                        return try await machines.joinSwarm(name, manager: manager, as: role, labels: labels)
                    }
                }
            }
        } catch let error as BerthError where error.code != .interrupted {
            throw BerthError(error.code, "\(error.message); machine \"\(name)\" was removed again", cause: error.cause)
        }
    }
}
