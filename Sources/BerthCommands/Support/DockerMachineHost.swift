import Foundation
import MachineCore

/// A machine in the shape of Docker Machine's host JSON (libmachine's Host, config version 3,
/// with a kvm-style driver), for `inspect --format` templates written for docker-machine.
/// Fields berth knows are filled in; the rest keep the zero values Docker Machine wrote for them.
struct DockerMachineHost: Encodable {
    var configVersion = 3
    var driver: Driver
    var driverName: String
    var hostOptions: HostOptions
    var name: String

    enum CodingKeys: String, CodingKey {
        case configVersion = "ConfigVersion", driver = "Driver", driverName = "DriverName"
        case hostOptions = "HostOptions", name = "Name"
    }

    init(config: MachineConfig, store: Store) throws {
        let machineDirectory = try store.machineDirectory(config.name)
        let storeCertificates = StoreCertificateFiles(storeRoot: store.root)
        let machineCertificates = MachineCertificateFiles(directory: machineDirectory)
        name = config.name
        driverName = config.driver
        driver = Driver(
            ipAddress: config.network.ip, machineName: config.name, sshUser: config.ssh.user, sshPort: config.ssh.port,
            sshKeyPath: machineDirectory.appendingPathComponent(config.ssh.keyFile).path, storePath: store.root.path,
            memory: config.hardware.memoryMiB, diskSize: config.hardware.diskGiB * 1024, cpu: config.hardware.cpus,
            network: config.network.name, enginePort: config.engine.port, uri: config.hypervisor.uri,
            domainName: config.hypervisor.domainName, storagePool: config.hypervisor.storagePool,
            virtType: config.hypervisor.virtType, macAddress: config.network.mac, image: config.image.name)
        driver.swarmMaster = config.swarm?.role == .manager
        hostOptions = HostOptions(
            engineOptions: EngineOptions(
                arbitraryFlags: config.engine.options, env: config.engine.environment,
                insecureRegistry: config.engine.insecureRegistries, labels: config.engine.labels,
                storageDriver: config.engine.storageDriver ?? "", registryMirror: config.engine.registryMirrors),
            authOptions: AuthOptions(
                certDir: storeCertificates.directory.path, caCertPath: storeCertificates.caCertificate.path,
                caPrivateKeyPath: storeCertificates.caPrivateKey.path,
                serverCertPath: machineCertificates.serverCertificate.path,
                serverKeyPath: machineCertificates.serverPrivateKey.path,
                clientKeyPath: storeCertificates.clientPrivateKey.path,
                clientCertPath: storeCertificates.clientCertificate.path, serverCertSANs: config.tlsSANs ?? [],
                storePath: machineDirectory.path))
        if let swarm = config.swarm {
            hostOptions.swarmOptions.isSwarm = true
            hostOptions.swarmOptions.master = swarm.role == .manager
            hostOptions.swarmOptions.address = "\(swarm.advertiseAddress):\(SwarmCommands.managementPort)"
        }
    }

    /// libmachine's BaseDriver fields, the kvm driver's own, the generic driver's EnginePort, and
    /// what berth adds about its libvirt domain.
    struct Driver: Encodable {
        var ipAddress: String
        var machineName: String
        var sshUser: String
        var sshPort: Int
        var sshKeyPath: String
        var storePath: String
        var swarmMaster = false
        var swarmHost = ""
        var swarmDiscovery = ""
        /// MiB, as the kvm driver's --kvm-memory.
        var memory: Int
        /// MB, as the kvm driver's --kvm-disk-size.
        var diskSize: Int
        var cpu: Int
        var network: String
        var privateNetwork = ""
        var iso = ""
        var boot2DockerURL = ""
        var caCertPath = ""
        var privateKeyPath = ""
        var diskPath = ""
        var cacheMode = ""
        var ioMode = ""
        var enginePort: Int
        var uri: String
        var domainName: String
        var storagePool: String
        var virtType: String
        var macAddress: String
        var image: String

        enum CodingKeys: String, CodingKey {
            case ipAddress = "IPAddress", machineName = "MachineName", sshUser = "SSHUser", sshPort = "SSHPort"
            case sshKeyPath = "SSHKeyPath", storePath = "StorePath", swarmMaster = "SwarmMaster"
            case swarmHost = "SwarmHost", swarmDiscovery = "SwarmDiscovery", memory = "Memory"
            case diskSize = "DiskSize", cpu = "CPU", network = "Network", privateNetwork = "PrivateNetwork"
            case iso = "ISO", boot2DockerURL = "Boot2DockerURL", caCertPath = "CaCertPath"
            case privateKeyPath = "PrivateKeyPath", diskPath = "DiskPath", cacheMode = "CacheMode"
            case ioMode = "IOMode", enginePort = "EnginePort", uri = "URI", domainName = "DomainName"
            case storagePool = "StoragePool", virtType = "VirtType", macAddress = "MACAddress", image = "Image"
        }
    }

    struct HostOptions: Encodable {
        var driver = ""
        var memory = 0
        var disk = 0
        var engineOptions: EngineOptions
        var swarmOptions = SwarmOptions()
        var authOptions: AuthOptions

        enum CodingKeys: String, CodingKey {
            case driver = "Driver", memory = "Memory", disk = "Disk", engineOptions = "EngineOptions"
            case swarmOptions = "SwarmOptions", authOptions = "AuthOptions"
        }
    }

    struct EngineOptions: Encodable {
        var arbitraryFlags: [String]
        var dns: [String]? = nil
        var graphDir = ""
        var env: [String]
        var ipv6 = false
        var insecureRegistry: [String]
        var labels: [String]
        var logLevel = ""
        var storageDriver: String
        var selinuxEnabled = false
        var tlsVerify = true
        var registryMirror: [String]
        var installURL = ""

        enum CodingKeys: String, CodingKey {
            case arbitraryFlags = "ArbitraryFlags", dns = "Dns", graphDir = "GraphDir", env = "Env", ipv6 = "Ipv6"
            case insecureRegistry = "InsecureRegistry", labels = "Labels", logLevel = "LogLevel"
            case storageDriver = "StorageDriver", selinuxEnabled = "SelinuxEnabled", tlsVerify = "TlsVerify"
            case registryMirror = "RegistryMirror", installURL = "InstallURL"
        }

        // Go writes a nil slice as null; Swift's synthesized encoding would leave the key out.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(arbitraryFlags, forKey: .arbitraryFlags)
            try container.encode(dns, forKey: .dns)
            try container.encode(graphDir, forKey: .graphDir)
            try container.encode(env, forKey: .env)
            try container.encode(ipv6, forKey: .ipv6)
            try container.encode(insecureRegistry, forKey: .insecureRegistry)
            try container.encode(labels, forKey: .labels)
            try container.encode(logLevel, forKey: .logLevel)
            try container.encode(storageDriver, forKey: .storageDriver)
            try container.encode(selinuxEnabled, forKey: .selinuxEnabled)
            try container.encode(tlsVerify, forKey: .tlsVerify)
            try container.encode(registryMirror, forKey: .registryMirror)
            try container.encode(installURL, forKey: .installURL)
        }
    }

    /// A non-swarm Docker Machine host's values, or for a node of a swarm-mode cluster berth made:
    /// IsSwarm, Master for a manager, and Address where the node takes swarm traffic. The standalone
    /// Swarm's fields (Discovery, Image, Strategy…) stay empty: swarm mode has none of them.
    struct SwarmOptions: Encodable {
        var isSwarm = false
        var address = ""
        var discovery = ""
        var agent = false
        var master = false
        var host = ""
        var image = ""
        var strategy = ""
        var heartbeat = 0
        var overcommit = 0
        var arbitraryFlags: [String] = []
        var arbitraryJoinFlags: [String] = []
        var env: [String]? = nil
        var isExperimental = false

        enum CodingKeys: String, CodingKey {
            case isSwarm = "IsSwarm", address = "Address", discovery = "Discovery", agent = "Agent", master = "Master"
            case host = "Host", image = "Image", strategy = "Strategy", heartbeat = "Heartbeat"
            case overcommit = "Overcommit", arbitraryFlags = "ArbitraryFlags", arbitraryJoinFlags = "ArbitraryJoinFlags"
            case env = "Env", isExperimental = "IsExperimental"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(isSwarm, forKey: .isSwarm)
            try container.encode(address, forKey: .address)
            try container.encode(discovery, forKey: .discovery)
            try container.encode(agent, forKey: .agent)
            try container.encode(master, forKey: .master)
            try container.encode(host, forKey: .host)
            try container.encode(image, forKey: .image)
            try container.encode(strategy, forKey: .strategy)
            try container.encode(heartbeat, forKey: .heartbeat)
            try container.encode(overcommit, forKey: .overcommit)
            try container.encode(arbitraryFlags, forKey: .arbitraryFlags)
            try container.encode(arbitraryJoinFlags, forKey: .arbitraryJoinFlags)
            try container.encode(env, forKey: .env)
            try container.encode(isExperimental, forKey: .isExperimental)
        }
    }

    /// Where the TLS files are: the store's CA and client pair, the machine's server pair, and
    /// where Docker in the guest reads them.
    struct AuthOptions: Encodable {
        var certDir: String
        var caCertPath: String
        var caPrivateKeyPath: String
        var caCertRemotePath = DaemonConfig.guestCertificateDirectory + "/ca.pem"
        var serverCertPath: String
        var serverKeyPath: String
        var clientKeyPath: String
        var serverCertRemotePath = DaemonConfig.guestCertificateDirectory + "/server.pem"
        var serverKeyRemotePath = DaemonConfig.guestCertificateDirectory + "/server-key.pem"
        var clientCertPath: String
        var serverCertSANs: [String] = []
        var storePath: String

        enum CodingKeys: String, CodingKey {
            case certDir = "CertDir", caCertPath = "CaCertPath", caPrivateKeyPath = "CaPrivateKeyPath"
            case caCertRemotePath = "CaCertRemotePath", serverCertPath = "ServerCertPath"
            case serverKeyPath = "ServerKeyPath", clientKeyPath = "ClientKeyPath"
            case serverCertRemotePath = "ServerCertRemotePath", serverKeyRemotePath = "ServerKeyRemotePath"
            case clientCertPath = "ClientCertPath", serverCertSANs = "ServerCertSANs", storePath = "StorePath"
        }
    }
}
