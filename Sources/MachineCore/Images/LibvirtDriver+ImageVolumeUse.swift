import Foundation
import Libvirt

extension LibvirtDriver {
    /// The libvirt domains on this connection that still read any of the named volumes of berth's
    /// pool: a disk that is the volume, an overlay backed by it (at any depth), or a kernel or
    /// initrd. Every domain counts, not only this store's machines: another store, another user or
    /// a domain berth never made may sit on an image's volumes. Volumes not in the pool are skipped.
    /// Takes volume names, whatever scheme names them, so it serves any kind of base volume.
    public func domainsUsingVolumes(named names: [String]) async throws -> [String] {
        try await libvirt("checking which domains use volumes \(names.joined(separator: ", "))") { connection in
            guard let pool = try await connection.storagePoolIfExists(named: self.poolName) else { return [] }
            var users: Set<String> = []
            for name in names {
                guard let volume = try await pool.volumeIfExists(named: name) else { continue }
                users.formUnion(try await connection.domainsUsing(path: try await volume.path()))
            }
            return users.sorted()
        }
    }
}
