import Foundation

/// A small POSIX ustar archive writer: directories and regular files with their mode and owner,
/// by name (GNU tar, run as root, gives them to the user and group of that name in the guest).
/// berth-init unpacks berth's files into a new machine with one `tar` process.
public struct TarArchive: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public enum Kind: Sendable, Equatable { case directory, file(Data) }
        /// An absolute path in the guest; stored without its leading `/`.
        public var path: String
        public var kind: Kind
        public var mode: Int
        public var owner: String
        public var group: String

        public static func file(_ path: String, _ content: String, mode: Int, owner: String = "root", group: String = "root") -> Entry {
            Entry(path: path, kind: .file(Data(content.utf8)), mode: mode, owner: owner, group: group)
        }

        public static func directory(_ path: String, mode: Int, owner: String = "root", group: String = "root") -> Entry {
            Entry(path: path, kind: .directory, mode: mode, owner: owner, group: group)
        }
    }

    public var entries: [Entry]
    /// Every entry's modification time.
    public var modified: Date

    public init(entries: [Entry], modified: Date = Date()) {
        self.entries = entries
        self.modified = modified
    }

    /// The archive's bytes: a 512-byte header per entry, file contents padded to 512 bytes, two
    /// empty blocks at the end. Paths must fit ustar's 100 + 155 bytes and be absolute.
    public func data() throws -> Data {
        var archive = Data()
        for entry in entries {
            guard entry.path.hasPrefix("/"), !entry.path.split(separator: "/").contains("..") else {
                throw ProvisioningError.rendering(reason: "tar entry \(entry.path) is not an absolute path")
            }
            var name = String(entry.path.dropFirst())
            if case .directory = entry.kind { name += "/" }
            var content = Data()
            if case .file(let data) = entry.kind { content = data }
            archive.append(try header(name: name, entry: entry, size: content.count))
            archive.append(content)
            let padding = (512 - content.count % 512) % 512
            archive.append(Data(count: padding))
        }
        archive.append(Data(count: 1024))
        return archive
    }

    private func header(name: String, entry: Entry, size: Int) throws -> Data {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int, width: Int) throws {
            let bytes = Array(text.utf8)
            guard bytes.count <= width else {
                throw ProvisioningError.rendering(reason: "tar field \(text) is longer than \(width) bytes")
            }
            block.replaceSubrange(offset..<offset + bytes.count, with: bytes)
        }
        func octal(_ value: Int, at offset: Int, width: Int) throws {
            try put(Self.zeroPadded(String(value, radix: 8), width - 1), at: offset, width: width - 1)
        }
        // Long paths go in the prefix field, split at a slash.
        var prefix = ""
        var short = name
        if Array(name.utf8).count > 100, let split = name.dropLast().lastIndex(of: "/") {
            prefix = String(name[..<split])
            short = String(name[name.index(after: split)...])
        }
        try put(short, at: 0, width: 100)
        try octal(entry.mode, at: 100, width: 8)
        try octal(0, at: 108, width: 8)
        try octal(0, at: 116, width: 8)
        try octal(size, at: 124, width: 12)
        try octal(max(0, Int(modified.timeIntervalSince1970)), at: 136, width: 12)
        block.replaceSubrange(148..<156, with: Array("        ".utf8))
        if case .directory = entry.kind { block[156] = UInt8(ascii: "5") } else { block[156] = UInt8(ascii: "0") }
        try put("ustar", at: 257, width: 6)
        try put("00", at: 263, width: 2)
        try put(entry.owner, at: 265, width: 32)
        try put(entry.group, at: 297, width: 32)
        try put(prefix, at: 345, width: 155)
        let checksum = block.reduce(0) { $0 + Int($1) }
        try put(Self.zeroPadded(String(checksum, radix: 8), 6) + "\0 ", at: 148, width: 8)
        return Data(block)
    }

    static func zeroPadded(_ digits: String, _ width: Int) -> String {
        String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
