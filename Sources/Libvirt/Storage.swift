import CLibvirt
import Foundation

/// A libvirt storage pool (berth uses a directory pool that QEMU can read). Frees its handle when released.
public final class StoragePool: LibvirtObject, @unchecked Sendable {
    public let connection: Connection
    let pointer: OpaquePointer
    public let name: String

    init(connection: Connection, pointer: OpaquePointer) {
        self.connection = connection
        self.pointer = pointer
        self.name = virStoragePoolGetName(pointer).map { String(cString: $0) } ?? ""
    }

    deinit { virStoragePoolFree(pointer) }

    public func isActive() async throws -> Bool {
        try await flag("read state of storage pool") { virStoragePoolIsActive($0) }
    }

    /// Builds the pool's backing (for a directory pool: creates the folder).
    public func build() async throws { try await call("build storage pool") { virStoragePoolBuild($0, 0) } }
    public func start() async throws { try await call("start storage pool") { virStoragePoolCreate($0, 0) } }
    public func destroy() async throws { try await call("stop storage pool") { virStoragePoolDestroy($0) } }
    public func undefine() async throws { try await call("undefine storage pool") { virStoragePoolUndefine($0) } }
    public func refresh() async throws { try await call("refresh storage pool") { virStoragePoolRefresh($0, 0) } }
    public func setAutostart(_ enabled: Bool) async throws {
        try await call("set autostart of storage pool") { virStoragePoolSetAutostart($0, enabled ? 1 : 0) }
    }

    public func xmlDescription() async throws -> String {
        try await string("describe storage pool") { virStoragePoolGetXMLDesc($0, 0) }
    }

    /// Creates a volume from its XML description (for example a qcow2 overlay on a backing file).
    @discardableResult
    public func createVolume(xml: String) async throws -> StorageVolume {
        let made = try await handle("create volume in storage pool \(name)") { virStorageVolCreateXML($0, xml, 0) }
        return StorageVolume(connection: connection, pointer: made.pointer)
    }

    public func volume(named volumeName: String) async throws -> StorageVolume {
        let found = try await handle("look up volume \(volumeName)") { virStorageVolLookupByName($0, volumeName) }
        return StorageVolume(connection: connection, pointer: found.pointer)
    }

    public func volumeIfExists(named volumeName: String) async throws -> StorageVolume? {
        do {
            return try await volume(named: volumeName)
        } catch let error as LibvirtError where error.isNoStorageVolume {
            return nil
        }
    }

    /// The names of the pool's volumes.
    public func volumeNames() async throws -> [String] {
        try await connection.perform { [self] in
            var volumes: UnsafeMutablePointer<virStorageVolPtr?>?
            let count = virStoragePoolListAllVolumes(pointer, &volumes, 0)
            guard count >= 0 else { throw LibvirtError.last("list volumes of storage pool \(name)") }
            defer {
                for index in 0..<Int(count) { virStorageVolFree(volumes?[index]) }
                free(volumes)
            }
            return (0..<Int(count)).compactMap { index in
                volumes?[index].flatMap { virStorageVolGetName($0) }.map { String(cString: $0) }
            }
        }
    }
}

/// A volume in a storage pool. Frees its handle when released.
public final class StorageVolume: LibvirtObject, @unchecked Sendable {
    public let connection: Connection
    let pointer: OpaquePointer
    public let name: String

    init(connection: Connection, pointer: OpaquePointer) {
        self.connection = connection
        self.pointer = pointer
        self.name = virStorageVolGetName(pointer).map { String(cString: $0) } ?? ""
    }

    deinit { virStorageVolFree(pointer) }

    /// The volume's path on the hypervisor host.
    public func path() async throws -> String {
        try await string("get path of volume") { virStorageVolGetPath($0) }
    }

    /// Capacity (what the guest sees) and allocation (what the host spends), in bytes.
    public func info() async throws -> (capacity: UInt64, allocation: UInt64) {
        try await connection.perform { [self] in
            var info = virStorageVolInfo()
            guard virStorageVolGetInfo(pointer, &info) == 0 else { throw LibvirtError.last("get info of volume \(name)") }
            return (UInt64(info.capacity), UInt64(info.allocation))
        }
    }

    public func delete() async throws {
        try await call("delete volume") { virStorageVolDelete($0, 0) }
    }

    /// Grows the volume's capacity to `bytes`.
    public func resize(to bytes: UInt64) async throws {
        try await call("resize volume") { virStorageVolResize($0, bytes, 0) }
    }

    /// Uploads a local file's bytes into the volume through a libvirt stream, so it works
    /// against remote hosts as well as the local one.
    public func upload(from file: URL) async throws {
        try await connection.perform { [self] in
            guard let handle = FileHandle(forReadingAtPath: file.path) else {
                throw LibvirtError(code: -1, domain: 0, message: "cannot read \(file.path)", operation: "upload to volume \(name)")
            }
            defer { try? handle.close() }
            guard let stream = virStreamNew(connection.pointer, 0) else { throw LibvirtError.last("open stream for volume \(name)") }
            defer { virStreamFree(stream) }
            guard virStorageVolUpload(pointer, stream, 0, 0, 0) == 0 else { throw LibvirtError.last("upload to volume \(name)") }
            while true {
                let chunk = handle.readData(ofLength: 1 << 20)
                if chunk.isEmpty { break }
                var offset = 0
                while offset < chunk.count {
                    let sent = chunk.withUnsafeBytes { bytes in
                        virStreamSend(stream, bytes.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self), chunk.count - offset)
                    }
                    guard sent >= 0 else {
                        let error = LibvirtError.last("upload to volume \(name)")
                        virStreamAbort(stream)
                        throw error
                    }
                    offset += Int(sent)
                }
            }
            guard virStreamFinish(stream) == 0 else { throw LibvirtError.last("finish upload to volume \(name)") }
        }
    }
}

extension Connection {
    @discardableResult
    public func defineStoragePool(xml: String) async throws -> StoragePool {
        StoragePool(connection: self, pointer: try await handle("define storage pool") { virStoragePoolDefineXML($0, xml, 0) }.pointer)
    }

    public func storagePool(named name: String) async throws -> StoragePool {
        StoragePool(connection: self, pointer: try await handle("look up storage pool \(name)") { virStoragePoolLookupByName($0, name) }.pointer)
    }

    public func storagePoolIfExists(named name: String) async throws -> StoragePool? {
        do {
            return try await storagePool(named: name)
        } catch let error as LibvirtError where error.isNoStoragePool {
            return nil
        }
    }
}
