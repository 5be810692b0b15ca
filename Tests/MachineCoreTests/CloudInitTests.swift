import Foundation
import Testing
import Yams
@testable import MachineCore

@Suite("cloud-init documents and daemon.json")
struct CloudInitTests {
    static let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyExampleKeyExampleKeyExampleKey0 berth-dev"

    static func provisioning(imageHasDocker: Bool, daemon: DaemonConfig = DaemonConfig()) -> GuestProvisioning {
        GuestProvisioning(
            machineName: "dev",
            sshPublicKey: key,
            caCertificatePEM: "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n",
            serverCertificatePEM: "-----BEGIN CERTIFICATE-----\nSERVER\n-----END CERTIFICATE-----\n",
            serverPrivateKeyPEM: "-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n",
            daemon: daemon,
            engineEnvironment: ["HTTP_PROXY=http://proxy.example:3128", "GREETING=hello world"],
            engineOptions: ["dns=10.0.0.2", "--debug"],
            imageHasDocker: imageHasDocker)
    }

    static func parse(_ text: String) throws -> [String: Any] {
        try #require(try Yams.load(yaml: text) as? [String: Any])
    }

    static func writeFiles(_ document: [String: Any]) throws -> [String: [String: Any]] {
        let files = try #require(document["write_files"] as? [[String: Any]])
        var byPath: [String: [String: Any]] = [:]
        for file in files {
            byPath[try #require(file["path"] as? String)] = file
        }
        return byPath
    }

    static func commands(_ value: Any?) -> [String] {
        (value as? [Any] ?? []).map { entry in
            if let list = entry as? [String] { return list.joined(separator: " ") }
            return entry as? String ?? ""
        }
    }

    @Test("user-data: header, hostname, the docker user and its key")
    func userAndHost() throws {
        let text = try CloudConfig(machine: Self.provisioning(imageHasDocker: true)).render()
        #expect(text.hasPrefix("#cloud-config\n"))
        let document = try Self.parse(text)
        #expect(document["hostname"] as? String == "dev")
        #expect(document["preserve_hostname"] as? Bool == false)
        #expect(document["fqdn"] == nil)
        #expect(document["groups"] as? [String] == ["docker"])

        let users = try #require(document["users"] as? [[String: Any]])
        #expect(users.count == 1)
        let user = try #require(users.first)
        #expect(user["name"] as? String == "docker")
        #expect(user["primary_group"] as? String == "docker")
        #expect(user["shell"] as? String == "/bin/bash")
        #expect(user["sudo"] as? String == "ALL=(ALL) NOPASSWD:ALL")
        #expect(user["ssh_authorized_keys"] as? [String] == [Self.key])
    }

    @Test("user-data: boot speed and disk growth settings")
    func bootSettings() throws {
        let document = try Self.parse(try CloudConfig(machine: Self.provisioning(imageHasDocker: true)).render())
        #expect(document["package_update"] as? Bool == false)
        #expect(document["package_upgrade"] as? Bool == false)
        #expect(document["resize_rootfs"] as? Bool == true)
        let growpart = try #require(document["growpart"] as? [String: Any])
        #expect(growpart["mode"] as? String == "auto")
        #expect(growpart["devices"] as? [String] == ["/"])
    }

    @Test("user-data: TLS files, daemon.json and the docker.service drop-in")
    func files() throws {
        let document = try Self.parse(try CloudConfig(machine: Self.provisioning(imageHasDocker: true)).render())
        let files = try Self.writeFiles(document)
        for path in ["/etc/docker/ca.pem", "/etc/docker/server.pem", "/etc/docker/server-key.pem"] {
            let file = try #require(files[path], "\(path) missing")
            #expect(file["permissions"] as? String == "0600", "\(path)")
            #expect(file["owner"] as? String == "root:root")
        }
        #expect(files["/etc/docker/server-key.pem"]?["content"] as? String == "-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n")
        #expect(files["/etc/docker/server.pem"]?["content"] as? String == "-----BEGIN CERTIFICATE-----\nSERVER\n-----END CERTIFICATE-----\n")

        let daemonText = try #require(files["/etc/docker/daemon.json"]?["content"] as? String)
        let daemon = try JSONSerialization.jsonObject(with: Data(daemonText.utf8)) as? [String: Any]
        #expect(daemon?["hosts"] as? [String] == ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2376"])

        let dropIn = try #require(files["/etc/systemd/system/docker.service.d/10-berth.conf"]?["content"] as? String)
        let lines = dropIn.split(separator: "\n").map(String.init)
        #expect(lines.contains("[Service]"))
        #expect(lines.contains("Environment=HTTP_PROXY=http://proxy.example:3128"))
        #expect(lines.contains("Environment=\"GREETING=hello world\""))
        let execStarts = lines.filter { $0.hasPrefix("ExecStart=") }
        #expect(execStarts == ["ExecStart=", "ExecStart=dockerd --dns=10.0.0.2 --debug"])
        #expect(!dropIn.contains("fd://"))
    }

    @Test("the install script is there only for images without Docker")
    func installScript() throws {
        let withDocker = try Self.parse(try CloudConfig(machine: Self.provisioning(imageHasDocker: true)).render())
        #expect(try Self.writeFiles(withDocker)[CloudConfig.installScriptPath] == nil)
        #expect(!Self.commands(withDocker["runcmd"]).contains { $0.contains(CloudConfig.installScriptPath) })
        #expect(Self.commands(withDocker["runcmd"]).contains("systemctl enable docker.service"))

        let without = try Self.parse(try CloudConfig(machine: Self.provisioning(imageHasDocker: false)).render())
        let script = try #require(try Self.writeFiles(without)[CloudConfig.installScriptPath])
        #expect(script["permissions"] as? String == "0755")
        let content = try #require(script["content"] as? String)
        #expect(content.hasPrefix("#!/bin/sh"))
        #expect(content.contains("apt-get install"))
        #expect(content.contains("docker.io"))
        #expect(content.contains("systemctl daemon-reload"))
        #expect(content.contains("systemctl enable docker.service"))
        #expect(Self.commands(without["runcmd"]) == [CloudConfig.installScriptPath])
        #expect(try CloudConfig.dockerInstallScript() == content)
    }

    @Test("bootcmd queues the daemon-reload that picks up the drop-in before Docker starts")
    func bootcmd() throws {
        let document = try Self.parse(try CloudConfig(machine: Self.provisioning(imageHasDocker: true)).render())
        let bootcmd = Self.commands(document["bootcmd"])
        #expect(bootcmd.count == 2)
        #expect(bootcmd.first?.hasPrefix("systemd-run --no-block") == true)
        #expect(bootcmd.first?.contains("--property=Before=docker.service") == true)
        #expect(bootcmd.first?.hasSuffix("systemctl daemon-reload") == true)
        // The search domain of berth's networks, for short names of the other machines.
        #expect(bootcmd.last?.contains("UseDomains=yes") == true)
        #expect(bootcmd.last?.contains("networkctl reload") == true)
    }

    @Test("a user's cloud-config is merged: their scalars win, lists are concatenated, mappings merge")
    func merge() throws {
        let user = """
            #cloud-config
            hostname: custom
            package_update: true
            packages: [htop, jq]
            runcmd:
              - echo hello
            write_files:
              - path: /etc/motd
                content: hi
            users:
              - name: alice
                ssh_authorized_keys: [ssh-ed25519 AAAA alice]
            growpart:
              mode: "off"
            timezone: Europe/Paris
            """
        let base = try CloudConfig(machine: Self.provisioning(imageHasDocker: false))
        let document = try Self.parse(try base.render(mergingUserData: user))

        #expect(document["hostname"] as? String == "custom")
        #expect(document["package_update"] as? Bool == true)
        #expect(document["package_upgrade"] as? Bool == false)
        #expect(document["timezone"] as? String == "Europe/Paris")
        #expect(document["packages"] as? [String] == ["htop", "jq"])
        #expect(Self.commands(document["runcmd"]) == [CloudConfig.installScriptPath, "echo hello"])

        let files = try Self.writeFiles(document)
        #expect(files["/etc/motd"] != nil)
        #expect(files["/etc/docker/server-key.pem"] != nil)

        let users = try #require(document["users"] as? [[String: Any]])
        #expect(users.compactMap { $0["name"] as? String } == ["docker", "alice"])

        let growpart = try #require(document["growpart"] as? [String: Any])
        #expect(growpart["mode"] as? String == "off")
        #expect(growpart["devices"] as? [String] == ["/"])
    }

    @Test("merging on nodes concatenates nested lists such as ssh_authorized_keys")
    func nodeMerge() throws {
        let base = try #require(try Yams.compose(yaml: "a: 1\nkeys: [x]\nnested: {keys: [k1], keep: yes}\n"))
        let overlay = try #require(try Yams.compose(yaml: "a: 2\nkeys: [y]\nnested: {keys: [k2]}\nnew: z\n"))
        let merged = CloudConfigMerge.merge(base, overlay)
        let value = try #require(try Yams.load(yaml: try Yams.serialize(node: merged)) as? [String: Any])
        #expect(value["a"] as? Int == 2)
        #expect(value["keys"] as? [String] == ["x", "y"])
        let nested = try #require(value["nested"] as? [String: Any])
        #expect(nested["keys"] as? [String] == ["k1", "k2"])
        #expect(nested["keep"] as? Bool == true)
        #expect(value["new"] as? String == "z")
    }

    @Test("user cloud-config that is not a mapping is refused; an empty one changes nothing")
    func invalidUserData() throws {
        let base = try CloudConfig(machine: Self.provisioning(imageHasDocker: true))
        #expect(throws: ProvisioningError.self) {
            try base.render(mergingUserData: "#!/bin/sh\necho hi\n")
        }
        #expect(throws: ProvisioningError.self) {
            try base.render(mergingUserData: "- a\n- b\n")
        }
        #expect(throws: ProvisioningError.self) {
            try base.render(mergingUserData: "a: [unclosed\n")
        }
        #expect(try base.render(mergingUserData: "#cloud-config\n") == (try base.render()))
    }

    @Test("meta-data")
    func metaData() throws {
        let text = try MetaData(instanceID: "berth-dev-1234", localHostname: "dev").render()
        let document = try Self.parse(text)
        #expect(document["instance-id"] as? String == "berth-dev-1234")
        #expect(document["local-hostname"] as? String == "dev")
    }

    @Test("network-config v2 matches the NIC by the MAC berth chose")
    func networkConfig() throws {
        let text = try NetworkConfig(macAddress: "52:54:00:AB:CD:EF").render()
        let document = try Self.parse(text)
        #expect(document["version"] as? Int == 2)
        let ethernets = try #require(document["ethernets"] as? [String: Any])
        #expect(Array(ethernets.keys) == ["eth0"])
        let eth0 = try #require(ethernets["eth0"] as? [String: Any])
        let match = try #require(eth0["match"] as? [String: Any])
        #expect(match["macaddress"] as? String == "52:54:00:ab:cd:ef")
        #expect(match["name"] == nil)
        #expect(eth0["set-name"] as? String == "eth0")
        #expect(eth0["dhcp4"] as? Bool == true)
        // Short names of other machines resolve under berth's network domain.
        let nameservers = try #require(eth0["nameservers"] as? [String: Any])
        #expect(nameservers["search"] as? [String] == ["berth.internal"])
    }

    @Test("daemon.json")
    func daemonJSON() throws {
        let config = DaemonConfig(
            labels: ["env=test", "provider=berth"],
            insecureRegistries: ["registry.local:5000"],
            registryMirrors: ["https://mirror.example"],
            storageDriver: "overlay2")
        let text = try config.render()
        let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(json["hosts"] as? [String] == ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2376"])
        #expect(json["tls"] as? Bool == true)
        #expect(json["tlsverify"] as? Bool == true)
        #expect(json["tlscacert"] as? String == "/etc/docker/ca.pem")
        #expect(json["tlscert"] as? String == "/etc/docker/server.pem")
        #expect(json["tlskey"] as? String == "/etc/docker/server-key.pem")
        #expect(json["labels"] as? [String] == ["env=test", "provider=berth"])
        #expect(json["insecure-registries"] as? [String] == ["registry.local:5000"])
        #expect(json["registry-mirrors"] as? [String] == ["https://mirror.example"])
        #expect(json["storage-driver"] as? String == "overlay2")
        #expect(text.contains("\"tlscacert\" : \"/etc/docker/ca.pem\""))
        // Sorted keys.
        let hosts = try #require(text.range(of: "\"hosts\""))
        let labels = try #require(text.range(of: "\"labels\""))
        #expect(hosts.lowerBound < labels.lowerBound)

        let plain = try #require(try JSONSerialization.jsonObject(with: Data(try DaemonConfig().render().utf8)) as? [String: Any])
        #expect(plain["storage-driver"] == nil)
        #expect(plain["insecure-registries"] == nil)
        #expect(plain["registry-mirrors"] == nil)
        #expect(try JSONDecoder().decode(DaemonConfig.self, from: Data(text.utf8)) == config)
        #expect(plain["labels"] as? [String] == ["provider=berth"])
    }

    @Test("daemon.json golden text")
    func daemonJSONGolden() throws {
        #expect(try DaemonConfig(labels: ["env=dev"]).render() == """
            {
              "hosts" : [
                "unix:///var/run/docker.sock",
                "tcp://0.0.0.0:2376"
              ],
              "labels" : [
                "env=dev",
                "provider=berth"
              ],
              "tls" : true,
              "tlscacert" : "/etc/docker/ca.pem",
              "tlscert" : "/etc/docker/server.pem",
              "tlskey" : "/etc/docker/server-key.pem",
              "tlsverify" : true
            }

            """)
    }

    @Test("drop-in golden text")
    func dropInGolden() {
        #expect(DockerServiceDropIn(environment: ["HTTP_PROXY=http://proxy:3128"], engineOptions: ["dns=10.0.0.2"]).render() == """
            # Written by berth: Docker listens where /etc/docker/daemon.json says.
            [Service]
            Environment=HTTP_PROXY=http://proxy:3128
            ExecStart=
            ExecStart=dockerd --dns=10.0.0.2

            """)
    }

    @Test("drop-in quoting for systemd")
    func dropInQuoting() {
        let dropIn = DockerServiceDropIn(
            environment: ["NO_PROXY=a,b", "PCT=100%"],
            engineOptions: ["log-opt=tag={{.Name}} x", "default-ulimit=nofile=$N"])
        let text = dropIn.render()
        #expect(text.contains("Environment=NO_PROXY=a,b\n"))
        #expect(text.contains("Environment=PCT=100%%\n"))
        #expect(text.contains("ExecStart=dockerd \"--log-opt=tag={{.Name}} x\" --default-ulimit=nofile=$$N\n"))
    }

    // MARK: - berth's own image: berth-init, the networkd credential, cloud-init after Docker

    static func hostKey() -> SSHHostKey {
        SSHHostKey(privateKeyPEM: "-----BEGIN OPENSSH PRIVATE KEY-----\nHOSTKEY\n-----END OPENSSH PRIVATE KEY-----\n",
                   publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyHostKeyHostKeyHostKeyHostKeyHo berth-dev-host")
    }

    @Test("the base user-data is the reviewable file cloud-init/user-data.yaml")
    func baseFromResource() throws {
        let base = try CloudConfig.base()
        #expect(base.users?.map(\.name) == ["docker"])
        #expect(base.users?.first?.sudo == "ALL=(ALL) NOPASSWD:ALL")
        #expect(base.users?.first?.sshAuthorizedKeys == nil, "keys are per machine, filled in by berth")
        #expect(base.sshPasswordAuthentication == false)
        #expect(base.hostname == nil)
        #expect(base.packageUpdate == false)
    }

    static func entries(_ seed: GuestSeed) throws -> [String: TarArchive.Entry] {
        Dictionary(uniqueKeysWithValues: try seed.entries().map { ($0.path, $0) })
    }

    static func text(_ entry: TarArchive.Entry?) -> String? {
        guard case .file(let data)? = entry?.kind else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    @Test("berth-init's archive: identity, pinned host key, the one SSH key, Docker's TLS and settings")
    func guestSeedFiles() throws {
        var machine = Self.provisioning(imageHasDocker: true)
        machine.sshHostKey = Self.hostKey()
        let seed = GuestSeed(machine: machine, hasUserCloudConfig: false)
        let entries = try Self.entries(seed)
        #expect(Set(entries.keys) == [
            "/etc/hostname", "/home/docker/.ssh", "/home/docker/.ssh/authorized_keys",
            "/etc/ssh/ssh_host_ed25519_key", "/etc/ssh/ssh_host_ed25519_key.pub",
            "/etc/docker", "/etc/docker/ca.pem", "/etc/docker/server.pem", "/etc/docker/server-key.pem",
            "/etc/docker/daemon.json", "/etc/berth", "/etc/berth/docker.env", "/etc/berth/dockerd.args",
        ])
        #expect(Self.text(entries["/etc/hostname"]) == "dev\n")
        #expect(Self.text(entries["/home/docker/.ssh/authorized_keys"]) == Self.key + "\n")
        #expect(entries["/home/docker/.ssh/authorized_keys"].map { ($0.mode, $0.owner, $0.group) } ?? (0, "", "") == (0o600, "docker", "docker"))
        #expect(entries["/home/docker/.ssh"].map { ($0.mode, $0.owner) } ?? (0, "") == (0o700, "docker"))
        #expect(Self.text(entries["/etc/ssh/ssh_host_ed25519_key"]) == Self.hostKey().privateKeyPEM)
        #expect(entries["/etc/ssh/ssh_host_ed25519_key"]?.mode == 0o600)
        #expect(Self.text(entries["/etc/ssh/ssh_host_ed25519_key.pub"]) == Self.hostKey().publicKey + "\n")
        #expect(Self.text(entries["/etc/docker/server-key.pem"]) == machine.serverPrivateKeyPEM)
        #expect(entries["/etc/docker/server-key.pem"].map { ($0.mode, $0.owner) } ?? (0, "") == (0o600, "root"))
        #expect(Self.text(entries["/etc/docker/daemon.json"]) == (try machine.daemon.render()))
        #expect(Self.text(entries["/etc/berth/dockerd.args"]) == "--dns=10.0.0.2\n--debug\n")
        #expect(Self.text(entries["/etc/berth/docker.env"]) == """
            # Written by berth: dockerd's environment (--engine-env).
            HTTP_PROXY="http://proxy.example:3128"
            GREETING="hello world"

            """)
        #expect(Array(try seed.files().keys) == ["berth.tar"])
    }

    @Test("berth-init asks for cloud-init only when it has work: the user's cloud-config or Docker to install")
    func guestSeedRunsCloudInitOnlyWithWork() throws {
        let withDocker = Self.provisioning(imageHasDocker: true)
        #expect(try Self.entries(GuestSeed(machine: withDocker, hasUserCloudConfig: false))[GuestSeed.cloudInitFlag] == nil)
        #expect(try Self.entries(GuestSeed(machine: withDocker, hasUserCloudConfig: true))[GuestSeed.cloudInitFlag] != nil)
        #expect(try Self.entries(GuestSeed(machine: Self.provisioning(imageHasDocker: false), hasUserCloudConfig: false))[
            GuestSeed.cloudInitFlag] != nil)
    }

    @Test("the archive is one GNU tar reads: paths, modes, owners by name and contents")
    func tarArchiveReadsBackWithTar() throws {
        let long = "/var/lib/" + String(repeating: "d", count: 90) + "/" + String(repeating: "f", count: 40)
        let archive = TarArchive(entries: [
            .directory("/home/docker/.ssh", mode: 0o700, owner: "docker", group: "docker"),
            .file("/home/docker/.ssh/authorized_keys", "ssh-ed25519 AAAA key\n", mode: 0o600, owner: "docker", group: "docker"),
            .file("/etc/empty", "", mode: 0o644),
            .file(long, String(repeating: "x", count: 700), mode: 0o640),
        ])
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("berth-tar-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("a.tar")
        try archive.data().write(to: file)
        #expect(try archive.data().count % 512 == 0)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-tvf", file.path]
        let pipe = Pipe()
        tar.standardOutput = pipe
        try tar.run()
        let listing = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        tar.waitUntilExit()
        #expect(tar.terminationStatus == 0)
        let lines = listing.split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        #expect(lines[0].hasPrefix("drwx------ docker/docker") && lines[0].hasSuffix("home/docker/.ssh/"))
        #expect(lines[1].hasPrefix("-rw------- docker/docker") && lines[1].hasSuffix("home/docker/.ssh/authorized_keys"))
        #expect(lines[2].hasPrefix("-rw-r--r-- root/root") && lines[2].contains(" 0 "))
        #expect(lines[3].hasPrefix("-rw-r----- root/root") && lines[3].contains(" 700 ") && lines[3].hasSuffix(String(long.dropFirst())))
        #expect(throws: ProvisioningError.self) { try TarArchive(entries: [.file("relative", "", mode: 0o644)]).data() }
        #expect(throws: ProvisioningError.self) { try TarArchive(entries: [.file("/a/../etc/x", "", mode: 0o644)]).data() }
    }

    @Test("after berth-init, cloud-init's user-data holds no secret and keeps the pinned host key")
    func userDataAfterBerthInit() throws {
        var machine = Self.provisioning(imageHasDocker: true)
        machine.sshHostKey = Self.hostKey()
        let text = try CloudConfig(afterBerthInit: machine).render()
        #expect(!text.contains("PRIVATE KEY"))
        #expect(!text.contains("SERVER"))
        let document = try Self.parse(text)
        #expect(document["ssh_deletekeys"] as? Bool == false)
        #expect(document["ssh_pwauth"] == nil, "the image refuses passwords already; cloud-init would restart sshd")
        #expect(document["ssh_genkeytypes"] as? [String] == [])
        #expect(document["ssh_keys"] == nil)
        #expect(document["write_files"] == nil)
        #expect(document["bootcmd"] == nil)
        #expect(document["runcmd"] == nil)
        #expect(document["resize_rootfs"] as? Bool == false)
        #expect(document["hostname"] as? String == "dev")
        let users = try #require(document["users"] as? [[String: Any]])
        #expect(users.first?["ssh_authorized_keys"] as? [String] == [Self.key])

        let plain = try Self.parse(try CloudConfig(afterBerthInit: Self.provisioning(imageHasDocker: false))
            .render(mergingUserData: "runcmd: [echo hello]\n"))
        #expect(Self.commands(plain["runcmd"]) == [CloudConfig.installScriptPath, "echo hello"])
        #expect(try Self.writeFiles(plain)[CloudConfig.installScriptPath] != nil)
    }

    @Test("the NoCloud network-config of berth's images leaves the network to systemd-networkd")
    func networkConfigDisabled() throws {
        let document = try Self.parse(try GuestSeed.networkConfig())
        #expect(document["config"] as? String == "disabled")
    }

    @Test("the kernel command line: seed, cloud-init off, the NIC as a networkd credential, nothing secret")
    func kernelCommandLine() throws {
        let line = KernelCommandLine(base: "root=/dev/vda rw console=ttyS0 apparmor=0", macAddress: "52:54:00:AB:CD:EF")
        let words = line.rendered.split(separator: " ").map(String.init)
        #expect(Array(words.prefix(4)) == ["root=/dev/vda", "rw", "console=ttyS0", "apparmor=0"])
        #expect(words.contains("berth.seed=/dev/vdb"))
        #expect(words.contains("cloud-init=disabled"))
        let credential = try #require(words.first { $0.hasPrefix("systemd.set_credential_binary=network.network.50-berth:") })
        let encoded = String(credential.dropFirst("systemd.set_credential_binary=network.network.50-berth:".count))
        let unit = String(decoding: try #require(Data(base64Encoded: encoded)), as: UTF8.self)
        #expect(unit.contains("[Match]\nMACAddress=52:54:00:ab:cd:ef\n"))
        #expect(unit.contains("[Network]\nDHCP=ipv4\n"))
        // Rendering again over an already rendered line changes nothing.
        #expect(KernelCommandLine(base: line.rendered, macAddress: "52:54:00:AB:CD:EF").rendered == line.rendered)
    }

    @Test("dockerd's environment file escapes what systemd would read otherwise; flags go one per line")
    func dockerEnvironmentAndArgumentFiles() {
        let dropIn = DockerServiceDropIn(environment: ["A=x\"y", "B=$HOME", "C=back\\slash", "D=`cmd`", "E=", "F=a=b"],
                                         engineOptions: ["log-opt=tag={{.Name}} x", "--debug"])
        #expect(dropIn.environmentFile() == """
            # Written by berth: dockerd's environment (--engine-env).
            A="x\\"y"
            B="\\$HOME"
            C="back\\\\slash"
            D="\\`cmd\\`"
            E=""
            F="a=b"

            """)
        #expect(dropIn.argumentsFile() == "--log-opt=tag={{.Name}} x\n--debug\n")
        #expect(DockerServiceDropIn().argumentsFile() == "")
    }
}
