import Foundation

/// The installed packages recorded in a Debian system's `/var/lib/dpkg/status`.
public struct DpkgStatus: Sendable, Equatable {
    /// Installed package name → version (`Status: install ok installed` only).
    public var installed: [String: String]

    /// Parses the status file: RFC 822-style paragraphs separated by blank lines.
    public init(parsing text: String) {
        var installed: [String: String] = [:]
        var fields: [String: String] = [:]
        func flush() {
            if let name = fields["package"], let version = fields["version"],
               let status = fields["status"], status.split(separator: " ").last == "installed" {
                installed[name] = version
            }
            fields = [:]
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) {
                flush()
                continue
            }
            // Continuation lines (descriptions, conffiles) start with whitespace.
            guard let first = line.first, first != " ", first != "\t",
                  let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].lowercased()
            let value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            fields[key] = value
        }
        flush()
        self.installed = installed
    }
}

/// Orders kernel version strings the way people read them: `6.12.10` after `6.12.9`,
/// comparing runs of digits as numbers and everything else as text.
public enum KernelVersionOrder {
    public static func isNewer(_ a: String, than b: String) -> Bool {
        let x = chunks(a), y = chunks(b)
        for (l, r) in zip(x, y) where l != r {
            switch (l, r) {
            case let (.number(m), .number(n)): return m > n
            case let (.text(s), .text(t)): return s > t
            case (.number, .text): return true
            case (.text, .number): return false
            }
        }
        return x.count > y.count
    }

    private enum Chunk: Equatable {
        case number(UInt64)
        case text(String)
    }

    private static func chunks(_ s: String) -> [Chunk] {
        var result: [Chunk] = []
        var current = ""
        var inDigits = false
        func emit() {
            guard !current.isEmpty else { return }
            result.append(inDigits ? .number(UInt64(current) ?? .max) : .text(current))
            current = ""
        }
        for c in s {
            let digit = c.isASCII && c.isNumber
            if digit != inDigits { emit(); inDigits = digit }
            current.append(c)
        }
        emit()
        return result
    }
}
