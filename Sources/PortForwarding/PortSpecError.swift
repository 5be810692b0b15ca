/// Why a port spec was refused. The description is one line: the spec, the bad part, and the syntax.
public struct PortSpecError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: Sendable, Hashable {
        case empty
        /// Only one port was given: a forward needs both ends.
        case missingGuestPort
        /// More `:`-separated parts than `HOST_IP:HOST_PORT:GUEST_PORT`.
        case tooManyParts
        /// An IPv6 address without brackets: its colons cannot be told from the separators.
        case unbracketedIPv6(String)
        case unclosedBracket
        /// Something other than `:` follows `[ADDRESS]`.
        case expectedColonAfterAddress(String)
        case invalidHostAddress(String)
        case invalidPort(String)
        case portOutOfRange(String)
        case invertedRange(String)
        case rangeLengthMismatch(host: String, guest: String)
        case invalidProtocol(String)
        /// Two specs listen on the same host address, port and protocol.
        case duplicate(ListenKey, other: String)
    }

    public static let syntax = "[HOST_IP:]HOST_PORT[-END]:GUEST_PORT[-END][/tcp|/udp]"
    static let examples = "8080:80, 127.0.0.1:5353:53/udp, [::1]:8000-8009:9000-9009"

    /// The spec as given.
    public let spec: String
    public let reason: Reason

    public init(spec: String, reason: Reason) {
        self.spec = spec
        self.reason = reason
    }

    public var description: String {
        "invalid port spec \"\(spec)\": \(problem); expected \(Self.syntax) (e.g. \(Self.examples))"
    }

    /// The bad part, in words.
    public var problem: String {
        switch reason {
        case .empty:
            "it is empty"
        case .missingGuestPort:
            "it needs a host port and a guest port separated by ':'"
        case .tooManyParts:
            "it has more parts than HOST_IP:HOST_PORT:GUEST_PORT"
        case .unbracketedIPv6(let address):
            "the IPv6 address \(address) must be written in brackets, as [\(address)]"
        case .unclosedBracket:
            "the '[' before the IPv6 address has no closing ']'"
        case .expectedColonAfterAddress(let text):
            "\"\(text)\" follows the bracketed address where ':' was expected"
        case .invalidHostAddress(let address):
            "\"\(address)\" is not an IPv4 address or a bracketed IPv6 address"
        case .invalidPort(let text):
            "\"\(text)\" is not a port number or a range such as 8000-8010"
        case .portOutOfRange(let text):
            "port \(text) is outside 1-65535"
        case .invertedRange(let text):
            "the range \(text) ends before it starts"
        case .rangeLengthMismatch(let host, let guest):
            "the host ports \(host) and the guest ports \(guest) are ranges of different lengths"
        case .invalidProtocol(let text):
            "\"\(text)\" is not a protocol: use /tcp or /udp"
        case .duplicate(let key, let other):
            "\(key) is already forwarded by \(other)"
        }
    }
}
