import Foundation
import Testing
@testable import MachineCore

/// The doctor's verdicts from what it reads: route tables, folders and their modes, free space.
/// (Its checks against the real daemon, a colliding route on a real interface and an unreachable
/// socket are in IntegrationTests' DoctorOnThisHost.)
@Suite("berth doctor's checks")
struct HostDoctorTests {
    /// /proc/net/route as the kernel prints it (addresses little-endian, in hex).
    static let routes = """
        Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
        eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
        eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
        virbr-berth\t007CA8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
        """

    static let berthSubnet = IPv4Subnet(address: "192.168.124.0", prefix: 24)!

    @Test("the network's own bridge and the default route are no collision; another interface on its subnet, or a wider route, is")
    func collisions() {
        #expect(HostDoctor.collisions(subnet: Self.berthSubnet, bridge: "virbr-berth", routeTable: Self.routes).isEmpty)
        let dummy = Self.routes + "\nberthtest0\t007CA8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0"
        let found = HostDoctor.collisions(subnet: Self.berthSubnet, bridge: "virbr-berth", routeTable: dummy)
        #expect(found.map(\.interface) == ["berthtest0"])
        #expect(found.map(\.subnet.description) == ["192.168.124.0/24"])
        let vpn = Self.routes + "\ntun0\t0000A8C0\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0"
        #expect(HostDoctor.collisions(subnet: Self.berthSubnet, bridge: "virbr-berth", routeTable: vpn).map(\.interface) == ["tun0"])

        let failed = HostDoctor.subnetCheck(network: "berth", subnet: Self.berthSubnet, bridge: "virbr-berth", active: true, routeTable: dummy)
        #expect(failed.status == .failed)
        #expect(failed.message.contains("192.168.124.0/24 on berthtest0"))
        #expect(failed.fix?.contains("virsh net-undefine berth") == true)
        let fine = HostDoctor.subnetCheck(network: "berth", subnet: Self.berthSubnet, bridge: "virbr-berth", active: false, routeTable: Self.routes)
        #expect(fine.status == .ok)
        #expect(fine.message.contains("not started"))
    }

    @Test("firmware: SeaBIOS and the virtio ROM must be in one of QEMU's folders")
    func firmware() {
        let present: Set = ["/usr/share/seabios/bios-256k.bin", "/usr/lib/ipxe/qemu/efi-virtio.rom"]
        let folders = ["/usr/share/qemu", "/usr/share/seabios", "/usr/lib/ipxe/qemu"]
        #expect(HostDoctor.firmwareCheck(folders: folders, exists: present.contains).status == .ok)
        let missing = HostDoctor.firmwareCheck(folders: folders) { $0.hasSuffix("bios-256k.bin") }
        #expect(missing.status == .failed)
        #expect(missing.message.hasSuffix("efi-virtio.rom"))
        #expect(missing.fix == "sudo apt-get install seabios ipxe-qemu")
    }

    @Test("the store: private is ok, readable by others a warning, writable by others a failure")
    func storePermissions() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = Store(root: directory.url.appendingPathComponent("store"))
        #expect(HostDoctor.storePermissionsCheck(store: store).status == .ok, "a store not made yet is fine")
        try store.prepare()
        try store.save(StoreTests.sampleConfig("dev"))
        #expect(HostDoctor.storePermissionsCheck(store: store).status == .ok)

        chmod(store.root.path, 0o755)
        let readable = HostDoctor.storePermissionsCheck(store: store)
        #expect(readable.status == .warning)
        #expect(readable.fix == "chmod 700 \(store.root.path)")
        chmod(store.root.path, 0o700)

        let key = try store.machineDirectory("dev").appendingPathComponent("id_ed25519")
        try SecureFile.write("key", to: key, mode: 0o644)
        #expect(HostDoctor.storePermissionsCheck(store: store).fix == "chmod 600 \(key.path)")
        chmod(key.path, 0o600)

        chmod(store.machinesDirectory.path, 0o777)
        let writable = HostDoctor.storePermissionsCheck(store: store)
        #expect(writable.status == .failed)
        #expect(writable.message == "\(store.machinesDirectory.path) is writable by other users")
        chmod(store.machinesDirectory.path, 0o700)

        #expect(HostDoctor.storePermissionsCheck(store: store, uid: 4242).status == .failed, "a store of another user")
    }

    @Test("QEMU's user must search every folder on the way to the pool")
    func poolAccess() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let pool = directory.url.appendingPathComponent("images/berth")
        try FileManager.default.createDirectory(at: pool, withIntermediateDirectories: true)
        let stranger = FileAccess.Identity(name: "stranger", uid: 4242, groups: [4242])
        chmod(directory.url.path, 0o755)
        chmod(directory.url.appendingPathComponent("images").path, 0o700)
        #expect(FileAccess.denial(for: stranger, reaching: pool.path)
            == FileAccess.Denial(path: directory.url.appendingPathComponent("images").path, missing: "search"))
        chmod(directory.url.appendingPathComponent("images").path, 0o711)
        chmod(pool.path, 0o711)
        #expect(FileAccess.denial(for: stranger, reaching: pool.path) == nil)
        #expect(FileAccess.denial(for: stranger, reaching: pool.path, listing: true)?.missing == "read")
        #expect(FileAccess.denial(for: stranger, reaching: pool.appendingPathComponent("not-yet").path) == nil)
    }

    @Test("qemu.conf's user setting, else Debian's libvirt-qemu")
    func qemuUser() {
        #expect(HostDoctor.qemuUser(config: "#user = \"root\"\ngroup = \"kvm\"\n") == "libvirt-qemu")
        #expect(HostDoctor.qemuUser(config: "  user = \"qemu\"\n") == "qemu")
        #expect(HostDoctor.qemuUser(config: nil) == "libvirt-qemu")
    }

    @Test("free space: below the floor fails, below comfort warns")
    func space() {
        let gib = HostDoctor.gibibyte
        func status(_ free: UInt64) -> HostCheck.Status {
            HostDoctor.spaceCheck(.storeSpace, what: "x", path: "/", failBelow: gib, warnBelow: 4 * gib, free: free).status
        }
        #expect(status(512 << 20) == .failed)
        #expect(status(2 * gib) == .warning)
        #expect(status(40 * gib) == .ok)
    }

    @Test("a report is ready to create unless something failed")
    func report() {
        #expect(HostReport(checks: [HostCheck(.kvm, .warning, "x"), HostCheck(.qemu, .ok, "y")]).readyToCreate)
        #expect(!HostReport(checks: [HostCheck(.qemu, .failed, "y"), HostCheck(.kvm, .skipped, "z")]).readyToCreate)
    }
}
