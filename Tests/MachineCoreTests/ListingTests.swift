import Foundation
import Testing
import TestSupport
@testable import MachineCore

/// `berth ls`'s rules, against libvirt's test driver (its built-in domain "test" is running) and
/// Docker endpoints on loopback: a closed port (Docker refuses) and a port that accepts connections
/// but never answers (Docker hangs).
@Suite("ls: active, Timeout, response times, natural order")
struct ListingTests {
    static func config(_ name: String, domain: String, port: Int) -> MachineConfig {
        var config = StoreTests.sampleConfig(name)
        config.hypervisor.domainName = domain
        config.network.ip = "127.0.0.1"
        config.engine.port = port
        return config
    }

    @Test("only a running machine is active; a hung Docker gives Timeout with the whole timeout as its time; names sort naturally")
    func rules() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = Store(root: directory.url)
        try store.prepare()
        let silent = try LoopbackPort(listening: true)
        let refusing = try LoopbackPort()
        defer { silent.close(); refusing.close() }
        let refused = refusing.port
        let configs = [
            Self.config("dev10", domain: "test", port: silent.port),
            Self.config("dev2", domain: "test", port: refused),
            Self.config("Dev1", domain: "missing", port: refused),
        ]
        for config in configs {
            try store.save(config)
            // Real TLS files, so the request gets as far as the TLS handshake.
            try MachineCertificateFiles(directory: try store.machineDirectory(config.name))
                .ensureServerCertificate(store: StoreCertificateFiles(storeRoot: store.root), machineName: config.name, ip: "127.0.0.1")
        }
        let machines = Machines(store: store)

        let refusedURL = "tcp://127.0.0.1:\(refused)"
        let rows = await machines.list(timeout: .seconds(1), activeHost: refusedURL)
        #expect(rows.map(\.name) == ["Dev1", "dev2", "dev10"])

        let byName = Dictionary(uniqueKeysWithValues: rows.map { ($0.name, $0) })
        let running = try #require(byName["dev2"])
        #expect(running.state == .running)
        #expect(running.active)
        #expect(running.error?.hasPrefix("Docker does not answer") == true)

        let hung = try #require(byName["dev10"])
        #expect(hung.state == .timeout)
        #expect(hung.url == "tcp://127.0.0.1:\(silent.port)")
        #expect(hung.responseTimeMs >= 1000, "a Timeout row waited the whole timeout")
        #expect(hung.error?.contains("within 1s") == true)
        let asActive = await machines.list(timeout: .seconds(1), activeHost: hung.url)
        #expect(asActive.filter(\.active).isEmpty, "a machine in Timeout is never active")

        let broken = try #require(byName["Dev1"])
        #expect(broken.state == .error)
        #expect(!broken.active)
        let brokenActive = await machines.list(timeout: .seconds(1), askDocker: false, activeHost: refusedURL)
        #expect(brokenActive.filter(\.active).map(\.name) == ["dev2"], "the stopped or broken machine with the same URL is not active")
    }

    @Test("natural order: case ignored, digits as numbers")
    func naturalOrder() {
        let names = ["web10", "Web9", "dev10", "dev2", "dev", "dev02", "a1b10", "a1b2", "db"]
        #expect(names.sorted(by: NaturalOrder.precedes) == ["a1b2", "a1b10", "db", "dev", "dev2", "dev02", "dev10", "Web9", "web10"])
        #expect(NaturalOrder.precedes("dev2", "dev10"))
        #expect(!NaturalOrder.precedes("dev10", "dev2"))
    }
}
