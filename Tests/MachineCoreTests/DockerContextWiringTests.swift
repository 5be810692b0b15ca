import Foundation
import Testing
@testable import MachineCore

/// The berth-NAME context follows its machine: rewritten when certificates or the address change,
/// removed with the machine, never made for a machine that has none (`create --no-context`).
/// Machines live on libvirt's test driver, where they are not running, so nothing is pushed to a guest.
@Suite("Docker contexts follow their machines")
struct DockerContextWiringTests {
    struct Fixture {
        let directory: TemporaryDirectory
        let store: Store
        let contexts: DockerContextStore
        let machines: Machines

        init() throws {
            directory = try TemporaryDirectory()
            store = Store(root: directory.url.appendingPathComponent("store"))
            try store.prepare()
            contexts = DockerContextStore(configDirectory: directory.url.appendingPathComponent("docker"))
            machines = Machines(store: store, dockerContexts: contexts)
        }

        /// A saved machine with its certificates, and (unless `context` is false) its context written.
        func machine(_ name: String, context: Bool = true) throws -> MachineConfig {
            let config = StoreTests.sampleConfig(name)
            try store.save(config)
            try machines.ensureServerCertificate(config)
            if context { #expect(machines.registerDockerContext(config, in: contexts) == nil) }
            return config
        }

        func caOfContext(_ machine: String) throws -> Data {
            let tls = contexts.tlsDirectory(for: DockerContext.name(forMachine: machine)).appendingPathComponent("docker")
            return try Data(contentsOf: tls.appendingPathComponent("ca.pem"))
        }

        func hostOfContext(_ machine: String) throws -> String? {
            let meta = contexts.metadataDirectory(for: DockerContext.name(forMachine: machine)).appendingPathComponent("meta.json")
            let object = try JSONSerialization.jsonObject(with: Data(contentsOf: meta)) as? [String: Any]
            return ((object?["Endpoints"] as? [String: Any])?["docker"] as? [String: Any])?["Host"] as? String
        }
    }

    @Test("regenerate-certs --client-certs rewrites the context with the new CA; a machine without a context gets none")
    func regenerate() async throws {
        let fixture = try Fixture()
        defer { fixture.directory.remove() }
        let dev = try fixture.machine("dev")
        let bare = try fixture.machine("bare", context: false)
        let before = try fixture.caOfContext("dev")
        try await fixture.machines.regenerateCertificates(dev, clientCertificates: true)
        let after = try fixture.caOfContext("dev")
        #expect(after != before)
        #expect(after == (try Data(contentsOf: StoreCertificateFiles(storeRoot: fixture.store.root).caCertificate)))
        try await fixture.machines.regenerateCertificates(bare, clientCertificates: false)
        #expect(!fixture.contexts.contains("berth-bare"))
    }

    @Test("a certificate repair after an address change points the context at the new address")
    func repair() async throws {
        let fixture = try Fixture()
        defer { fixture.directory.remove() }
        var dev = try fixture.machine("dev")
        #expect(try fixture.hostOfContext("dev") == "tcp://192.168.124.2:2376")
        dev.network.ip = "192.168.124.7"
        try fixture.store.save(dev)
        #expect(try await fixture.machines.repairCertificates(dev))
        #expect(try fixture.hostOfContext("dev") == "tcp://192.168.124.7:2376")
    }

    @Test("rm removes the context (and Docker's current context goes back to the default); rm -f of a gone machine removes a leftover one")
    func remove() async throws {
        let fixture = try Fixture()
        defer { fixture.directory.remove() }
        _ = try fixture.machine("dev")
        try fixture.contexts.setCurrentContext("berth-dev")
        try await fixture.machines.remove("dev", force: true)
        #expect(!fixture.contexts.contains("berth-dev"))
        #expect(try fixture.contexts.currentContext() == nil)

        let ghost = try fixture.machine("ghost")
        try fixture.store.remove(ghost.name)
        #expect(fixture.contexts.contains("berth-ghost"))
        try await fixture.machines.remove("ghost", force: true)
        #expect(!fixture.contexts.contains("berth-ghost"))
    }
}
