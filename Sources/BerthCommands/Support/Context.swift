import Foundation
import MachineCore

extension GlobalOptions {
    /// The machines in the chosen store.
    var machines: Machines { Machines(store: store) }
}

/// Output formats shared by commands that print data.
enum OutputFormat: String, CaseIterable, Sendable {
    case table, json

    /// Whether a `--format` value is a Go template (as Docker Machine took) rather than a format name.
    static func isTemplate(_ format: String) -> Bool { format.contains("{{") }
}

/// JSON the way berth prints it: sorted keys, pretty, ISO dates.
enum JSONOutput {
    static func string<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let text = String(decoding: try encoder.encode(value), as: UTF8.self)
        // Foundation pretty-prints an empty array as "[\n\n]".
        return text.filter { !$0.isWhitespace } == "[]" ? "[]" : text
    }
}

/// Parses sizes like "2048", "2G", "512M" into MiB (memory) or GiB (disk).
enum SizeArgument {
    static func mebibytes(_ text: String) -> Int? {
        let lower = text.lowercased()
        if let value = Int(lower) { return value }
        if let value = Int(lower.dropLast()), lower.hasSuffix("g") { return value * 1024 }
        if let value = Int(lower.dropLast()), lower.hasSuffix("m") { return value }
        if let value = Int(lower.dropLast(3)), lower.hasSuffix("gib") { return value * 1024 }
        if let value = Int(lower.dropLast(3)), lower.hasSuffix("mib") { return value }
        return nil
    }

    static func gibibytes(_ text: String) -> Int? {
        let lower = text.lowercased()
        if let value = Int(lower) { return value }
        if let value = Int(lower.dropLast()), lower.hasSuffix("g") { return value }
        if let value = Int(lower.dropLast(3)), lower.hasSuffix("gib") { return value }
        if let value = Int(lower.dropLast()), lower.hasSuffix("t") { return value * 1024 }
        return nil
    }
}
