import Foundation
import Guestfs

/// One base image in berth's cache (`images/NAME/`), with what inspection learnt about it, so
/// `create` never has to boot the libguestfs appliance on its hot path.
public struct CachedImage: Codable, Sendable, Equatable {
    public struct File: Codable, Sendable, Equatable {
        /// The file's name inside the image's cache folder.
        public var path: String
        public var sha256: String
        public var size: Int64
    }

    public enum SourceKind: String, Codable, Sendable { case built, url, file }

    public var name: String
    public var source: SourceKind
    /// The URL, file path or build flavour it came from.
    public var origin: String
    /// "qcow2" or "raw".
    public var format: String
    public var disk: File
    public var kernel: File?
    public var initrd: File?
    public var kernelCommandLine: String?
    /// The version of berth's guest boot protocol the image carries (berth-init and its units, see
    /// `GuestSeed`), from the manifest of berth's own images; nil for any other image, which boots
    /// through cloud-init alone.
    public var berthInit: Int?
    public var facts: ImageFacts
    public var addedAt: Date

    /// Whether Docker Engine is installed in the image (otherwise cloud-init installs it).
    public var hasDocker: Bool { facts.dockerVersion != nil }
    /// Whether machines can boot it with direct kernel boot.
    public var hasBootFiles: Bool { kernel != nil && initrd != nil }
    /// A short, content-derived tag so volumes made from different builds never collide.
    public var contentTag: String { String(disk.sha256.prefix(12)) }
    public var operatingSystem: String { facts.productName }
}
