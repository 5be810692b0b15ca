import CLibvirt
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

extension StorageVolume {
    /// The volume's XML description as libvirt holds it now.
    public func xmlDescription() async throws -> String {
        try await string("describe volume") { virStorageVolGetXMLDesc($0, 0) }
    }

    /// The path of the file this volume is an overlay on (its `<backingStore><path>`), or nil.
    public func backingStorePath() async throws -> String? {
        try Self.backingStorePath(inVolumeXML: try await xmlDescription())
    }

    static func backingStorePath(inVolumeXML xml: String) throws -> String? {
        let root = try parseRoot(xml, expecting: "volume")
        return root.child("backingStore")?.child("path")?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
    }
}

extension Connection {
    /// Every domain, running or defined, as a handle.
    public func domains() async throws -> [Domain] {
        let handles = try await perform { [self] () throws -> [RawHandle] in
            var domains: UnsafeMutablePointer<virDomainPtr?>?
            let count = virConnectListAllDomains(pointer, &domains, 0)
            guard count >= 0 else { throw LibvirtError.last("list domains") }
            defer { free(domains) }
            // Each pointer is owned by the Domain made from it below, which frees it.
            return (0..<Int(count)).compactMap { index in domains?[index].map { RawHandle($0) } }
        }
        return handles.map { Domain(connection: self, pointer: $0.pointer) }
    }

    /// The volume whose file is `path`, in whichever pool holds it.
    public func storageVolume(path: String) async throws -> StorageVolume {
        StorageVolume(connection: self, pointer: try await handle("look up volume at \(path)") { virStorageVolLookupByPath($0, path) }.pointer)
    }

    /// The volume whose file is `path`, or nil when no pool holds that file.
    public func storageVolumeIfExists(path: String) async throws -> StorageVolume? {
        do {
            return try await storageVolume(path: path)
        } catch let error as LibvirtError where error.isNoStorageVolume {
            return nil
        }
    }

    /// The names of the domains, running or defined, that read the file at `path`: a disk that is
    /// that file, a disk whose backing chain reaches it (through libvirt's `<backingStore>` in the
    /// domain and, for disks that are pool volumes, in the volumes' own descriptions), or a kernel
    /// or initrd at that path. Domains that vanish while this looks count as not using it.
    public func domainsUsing(path: String) async throws -> [String] {
        let target = Self.comparable(path)
        var users: [String] = []
        for domain in try await domains() {
            guard let storages = try await storage(of: domain) else { continue }
            for storage in storages {
                if try await reads(storage, target) {
                    users.append(domain.name)
                    break
                }
            }
        }
        return users.sorted()
    }

    /// What a domain's live and persistent definitions name (they differ after a hot-plug), or
    /// nil when the domain is gone.
    private func storage(of domain: Domain) async throws -> [DomainStorage]? {
        do {
            var documents = [try await domain.xmlDescription()]
            if try await domain.state().isActive { documents.append(try await domain.xmlDescription(inactive: true)) }
            return try documents.map { try DomainStorage(xml: $0) }
        } catch let error as LibvirtError where error.isNoDomain {
            return nil
        }
    }

    private func reads(_ storage: DomainStorage, _ target: String) async throws -> Bool {
        if storage.bootFiles.map(Self.comparable).contains(target) { return true }
        for disk in storage.disks {
            for source in [disk.source] + disk.backingChain {
                guard let path = try await path(of: source) else { continue }
                if try await backingChain(from: path).contains(target) { return true }
            }
        }
        return false
    }

    private func path(of source: DomainStorage.Source) async throws -> String? {
        switch source {
        case .path(let path):
            return path
        case .volume(let poolName, let volumeName):
            guard let pool = try await storagePoolIfExists(named: poolName) else { return nil }
            return try await pool.volumeIfExists(named: volumeName)?.path()
        }
    }

    /// `path` and the files below it, as far as storage pools know them: each overlay volume's
    /// description names the file it is backed by.
    private func backingChain(from path: String) async throws -> [String] {
        var chain = [Self.comparable(path)]
        var current = path
        // Bounded, and stops at a loop: a chain is short. A volume that vanishes while this looks (a
        // pool whose files were deleted behind libvirt's back) ends the chain.
        while chain.count < 32, let volume = try await storageVolumeIfExists(path: current),
              let backing = try? await volume.backingStorePath() {
            let next = Self.comparable(backing)
            guard !chain.contains(next) else { break }
            chain.append(next)
            current = backing
        }
        return chain
    }

    /// A path with `.`, `..` and doubled slashes resolved, so spellings of one file compare equal.
    /// Symbolic links are left alone: the path may be on another host.
    static func comparable(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }
}
