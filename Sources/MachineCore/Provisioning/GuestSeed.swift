import Foundation

/// What berth-init (`cloud-init/berth-init.sh`, in berth's own image) reads from the seed: the
/// machine's identity, keys and Docker's TLS files and settings, as one tar archive (`berth.tar`)
/// beside cloud-init's NoCloud documents, so that SSH and Docker Engine can start without waiting
/// for cloud-init and berth-init needs a single process to put them in place. berth-init runs
/// once per disk; later changes go in over SSH (`provision`, `regenerate-certs`).
public struct GuestSeed: Sendable, Equatable {
    /// The boot protocol berth's image recipe declares in its manifest (`berthInit`) and this
    /// type writes: bump both together when the files or their meaning change.
    public static let protocolVersion = 1
    /// Where the seed is attached (the second virtio disk), named on the kernel command line.
    public static let seedDevice = "/dev/vdb"
    /// The archive's name in the seed.
    public static let archiveName = "berth.tar"
    /// Present when cloud-init has work; berth-cloud-init.service runs only then.
    public static let cloudInitFlag = "/var/lib/berth/run-cloud-init"

    public var machine: GuestProvisioning
    /// Whether cloud-init has work: a user's cloud-config, or Docker Engine to install. Then it
    /// runs its stages once Docker is up (berth-cloud-init.service), with `CloudConfig(afterBerthInit:)`.
    public var runsCloudInit: Bool

    public init(machine: GuestProvisioning, hasUserCloudConfig: Bool) {
        self.machine = machine
        self.runsCloudInit = Self.cloudInitHasWork(hasUserCloudConfig: hasUserCloudConfig, imageHasDocker: machine.imageHasDocker)
    }

    /// Whether cloud-init has work on a machine: a user's cloud-config, or Docker Engine to
    /// install. berth-cloud-init.service runs only then, and `create` waits for it to finish.
    public static func cloudInitHasWork(hasUserCloudConfig: Bool, imageHasDocker: Bool) -> Bool {
        hasUserCloudConfig || !imageHasDocker
    }

    /// What goes where in the guest, with modes and owners.
    public func entries() throws -> [TarArchive.Entry] {
        let dropIn = DockerServiceDropIn(environment: machine.engineEnvironment, engineOptions: machine.engineOptions)
        let user = CloudConfig.dockerUser
        var entries: [TarArchive.Entry] = [
            .file("/etc/hostname", machine.machineName + "\n", mode: 0o644),
            .directory("/home/\(user)/.ssh", mode: 0o700, owner: user, group: user),
            .file("/home/\(user)/.ssh/authorized_keys", machine.sshPublicKey + "\n", mode: 0o600, owner: user, group: user),
        ]
        if let hostKey = machine.sshHostKey {
            let privateKey = hostKey.privateKeyPEM.hasSuffix("\n") ? hostKey.privateKeyPEM : hostKey.privateKeyPEM + "\n"
            entries += [
                .file("/etc/ssh/ssh_host_ed25519_key", privateKey, mode: 0o600),
                .file("/etc/ssh/ssh_host_ed25519_key.pub", hostKey.publicKey + "\n", mode: 0o644),
            ]
        }
        let docker = DaemonConfig.guestCertificateDirectory
        entries += [
            .directory(docker, mode: 0o755),
            .file("\(docker)/ca.pem", machine.caCertificatePEM, mode: 0o644),
            .file("\(docker)/server.pem", machine.serverCertificatePEM, mode: 0o644),
            .file("\(docker)/server-key.pem", machine.serverPrivateKeyPEM, mode: 0o600),
            .file("\(docker)/daemon.json", try machine.daemon.render(), mode: 0o644),
            .directory("/etc/berth", mode: 0o755),
            .file(DockerServiceDropIn.environmentFilePath, dropIn.environmentFile(), mode: 0o644),
            .file(DockerServiceDropIn.argumentsFilePath, dropIn.argumentsFile(), mode: 0o644),
        ]
        if runsCloudInit {
            entries += [
                .directory("/var/lib/berth", mode: 0o755),
                .file(Self.cloudInitFlag, "cloud-init has work: run its stages once Docker is up\n", mode: 0o644),
            ]
        }
        return entries
    }

    /// The seed's own file: `berth.tar`.
    public func files() throws -> [String: Data] {
        [Self.archiveName: try TarArchive(entries: try entries()).data()]
    }

    /// NoCloud's network-config for these machines (`cloud-init/network-config.yaml`): cloud-init
    /// leaves the network to the systemd-networkd credential on the kernel command line.
    public static func networkConfig() throws -> String {
        try GuestResource.text("network-config", "yaml")
    }
}

/// The kernel command line of a machine booted from berth's own image: the image's own line, then
/// where berth's seed is, cloud-init's early units off (berth-init does their part, and cloud-init
/// runs later only when it has work), and the network as a systemd-networkd credential, so DHCP
/// starts with systemd-networkd instead of after cloud-init's network stage. Nothing secret goes
/// here: the line is readable in the guest and in the host's process list.
public struct KernelCommandLine: Sendable, Equatable {
    /// The credential's name: systemd-network-generator writes it as /run/systemd/network/50-berth.network.
    public static let networkCredential = "network.network.50-berth"

    public var base: String
    public var macAddress: String

    public init(base: String, macAddress: String) {
        self.base = base
        self.macAddress = macAddress
    }

    /// The systemd-networkd unit for the machine's NIC, matched by the MAC berth chose: DHCPv4.
    public var networkUnit: String {
        """
        # berth: the machine's NIC, by the MAC address berth chose; its address is reserved on berth's network.
        [Match]
        MACAddress=\(macAddress.lowercased())

        [Network]
        DHCP=ipv4

        [DHCPv4]
        # The hostname is berth-init's; taking the DHCP server's would start systemd-hostnamed mid-boot.
        UseHostname=no
        # The network's domain (berth.internal) as the search domain: other machines by their short names.
        UseDomains=yes

        """
    }

    public var rendered: String {
        let words = base.split(separator: " ").map(String.init).filter {
            !$0.hasPrefix("berth.seed=") && !$0.hasPrefix("cloud-init=")
                && !$0.hasPrefix("systemd.set_credential_binary=\(Self.networkCredential):")
        }
        let credential = Data(networkUnit.utf8).base64EncodedString()
        return (words + [
            "berth.seed=\(GuestSeed.seedDevice)",
            "cloud-init=disabled",
            "systemd.set_credential_binary=\(Self.networkCredential):\(credential)",
        ]).joined(separator: " ")
    }
}
