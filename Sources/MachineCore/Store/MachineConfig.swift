import Foundation

/// Everything berth decided when it created a machine, saved as `machines/NAME/config.json`.
/// The machine's *state* is never stored here: it comes from libvirt each time it is asked for.
public struct MachineConfig: Codable, Sendable, Equatable {
    /// Bumped when the format changes; older files are migrated on load.
    public static let currentVersion = 1

    public var version: Int = MachineConfig.currentVersion
    public var name: String
    public var driver: String = "libvirt"
    public var createdAt: Date

    public var hardware: Hardware
    public var hypervisor: Hypervisor
    public var image: ImageUse
    public var network: NetworkAttachment
    public var engine: EngineOptions
    public var ssh: SSHAccess
    /// A copy of the user's own cloud-config (from `--cloud-init`), merged in again by `provision`.
    public var userCloudConfig: String?
    /// Labels for `ls --filter label=…` (the engine labels).
    public var labels: [String] { engine.labels }

    public init(name: String, createdAt: Date = Date(), hardware: Hardware, hypervisor: Hypervisor, image: ImageUse,
                network: NetworkAttachment, engine: EngineOptions, ssh: SSHAccess, userCloudConfig: String? = nil) {
        self.name = name
        self.createdAt = createdAt
        self.hardware = hardware
        self.hypervisor = hypervisor
        self.image = image
        self.network = network
        self.engine = engine
        self.ssh = ssh
        self.userCloudConfig = userCloudConfig
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
        public init(name: String, hasDocker: Bool, diskVolume: String, kernelVolume: String?, initrdVolume: String?,
                    kernelCommandLine: String?) {
            self.name = name
            self.hasDocker = hasDocker
            self.diskVolume = diskVolume
            self.kernelVolume = kernelVolume
            self.initrdVolume = initrdVolume
            self.kernelCommandLine = kernelCommandLine
        }
    }

    public struct NetworkAttachment: Codable, Sendable, Equatable {
        public var name: String
        public var mac: String
        /// The address reserved for the machine on the NAT network.
        public var ip: String
        public init(name: String, mac: String, ip: String) {
            self.name = name
            self.mac = mac
            self.ip = ip
        }
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
        public init(user: String = "docker", port: Int = 22, keyFile: String = "id_ed25519") {
            self.user = user
            self.port = port
            self.keyFile = keyFile
        }
    }

    /// The Docker endpoint, as `DOCKER_HOST` takes it.
    public var dockerURL: String { "tcp://\(network.ip):\(engine.port)" }
}
