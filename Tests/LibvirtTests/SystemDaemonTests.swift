import Foundation
import Testing
@testable import Libvirt

/// The wrapper against the real `qemu:///system` daemon and real QEMU (under TCG here).
/// Every object these tests make carries a `berth-wrapper-test-` name and is removed again.
@Suite(.serialized) struct SystemDaemonTests {
    static let uri = "qemu:///system"
    static let prefix = "berth-wrapper-test-"

    /// A directory pool for the test's volumes, made fresh and removed afterwards.
    func withPool(_ body: (StoragePool, String) async throws -> Void) async throws {
        let connection = try await Connection.open(Self.uri)
        let name = Self.prefix + "pool"
        let path = "/var/lib/libvirt/images/\(name)"
        if let stale = try await connection.storagePoolIfExists(named: name) {
            if try await stale.isActive() { try await stale.destroy() }
            try await stale.undefine()
        }
        let pool = try await connection.defineStoragePool(xml: StoragePoolSpec(name: name, path: path).xml)
        try await pool.build()
        try await pool.start()
        do {
            try await body(pool, path)
        } catch {
            try? await cleanUp(pool, path)
            throw error
        }
        try await cleanUp(pool, path)
    }

    private func cleanUp(_ pool: StoragePool, _ path: String) async throws {
        try await pool.refresh()
        for volume in try await pool.volumeNames() { try await pool.volume(named: volume).delete() }
        try await pool.destroy()
        try await pool.undefine()
        try? FileManager.default.removeItem(atPath: path)
    }

    @Test func definesAndUndefinesADomain() async throws {
        let connection = try await Connection.open(Self.uri)
        let name = Self.prefix + "define"
        let spec = DomainSpec(virtType: .qemu, name: name, memoryMiB: 128, vcpus: 1, boot: .disk, metadata: ["name": "define"])
        let domain = try await connection.defineDomain(xml: spec.xml)
        let described = try DomainSpec(xml: try await domain.xmlDescription(inactive: true))
        #expect(described.metadata == ["name": "define"])
        #expect(described.memoryMiB == 128)
        #expect(try await domain.state() == .shutOff)
        try await domain.undefine()
        #expect(try await connection.domainIfExists(named: name) == nil)
    }

    @Test func natNetworkWithADHCPReservationStartsAndStops() async throws {
        let connection = try await Connection.open(Self.uri)
        let name = Self.prefix + "net"
        if let stale = try await connection.networkIfExists(named: name) {
            if try await stale.isActive() { try await stale.destroy() }
            try await stale.undefine()
        }
        let spec = NetworkSpec(name: name, bridge: "virbr-bwt", gateway: "192.168.231.1",
                               dhcpStart: "192.168.231.100", dhcpEnd: "192.168.231.200")
        let network = try await connection.defineNetwork(xml: spec.xml)
        try await network.start()
        let reservation = NetworkSpec.DHCPHost(mac: "52:54:00:bb:00:01", name: "reserved", ip: "192.168.231.10")
        try await network.addDHCPHost(reservation)
        #expect(try await network.isActive())
        #expect(try NetworkSpec(xml: await network.xmlDescription()).hosts == [reservation])
        #expect(try await network.dhcpLeases().isEmpty)
        try await network.destroy()
        #expect(try await network.isActive() == false)
        try await network.undefine()
        #expect(try await connection.networkIfExists(named: name) == nil)
    }

    @Test func createsUploadsAndDeletesOverlayVolumes() async throws {
        try await withPool { pool, path in
            let base = try await pool.createVolume(xml: VolumeSpec(name: "base.raw", capacityBytes: 1 << 20, format: "raw").xml)
            let payload = Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) })
            let source = FileManager.default.temporaryDirectory.appendingPathComponent("berth-upload-\(UUID().uuidString)")
            try payload.write(to: source)
            defer { try? FileManager.default.removeItem(at: source) }
            try await base.upload(from: source)
            let basePath = try await base.path()
            #expect(try Data(contentsOf: URL(fileURLWithPath: basePath)) == payload)

            let overlay = try await pool.createVolume(xml: VolumeSpec(
                name: "overlay.qcow2", capacityBytes: 64 << 20, backingFile: basePath, backingFormat: "raw").xml)
            #expect(try await overlay.info().capacity == 64 << 20)
            // An overlay holds only its own blocks: far smaller than the disk it presents.
            #expect(try await overlay.info().allocation < 16 << 20)
            try await overlay.resize(to: 128 << 20)
            #expect(try await overlay.info().capacity == 128 << 20)
            try await overlay.delete()
            #expect(try await pool.volumeIfExists(named: "overlay.qcow2") == nil)
        }
    }

    /// Boots a real kernel under TCG far enough to see it running and printing on its serial console.
    /// Ranged uploads land where asked and downloads read them back; the host's facts and the
    /// connection's health are readable.
    @Test func rangedUploadDownloadAndHostFacts() async throws {
        try await withPool { pool, _ in
            let bytes = (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let source = FileManager.default.temporaryDirectory.appendingPathComponent("berth-ranged-\(UUID().uuidString)")
            try Data(bytes).write(to: source)
            defer { try? FileManager.default.removeItem(at: source) }
            let volume = try await pool.createVolume(xml: VolumeSpec(name: Self.prefix + "ranged", capacityBytes: 20_000, format: "raw").xml)
            try await volume.upload(from: source, offset: 4096, length: 20_000 - 4096)
            #expect(try await volume.download(offset: 0, length: 4096) == Data(count: 4096), "the head is still empty")
            #expect(try await volume.download(offset: 4096, length: 100) == Data(bytes[4096..<4196]))
            try await volume.upload(from: source, offset: 0, length: 4096)
            #expect(try await volume.download(offset: 0, length: 20_000) == Data(bytes))
        }
        let connection = try await Connection.open(Self.uri)
        #expect(await connection.isAlive())
        let host = try await connection.nodeInfo()
        #expect(host.memoryKiB > 256 * 1024)
        #expect(host.cpus >= 1)
        _ = try await connection.listNetworks()
    }

    @Test func bootsATinyDomainUnderTCG() async throws {
        let kernel = try #require(
            try FileManager.default.contentsOfDirectory(atPath: "/boot").filter { $0.hasPrefix("vmlinuz-") }.sorted().last,
            "a kernel in /boot (scripts/setup-host.sh installs linux-image-amd64)")
        let connection = try await Connection.open(Self.uri)
        let name = Self.prefix + "boot"
        if let stale = try await connection.domainIfExists(named: name) { try? await stale.destroy() }
        let log = "/var/lib/libvirt/qemu/\(name).console.log"
        try? FileManager.default.removeItem(atPath: log)
        let spec = DomainSpec(virtType: .qemu, name: name, memoryMiB: 256, vcpus: 1,
                              boot: .kernel(kernel: "/boot/\(kernel)", initrd: nil, commandLine: "console=ttyS0 earlyprintk=ttyS0"),
                              consoleLog: log)
        let domain = try await connection.createTransientDomain(xml: spec.xml)
        defer { try? FileManager.default.removeItem(atPath: log) }
        var console = ""
        // Up to two minutes: under emulation, on a busy host, decompressing the kernel alone is slow.
        for _ in 0..<480 where !console.contains("Linux version") {
            try await Task.sleep(for: .milliseconds(250))
            console = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        }
        #expect(try await domain.state() == .running)
        #expect(console.contains("Linux version"))
        try await domain.destroy()
        #expect(try await connection.domainIfExists(named: name) == nil)
    }
}
