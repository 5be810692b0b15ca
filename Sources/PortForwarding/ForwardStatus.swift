/// The health of one active rule, for a status view.
public struct ForwardStatus: Sendable, Hashable, CustomStringConvertible {
    /// The rule as bound (with the real port where port 0 was asked for).
    public let rule: ForwardRule
    /// Whether the listener still accepts (TCP) or receives (UDP).
    public let isListening: Bool
    /// Open TCP connections, or live UDP client sessions.
    public let openConnections: Int
    /// TCP connections accepted, or UDP sessions begun, since the rule was added.
    public let totalConnections: Int
    /// Connections the target refused or did not answer, and UDP datagrams dropped.
    public let failures: Int
    /// The last such failure, in words.
    public let lastFailure: String?

    public var description: String {
        var text = "\(rule): \(isListening ? "listening" : "not listening"), \(openConnections) open, \(totalConnections) total"
        if failures > 0 { text += ", \(failures) failed" }
        if let lastFailure { text += " (last: \(lastFailure))" }
        return text
    }
}
