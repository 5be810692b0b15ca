import Foundation
import MachineCore

extension GlobalOptions {
    /// The machines in the chosen store, with this executable as their port forwarder and the docker
    /// CLI's contexts ($DOCKER_CONFIG) following them.
    var machines: Machines {
        Machines(store: store, dockerContexts: DockerContextStore.resolve(),
                 executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath())
    }
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
        // Foundation pretty-prints an empty array as "[\n\n]" (indented inside objects).
        return text.replacingOccurrences(of: "\\[\\n\\s*\\n\\s*\\]", with: "[]", options: .regularExpression)
    }
}

/// Parses sizes like "2048", "2G", "512M" into MiB (memory) or GiB (disk). Numbers that would
/// overflow, or exceed `limit`, are nil, never a trap.
enum SizeArgument {
    static func mebibytes(_ text: String, limit: Int = 1 << 30) -> Int? {
        parse(text, units: ["": 1, "m": 1, "mib": 1, "mb": 1, "g": 1024, "gib": 1024, "gb": 1024, "t": 1 << 20, "tib": 1 << 20], limit: limit)
    }

    static func gibibytes(_ text: String, limit: Int = 1 << 20) -> Int? {
        parse(text, units: ["": 1, "g": 1, "gib": 1, "gb": 1, "t": 1024, "tib": 1024, "tb": 1024], limit: limit)
    }

    private static func parse(_ text: String, units: [String: Int], limit: Int) -> Int? {
        let lower = text.lowercased().trimmingCharacters(in: .whitespaces)
        let digits = lower.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 18, let value = Int(digits), let factor = units[String(lower.dropFirst(digits.count))] else {
            return nil
        }
        let (product, overflow) = value.multipliedReportingOverflow(by: factor)
        guard !overflow, product <= limit else { return nil }
        return product
    }
}
