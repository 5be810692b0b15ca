import Foundation
import Testing
@testable import BerthCommands
@testable import MachineCore

/// Every `--format json` berth prints, from the real binary, parsed back.
@Suite("--format json, parsed")
struct JSONOutputTests {
    static func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
    }

    static func array(_ text: String) throws -> [[String: Any]] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]], "\(text)")
    }

    /// A store with machine "dev" on libvirt's test driver, whose domain "test" is running, and
    /// with image berth-docker in the cache.
    static func store() throws -> TemporaryStore {
        let store = try TemporaryStore()
        var config = Fixtures.config("dev", ip: "127.0.0.1", port: 9)
        config.hypervisor.uri = "test:///default"
        config.hypervisor.domainName = "test"
        config.tlsSANs = ["docker.example.com"]
        try store.store.save(config)
        let image = Fixtures.image()
        let folder = store.store.imagesDirectory.appendingPathComponent(image.name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Store.encoder.encode(image).write(to: folder.appendingPathComponent("image.json"))
        return store
    }

    @Test("ls: one object per machine, with its state, URL and own response time")
    func ls() async throws {
        let store = try Self.store()
        defer { store.remove() }
        let result = try await BerthBinary.run(["ls", "--format", "json", "-t", "2"], store: store)
        #expect(result.status == 0, "\(result.error)")
        let rows = try Self.array(result.output)
        #expect(rows.count == 1)
        let row = try #require(rows.first)
        #expect(row["name"] as? String == "dev")
        #expect(row["state"] as? String == "Running")
        #expect(row["url"] as? String == "tcp://127.0.0.1:9")
        #expect(row["active"] as? Bool == false)
        #expect(row["driver"] as? String == "libvirt")
        #expect(row["labels"] as? [String] == ["env=test"])
        #expect(row["responseTimeMs"] is Int)
        #expect(row["error"] is String)
        let decoded = try JSONDecoder().decode([MachineListing].self, from: Data(result.output.utf8))
        #expect(decoded.first?.state == .running)
        let empty = try await BerthBinary.run(["ls", "--format", "json", "--filter", "name=^nothing$"], store: store)
        #expect(try Self.array(empty.output).isEmpty)
    }

    @Test("inspect: the config with state, url and machine folder; its tls-san names too")
    func inspect() async throws {
        let store = try Self.store()
        defer { store.remove() }
        for arguments in [["inspect", "dev"], ["inspect", "--format", "json", "dev"]] {
            let result = try await BerthBinary.run(arguments, store: store)
            #expect(result.status == 0, "\(result.error)")
            let object = try Self.object(result.output)
            #expect(object["name"] as? String == "dev")
            #expect(object["state"] as? String == "Running")
            #expect(object["url"] as? String == "tcp://127.0.0.1:9")
            #expect(object["machineDirectory"] as? String == store.root.appendingPathComponent("machines/dev").path)
            #expect(object["tlsSANs"] as? [String] == ["docker.example.com"])
        }
        let sans = try await BerthBinary.run(["inspect", "--format", "{{json .HostOptions.AuthOptions.ServerCertSANs}}", "dev"], store: store)
        #expect(sans.output == "[\"docker.example.com\"]\n")
    }

    @Test("image ls and image inspect")
    func images() async throws {
        let store = try Self.store()
        defer { store.remove() }
        let list = try await BerthBinary.run(["image", "ls", "--format", "json"], store: store)
        #expect(list.status == 0, "\(list.error)")
        let images = try Self.array(list.output)
        #expect(images.map { $0["name"] as? String } == ["berth-docker"])
        let inspect = try await BerthBinary.run(["image", "inspect", "--format", "json", "berth-docker"], store: store)
        #expect(inspect.status == 0, "\(inspect.error)")
        let image = try Self.object(inspect.output)
        #expect(image["name"] as? String == "berth-docker")
        #expect((image["facts"] as? [String: Any])?["dockerVersion"] as? String == "26.1.5+dfsg1-9+b2")
        let table = try await BerthBinary.run(["image", "inspect", "--format", "table", "berth-docker"], store: store)
        #expect(table.status == 64)
    }

    @Test("version: berth's, as text or JSON")
    func version() async throws {
        let store = try TemporaryStore()
        defer { store.remove() }
        let text = try await BerthBinary.run(["version"], store: store)
        #expect(text.output == "berth version \(Berth.version)\n")
        let json = try await BerthBinary.run(["version", "--format", "json"], store: store)
        #expect(try Self.object(json.output) as NSDictionary == ["version": Berth.version] as NSDictionary)
    }

    @Test("doctor: every check with its code and status, and readyToCreate matching the exit status")
    func doctor() async throws {
        let store = try TemporaryStore()
        defer { store.remove() }
        let result = try await BerthBinary.run(["doctor", "--format", "json", "--libvirt-uri", "test:///default"], store: store,
                                               environment: ["BERTH_VIRT_TYPE": "qemu"])
        let report = try Self.object(result.output)
        let checks = try #require(report["checks"] as? [[String: Any]])
        #expect(checks.compactMap { $0["code"] as? String } == HostCheck.Code.allCases.map(\.rawValue))
        for check in checks {
            #expect(["ok", "warning", "failed", "skipped"].contains(check["status"] as? String ?? ""), "\(check)")
            #expect(check["message"] is String)
        }
        let ready = try #require(report["readyToCreate"] as? Bool)
        #expect(ready == !checks.contains { $0["status"] as? String == "failed" })
        #expect(result.status == (ready ? 0 : 1))
        #expect(try JSONDecoder().decode(HostReport.self, from: Data(result.output.utf8)).checks.count == checks.count)
    }

    @Test("the shared --format option: table or json, nothing else")
    func formatOption() throws {
        let option = try FormatOption.parse(["--format", "json"])
        #expect(try option.render(["a": 1]) { "table\n" } == "{\n  \"a\" : 1\n}\n")
        #expect(try FormatOption.parse([]).render(["a": 1]) { "table\n" } == "table\n")
        #expect(throws: (any Error).self) { try FormatOption.parse(["--format", "yaml"]) }
    }
}
