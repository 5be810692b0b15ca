import Foundation
import Libvirt
import MachineCore
import Testing

/// `berth doctor` on this host, against the real qemu:///system daemon: healthy as set up by
/// scripts/setup-host.sh, then broken on purpose in three ways, each undone afterwards.
@Suite(.serialized) struct DoctorOnThisHost {
    struct Report: Decodable {
        struct Check: Decodable {
            var code: String
            var status: String
            var message: String
            var fix: String?
        }
        var checks: [Check]
        var readyToCreate: Bool

        func check(_ code: String) -> Check? { checks.first { $0.code == code } }
    }

    /// A store of its own (the probe's answer is remembered per store and per host boot).
    static func withStore<T>(_ body: (String) async throws -> T) async throws -> T {
        let store = FileManager.default.temporaryDirectory.appendingPathComponent("berth-doctor-\(UUID().uuidString)")
        try Store(root: store).prepare()
        defer { try? FileManager.default.removeItem(at: store) }
        return try await body(store.path)
    }

    static func doctor(_ arguments: [String], store: String,
                       environment: [String: String] = [:]) async throws -> (status: Int32, report: Report, text: String) {
        let result = try await CLI.berth(["doctor", "--format", "json"] + arguments, expectSuccess: false, store: store,
                                         extraEnvironment: environment)
        return (result.status, try JSONDecoder().decode(Report.self, from: Data(result.output.utf8)), result.error)
    }

    @Test func aHealthyHostIsReadyToCreate() async throws {
        try await Self.withStore { store in
            let (status, report, text) = try await Self.doctor([], store: store)
            #expect(status == 0, "\(report.checks.filter { $0.status == "failed" }.map(\.message)) \(text)")
            #expect(report.readyToCreate)
            for code in ["libvirt-socket", "qemu", "firmware", "network-subnet", "pool-access", "store-permissions"] {
                #expect(report.check(code)?.status == "ok", "\(code): \(report.check(code)?.message ?? "missing")")
            }
            // KVM works, or (as on the project's build machines) create will use TCG: either way not a failure.
            #expect(["ok", "warning"].contains(report.check("kvm")?.status ?? ""))
            let human = try await CLI.berth(["doctor"], store: store)
            #expect(human.output.split(separator: "\n").count == report.checks.count, "one line per check")
            #expect(human.output.contains("ok      libvirt-socket"))
        }
    }

    @Test func anUnreachableLibvirtSocketBlocksCreate() async throws {
        try await Self.withStore { store in
            let (status, report, text) = try await Self.doctor(["--libvirt-uri", "qemu+unix:///system?socket=/nonexistent"], store: store)
            #expect(status == 1)
            #expect(!report.readyToCreate)
            let socket = try #require(report.check("libvirt-socket"))
            #expect(socket.status == "failed")
            #expect(socket.message.contains("/nonexistent"))
            #expect(socket.fix?.contains("systemctl start libvirtd") == true)
            #expect(report.check("qemu")?.status == "skipped")
            #expect(text.contains("fix libvirt-socket"))
        }
    }

    /// A network of the test's own (defined, not started, on a subnet this host does not use), and
    /// an interface with an address on that subnet, as a VPN would bring.
    @Test func aRouteOnTheNetworksSubnetIsACollision() async throws {
        let routes = try String(contentsOfFile: "/proc/net/route", encoding: .utf8)
        try #require(!routes.contains("004DD50A"), "10.213.77.0/24 is already routed on this host")
        let connection = try await Connection.open("qemu:///system")
        let name = "berthtest-doctor"
        if let stale = try await connection.networkIfExists(named: name) { try await stale.undefine() }
        let spec = NetworkSpec(name: name, bridge: "vbr-btdoctor", gateway: "10.213.77.1", prefix: 24,
                               dhcpStart: "10.213.77.100", dhcpEnd: "10.213.77.254")
        let network = try await connection.defineNetwork(xml: spec.xml)
        defer { Task { try? await network.undefine() } }
        let interface = "berthtest0"
        let ip = HelperProgram.which("ip") ?? "/sbin/ip"
        _ = try? await HelperProgram.capture(ip, ["link", "del", interface])
        // A dummy interface where the kernel has the module; a bridge does the same job where it has not.
        var added = try await HelperProgram.capture(ip, ["link", "add", interface, "type", "dummy"])
        if added.status != 0 { added = try await HelperProgram.capture(ip, ["link", "add", interface, "type", "bridge"]) }
        try #require(added.status == 0, "cannot add a test interface: \(added.standardError)")
        defer { _ = Task { try? await HelperProgram.capture(ip, ["link", "del", interface]) } }
        _ = try await HelperProgram.capture(ip, ["addr", "add", "10.213.77.5/24", "dev", interface])
        _ = try await HelperProgram.capture(ip, ["link", "set", interface, "up"])

        try await Self.withStore { store in
            let (status, report, _) = try await Self.doctor(["--network", name], store: store)
            let subnet = try #require(report.check("network-subnet"))
            #expect(subnet.status == "failed", "\(subnet.message)")
            #expect(subnet.message.contains("10.213.77.0/24 on \(interface)"))
            #expect(status == 1)
        }
        _ = try await HelperProgram.capture(ip, ["link", "del", interface])
        try await Self.withStore { store in
            let (_, report, _) = try await Self.doctor(["--network", name], store: store)
            #expect(report.check("network-subnet")?.status == "ok", "\(report.check("network-subnet")?.message ?? "")")
        }
        try await network.undefine()
    }

    @Test func aStoreOthersCanWriteBlocksCreate() async throws {
        try await Self.withStore { store in
            chmod(store, 0o777)
            // BERTH_VIRT_TYPE spares the KVM probe: only the store is under test.
            let (status, report, _) = try await Self.doctor([], store: store, environment: ["BERTH_VIRT_TYPE": "qemu"])
            let permissions = try #require(report.check("store-permissions"))
            #expect(permissions.status == "failed")
            #expect(permissions.fix == "chmod 700 \(store)")
            #expect(status == 1)
            chmod(store, 0o755)
            let (readableStatus, readable, _) = try await Self.doctor([], store: store, environment: ["BERTH_VIRT_TYPE": "qemu"])
            #expect(readable.check("store-permissions")?.status == "warning")
            #expect(readableStatus == 0, "readable by others is a warning, not a block")
        }
    }
}
