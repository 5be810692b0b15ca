import Foundation
import Libvirt
import Testing
@testable import MachineCore

@Suite struct NetworkPlanTests {
    @Test func macAddressIsStablePerNameAndDiffersBetweenNames() {
        #expect(NetworkPlan.mac(for: "dev") == NetworkPlan.mac(for: "dev"))
        #expect(NetworkPlan.mac(for: "dev") != NetworkPlan.mac(for: "web"))
        #expect(NetworkPlan.mac(for: "dev").hasPrefix("52:54:00:"))
    }

    @Test func reservationTakesTheLowestFreeFixedAddressAndAvoidsTakenMACs() throws {
        var spec = try NetworkPlan.newNetwork(named: "berth", hostAddresses: ["192.0.2.2"], hostRoutes: [])
        spec.hosts = [.init(mac: NetworkPlan.mac(for: "dev"), name: "other", ip: "192.168.124.2")]
        let host = try NetworkPlan.reservation(for: "dev", on: spec)
        #expect(host.ip == "192.168.124.3")
        #expect(host.mac != NetworkPlan.mac(for: "dev"))
        spec.hosts.append(host)
        #expect(try NetworkPlan.reservation(for: "dev", on: spec) == host, "an existing reservation is reused")
    }

    @Test func addressesStillLeasedToAnotherMachineAreSkipped() throws {
        let spec = try NetworkPlan.newNetwork(named: "berth", hostAddresses: [], hostRoutes: [])
        let stale = DHCPLease(mac: "52:54:00:aa:aa:aa", ipAddress: "192.168.124.2", hostname: "removed", expiry: Date())
        #expect(try NetworkPlan.reservation(for: "dev", on: spec, leases: [stale]).ip == "192.168.124.3")
        let own = DHCPLease(mac: NetworkPlan.mac(for: "dev"), ipAddress: "192.168.124.2", hostname: "dev", expiry: Date())
        #expect(try NetworkPlan.reservation(for: "dev", on: spec, leases: [own]).ip == "192.168.124.2")
    }

    @Test func newNetworkKeepsClearOfHostSubnets() throws {
        let spec = try NetworkPlan.newNetwork(named: "berth", hostAddresses: ["192.168.124.7", "192.168.125.1", "10.0.0.1"], hostRoutes: [])
        #expect(spec.gateway == "192.168.126.1")
        #expect(spec.bridge == "virbr-berth")
        #expect(NetworkPlan.bridgeName(for: "a-very-long-network-name").count <= 15)
    }
}

@Suite struct StagedOperationTests {
    final class Recorder: StageReporter, @unchecked Sendable {
        let lock = NSLock()
        var events: [String] = []
        func add(_ event: String) { lock.lock(); events.append(event); lock.unlock() }
        func stageStarted(_ stage: String) { add("start \(stage)") }
        func stageFinished(_ stage: String, after: Duration) { add("done \(stage)") }
        func stageFailed(_ stage: String, after: Duration) { add("failed \(stage)") }
        func note(_ message: String) { add("note \(message)") }
    }

    struct Boom: Error {}

    @Test func failureUndoesCompletedStagesNewestFirst() async throws {
        let recorder = Recorder()
        let operation = StagedOperation(reporter: recorder)
        await #expect(throws: Boom.self) {
            try await operation.run { operation in
                try await operation.stage("one", undo: { recorder.add("undo one") }) {}
                try await operation.stage("two", undo: { recorder.add("undo two") }) {}
                try await operation.stage("three", undo: { recorder.add("undo three") }) { throw Boom() }
            }
        }
        #expect(recorder.events == ["start one", "done one", "start two", "done two", "start three", "failed three",
                                    "undo two", "undo one"])
    }

    @Test func cancellationRollsBackAndSaysSo() async throws {
        let recorder = Recorder()
        let task = Task {
            try await StagedOperation(reporter: recorder).run { operation in
                try await operation.stage("made", undo: { recorder.add("undo made") }) {}
                try await operation.stage("slow") { try await Task.sleep(for: .seconds(30)) }
            }
        }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        let result = await task.result
        guard case .failure(let error as BerthError) = result else {
            Issue.record("expected an interrupted error, got \(result)")
            return
        }
        #expect(error.code == .interrupted)
        #expect(recorder.events.contains("undo made"))
    }
}

@Suite struct StoreTests {
    func temporaryStore() throws -> Store {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("berth-store-\(UUID().uuidString)")
        let store = Store(root: root)
        try store.prepare()
        return store
    }

    static func sampleConfig(_ name: String) -> MachineConfig {
        MachineConfig(name: name, createdAt: Date(timeIntervalSince1970: 1_800_000_000), hardware: .init(cpus: 2, memoryMiB: 1024, diskGiB: 20),
                      hypervisor: .init(uri: "test:///default", virtType: "qemu", domainName: name, storagePool: "berth"),
                      image: .init(name: "berth-docker", hasDocker: true, diskVolume: "d.qcow2", kernelVolume: nil,
                                   initrdVolume: nil, kernelCommandLine: nil),
                      network: .init(name: "berth", mac: "52:54:00:00:00:01", ip: "192.168.124.2"),
                      engine: .init(labels: ["env=test"]), ssh: .init())
    }

    @Test func savesAtomicallyPrivatelyAndLoadsBack() throws {
        let store = try temporaryStore()
        defer { try? FileManager.default.removeItem(at: store.root) }
        let config = Self.sampleConfig("dev")
        try store.save(config)
        #expect(try store.load("dev") == config)
        #expect(store.machineNames() == ["dev"])
        #expect(try SecureFile.mode(of: store.machineDirectory("dev")) == 0o700)
        #expect(try SecureFile.mode(of: store.machineDirectory("dev").appendingPathComponent("config.json")) == 0o600)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: try store.machineDirectory("dev").path)
        #expect(leftovers == ["config.json"])
    }

    @Test func missingAndNewerConfigsGiveClearErrors() throws {
        let store = try temporaryStore()
        defer { try? FileManager.default.removeItem(at: store.root) }
        #expect { try store.load("ghost") } throws: { ($0 as? BerthError)?.code == .machineNotFound }
        var future = Self.sampleConfig("future")
        future.version = MachineConfig.currentVersion + 1
        try store.save(future)
        #expect { try store.load("future") } throws: { ($0 as? BerthError)?.message.contains("newer berth") == true }
    }

    @Test func locksKeepTwoHoldersApart() async throws {
        let store = try temporaryStore()
        defer { try? FileManager.default.removeItem(at: store.root) }
        let first = try await store.lock("dev")
        await #expect { _ = try await store.lock("dev", timeout: .milliseconds(300)) } throws: {
            ($0 as? BerthError)?.code == .machineBusy
        }
        withExtendedLifetime(first) {}
    }

    @Test func storeLocationFollowsFlagThenEnvironmentThenXDG() {
        #expect(Store.resolve(explicit: "/x", environment: ["BERTH_STORAGE_PATH": "/y"]).root.path == "/x")
        #expect(Store.resolve(environment: ["BERTH_STORAGE_PATH": "/y", "XDG_DATA_HOME": "/z"]).root.path == "/y")
        #expect(Store.resolve(environment: ["XDG_DATA_HOME": "/z"]).root.path == "/z/berth")
        #expect(Store.resolve(environment: ["HOME": "/home/u"]).root.path == "/home/u/.local/share/berth")
    }

    @Test func machineNamesAreCheckedLikeHostNames() {
        #expect(throws: Never.self) { try MachineName.validate("dev-1.local") }
        for bad in ["", "-dev", "dev_1", "dev/..", String(repeating: "a", count: 64), "dev-"] {
            #expect(throws: BerthError.self, "\(bad)") { try MachineName.validate(bad) }
        }
    }
}

/// The driver's network and state logic against libvirt's built-in test driver.
@Suite struct LibvirtDriverTestDriverTests {
    @Test func reservesAndReleasesAnAddressOnANewNetwork() async throws {
        let driver = LibvirtDriver(uri: "test:///default")
        let first = try await driver.reserveAddress(for: "dev", network: "berth", previous: nil)
        #expect(first.networkCreated)
        let attachment = first.attachment
        #expect(attachment.mac == NetworkPlan.mac(for: "dev"))
        #expect(attachment.ip.hasSuffix(".2"))
        let again = try await driver.reserveAddress(for: "dev", network: "berth", previous: nil)
        #expect(again.attachment == attachment)
        #expect(!again.networkCreated)
        let second = try await driver.reserveAddress(for: "web", network: "berth", previous: nil).attachment
        #expect(second.ip.hasSuffix(".3"))
        try await driver.releaseAddress(attachment)
        let connection = try await driver.connection()
        let spec = try NetworkSpec(xml: try await connection.network(named: "berth").xmlDescription())
        #expect(spec.hosts.map(\.name) == ["web"])
    }

    @Test func statesComeFromOneListingAndMissingDomainsAreAbsent() async throws {
        let driver = LibvirtDriver(uri: "test:///default")
        var present = StoreTests.sampleConfig("test")  // the test driver's built-in running domain
        present.hypervisor.domainName = "test"
        let missing = StoreTests.sampleConfig("ghost")
        let states = try await driver.states(of: [present, missing])
        #expect(states == ["test": .running])
    }
}

@Suite struct SeedTests {
    /// With `--ssh-key`, the machine keeps a copy of the user's key under a name of berth's own (never
    /// the user's file name, which could clash with berth's files), pins a host key it made, and the seed is written.
    @Test func userKeyIsRecordedInTheConfigAndSeedIsWritten() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("berth-seed-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let store = Store(root: root)
        try store.prepare()
        let keyFolder = root.appendingPathComponent("user")
        try FileManager.default.createDirectory(at: keyFolder, withIntermediateDirectories: true)
        let userKey = keyFolder.appendingPathComponent("key.pem")
        let keygen = try await HelperProgram.capture("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", userKey.path])
        #expect(keygen.status == 0)

        var config = StoreTests.sampleConfig("seeded")
        let folder = try store.machineDirectory("seeded")
        try SecureFile.createDirectory(folder)
        let seed = try await Machines(store: store).makeSeed(for: &config, sshKey: userKey)
        defer { try? FileManager.default.removeItem(at: seed) }
        #expect(config.ssh.keyFile == "id_ed25519")
        let copied = folder.appendingPathComponent("id_ed25519")
        #expect(try SecureFile.mode(of: copied) == 0o600)
        #expect(try Data(contentsOf: copied) == Data(contentsOf: userKey))
        // The client key berth writes as key.pem is berth's own, not the user's key.
        #expect(try SecureFile.readText(folder.appendingPathComponent("key.pem")).contains("BEGIN PRIVATE KEY"))
        #expect(try Data(contentsOf: folder.appendingPathComponent("key.pem")) != Data(contentsOf: userKey))
        // The guest's host key is berth's, and pinned under the machine's alias.
        #expect(config.ssh.knownHostsFile == "known_hosts")
        let knownHosts = try SecureFile.readText(folder.appendingPathComponent("known_hosts"))
        #expect(knownHosts.hasPrefix("berth-seeded ssh-ed25519 "))
        #expect(try SecureFile.mode(of: folder.appendingPathComponent(SSHHostKey.fileName)) == 0o600)
        let iso = try Data(contentsOf: seed)
        #expect(iso.count > 32 * 1024)
        #expect(String(decoding: iso, as: UTF8.self).contains("cidata"))
    }
}
