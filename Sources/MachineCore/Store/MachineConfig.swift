import Foundation
import PortForwarding

/// Everything berth decided when it created a machine, saved as `machines/NAME/config.json`.
/// The machine's *state* is never stored here: it comes from libvirt each time it is asked for.
public struct MachineConfig: Codable, Sendable, Equatable {
    /// Bumped when the format changes; older files are migrated on load (see `migrate()`).
    /// Version 2 records the machine's own volume names and whether its create finished.
    public static let currentVersion = 2

    public var version: Int = MachineConfig.currentVersion
    public var name: String
    /// `libvirt` for a machine berth made, `generic` for an existing server it took over.
    public var driver: String = MachineConfig.libvirtDriver
    public var createdAt: Date
    /// `creating` from the moment a create starts until Docker answers: a machine is recorded
    /// before anything is made for it, so an interrupted create is visible and removable.
    public var status: Status?

    public var hardware: Hardware
    public var hypervisor: Hypervisor
    public var image: ImageUse
    public var network: NetworkAttachment
    /// The machine's own volumes in the storage pool (its disk and cloud-init seed).
    public var volumes: Volumes?
    public var engine: EngineOptions
    public var ssh: SSHAccess
    /// A copy of the user's own cloud-config (from `--cloud-init`), merged in again by `provision`.
    public var userCloudConfig: String?
    /// Host ports forwarded to the machine (`create -p`, `berth port add`).
    public var ports: [PortSpec]?
    /// Whether containers' published ports are forwarded to the same host ports (on by default).
    public var autoPublish: Bool?
    /// For a machine on another hypervisor host: how berth reaches it, through SSH to that host.
    public var tunnel: Tunnel?
    /// Whether the machine needs a port forwarder while it runs (a remote machine's Docker endpoint
    /// comes through one too).
    public var wantsForwarder: Bool { !(ports ?? []).isEmpty || (autoPublish ?? true) || tunnel != nil }

    /// A machine on another hypervisor host: its guest address is on that host's NAT network, so
    /// Docker's endpoint is forwarded through SSH to that host, to `dockerPort` on 127.0.0.1 here,
    /// and SSH to the guest hops through that host.
    public struct Tunnel: Codable, Sendable, Equatable {
        public var host: RemoteHost
        public var dockerPort: Int
        public init(host: RemoteHost, dockerPort: Int) {
            self.host = host
            self.dockerPort = dockerPort
        }
    }
    /// Extra names for the server certificate (`create --tls-san`, as Docker Machine's flag): IP
    /// addresses and DNS names, kept through every reissue. Absent (not empty) when there are none, so
    /// a config without them reads the same to every berth of config version 2.
    public var tlsSANs: [String]?
    /// The phases of the machine's last create or start, berth's and the guest's, on one time line.
    public var timings: BootTimings?
    /// Labels for `ls --filter label=…` (the engine labels).
    public var labels: [String] { engine.labels }

    /// For an existing server (`--driver generic`): what berth found there. Absent for libvirt
    /// machines, so their configs read the same to every berth of config version 2.
    public var generic: GenericServer?
    /// The machine's place in a Docker Swarm (swarm mode) that berth set up; absent when none.
    public var swarm: SwarmMembership?

    public static let libvirtDriver = "libvirt"
    public static let genericDriver = "generic"
    /// Whether this is an existing server berth manages but does not power (`--driver generic`).
    public var isGeneric: Bool { driver == Self.genericDriver }

    public init(name: String, createdAt: Date = Date(), hardware: Hardware, hypervisor: Hypervisor, image: ImageUse,
                network: NetworkAttachment, volumes: Volumes? = nil, engine: EngineOptions, ssh: SSHAccess,
                userCloudConfig: String? = nil, status: Status? = nil) {
        self.name = name
        self.volumes = volumes
        self.status = status
        self.createdAt = createdAt
        self.hardware = hardware
        self.hypervisor = hypervisor
        self.image = image
        self.network = network
        self.engine = engine
        self.ssh = ssh
        self.userCloudConfig = userCloudConfig
    }

    public enum Status: String, Codable, Sendable {
        case creating, ready
    }

    /// Whether the create that made this machine finished.
    public var isComplete: Bool { status != .creating }

    public struct Volumes: Codable, Sendable, Equatable {
        public var disk: String
        public var seed: String
        public init(disk: String, seed: String) {
            self.disk = disk
            self.seed = seed
        }
    }

    /// Brings a config saved by an older berth up to date. Version 1 named the machine's volumes
    /// after the domain alone.
    mutating func migrate() {
        if version < 2, volumes == nil {
            volumes = Volumes(disk: "\(hypervisor.domainName).qcow2", seed: "\(hypervisor.domainName)-seed.iso")
        }
        version = Self.currentVersion
    }

    public struct Hardware: Codable, Sendable, Equatable {
        public var cpus: Int
        public var memoryMiB: Int
        public var diskGiB: Int
        public init(cpus: Int, memoryMiB: Int, diskGiB: Int) {
            self.cpus = cpus
            self.memoryMiB = memoryMiB
            self.diskGiB = diskGiB
        }
    }

    public struct Hypervisor: Codable, Sendable, Equatable {
        public var uri: String
        /// "kvm" or "qemu" (TCG software emulation).
        public var virtType: String
        public var domainName: String
        public var storagePool: String
        public init(uri: String, virtType: String, domainName: String, storagePool: String) {
            self.uri = uri
            self.virtType = virtType
            self.domainName = domainName
            self.storagePool = storagePool
        }
    }

    public struct ImageUse: Codable, Sendable, Equatable {
        public var name: String
        /// Whether the image already has Docker Engine (otherwise cloud-init installs it).
        public var hasDocker: Bool
        public var diskVolume: String
        public var kernelVolume: String?
        public var initrdVolume: String?
        public var kernelCommandLine: String?
        /// berth's guest boot protocol version when the image has it (berth's own images): then the
        /// machine's identity arrives through berth-init and its network through a systemd-networkd
        /// credential, and cloud-init runs only when it has work, after Docker is up. nil: cloud-init does it all.
        public var berthInit: Int?
        public init(name: String, hasDocker: Bool, diskVolume: String, kernelVolume: String?, initrdVolume: String?,
                    kernelCommandLine: String?, berthInit: Int? = nil) {
            self.name = name
            self.hasDocker = hasDocker
            self.diskVolume = diskVolume
            self.kernelVolume = kernelVolume
            self.initrdVolume = initrdVolume
            self.kernelCommandLine = kernelCommandLine
            self.berthInit = berthInit
        }
    }

    public struct NetworkAttachment: Codable, Sendable, Equatable {
        public var name: String
        public var mac: String
        /// The address reserved for the machine on the NAT network.
        public var ip: String
        /// The network's subnet (CIDR) when the address was reserved, so a network made again
        /// after it was deleted gets the same one.
        public var subnet: String?
        /// QEMU's user-mode network instead of a libvirt NAT network (machines of a user's own
        /// qemu:///session): the host reaches the guest only through forwarded ports on 127.0.0.1
        /// (SSH at `ssh.port`, Docker at `engine.port`).
        public var userMode: Bool?
        public init(name: String, mac: String, ip: String, subnet: String? = nil, userMode: Bool? = nil) {
            self.name = name
            self.mac = mac
            self.ip = ip
            self.subnet = subnet
            self.userMode = userMode
        }

        public var isUserMode: Bool { userMode ?? false }
    }

    public struct EngineOptions: Codable, Sendable, Equatable {
        public var options: [String] = []
        public var environment: [String] = []
        public var labels: [String] = []
        public var insecureRegistries: [String] = []
        public var registryMirrors: [String] = []
        public var storageDriver: String?
        public var port: Int = 2376
        public init(options: [String] = [], environment: [String] = [], labels: [String] = [],
                    insecureRegistries: [String] = [], registryMirrors: [String] = [], storageDriver: String? = nil) {
            self.options = options
            self.environment = environment
            self.labels = labels
            self.insecureRegistries = insecureRegistries
            self.registryMirrors = registryMirrors
            self.storageDriver = storageDriver
        }
    }

    public struct SSHAccess: Codable, Sendable, Equatable {
        public var user: String
        public var port: Int
        /// The private key's file name inside the machine folder.
        public var keyFile: String
        /// The known_hosts file (inside the machine folder) that pins the guest's SSH host key,
        /// which berth made and gave the guest; nil for machines made before berth pinned keys.
        public var knownHostsFile: String?
        /// Whether the pinned host key was learnt on first contact (an existing server's own key,
        /// of whatever type it offered) rather than made by berth (always ed25519).
        public var hostKeyLearnt: Bool?
        public init(user: String = "docker", port: Int = 22, keyFile: String = "id_ed25519", knownHostsFile: String? = nil,
                    hostKeyLearnt: Bool? = nil) {
            self.user = user
            self.port = port
            self.keyFile = keyFile
            self.knownHostsFile = knownHostsFile
            self.hostKeyLearnt = hostKeyLearnt
        }
    }

    /// An existing server taken over with `--driver generic`.
    public struct GenericServer: Codable, Sendable, Equatable {
        /// The distribution berth found, as os-release names it ("debian 12", "ubuntu 24.04").
        public var system: String
        /// Whether berth installed Docker Engine there (docker.io from the distribution) or found it.
        public var installedDocker: Bool
        public init(system: String, installedDocker: Bool) {
            self.system = system
            self.installedDocker = installedDocker
        }
    }

    /// A node of a swarm-mode cluster, as berth made it join.
    public struct SwarmMembership: Codable, Sendable, Equatable {
        public enum Role: String, Codable, Sendable, CaseIterable {
            case manager, worker
        }
        public var role: Role
        /// The machine that initialised the cluster: the cluster's name in `ls` (Docker Machine's
        /// SWARM column named the swarm's master the same way). A manager that initialised it names itself.
        public var manager: String
        /// Docker's ID for the node, for `docker node` commands on a manager.
        public var nodeID: String
        /// The address the other nodes reach this one at (`--advertise-addr`).
        public var advertiseAddress: String
        /// Node labels set with `--swarm-label`.
        public var labels: [String]?
        public init(role: Role, manager: String, nodeID: String, advertiseAddress: String, labels: [String]? = nil) {
            self.role = role
            self.manager = manager
            self.nodeID = nodeID
            self.advertiseAddress = advertiseAddress
            self.labels = labels
        }
    }

    /// Where this host reaches the machine's Docker: its address, or the tunnel's port on 127.0.0.1.
    public var dockerAddress: (host: String, port: Int) {
        tunnel.map { ("127.0.0.1", $0.dockerPort) } ?? (network.ip, engine.port)
    }

    /// The Docker endpoint, as `DOCKER_HOST` takes it.
    public var dockerURL: String { "tcp://\(dockerAddress.host):\(dockerAddress.port)" }
}
