import Foundation
import Guestfs
import Libvirt
import Testing
@testable import MachineCore

/// `image rm` against the real `qemu:///system` daemon and berth's own pool: a volume that any
/// libvirt domain still reads stays, whether or not the domain is one of this store's machines.
/// Everything made carries a `berth-image-rm-test-` name and is removed again; the domain is
/// defined, never started.
@Suite(.serialized) struct ImageRemovalTests {
    static let prefix = "berth-image-rm-test-"

    /// A cache entry for an image whose disk is `bytes` (nothing is inspected).
    static func addEntry(named name: String, to cache: ImageCache, bytes: Data) throws -> CachedImage {
        let folder = cache.directory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try bytes.write(to: folder.appendingPathComponent("disk.img"))
        let facts = ImageFacts(osType: "linux", distro: "debian", version: "13", majorVersion: 13, minorVersion: 0,
                               productName: "Debian GNU/Linux 13 (trixie)", architecture: "x86_64", hasCloudInit: true,
                               dockerVersion: nil, dockerPackage: nil, kernelVersion: nil, kernelPath: nil, initrdPath: nil)
        let image = CachedImage(name: name, source: .file, origin: "test", format: "raw",
                                disk: .init(path: "disk.img", sha256: try ImageCache.sha256(of: folder.appendingPathComponent("disk.img")),
                                            size: Int64(bytes.count)),
                                kernel: nil, initrd: nil, kernelCommandLine: nil, facts: facts, addedAt: Date())
        try Store.encoder.encode(image).write(to: folder.appendingPathComponent("image.json"))
        return image
    }

    @Test("a base volume under another store's (or anyone's) overlay is kept; once unused it goes")
    func volumeInUseByAnyDomainIsKept() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = Store(root: folder.url.appendingPathComponent("store"))
        try store.prepare()
        let machines = Machines(store: store)
        let driver = await machines.driver(uri: Machines.defaultURI)
        try await driver.preCreateCheck()
        let connection = try await Connection.open(Machines.defaultURI)
        let pool = try await connection.storagePool(named: driver.poolName)

        let tag = UUID().uuidString.prefix(8).lowercased()
        let name = Self.prefix + tag
        // Content unique to this run, so its volume name (tagged with the content) is too.
        let image = try Self.addEntry(named: name, to: machines.images, bytes: Data((Self.prefix + tag).utf8) + Data(count: 4096))
        let baseName = driver.baseVolumeNames(image).disk
        let base = try await pool.createVolume(xml: VolumeSpec(name: baseName, capacityBytes: 1 << 20, format: "raw").xml)
        let overlay = try await pool.createVolume(xml: VolumeSpec(name: "\(name)-overlay.qcow2", capacityBytes: 64 << 20,
                                                                  backingFile: try await base.path(), backingFormat: "raw").xml)
        let domain = try await connection.defineDomain(xml: DomainSpec(
            virtType: .qemu, name: name, memoryMiB: 128, vcpus: 1, boot: .disk,
            disks: [.init(source: .file(try await overlay.path()))]).xml)
        do {
            #expect(try await driver.domainsUsingVolumes(named: [baseName]) == [name])

            // No machine of this store uses the image, but the domain does: the volume stays.
            try await machines.removeImage(named: name)
            #expect(machines.images.entry(named: name) == nil)
            #expect(try await pool.volumeIfExists(named: baseName) != nil)

            // Once nothing reads it, removing the image again frees its volume.
            try await domain.undefine()
            try await overlay.delete()
            #expect(try await driver.domainsUsingVolumes(named: [baseName]).isEmpty)
            _ = try Self.addEntry(named: name, to: machines.images, bytes: Data((Self.prefix + tag).utf8) + Data(count: 4096))
            try await machines.removeImage(named: name)
            #expect(try await pool.volumeIfExists(named: baseName) == nil)
        } catch {
            try? await domain.undefine()
            try? await overlay.delete()
            try? await pool.volumeIfExists(named: baseName)?.delete()
            throw error
        }
        try? await pool.volumeIfExists(named: baseName)?.delete()
    }
}
