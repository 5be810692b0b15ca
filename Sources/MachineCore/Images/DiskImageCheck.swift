import Foundation

/// The disk formats berth takes base images in.
public enum DiskFormat: String, Sendable, Equatable {
    case qcow2, raw
}

/// Why a file cannot be a base image. Each says what is wrong and what to do, in one line.
public enum DiskImageProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// Neither qcow2 nor a raw disk: no partition table and no known filesystem at its start.
    case notADiskImage
    /// Another disk format QEMU knows (VMDK, VDI, …), which berth does not take as it is.
    case otherFormat(String)
    /// A compressed file (xz, gzip, …).
    case compressed(String)
    /// A raw disk of this many bytes: not a whole number of 512-byte sectors, or under 1 MiB.
    case implausibleSize(Int64)
    /// A raw disk shorter than its partition table or filesystem says it is.
    case truncated(expected: Int64, actual: Int64)
    /// A qcow2 header that does not hold together.
    case malformedHeader(String)
    case unsupportedVersion(UInt32)
    /// The qcow2 header names a backing file (its name when it could be read).
    case backingFile(String?)
    /// The qcow2 image keeps its data in another file (its name when the header gives it).
    case externalDataFile(String?)
    case encrypted
    /// qcow2 says an earlier program found it corrupt.
    case markedCorrupt
    /// Incompatible qcow2 features this check does not know, so cannot vouch for.
    case unknownFeatures(UInt64)
    /// `qemu-img check` found errors (a truncated or damaged file).
    case damaged(errors: Int)
    /// `qemu-img check` could not finish; its first line of explanation.
    case uncheckable(String)
    /// The file could not be read.
    case unreadable(String)
    case checkerMissing

    public var description: String {
        switch self {
        case .notADiskImage:
            return "is not a disk image: it has no partition table (MBR or GPT) and no ext2/3/4, XFS or btrfs filesystem at its start; give a qcow2 or raw disk image"
        case .otherFormat(let format):
            return "is a \(format) image, which berth does not take; convert it first (qemu-img convert -O qcow2 FILE NEW.qcow2)"
        case .compressed(let method):
            return "is compressed with \(method); decompress it first"
        case .implausibleSize(let size):
            return "cannot be a raw disk image of \(size) bytes (a disk is at least 1 MiB, in whole 512-byte sectors); give a qcow2 or raw disk image"
        case .truncated(let expected, let actual):
            return "is truncated: its partition table or filesystem needs \(expected) bytes but the file has \(actual); get the whole image again"
        case .malformedHeader(let detail):
            return "has a damaged qcow2 header (\(detail)); get the image again"
        case .unsupportedVersion(let version):
            return "is qcow2 version \(version), which berth does not read (only 2 and 3); convert it (qemu-img convert -O qcow2)"
        case .backingFile(let name):
            return "names a backing file\(name.map { " (\($0))" } ?? ""), which berth refuses to follow; flatten it into a standalone image (qemu-img convert -O qcow2)"
        case .externalDataFile(let name):
            return "keeps its data in an external file\(name.map { " (\($0))" } ?? ""), which berth refuses to open; convert it into a standalone image (qemu-img convert -O qcow2)"
        case .encrypted:
            return "is encrypted, which berth does not support; give an unencrypted image"
        case .markedCorrupt:
            return "is marked corrupt in its qcow2 header; repair it (qemu-img check -r all) or get it again"
        case .unknownFeatures(let bits):
            return "uses qcow2 features berth does not know (incompatible feature bits 0x\(String(bits, radix: 16))); convert it (qemu-img convert -O qcow2)"
        case .damaged(let errors):
            return "is damaged or truncated (qemu-img check found \(errors) error\(errors == 1 ? "" : "s")); get the whole image again"
        case .uncheckable(let reason):
            return "cannot be checked as qcow2 (\(reason)); get the image again"
        case .unreadable(let reason):
            return "cannot be read: \(reason)"
        case .checkerMissing:
            return "cannot be checked: qemu-img is missing; install qemu-utils (sudo apt-get install qemu-utils)"
        }
    }
}

/// Judges an image file before QEMU or libguestfs open it. Both follow what a qcow2 header points
/// at (a backing file such as /dev/sda, an external data file), and libguestfs only says that a
/// file is not a disk after starting its appliance, in several lines. Here the header is parsed in
/// Swift, a raw file must look like a disk, and a qcow2 file must pass `qemu-img check`.
enum DiskImageCheck {
    /// How much of the file's start the checks read: a qcow2 header with its extensions fits in
    /// the first cluster (at most 2 MiB), and the btrfs superblock sits at 64 KiB.
    static let headLength = 2 << 20
    static let minimumRawSize: Int64 = 1 << 20

    /// The checks that need only the file's start: fast enough to run before copying a file.
    static func probe(_ url: URL, origin: String) throws -> DiskFormat {
        do {
            let (head, size) = try read(url)
            return try classify(head: head, fileSize: size)
        } catch let problem as DiskImageProblem {
            throw error(problem, origin: origin)
        }
    }

    /// `probe`, and for qcow2 also `qemu-img check`, which reads the whole file's metadata.
    static func verify(_ url: URL, origin: String) async throws -> DiskFormat {
        let format = try probe(url, origin: origin)
        if format == .qcow2 {
            do {
                try await checkIntegrity(url)
            } catch let problem as DiskImageProblem {
                throw error(problem, origin: origin)
            }
        }
        return format
    }

    static func error(_ problem: DiskImageProblem, origin: String) -> BerthError {
        BerthError(.image, "the image \(origin) \(problem)", cause: problem)
    }

    static func read(_ url: URL) throws -> (head: Data, size: Int64) {
        do {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            let head = try handle.read(upToCount: headLength) ?? Data()
            let size = try handle.seekToEnd()
            return (head, Int64(size))
        } catch {
            throw DiskImageProblem.unreadable(ImageCache.reason(error))
        }
    }

    /// The format of a file from its first bytes (up to `headLength`) and its size.
    static func classify(head: Data, fileSize: Int64) throws(DiskImageProblem) -> DiskFormat {
        let bytes = Bytes(head)
        if bytes.matches("QFI\u{FB}", at: 0) {
            try QCOW2Header(parsing: head).refuseUnsafe()
            return .qcow2
        }
        if let format = otherFormat(bytes) { throw .otherFormat(format) }
        if let method = compression(bytes) { throw .compressed(method) }
        guard let expected = RawDisk.minimumSize(bytes) else { throw .notADiskImage }
        guard fileSize >= minimumRawSize, fileSize % 512 == 0 else { throw .implausibleSize(fileSize) }
        guard expected <= fileSize else { throw .truncated(expected: expected, actual: fileSize) }
        return .raw
    }

    /// Formats QEMU knows by their magic numbers, named so the error can say what the file is.
    static func otherFormat(_ bytes: Bytes) -> String? {
        if bytes.matches("KDMV", at: 0) || bytes.matches("# Disk DescriptorFile", at: 0) { return "VMDK" }
        if bytes.uint32LE(at: 64) == 0xBEDA_107F { return "VDI" }
        if bytes.matches("vhdxfile", at: 0) { return "VHDX" }
        if bytes.matches("conectix", at: 0) { return "VHD" }
        if bytes.matches("QED\0", at: 0) { return "QED" }
        if bytes.matches("LUKS\u{BA}\u{BE}", at: 0) { return "LUKS-encrypted" }
        return nil
    }

    static func compression(_ bytes: Bytes) -> String? {
        if bytes.matches("\u{FD}7zXZ\0", at: 0) { return "xz" }
        if bytes.uint8(at: 0) == 0x1F && bytes.uint8(at: 1) == 0x8B { return "gzip" }
        if bytes.uint32LE(at: 0) == 0xFD2F_B528 { return "zstd" }
        if bytes.matches("BZh", at: 0), let level = bytes.uint8(at: 3), (0x31...0x39).contains(level) { return "bzip2" }
        return nil
    }

    /// Runs `qemu-img check` on a qcow2 file (whose header was checked first, so it names nothing
    /// else to open). Leaked clusters are harmless; errors mean a truncated or damaged file.
    /// A helper program because no library offers this check: libvirt and libguestfs have no call
    /// for it and QEMU has no C API; `qemu-img` is QEMU's own checker of its format's tables, which
    /// berth would otherwise have to write again.
    static func checkIntegrity(_ url: URL) async throws {
        guard let qemuImg = HelperProgram.which("qemu-img") else { throw DiskImageProblem.checkerMissing }
        let output = try await HelperProgram.capture(qemuImg, ["check", "-f", "qcow2", "--output=json", url.path])
        switch output.status {
        case 0, 3:  // 3: leaked clusters only, which waste space but lose nothing
            return
        case 2:
            let report = try? JSONSerialization.jsonObject(with: Data(output.standardOutput.utf8)) as? [String: Any]
            let errors = (report?["corruptions"] as? Int ?? 0) + (report?["check-errors"] as? Int ?? 0)
            throw DiskImageProblem.damaged(errors: max(errors, 1))
        default:
            let line = output.standardError.split(whereSeparator: \.isNewline).first.map(String.init) ?? "exit \(output.status)"
            let reason = line.hasPrefix("qemu-img: ") ? String(line.dropFirst("qemu-img: ".count)) : line
            throw DiskImageProblem.uncheckable(reason.replacingOccurrences(of: url.path + ": ", with: ""))
        }
    }
}

/// What a raw disk's first bytes say about it.
enum RawDisk {
    static let sector: Int64 = 512

    /// The size the disk's partition table or filesystem needs, or nil when the start of the file
    /// holds none that berth knows: an MBR or GPT partition table, ext2/3/4, XFS or btrfs.
    static func minimumSize(_ bytes: Bytes) -> Int64? {
        if bytes.matches("EFI PART", at: 512) {
            // The backup GPT header sits in the disk's last sector.
            return bytes.uint64LE(at: 512 + 32).map { (Int64(clamping: $0) + 1) * sector }
        }
        if bytes.uint8(at: 510) == 0x55, bytes.uint8(at: 511) == 0xAA {
            return mbrEnd(bytes)
        }
        if bytes.uint16LE(at: 1024 + 56) == 0xEF53 {  // ext2/3/4 superblock at 1 KiB
            let blocks = UInt64(bytes.uint32LE(at: 1024 + 4) ?? 0)
            let high = (bytes.uint32LE(at: 1024 + 0x60) ?? 0) & 0x80 != 0 ? UInt64(bytes.uint32LE(at: 1024 + 0x150) ?? 0) : 0
            let blockSize = UInt64(1024) << min(UInt64(bytes.uint32LE(at: 1024 + 24) ?? 0), 16)
            return Int64(clamping: ((high << 32) | blocks).multipliedReportingOverflow(by: blockSize).partialValue)
        }
        if bytes.matches("XFSB", at: 0) {
            let blockSize = UInt64(bytes.uint32BE(at: 4) ?? 0)
            let blocks = bytes.uint64BE(at: 8) ?? 0
            return Int64(clamping: blocks.multipliedReportingOverflow(by: blockSize).partialValue)
        }
        if bytes.matches("_BHRfS_M", at: 0x10040) {
            return bytes.uint64LE(at: 0x10000 + 0x70).map { Int64(clamping: $0) }
        }
        return nil
    }

    /// The end of the last partition of an MBR, or 1 MiB when the entries do not look like a
    /// partition table (a boot sector of a filesystem has the same signature).
    static func mbrEnd(_ bytes: Bytes) -> Int64 {
        var end: Int64 = DiskImageCheck.minimumRawSize
        for index in 0..<4 {
            let entry = 446 + index * 16
            guard let status = bytes.uint8(at: entry), status == 0 || status == 0x80 else { return DiskImageCheck.minimumRawSize }
            let type = bytes.uint8(at: entry + 4) ?? 0
            guard type != 0, type != 0xEE else { continue }
            let first = Int64(bytes.uint32LE(at: entry + 8) ?? 0), count = Int64(bytes.uint32LE(at: entry + 12) ?? 0)
            end = max(end, (first + count) * sector)
        }
        return end
    }
}

/// A qcow2 header (versions 2 and 3) and its extensions, as QEMU's docs/interop/qcow2.txt lays them out.
struct QCOW2Header: Equatable {
    var version: UInt32
    var backingFileOffset: UInt64
    var backingFileSize: UInt32
    var clusterBits: UInt32
    var virtualSize: UInt64
    var cryptMethod: UInt32
    var incompatibleFeatures: UInt64 = 0
    var headerLength: UInt32 = 72
    /// Header extensions by type: their contents.
    var extensions: [UInt32: Data] = [:]

    enum Extension {
        static let backingFormat: UInt32 = 0xE279_2ACA
        static let featureNames: UInt32 = 0x6803_F857
        static let bitmaps: UInt32 = 0x2385_2875
        static let encryption: UInt32 = 0x0537_BE77
        static let dataFile: UInt32 = 0x4441_5441
    }

    enum Incompatible {
        static let dirty: UInt64 = 1 << 0
        static let corrupt: UInt64 = 1 << 1
        static let externalData: UInt64 = 1 << 2
        static let compressionType: UInt64 = 1 << 3
        static let extendedL2: UInt64 = 1 << 4
        static let known = dirty | corrupt | externalData | compressionType | extendedL2
    }

    /// The backing file's name, when the header names one inside the bytes that were read.
    var backingFile: String?

    init(parsing data: Data) throws(DiskImageProblem) {
        let bytes = Bytes(data)
        guard let version = bytes.uint32BE(at: 4), let backingFileOffset = bytes.uint64BE(at: 8),
              let backingFileSize = bytes.uint32BE(at: 16), let clusterBits = bytes.uint32BE(at: 20),
              let virtualSize = bytes.uint64BE(at: 24), let cryptMethod = bytes.uint32BE(at: 32), bytes.count >= 72
        else { throw .malformedHeader("the file ends inside the header") }
        self.version = version
        self.backingFileOffset = backingFileOffset
        self.backingFileSize = backingFileSize
        self.clusterBits = clusterBits
        self.virtualSize = virtualSize
        self.cryptMethod = cryptMethod
        guard version == 2 || version == 3 else { throw .unsupportedVersion(version) }
        guard (9...21).contains(clusterBits) else { throw .malformedHeader("cluster_bits \(clusterBits) is outside 9…21") }
        let clusterSize = 1 << Int(clusterBits)
        if version == 3 {
            guard let incompatible = bytes.uint64BE(at: 72), let length = bytes.uint32BE(at: 100) else {
                throw .malformedHeader("the file ends inside the version 3 header")
            }
            guard length >= 104, length % 8 == 0, Int(length) <= clusterSize else {
                throw .malformedHeader("header_length \(length) is invalid")
            }
            incompatibleFeatures = incompatible
            headerLength = length
        }
        if backingFileOffset != 0, backingFileSize > 0, backingFileSize <= 1023,
           let name = bytes.slice(at: Int(clamping: backingFileOffset), count: Int(backingFileSize)) {
            backingFile = String(decoding: name, as: UTF8.self)
        }
        // Extensions follow the header up to an end marker, inside the first cluster and before
        // the backing file's name, read as QEMU reads them (qcow2_read_extensions).
        let end = backingFileOffset == 0 ? clusterSize : min(Int(clamping: backingFileOffset), clusterSize)
        var offset = Int(headerLength)
        while offset < end {
            guard offset + 8 <= end, let type = bytes.uint32BE(at: offset), let length = bytes.uint32BE(at: offset + 4) else {
                throw .malformedHeader("the file ends inside the header extensions")
            }
            if type == 0 { break }
            guard Int(length) <= end - offset - 8, let contents = bytes.slice(at: offset + 8, count: Int(length)) else {
                throw .malformedHeader("a header extension runs past the first cluster")
            }
            extensions[type] = contents
            offset += 8 + (Int(length) + 7) / 8 * 8
        }
    }

    /// Refuses what would make QEMU or libguestfs open another file, or read data berth cannot vouch for.
    func refuseUnsafe() throws(DiskImageProblem) {
        if backingFileOffset != 0 || backingFileSize != 0 { throw .backingFile(backingFile) }
        if incompatibleFeatures & Incompatible.externalData != 0 || extensions[Extension.dataFile] != nil {
            throw .externalDataFile(extensions[Extension.dataFile].map { String(decoding: $0, as: UTF8.self) })
        }
        if cryptMethod != 0 || extensions[Extension.encryption] != nil { throw .encrypted }
        if incompatibleFeatures & Incompatible.corrupt != 0 { throw .markedCorrupt }
        let unknown = incompatibleFeatures & ~Incompatible.known
        if unknown != 0 { throw .unknownFeatures(unknown) }
        if virtualSize == 0 { throw .malformedHeader("its virtual size is 0") }
    }
}

/// Bounds-checked reads of numbers and strings at offsets of a file's first bytes.
struct Bytes {
    private let data: [UInt8]
    init(_ data: Data) { self.data = [UInt8](data) }

    var count: Int { data.count }

    func uint8(at offset: Int) -> UInt8? { offset >= 0 && offset < data.count ? data[offset] : nil }

    func slice(at offset: Int, count: Int) -> Data? {
        guard offset >= 0, count >= 0, offset <= data.count - count else { return nil }
        return Data(data[offset..<offset + count])
    }

    func matches(_ text: String, at offset: Int) -> Bool {
        let expected = text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }
        return slice(at: offset, count: expected.count).map { [UInt8]($0) == expected } ?? false
    }

    private func integer<T: FixedWidthInteger>(_: T.Type, at offset: Int, bigEndian: Bool) -> T? {
        guard let bytes = slice(at: offset, count: MemoryLayout<T>.size) else { return nil }
        let ordered = bigEndian ? Array(bytes) : Array(bytes.reversed())
        return ordered.reduce(T(0)) { ($0 << 8) | T($1) }
    }

    func uint16LE(at offset: Int) -> UInt16? { integer(UInt16.self, at: offset, bigEndian: false) }
    func uint32LE(at offset: Int) -> UInt32? { integer(UInt32.self, at: offset, bigEndian: false) }
    func uint64LE(at offset: Int) -> UInt64? { integer(UInt64.self, at: offset, bigEndian: false) }
    func uint32BE(at offset: Int) -> UInt32? { integer(UInt32.self, at: offset, bigEndian: true) }
    func uint64BE(at offset: Int) -> UInt64? { integer(UInt64.self, at: offset, bigEndian: true) }
}
