import CLibvirt
import Foundation

extension StoragePool {
    /// Creates a volume as a copy of `source`, inside the daemon (nothing crosses the connection).
    /// berth uploads under a temporary name and then clones to the final name, so a volume under
    /// its final name is always complete.
    @discardableResult
    public func createVolume(xml: String, cloning source: StorageVolume) async throws -> StorageVolume {
        let made = try await handle("create volume in storage pool \(name)") { pool in
            virStorageVolCreateXMLFrom(pool, xml, source.pointer, 0)
        }
        return StorageVolume(connection: connection, pointer: made.pointer)
    }
}
