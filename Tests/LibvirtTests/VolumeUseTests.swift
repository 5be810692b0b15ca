import Foundation
import Testing
@testable import Libvirt

/// Which domains read a volume, against the real `qemu:///system` daemon. The domains are defined,
/// never started. Everything made carries a `berth-wrapper-test-use-` name and is removed again.
@Suite(.serialized) struct VolumeUseTests {
    static let uri = "qemu:///system"
    static let prefix = "berth-wrapper-test-use-"

    /// A fresh directory pool and a clean slate of test domains; both removed afterwards.
    func withPool(_ body: (Connection, StoragePool) async throws -> Void) async throws {
        let connection = try await Connection.open(Self.uri)
        let name = Self.prefix + "pool"
        let path = "/var/lib/libvirt/images/\(name)"
        try await removeTestDomains(connection)
        if let stale = try await connection.storagePoolIfExists(named: name) {
            try await cleanUp(stale, path)
        }
        let pool = try await connection.defineStoragePool(xml: StoragePoolSpec(name: name, path: path).xml)
        try await pool.build()
        try await pool.start()
        do {
            try await body(connection, pool)
        } catch {
            try? await removeTestDomains(connection)
            try? await cleanUp(pool, path)
            throw error
        }
        try await removeTestDomains(connection)
        try await cleanUp(pool, path)
    }

    private func removeTestDomains(_ connection: Connection) async throws {
        for domain in try await connection.domains() where domain.name.hasPrefix(Self.prefix) {
            if try await domain.state().isActive { try await domain.destroy() }
            try await domain.undefine()
        }
    }

    private func cleanUp(_ pool: StoragePool, _ path: String) async throws {
        if try await !pool.isActive() { try await pool.start() }
        try await pool.refresh()
        for volume in try await pool.volumeNames() { try await pool.volume(named: volume).delete() }
        try await pool.destroy()
        try await pool.undefine()
        try? FileManager.default.removeItem(atPath: path)
    }

    func define(_ connection: Connection, _ name: String, boot: DomainSpec.Boot = .disk,
                disks: [DomainSpec.Disk]) async throws -> Domain {
        try await connection.defineDomain(xml: DomainSpec(virtType: .qemu, name: Self.prefix + name, memoryMiB: 128, vcpus: 1,
                                                          boot: boot, disks: disks).xml)
    }

    @Test func overlaysAtAnyDepthKeepTheirBaseInUse() async throws {
        try await withPool { connection, pool in
            let base = try await pool.createVolume(xml: VolumeSpec(name: "base.raw", capacityBytes: 1 << 20, format: "raw").xml)
            let basePath = try await base.path()
            let overlay = try await pool.createVolume(xml: VolumeSpec(
                name: "overlay.qcow2", capacityBytes: 64 << 20, backingFile: basePath, backingFormat: "raw").xml)
            let overlayPath = try await overlay.path()
            let second = try await pool.createVolume(xml: VolumeSpec(
                name: "second.qcow2", capacityBytes: 64 << 20, backingFile: overlayPath, backingFormat: "qcow2").xml)
            let other = try await pool.createVolume(xml: VolumeSpec(name: "other.raw", capacityBytes: 1 << 20, format: "raw").xml)
            #expect(try await overlay.backingStorePath() == basePath)
            #expect(try await base.backingStorePath() == nil)
            #expect(try await connection.domainsUsing(path: basePath).isEmpty)

            // A defined (not running) domain whose disk file is an overlay on the base.
            let direct = try await define(connection, "direct", disks: [.init(source: .file(overlayPath))])
            #expect(try await connection.domainsUsing(path: basePath) == [direct.name])
            #expect(try await connection.domainsUsing(path: overlayPath) == [direct.name])
            #expect(try await connection.domainsUsing(path: try await other.path()).isEmpty)

            // Two overlays deep, the disk named as a pool volume rather than a file.
            try await direct.undefine()
            let deep = try await define(connection, "deep", disks: [.init(source: .volume(pool: pool.name, volume: "second.qcow2"))])
            #expect(try await connection.domainsUsing(path: basePath) == [deep.name])
            #expect(try await connection.domainsUsing(path: try await second.path()) == [deep.name])
            // Other spellings of the same path find it too.
            let dir = URL(fileURLWithPath: basePath).deletingLastPathComponent()
            #expect(try await connection.domainsUsing(path: dir.path + "/./../" + dir.lastPathComponent + "/base.raw") == [deep.name])

            // The disk itself, and a kernel and initrd of direct kernel boot.
            try await deep.undefine()
            let kernel = try await define(connection, "kernel", boot: .kernel(kernel: try await other.path(), initrd: nil, commandLine: ""),
                                          disks: [.init(source: .file(basePath), format: "raw")])
            #expect(try await connection.domainsUsing(path: basePath) == [kernel.name])
            #expect(try await connection.domainsUsing(path: try await other.path()) == [kernel.name])

            try await kernel.undefine()
            #expect(try await connection.domainsUsing(path: basePath).isEmpty)
        }
    }

    @Test func storageIsReadFromLiveXMLWithItsBackingChain() throws {
        // What libvirt shows for a running domain: the chain below each disk, nested.
        let storage = try DomainStorage(xml: """
            <domain type='qemu'>
              <name>live</name>
              <os><type>hvm</type><kernel>/pool/k.vmlinuz</kernel><initrd>/pool/k.initrd</initrd></os>
              <devices>
                <disk type='file' device='disk'>
                  <source file='/pool/machine.qcow2' index='2'/>
                  <backingStore type='file' index='3'>
                    <format type='qcow2'/>
                    <source file='/pool/middle.qcow2'/>
                    <backingStore type='file' index='4'>
                      <format type='raw'/>
                      <source file='/pool/base.raw'/>
                      <backingStore/>
                    </backingStore>
                  </backingStore>
                  <target dev='vda' bus='virtio'/>
                </disk>
                <disk type='volume' device='cdrom'>
                  <source pool='berth' volume='seed.iso'/>
                  <target dev='sda' bus='sata'/>
                </disk>
                <disk type='block' device='disk'><source dev='/dev/sdb'/><target dev='vdb'/></disk>
                <disk type='network' device='disk'><source protocol='nbd' name='x'/><target dev='vdc'/></disk>
              </devices>
            </domain>
            """)
        #expect(storage.bootFiles == ["/pool/k.vmlinuz", "/pool/k.initrd"])
        #expect(storage.disks.map(\.source) == [.path("/pool/machine.qcow2"), .volume(pool: "berth", volume: "seed.iso"), .path("/dev/sdb")])
        #expect(storage.disks.first?.backingChain == [.path("/pool/middle.qcow2"), .path("/pool/base.raw")])
        #expect(try StorageVolume.backingStorePath(inVolumeXML: """
            <volume type='file'><name>o.qcow2</name><target><path>/pool/o.qcow2</path></target>
            <backingStore><path>/pool/base.raw</path><format type='raw'/></backingStore></volume>
            """) == "/pool/base.raw")
    }
}
