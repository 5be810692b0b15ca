import Foundation
import Testing
@testable import BerthCommands
@testable import MachineCore

/// Existing servers and swarms as a user and a script see them from the real binary, with servers
/// that are down (a loopback port nothing listens on), so no machine is needed.
@Suite("generic machines and swarms, from the binary")
struct ManyHostsCommandTests {
    static func server(_ name: String, port: Int, swarm: MachineConfig.SwarmMembership? = nil) -> MachineConfig {
        var request = GenericCreateRequest(name: name, address: "127.0.0.1", key: URL(fileURLWithPath: "/nonexistent"))
        request.user = "docker"
        request.port = port
        var config = MachineConfig.generic(request)
        config.ssh.keyFile = "id_ed25519"
        config.status = .ready
        config.swarm = swarm
        return config
    }

    @Test("ls shows the driver, the SWARM column and filters by swarm")
    func listing() async throws {
        let store = try TemporaryStore()
        defer { store.remove() }
        let port = try FreePort.find()
        try store.store.save(Self.server("m1", port: port, swarm: .init(role: .manager, manager: "m1", nodeID: "a", advertiseAddress: "127.0.0.1")))
        try store.store.save(Self.server("w1", port: port, swarm: .init(role: .worker, manager: "m1", nodeID: "b", advertiseAddress: "127.0.0.1")))
        try store.store.save(Self.server("solo", port: port))
        let table = try await BerthBinary.run(["ls"], store: store)
        #expect(table.status == 0, "\(table.error)")
        let lines = table.output.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        #expect(lines == [
            "NAME ACTIVE DRIVER STATE URL SWARM DOCKER ERRORS",
            "m1 - generic Stopped m1 (manager) Unknown the server does not answer on SSH at 127.0.0.1:\(port)",
            "solo - generic Stopped Unknown the server does not answer on SSH at 127.0.0.1:\(port)",
            "w1 - generic Stopped m1 Unknown the server does not answer on SSH at 127.0.0.1:\(port)",
        ])
        #expect(try await BerthBinary.run(["ls", "-q", "--filter", "swarm=m1"], store: store).output == "m1\nw1\n")
        #expect(try await BerthBinary.run(["ls", "-q", "--filter", "driver=generic", "--filter", "swarm=nobody"], store: store).output == "")
        let template = try await BerthBinary.run(["ls", "--format", "{{.Name}}:{{.Swarm}}:{{.DriverName}}"], store: store)
        #expect(template.output == "m1:m1 (manager):generic\nsolo::generic\nw1:m1:generic\n")
        let json = try await BerthBinary.run(["ls", "--format", "json"], store: store)
        let rows = try JSONDecoder().decode([MachineListing].self, from: Data(json.output.utf8))
        #expect(rows.map(\.swarm) == [.init(role: .manager, manager: "m1"), nil, .init(role: .worker, manager: "m1")])
        #expect(try await BerthBinary.run(["status", "solo"], store: store).output == "Stopped\n")
    }

    @Test("start, stop, restart and kill answer in one line that berth does not power generic machines")
    func power() async throws {
        let store = try TemporaryStore()
        defer { store.remove() }
        try store.store.save(Self.server("srv", port: try FreePort.find()))
        for command in ["start", "stop", "restart", "kill"] {
            let result = try await BerthBinary.run([command, "srv"], store: store)
            #expect(result.status == 1)
            #expect(result.error == "berth: machine \"srv\" is the existing server at 127.0.0.1 (driver generic), and berth does not power generic machines; \(command) it yourself\n")
        }
    }

    @Test("rm of the last manager of a swarm with workers says what to do; rm -f dissolves the swarm; rm forgets a server")
    func removal() async throws {
        let store = try TemporaryStore()
        defer { store.remove() }
        let port = try FreePort.find()
        try store.store.save(Self.server("m1", port: port, swarm: .init(role: .manager, manager: "m1", nodeID: "a", advertiseAddress: "127.0.0.1")))
        try store.store.save(Self.server("w1", port: port, swarm: .init(role: .worker, manager: "m1", nodeID: "b", advertiseAddress: "127.0.0.1")))
        let refused = try await BerthBinary.run(["rm", "-y", "m1"], store: store)
        #expect(refused.status == 1)
        #expect(refused.error == "berth: machine \"m1\" is the last manager of a swarm that still has other nodes (w1): remove them first (`berth rm w1`), or use -f to dissolve the swarm\n")
        let forced = try await BerthBinary.run(["rm", "-f", "m1"], store: store)
        #expect(forced.status == 0, "\(forced.error)")
        #expect(try store.store.load("w1").swarm == nil)
        let forgotten = try await BerthBinary.run(["rm", "-y", "w1"], store: store)
        #expect(forgotten.status == 0, "\(forgotten.error)")
        #expect(try await BerthBinary.run(["ls", "-q"], store: store).output == "")
    }

    @Test("create --driver generic of a server that does not answer fails at SSH in one line and leaves nothing")
    func unreachableServer() async throws {
        let store = try TemporaryStore()
        defer { store.remove() }
        let key = store.root.appendingPathComponent("user-key")
        _ = try await HelperProgram.capture("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key.path])
        let port = try FreePort.find()
        let result = try await BerthBinary.run(["create", "-d", "generic", "--generic-ip-address", "127.0.0.1", "--generic-ssh-port",
                                                String(port), "--generic-ssh-key", key.path, "srv"], store: store)
        #expect(result.status == 1)
        #expect(result.error.contains("✗ SSH"), "\(result.error)")
        let failure = try #require(result.error.split(separator: "\n").last)
        #expect(failure.hasPrefix("berth: cannot reach machine \"srv\" over SSH at 127.0.0.1"), "\(failure)")
        #expect(try await BerthBinary.run(["ls", "-q"], store: store).output == "")
        #expect(!FileManager.default.fileExists(atPath: store.root.appendingPathComponent("machines/srv").path))
    }

    @Test("create --swarm-join checks the manager before anything is made")
    func joinChecksFirst() async throws {
        let store = try TemporaryStore()
        defer { store.remove() }
        try store.store.save(Self.server("plain", port: try FreePort.find()))
        let result = try await BerthBinary.run(["create", "--swarm-join", "plain", "w1"], store: store)
        #expect(result.status == 1)
        #expect(result.error == "berth: machine \"plain\" is not a swarm manager; make it one with `berth swarm init plain`\n")
        #expect(!store.store.exists("w1"))
    }
}
