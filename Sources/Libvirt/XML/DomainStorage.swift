import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// The storage a domain's XML names: each disk's source with the backing chain libvirt reports
/// for it (a running domain's live XML lists it), and the kernel and initrd of direct kernel boot.
/// Read from any domain, not only ones this package defined.
public struct DomainStorage: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        /// A file or block device on the host.
        case path(String)
        /// A volume of a storage pool (`<disk type='volume'>`).
        case volume(pool: String, volume: String)
    }

    public struct Disk: Sendable, Equatable {
        public var source: Source
        /// The files below it, nearest first, as libvirt wrote them in `<backingStore>`.
        public var backingChain: [Source]
    }

    public var disks: [Disk]
    /// `<os><kernel>`, `<os><initrd>` and the like: host files QEMU reads at start.
    public var bootFiles: [String]

    public init(xml: String) throws {
        let root = try parseRoot(xml, expecting: "domain")
        disks = (root.child("devices")?.children("disk") ?? []).compactMap { disk in
            guard let source = Self.source(of: disk) else { return nil }
            var chain: [Source] = []
            var next = disk.child("backingStore")
            // Bounded: a chain is short, and a hostile document must not make this loop forever.
            while let store = next, chain.count < 64 {
                if let source = Self.source(of: store) { chain.append(source) }
                next = store.child("backingStore")
            }
            return Disk(source: source, backingChain: chain)
        }
        let os = root.child("os")
        bootFiles = ["kernel", "initrd", "dtb"].compactMap { os?.child($0)?.stringValue }.filter { !$0.isEmpty }
    }

    /// The source of a `<disk>` or `<backingStore>`: `<source file=…>`, `<source dev=…>` or
    /// `<source pool=… volume=…>`; nil for network disks and empty drives.
    static func source(of element: XMLElement) -> Source? {
        guard let source = element.child("source") else { return nil }
        if let pool = source.attribute("pool"), let volume = source.attribute("volume") {
            return .volume(pool: pool, volume: volume)
        }
        if let path = source.attribute("file") ?? source.attribute("dev"), !path.isEmpty {
            return .path(path)
        }
        return nil
    }
}
