import Foundation
import Yams

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

/// The guest-side files berth ships (the top-level `cloud-init/` folder, a package resource).
enum GuestResource {
    static func text(_ name: String, _ ext: String) throws -> String {
        guard let url = Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Resources/cloud-init") else {
            throw ProvisioningError.missingResource("Resources/cloud-init/\(name).\(ext)")
        }
        return try SecureFile.readText(url)
    }
}

extension CloudConfig {
    /// The user that berth logs in as over SSH.
    public static let dockerUser = "docker"
    /// Where the Docker installation script goes in a guest whose image has no Docker Engine.
    public static let installScriptPath = "/usr/local/sbin/berth-install-docker"

    /// The script that installs docker.io from Debian's packages, shipped as a package resource.
    public static func dockerInstallScript() throws -> String {
        try GuestResource.text("install-docker", "sh")
    }

    /// berth's base user-data (`cloud-init/user-data.yaml`): the docker user with password-less
    /// sudo, keys only, root filesystem growth, no package update on boot.
    public static func base() throws -> CloudConfig {
        do {
            return try YAMLDecoder().decode(CloudConfig.self, from: try GuestResource.text("user-data", "yaml"))
        } catch let error as ProvisioningError {
            throw error
        } catch {
            throw ProvisioningError.rendering(reason: "cloud-init/user-data.yaml: \(error)")
        }
    }

    /// The base with the machine's hostname and SSH key filled in.
    static func base(for machine: GuestProvisioning) throws -> CloudConfig {
        var config = try base()
        config.hostname = machine.machineName
        if var users = config.users, let index = users.firstIndex(where: { $0.name == dockerUser }) {
            users[index].sshAuthorizedKeys = [machine.sshPublicKey]
            config.users = users
        }
        return config
    }

    /// berth's user-data for a machine whose image has no berth-init (any image berth did not
    /// build): the base, the hostname, the machine's key, the TLS files, daemon.json and the
    /// docker.service drop-in, and Docker installed (when the image lacks it) and started.
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
        self = try Self.base(for: machine)
        sshKeys = machine.sshHostKey.map { ["ed25519_private": $0.privateKeyPEM, "ed25519_public": $0.publicKey] }
        // With berth's key in place, generating others only costs boot time.
        sshGenerateKeyTypes = machine.sshHostKey == nil ? nil : []
        writeFiles = files
        // systemd read docker.service before cloud-init wrote the drop-in: queue a daemon-reload that
        // runs after cloud-init's network stage (which runs write_files) and before Docker starts.
        bootcmd = [
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
        ]
        self.runcmd = runcmd
    }

    /// Lets systemd-networkd use the domain DHCP hands out as the search domain (a drop-in for the
    /// .network file cloud-init writes), and applies it at once.
    static let dhcpDomainsCommand = """
        d=/etc/systemd/network/10-cloud-init-eth0.network.d; [ -d /etc/systemd/network ] || exit 0; \
        mkdir -p "$d" && printf '[DHCPv4]\\nUseDomains=yes\\n' > "$d/berth-dns.conf" && networkctl reload || true
        """

    /// berth's user-data for a machine made from berth's own image, where berth-init installed the
    /// machine's identity, keys and Docker's TLS files before SSH and Docker started (see
    /// `GuestSeed`): cloud-init runs only when there is more to do (the user's own cloud-config,
    /// Docker Engine to install), after Docker is up, and leaves alone what berth-init did: the
    /// host key stays, the filesystem is already grown, no secret is in this document.
    public init(afterBerthInit machine: GuestProvisioning) throws {
        self = try Self.base(for: machine)
        // The image already refuses passwords; setting it again would restart sshd under berth's feet.
        sshPasswordAuthentication = nil
        sshDeleteKeys = false
        sshGenerateKeyTypes = []
        growpart = Growpart(mode: "off")
        resizeRootfs = false
        if !machine.imageHasDocker {
            writeFiles = [WriteFile(path: Self.installScriptPath, content: try Self.dockerInstallScript(), permissions: "0755")]
            runcmd = [.exec([Self.installScriptPath])]
        }
    }
}
