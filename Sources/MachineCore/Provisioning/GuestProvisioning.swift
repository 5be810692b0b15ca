import Foundation

/// Everything berth puts into a new machine's user-data, gathered in one value.
public struct GuestProvisioning: Sendable, Equatable {
    /// The machine's name, used as its hostname.
    public var machineName: String
    /// The OpenSSH public key line authorised for the `docker` user.
    public var sshPublicKey: String
    /// PEM text of the store's CA certificate (becomes /etc/docker/ca.pem).
    public var caCertificatePEM: String
    /// PEM text of the machine's server certificate (becomes /etc/docker/server.pem).
    public var serverCertificatePEM: String
    /// PEM text of the server's private key (becomes /etc/docker/server-key.pem).
    public var serverPrivateKeyPEM: String
    /// The Docker Engine configuration (becomes /etc/docker/daemon.json).
    public var daemon: DaemonConfig
    /// --engine-env values, `KEY=value`.
    public var engineEnvironment: [String]
    /// --engine-opt values, `flag=value`.
    public var engineOptions: [String]
    /// Whether the image already has Docker Engine; if not, cloud-init installs docker.io.
    public var imageHasDocker: Bool
    /// The guest's SSH host key (made by berth, pinned in the machine's known_hosts).
    public var sshHostKey: SSHHostKey?

    public init(
        machineName: String,
        sshPublicKey: String,
        caCertificatePEM: String,
        serverCertificatePEM: String,
        serverPrivateKeyPEM: String,
        daemon: DaemonConfig = DaemonConfig(),
        engineEnvironment: [String] = [],
        engineOptions: [String] = [],
        imageHasDocker: Bool,
        sshHostKey: SSHHostKey? = nil
    ) {
        self.machineName = machineName
        self.sshPublicKey = sshPublicKey
        self.caCertificatePEM = caCertificatePEM
        self.serverCertificatePEM = serverCertificatePEM
        self.serverPrivateKeyPEM = serverPrivateKeyPEM
        self.daemon = daemon
        self.engineEnvironment = engineEnvironment
        self.engineOptions = engineOptions
        self.imageHasDocker = imageHasDocker
        self.sshHostKey = sshHostKey
    }
}

extension CloudConfig {
    /// The user that berth logs in as over SSH.
    public static let dockerUser = "docker"
    /// Where the Docker installation script goes in a guest whose image has no Docker Engine.
    public static let installScriptPath = "/usr/local/sbin/berth-install-docker"

    /// Lets systemd-networkd use the domain DHCP hands out as the search domain (a drop-in for the
    /// .network file cloud-init writes), and applies it at once.
    static let dhcpDomainsCommand = """
        d=/etc/systemd/network/10-cloud-init-eth0.network.d; [ -d /etc/systemd/network ] || exit 0; \
        mkdir -p "$d" && printf '[DHCPv4]\\nUseDomains=yes\\n' > "$d/berth-dns.conf" && networkctl reload || true
        """

    /// The script that installs docker.io from Debian's packages, shipped as a package resource.
    public static func dockerInstallScript() throws -> String {
        guard let url = Bundle.module.url(
            forResource: "install-docker", withExtension: "sh", subdirectory: "Resources/cloud-init")
        else {
            throw ProvisioningError.missingResource("Resources/cloud-init/install-docker.sh")
        }
        return try SecureFile.readText(url)
    }

    /// berth's user-data for a machine: hostname, the `docker` user with the machine's key and
    /// password-less sudo, the TLS files, daemon.json and the docker.service drop-in, root filesystem
    /// growth, no package update on boot, and Docker installed (when the image lacks it) and started.
    public init(machine: GuestProvisioning) throws {
        let dropIn = DockerServiceDropIn(environment: machine.engineEnvironment, engineOptions: machine.engineOptions)
        var files: [WriteFile] = [
            WriteFile(path: "/etc/docker/ca.pem", content: machine.caCertificatePEM, permissions: "0600"),
            WriteFile(path: "/etc/docker/server.pem", content: machine.serverCertificatePEM, permissions: "0600"),
            WriteFile(path: "/etc/docker/server-key.pem", content: machine.serverPrivateKeyPEM, permissions: "0600"),
            WriteFile(path: "/etc/docker/daemon.json", content: try machine.daemon.render(), permissions: "0644"),
            WriteFile(path: DockerServiceDropIn.path, content: dropIn.render(), permissions: "0644"),
        ]
        var runcmd: [Command]
        if machine.imageHasDocker {
            // Normally Docker already started with the drop-in (see bootcmd); this is the fallback.
            runcmd = [
                .exec(["systemctl", "enable", "docker.service"]),
                .exec([
                    "sh", "-c",
                    "systemctl is-active --quiet docker.service || { systemctl daemon-reload; "
                        + "systemctl reset-failed docker.service; systemctl restart docker.service; }",
                ]),
            ]
        } else {
            files.append(WriteFile(path: Self.installScriptPath, content: try Self.dockerInstallScript(), permissions: "0755"))
            runcmd = [.exec([Self.installScriptPath])]
        }

        self.init(
            hostname: machine.machineName,
            preserveHostname: false,
            manageEtcHosts: true,
            // Debian's docker.io creates the group when it is installed; creating it first means the
            // user below works both on images with Docker Engine and on images without it.
            groups: [Self.dockerUser],
            users: [
                User(
                    name: Self.dockerUser,
                    primaryGroup: Self.dockerUser,
                    groups: [Self.dockerUser],
                    shell: "/bin/bash",
                    sudo: "ALL=(ALL) NOPASSWD:ALL",
                    lockPassword: true,
                    sshAuthorizedKeys: [machine.sshPublicKey]),
            ],
            sshPasswordAuthentication: false,
            sshKeys: machine.sshHostKey.map { ["ed25519_private": $0.privateKeyPEM, "ed25519_public": $0.publicKey] },
            // With berth's key in place, generating others only costs boot time.
            sshGenerateKeyTypes: machine.sshHostKey == nil ? nil : [],
            writeFiles: files,
            // systemd read docker.service before cloud-init wrote the drop-in: queue a daemon-reload that
            // runs after cloud-init's network stage (which runs write_files) and before Docker starts.
            bootcmd: [
                .exec([
                    "systemd-run", "--no-block", "--unit=berth-docker-reload",
                    "--property=Type=oneshot",
                    "--property=After=cloud-init-network.service cloud-init.service",
                    "--property=Before=docker.service",
                    "systemctl", "daemon-reload",
                ]),
                // Short names of the other machines on berth's network: systemd-networkd takes the
                // search domain its DHCP offers (berth.internal) only when told to.
                .exec(["sh", "-c", Self.dhcpDomainsCommand]),
            ],
            runcmd: runcmd,
            growpart: Growpart(),
            resizeRootfs: true,
            packageUpdate: false,
            packageUpgrade: false,
            packageRebootIfRequired: false)
    }
}
