import Foundation

/// The entries of a checksum list such as `SHA256SUMS` or `SHA512SUMS`.
///
/// Two line forms are understood:
/// - the GNU coreutils form `HEX  filename` (or `HEX *filename` for binary mode), the algorithm told
///   by the digest's length;
/// - the BSD form `SHA256 (filename) = HEX`.
///
/// Blank lines, comments and lines of neither form (such as the armour of a clear-signed file) are
/// skipped.
public struct ChecksumFile: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        public let fileName: String
        public let checksum: Checksum
    }

    public let entries: [Entry]

    public init(parsing text: String) {
        entries = text.split(whereSeparator: \.isNewline).compactMap { Self.entry(in: $0) }
    }

    /// The checksum of `fileName`: an entry naming it exactly, else one whose path ends in it
    /// (`./name`, `images/name`).
    public func checksum(for fileName: String) -> Checksum? {
        if let entry = entries.first(where: { $0.fileName == fileName }) {
            return entry.checksum
        }
        let baseName = fileName.split(separator: "/").last.map(String.init) ?? fileName
        return entries.first { entry in
            entry.fileName.split(separator: "/").last.map(String.init) == baseName
        }?.checksum
    }

    /// The checksum of `fileName` in the text of a checksum list.
    public static func checksum(for fileName: String, in text: String) -> Checksum? {
        ChecksumFile(parsing: text).checksum(for: fileName)
    }

    private static func entry(in rawLine: Substring) -> Entry? {
        let line = rawLine.trimmingWhitespace()
        guard !line.isEmpty, !line.hasPrefix("#") else { return nil }
        return bsdEntry(in: line) ?? gnuEntry(in: line)
    }

    /// `SHA256 (name) = HEX`
    private static func bsdEntry(in line: Substring) -> Entry? {
        guard let open = line.firstIndex(of: "("), let close = line.range(of: ") = ", options: .backwards)
        else { return nil }
        let tag = line[..<open].trimmingWhitespace().lowercased().replacingOccurrences(of: "-", with: "")
        guard let algorithm = ChecksumAlgorithm(rawValue: tag), open < close.lowerBound else { return nil }
        let name = line[line.index(after: open)..<close.lowerBound]
        let hex = line[close.upperBound...].trimmingWhitespace()
        guard !name.isEmpty, let checksum = Checksum(algorithm, hex: String(hex)) else { return nil }
        return Entry(fileName: String(name), checksum: checksum)
    }

    /// `HEX  name` or `HEX *name`
    private static func gnuEntry(in line: Substring) -> Entry? {
        guard let space = line.firstIndex(where: { $0 == " " || $0 == "\t" }) else { return nil }
        guard let checksum = Checksum(hex: String(line[..<space])) else { return nil }
        var name = line[space...].drop { $0 == " " || $0 == "\t" }
        if name.hasPrefix("*") { name = name.dropFirst() }
        guard !name.isEmpty else { return nil }
        return Entry(fileName: String(name), checksum: checksum)
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        let text = self
        guard let first = text.firstIndex(where: { !$0.isWhitespace }),
              let last = text.lastIndex(where: { !$0.isWhitespace })
        else { return text[text.endIndex...] }
        return text[first...last]
    }
}
