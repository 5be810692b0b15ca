import Foundation
import Testing
@testable import MachineCore

/// Names never reach outside the store, records are visible from the first moment, and
/// shared files are made once even when many makers race.
@Suite struct StoreSafetyTests {
    func temporaryStore() throws -> Store {
        let store = Store(root: FileManager.default.temporaryDirectory.appendingPathComponent("berth-safety-\(UUID().uuidString)"))
        try store.prepare()
        return store
    }

    @Test(arguments: ["..", ".", "../../../../tmp/x", "a/b", "/etc", "dev/..", "", "a..b", "-x"])
    func namesThatAreNotMachineNamesNeverBecomePaths(_ name: String) throws {
        let store = try temporaryStore()
        defer { try? FileManager.default.removeItem(at: store.root) }
        #expect(throws: BerthError.self) { try store.machineDirectory(name) }
        #expect(throws: BerthError.self) { try store.remove(name) }
        #expect(throws: BerthError.self) { try store.load(name) }
        #expect(!store.exists(name))
        #expect(FileManager.default.fileExists(atPath: store.machinesDirectory.path))
    }

    @Test func removingTheParentOrAPathOutsideLeavesEverythingInPlace() throws {
        let store = try temporaryStore()
        defer { try? FileManager.default.removeItem(at: store.root) }
        try store.save(StoreTests.sampleConfig("keep"))
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("berth-outside-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: outside) }
        for name in ["..", "../../../../\(outside.path)", "../machines"] {
            #expect(throws: BerthError.self) { try store.remove(name) }
        }
        #expect(FileManager.default.fileExists(atPath: outside.path))
        #expect(store.machineNames() == ["keep"])
    }

    /// A machine folder that is a symbolic link to somewhere else is removed as a link: what it
    /// points at stays.
    @Test func aSymbolicLinkInTheStoreIsRemovedAsALink() throws {
        let store = try temporaryStore()
        defer { try? FileManager.default.removeItem(at: store.root) }
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("berth-target-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: outside) }
        try Data("precious".utf8).write(to: outside.appendingPathComponent("file"))
        try FileManager.default.createSymbolicLink(at: store.machinesDirectory.appendingPathComponent("linked"),
                                                   withDestinationURL: outside)
        try store.remove("linked")
        #expect(try String(contentsOf: outside.appendingPathComponent("file"), encoding: .utf8) == "precious")
        #expect(!store.exists("linked"))
    }

    @Test func aConfigThatNamesAnotherMachineIsRefused() throws {
        let store = try temporaryStore()
        defer { try? FileManager.default.removeItem(at: store.root) }
        try store.save(StoreTests.sampleConfig("dev"))
        let folder = try store.machineDirectory("prod")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: try store.machineDirectory("dev").appendingPathComponent("config.json"),
                                         to: folder.appendingPathComponent("config.json"))
        #expect { try store.load("prod") } throws: { ($0 as? BerthError)?.message.contains("names another machine") == true }
    }

    /// A config written by berth 0.1 (version 1) keeps the volume names it was made with.
    @Test func versionOneConfigsKeepTheirVolumeNames() throws {
        let store = try temporaryStore()
        defer { try? FileManager.default.removeItem(at: store.root) }
        var old = StoreTests.sampleConfig("old")
        old.version = 1
        try store.save(old)
        let loaded = try store.load("old")
        #expect(loaded.volumes == .init(disk: "old.qcow2", seed: "old-seed.iso"))
        #expect(loaded.version == MachineConfig.currentVersion)
        #expect(loaded.isComplete)
    }

    /// A folder without config.json (a create killed before its first save) is listed and loads
    /// with an error that says how to remove it.
    @Test func anIncompleteFolderIsListedAndExplained() throws {
        let store = try temporaryStore()
        defer { try? FileManager.default.removeItem(at: store.root) }
        try FileManager.default.createDirectory(at: try store.machineDirectory("half"), withIntermediateDirectories: true)
        #expect(store.machineNames() == ["half"])
        #expect { try store.load("half") } throws: { ($0 as? BerthError)?.message.contains("berth rm -f half") == true }
    }

    @Test func theLockOfAMachineShowsAsBusyWhileHeld() async throws {
        let store = try temporaryStore()
        defer { try? FileManager.default.removeItem(at: store.root) }
        #expect(!store.isBusy("dev"))
        let lock = try await store.lock("dev")
        #expect(store.isBusy("dev"))
        withExtendedLifetime(lock) {}
    }

    /// Eight makers at once (each with its own file descriptor, as separate processes would have)
    /// end with one CA and a client certificate that chains to it.
    @Test func theCertificateAuthorityIsMadeOnceUnderRace() async throws {
        let store = try temporaryStore()
        defer { try? FileManager.default.removeItem(at: store.root) }
        let files = StoreCertificateFiles(storeRoot: store.root)
        let authorities = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 {
                group.addTask { try files.ensure().certificatePEM() }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(authorities.count == 1)
        let ca = try files.loadCA()
        #expect(try ca.certificatePEM() == authorities.first)
        #expect(ca.privateKey.publicKey == ca.certificate.publicKey)
        #expect(files.clientCertificateIsValid(for: ca))
    }
}

@Suite struct EngineOptionTests {
    @Test(arguments: [
        MachineConfig.EngineOptions(options: ["host=tcp://0.0.0.0:2375"]),
        MachineConfig.EngineOptions(options: ["-H=unix:///x"]),
        MachineConfig.EngineOptions(options: ["--tlsverify=false"]),
        MachineConfig.EngineOptions(options: ["label=a=b"]),
        MachineConfig.EngineOptions(options: ["dns=1.1.1.1\nExecStartPre=/bin/evil"]),
        MachineConfig.EngineOptions(environment: ["HTTP_PROXY=http://p\nExecStart=/bin/sh"]),
        MachineConfig.EngineOptions(environment: ["1BAD=x"]),
        MachineConfig.EngineOptions(environment: ["NOEQUALS"]),
        MachineConfig.EngineOptions(labels: ["a=b\n"]),
        MachineConfig.EngineOptions(storageDriver: "overlay2\n"),
    ])
    func clashingOrMultiLineSettingsAreRefused(_ engine: MachineConfig.EngineOptions) {
        #expect(throws: BerthError.self) { try engine.validate() }
    }

    @Test func ordinarySettingsPass() throws {
        try MachineConfig.EngineOptions(options: ["dns=10.0.0.2", "--debug", "log-level=warn"],
                                        environment: ["HTTP_PROXY=http://proxy:3128", "GREETING=hello world"],
                                        labels: ["env=test"], insecureRegistries: ["10.0.0.0/8"],
                                        registryMirrors: ["https://mirror.example"], storageDriver: "overlay2").validate()
    }
}

@Suite struct NetworkRouteTests {
    @Test func routesFromProcAreReadInHostByteOrder() {
        let table = """
            Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
            eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
            tun0\t00A8C0\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
            docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
            """
        let routes = NetworkPlan.hostIPv4Routes(table: table)
        #expect(routes.map(\.description) == ["0.0.0.0/0", "192.168.0.0/16", "172.17.0.0/16"])
    }

    /// A VPN route covering 192.168.0.0/16 leaves no 192.168.X.0/24 free; a route over one /24 moves
    /// the choice past it.
    @Test func theSubnetChoiceSkipsSubnetsThatHostRoutesUse() throws {
        let routed = [IPv4Subnet(cidr: "192.168.124.0/23")!, IPv4Subnet(cidr: "0.0.0.0/0")!]
        let spec = try NetworkPlan.newNetwork(named: "berth", hostAddresses: [], hostRoutes: routed)
        #expect(spec.gateway == "192.168.126.1")
        #expect(spec.domain == "berth.internal")
    }

    @Test func aNetworkMadeAgainKeepsItsSubnetWhenFree() throws {
        let previous = IPv4Subnet(cidr: "192.168.130.0/24")
        let spec = try NetworkPlan.newNetwork(named: "berth", preferredSubnet: previous, hostAddresses: [], hostRoutes: [])
        #expect(spec.gateway == "192.168.130.1")
        let taken = try NetworkPlan.newNetwork(named: "berth", preferredSubnet: previous, hostAddresses: [],
                                               hostRoutes: [IPv4Subnet(cidr: "192.168.130.0/24")!])
        #expect(taken.gateway == "192.168.124.1")
    }

    @Test func aPinnedSubnetIsUsedAndCheckedAgainstTheHost() throws {
        let pinned = try NetworkPlan.newNetwork(named: "lab", subnet: IPv4Subnet(cidr: "10.77.0.0/16"), hostAddresses: [], hostRoutes: [])
        #expect(pinned.gateway == "10.77.0.1")
        #expect(pinned.prefix == 16)
        #expect(try NetworkPlan.reservation(for: "dev", on: pinned).ip == "10.77.0.2")
        #expect(throws: BerthError.self) {
            try NetworkPlan.newNetwork(named: "lab", subnet: IPv4Subnet(cidr: "10.77.0.0/16"), hostAddresses: ["10.77.3.4"], hostRoutes: [])
        }
        #expect(throws: BerthError.self) {
            try NetworkPlan.newNetwork(named: "lab", subnet: IPv4Subnet(cidr: "10.77.0.0/28"), hostAddresses: [], hostRoutes: [])
        }
    }

    @Test func aPreviousAddressIsKeptWhenFree() throws {
        let spec = try NetworkPlan.newNetwork(named: "berth", hostAddresses: [], hostRoutes: [])
        let previous = MachineConfig.NetworkAttachment(name: "berth", mac: "52:54:00:aa:bb:cc", ip: "192.168.124.17")
        let host = try NetworkPlan.reservation(for: "dev", on: spec, previous: previous)
        #expect(host == .init(mac: "52:54:00:aa:bb:cc", name: "dev", ip: "192.168.124.17"))
        var taken = spec
        taken.hosts = [.init(mac: "52:54:00:00:00:01", name: "web", ip: "192.168.124.17")]
        #expect(try NetworkPlan.reservation(for: "dev", on: taken, previous: previous).ip == "192.168.124.2")
    }
}

@Suite struct GuestCommandTests {
    static let ssh = try! SSHCommand(config: StoreTests.sampleConfig("dev"), store: Store(root: URL(fileURLWithPath: "/var/lib/berth")))

    /// systemd's refusal arrives over several lines; the one line berth prints keeps enough of them
    /// to act on, and says where to look next.
    @Test func aFailedGuestCommandIsReportedWithItsLastLines() {
        let output = HelperProgram.Output(status: 1, standardOutput: "", standardError: """
            Job for docker.service failed.
            See "systemctl status docker.service" and "journalctl -xeu docker.service" for details.
            A dependency job for docker.service failed. See 'journalctl -xe' for details.
            docker.service: Start request repeated too quickly.
            """)
        let message = Self.ssh.failure(output).message
        #expect(!message.contains("\n"))
        #expect(message.contains("exit 1"))
        #expect(message.contains("Start request repeated too quickly"))
        #expect(message.contains("journalctl"))
    }

    @Test func aChangedHostKeyIsNamedAsSuch() {
        let output = HelperProgram.Output(status: 255, standardOutput: "", standardError: "@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nHost key verification failed.\n")
        #expect(Self.ssh.failure(output).message.contains("not the one berth gave it"))
    }
}

/// A machine larger than the host is refused before anything is made for it.
@Suite struct HostFitTests {
    @Test func moreMemoryThanTheHostHasIsRefusedBeforeAnythingIsMade() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("berth-fit-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let machines = Machines(store: Store(root: root))
        var request = CreateRequest(name: "huge")
        request.libvirtURI = "test:///default"
        request.memoryMiB = 64 << 20
        let reporter = StagedOperationTests.Recorder()
        await #expect { _ = try await machines.create(request, reporter: reporter) } throws: { error in
            guard let error = error as? BerthError else { return false }
            return error.code == .invalidArgument && error.message.contains("more than this host has")
        }
        #expect(!machines.store.exists("huge"))
        #expect(reporter.events.isEmpty, "no stage ran")
    }
}
