import Foundation
import Testing
import TestSupport
@testable import MachineCore

/// Existing servers (`--driver generic`) and swarm records, without a server or a VM: configs,
/// the scripts berth runs on a server (run for real in a scratch folder), Docker's swarm commands,
/// states, and the refusals that need no machine to answer.
@Suite struct ManyHostsTests {
    static func server(_ name: String, address: String = "127.0.0.1", port: Int, user: String = "docker",
                       swarm: MachineConfig.SwarmMembership? = nil) -> MachineConfig {
        var request = GenericCreateRequest(name: name, address: address, key: URL(fileURLWithPath: "/nonexistent"))
        request.user = user
        request.port = port
        var config = MachineConfig.generic(request)
        config.createdAt = Date(timeIntervalSince1970: 1_700_000_000)
        config.ssh.keyFile = "id_ed25519"
        config.status = .ready
        config.generic = .init(system: "debian 12", installedDocker: false)
        config.swarm = swarm
        return config
    }

    // MARK: - configs

    @Test func aGenericConfigRoundTripsThroughTheStoreWithItsSwarmRecord() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = Store(root: folder.url)
        try store.prepare()
        let swarm = MachineConfig.SwarmMembership(role: .worker, manager: "m1", nodeID: "abc123", advertiseAddress: "192.0.2.10",
                                                  labels: ["zone=a"])
        let config = Self.server("srv", address: "192.0.2.10", port: 2222, swarm: swarm)
        try store.save(config)
        let loaded = try store.load("srv")
        #expect(loaded == config)
        #expect(loaded.isGeneric)
        #expect(loaded.version == MachineConfig.currentVersion, "no new config version: the new fields are optional")
        #expect(loaded.ssh.hostKeyLearnt == true)
        #expect(loaded.autoPublish == false, "an existing server gets no port forwarder")
        #expect(loaded.dockerURL == "tcp://192.0.2.10:2376")
    }

    @Test func aLibvirtConfigWritesNoneOfTheNewKeysAndAnOlderFileReadsAsBefore() throws {
        var config = Self.server("vm", port: 22)
        config.driver = MachineConfig.libvirtDriver
        config.generic = nil
        config.ssh.hostKeyLearnt = nil
        let text = String(decoding: try Store.encoder.encode(config), as: UTF8.self)
        for key in ["\"generic\"", "\"swarm\"", "\"hostKeyLearnt\""] { #expect(!text.contains(key), "\(key) in \(text)") }
        let decoded = try Store.decoder.decode(MachineConfig.self, from: Data(text.utf8))
        #expect(decoded.swarm == nil && decoded.generic == nil && !decoded.isGeneric)
    }

    // MARK: - what berth asks of a server

    @Test func theProbeTellsDebianAndUbuntuFromTheRest() throws {
        let debian = GenericServerScripts.Facts(probeOutput: "id=debian\nlike=\nversion=12\nroot=yes\ndocker=no\napt=yes\n")
        #expect(debian.isDebianFamily && debian.canBeRoot && !debian.hasDocker)
        #expect(debian.system == "debian 12")
        let mint = GenericServerScripts.Facts(probeOutput: "id=linuxmint\nlike=ubuntu debian\nversion=22\nroot=yes\ndocker=yes\napt=yes")
        #expect(mint.isDebianFamily && mint.hasDocker)
        let fedora = GenericServerScripts.Facts(probeOutput: "id=fedora\nlike=\nversion=40\nroot=yes\ndocker=no\napt=no")
        #expect(!fedora.isDebianFamily)

        let config = Self.server("srv", address: "192.0.2.10", port: 22)
        let refused = try #require(throws: BerthError.self) { try Machines.check(fedora, of: config) }
        #expect(refused.message == "the server at 192.0.2.10 runs fedora 40; berth's generic driver takes Debian and Ubuntu servers")
        let noSudo = GenericServerScripts.Facts(probeOutput: "id=debian\nversion=12\nroot=no\napt=yes")
        let sudo = try #require(throws: BerthError.self) { try Machines.check(noSudo, of: config) }
        #expect(sudo.message.contains("does not let docker run sudo without a password"))
        try Machines.check(debian, of: config)
    }

    @Test func theProbeRunsInShAndReadsThisHost() async throws {
        let output = try await HelperProgram.capture("/bin/sh", ["-c", GenericServerScripts.probe])
        let facts = GenericServerScripts.Facts(probeOutput: output.standardOutput)
        #expect(facts.id == "debian", "this host is Debian: \(output.standardOutput)")
        #expect(facts.hasApt)
    }

    /// The backup and removal scripts, run by sh on a scratch copy of a server's folders (paths
    /// moved under a temporary root, systemctl a no-op): the owner's files come back, berth's go.
    @Test func removalPutsTheOwnersFilesBackAndTakesBerthsAway() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let root = folder.url.path
        func moved(_ script: String) -> String {
            "systemctl() { :; }\n" + script.replacingOccurrences(of: "/etc/", with: "\(root)/etc/")
                .replacingOccurrences(of: "/usr/local/sbin/", with: "\(root)/usr/local/sbin/")
        }
        let fm = FileManager.default
        for path in ["etc/docker", "etc/systemd/system/docker.service.d", "usr/local/sbin"] {
            try fm.createDirectory(atPath: "\(root)/\(path)", withIntermediateDirectories: true)
        }
        try "{\"debug\": true}\n".write(toFile: "\(root)/etc/docker/daemon.json", atomically: true, encoding: .utf8)
        try "owner's CA\n".write(toFile: "\(root)/etc/docker/ca.pem", atomically: true, encoding: .utf8)

        #expect(try await HelperProgram.capture("/bin/sh", ["-c", moved(GenericServerScripts.backup)]).status == 0)
        // berth's own files go in place (as the create's install does)...
        let berthDaemon = try DaemonConfig().render()
        try berthDaemon.write(toFile: "\(root)/etc/docker/daemon.json", atomically: true, encoding: .utf8)
        for file in ["ca.pem", "server.pem", "server-key.pem"] { try "berth's\n".write(toFile: "\(root)/etc/docker/\(file)", atomically: true, encoding: .utf8) }
        try "[Service]\n".write(toFile: "\(root)\(DockerServiceDropIn.path)", atomically: true, encoding: .utf8)
        // ...and a second backup (a provision, a create again) keeps the owner's copy, not berth's.
        #expect(try await HelperProgram.capture("/bin/sh", ["-c", moved(GenericServerScripts.backup)]).status == 0)
        #expect(try String(contentsOfFile: "\(root)/etc/docker/daemon.json.before-berth", encoding: .utf8) == "{\"debug\": true}\n")

        let removal = try await HelperProgram.capture("/bin/sh", ["-c", moved(GenericServerScripts.removal)])
        #expect(removal.status == 0, "\(removal.standardError)")
        #expect(try String(contentsOfFile: "\(root)/etc/docker/daemon.json", encoding: .utf8) == "{\"debug\": true}\n")
        #expect(try String(contentsOfFile: "\(root)/etc/docker/ca.pem", encoding: .utf8) == "owner's CA\n")
        let left = try fm.contentsOfDirectory(atPath: "\(root)/etc/docker").sorted()
        #expect(left == ["ca.pem", "daemon.json"], "berth's server pair and the copies are gone")
        #expect(!fm.fileExists(atPath: "\(root)/etc/systemd/system/docker.service.d"), "the drop-in and its folder are gone")
    }

    @Test func aRequestIsCheckedBeforeAnythingIsMade() throws {
        let key = try TemporaryDirectory()
        defer { key.remove() }
        let keyFile = key.url.appendingPathComponent("id_ed25519")
        try "key".write(to: keyFile, atomically: true, encoding: .utf8)
        func message(_ change: (inout GenericCreateRequest) -> Void) -> String? {
            var request = GenericCreateRequest(name: "srv", address: "192.0.2.10", key: keyFile)
            change(&request)
            do { try request.validate() } catch let error as BerthError { return error.message } catch { return "\(error)" }
            return nil
        }
        #expect(message { _ in } == nil)
        #expect(message { $0.address = "server.example.com" }?.hasPrefix("--generic-ip-address takes the server's IPv4 address") == true)
        #expect(message { $0.port = 70000 } == "--generic-ssh-port must be between 1 and 65535, not 70000")
        #expect(message { $0.user = "bad user" } == "--generic-ssh-user takes a user name, not \"bad user\"")
        #expect(message { $0.key = URL(fileURLWithPath: "/nonexistent/key") } == "cannot read the --generic-ssh-key file /nonexistent/key")
        #expect(message { $0.name = "../x" }?.hasPrefix("invalid machine name") == true)
    }

    // MARK: - SSH to a server

    @Test func aServersLearntHostKeyIsPinnedWhateverItsType() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = Store(root: folder.url)
        let server = Self.server("srv", address: "192.0.2.10", port: 2222)
        let pinned = try SSHCommand(config: server, store: store)
        #expect(pinned.commonOptions.contains("StrictHostKeyChecking=yes"))
        #expect(!pinned.commonOptions.contains("HostKeyAlgorithms=ssh-ed25519"), "the server's key may be RSA or ECDSA")
        #expect(pinned.sshArguments(command: ["true"], tty: false).contains("2222"))
        #expect(pinned.destination == "docker@192.0.2.10")
        let first = try SSHCommand(config: server, store: store, learnsHostKey: true)
        #expect(first.commonOptions.contains("StrictHostKeyChecking=accept-new"))

        var vm = server
        vm.driver = MachineConfig.libvirtDriver
        vm.ssh.hostKeyLearnt = nil
        #expect(try SSHCommand(config: vm, store: store).commonOptions.contains("HostKeyAlgorithms=ssh-ed25519"))
    }

    @Test func rootNeedsNoSudo() throws {
        let store = Store(root: URL(fileURLWithPath: "/var/empty"))
        #expect(try SSHCommand(config: Self.server("a", port: 22, user: "root"), store: store).asRoot("true") == "true")
        #expect(try SSHCommand(config: Self.server("a", port: 22), store: store).asRoot("true") == "sudo -n true")
    }

    // MARK: - state and power

    @Test func aServersStateIsWhetherItsSSHPortAnswers() async throws {
        let listener = try LoopbackPort(listening: true)
        defer { listener.close() }
        let machines = Machines(store: Store(root: URL(fileURLWithPath: "/var/empty")))
        #expect(try await machines.state(of: Self.server("up", port: listener.port)) == .running)
        let down = try LoopbackPort()
        defer { down.close() }
        #expect(try await machines.state(of: Self.server("down", port: down.port)) == .stopped)
    }

    @Test func berthDoesNotPowerGenericMachines() async throws {
        let machines = Machines(store: Store(root: URL(fileURLWithPath: "/var/empty")))
        let server = Self.server("srv", address: "192.0.2.10", port: 22)
        let expected = "machine \"srv\" is the existing server at 192.0.2.10 (driver generic), and berth does not power generic machines; "
        for action in ["start", "stop", "kill", "restart"] {
            let error = try await #require(throws: BerthError.self) {
                switch action {
                case "start": _ = try await machines.start(server)
                case "stop": try await machines.stop(server)
                case "kill": try await machines.kill(server)
                default: try await machines.restart(server)
                }
            }
            #expect(error.message == expected + "\(action) it yourself")
        }
    }

    // MARK: - swarm

    @Test func swarmCommandsQuoteWhatComesFromOutsideAndKeepTheTokenOffTheCommandLine() {
        #expect(SwarmCommands.initialise(advertiseAddress: "192.168.124.5") == "docker swarm init --advertise-addr '192.168.124.5'")
        let join = SwarmCommands.join(managerAddress: "192.168.124.5", advertiseAddress: "192.168.124.7")
        #expect(join.hasPrefix("sh -c 'read -r token && exec docker swarm join --token \"$token\""))
        #expect(join.contains("192.168.124.5:2377"))
        #expect(SwarmCommands.addLabels(["zone=a", "it's=x y"], node: "abc")
            == #"docker node update --label-add 'zone=a' --label-add 'it'\''s=x y' 'abc'"#)
        #expect(SwarmCommands.reaches("192.168.124.5") == "timeout 5 bash -c '</dev/tcp/192.168.124.5/2377' 2>/dev/null")
        #expect(SwarmCommands.leave(force: true) == "docker swarm leave --force")
    }

    @Test func nodeListsAndLabelsParse() throws {
        let nodes = SwarmCommands.Node.parse("tmiv\tsw-m1\tLeader\nd9o5\tsw-w1\t\n\n")
        #expect(nodes == [.init(id: "tmiv", hostname: "sw-m1", isManager: true), .init(id: "d9o5", hostname: "sw-w1", isManager: false)])
        try SwarmCommands.validate(label: "zone=a")
        try SwarmCommands.validate(label: "com.example/tier=front end")
        try SwarmCommands.validate(label: "ssd")
        for bad in ["=a", " zone=a", "zone a=b", "zone=a\nb"] {
            #expect(throws: BerthError.self, "\(bad)") { try SwarmCommands.validate(label: bad) }
        }
    }

    /// A manager whose swarm still has workers is not removed without -f; with it, the swarm is
    /// dissolved and the workers' records go too. Here every machine is a server that is down, so
    /// only the records and the refusals are at stake.
    @Test func theLastManagerOfASwarmWithWorkersNeedsForce() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = Store(root: folder.url)
        try store.prepare()
        let refusing = try LoopbackPort()
        defer { refusing.close() }
        let port = refusing.port
        try store.save(Self.server("m1", port: port,
                                   swarm: .init(role: .manager, manager: "m1", nodeID: "n1", advertiseAddress: "127.0.0.1")))
        try store.save(Self.server("w1", address: "127.0.0.2", port: port,
                                   swarm: .init(role: .worker, manager: "m1", nodeID: "n2", advertiseAddress: "127.0.0.2")))
        let machines = Machines(store: store)

        let refused = try await #require(throws: BerthError.self) { try await machines.remove("m1", force: false) }
        #expect(refused.message == "machine \"m1\" is the last manager of a swarm that still has other nodes (w1): remove them first (`berth rm w1`), or use -f to dissolve the swarm")
        #expect(store.exists("m1"))

        let orphan = try await #require(throws: BerthError.self) { try await machines.remove("w1", force: false) }
        #expect(orphan.message.hasPrefix("no manager of swarm \"m1\" is running to take \"w1\" off its node list"))
        #expect(store.exists("w1"))

        try await machines.remove("m1", force: true)
        #expect(!store.exists("m1"))
        #expect(try store.load("w1").swarm == nil, "the dissolved swarm's worker lost its record")
        try await machines.remove("w1", force: false)
        #expect(!store.exists("w1"))
    }

    @Test func joiningChecksTheManagerFirst() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = Store(root: folder.url)
        try store.prepare()
        let refusing = try LoopbackPort()
        defer { refusing.close() }
        let port = refusing.port
        try store.save(Self.server("plain", port: port))
        try store.save(Self.server("m1", port: port, swarm: .init(role: .manager, manager: "m1", nodeID: "n1", advertiseAddress: "127.0.0.1")))
        let machines = Machines(store: store)
        let notManager = try await #require(throws: BerthError.self) { try await machines.swarmManager("plain") }
        #expect(notManager.message == "machine \"plain\" is not a swarm manager; make it one with `berth swarm init plain`")
        let down = try await #require(throws: BerthError.self) { try await machines.swarmManager("m1") }
        #expect(down.message == "swarm manager \"m1\" is stopped; start it with `berth start m1`")
        let own = try await #require(throws: BerthError.self) { try await machines.joinSwarm("m1", manager: "m1") }
        #expect(own.message == "machine \"m1\" cannot join its own swarm")
        let missing = try await #require(throws: BerthError.self) { try await machines.swarmManager("ghost") }
        #expect(missing.code == .machineNotFound)
    }

    @Test func envAndConfigWithSwarmFollowAWorkerToARunningManager() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = Store(root: folder.url)
        try store.prepare()
        let listener = try LoopbackPort(listening: true)
        defer { listener.close() }
        let refusing = try LoopbackPort()
        defer { refusing.close() }
        let down = refusing.port
        try store.save(Self.server("solo", port: down))
        try store.save(Self.server("m1", port: down, swarm: .init(role: .manager, manager: "m1", nodeID: "n1", advertiseAddress: "127.0.0.1")))
        try store.save(Self.server("m2", port: listener.port,
                                   swarm: .init(role: .manager, manager: "m1", nodeID: "n2", advertiseAddress: "127.0.0.1")))
        try store.save(Self.server("w1", port: down, swarm: .init(role: .worker, manager: "m1", nodeID: "n3", advertiseAddress: "127.0.0.1")))
        let machines = Machines(store: store)
        #expect(try await machines.swarmEndpoint(of: "m1").name == "m1", "a manager is its own swarm endpoint")
        #expect(try await machines.swarmEndpoint(of: "w1").name == "m2", "m1 is down: the running manager answers for the swarm")
        let none = try await #require(throws: BerthError.self) { try await machines.swarmEndpoint(of: "solo") }
        #expect(none.message.hasPrefix("machine \"solo\" is in no swarm"))
    }

    @Test func lsShowsServersAndSwarmsFromTheirConfigs() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = Store(root: folder.url)
        try store.prepare()
        let refusing = try LoopbackPort()
        defer { refusing.close() }
        let port = refusing.port
        try store.save(Self.server("srv", port: port,
                                   swarm: .init(role: .manager, manager: "srv", nodeID: "n1", advertiseAddress: "127.0.0.1")))
        let rows = await Machines(store: store).list(timeout: .seconds(1))
        #expect(rows.count == 1)
        #expect(rows.first?.driver == "generic")
        #expect(rows.first?.state == .stopped)
        #expect(rows.first?.error == "the server does not answer on SSH at 127.0.0.1:\(port)")
        #expect(rows.first?.swarm == .init(role: .manager, manager: "srv"))
        #expect(rows.first?.swarm?.column == "srv (manager)")
    }
}
