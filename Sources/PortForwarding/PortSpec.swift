/// A port forward as a user writes it: `[HOST_IP:]HOST_PORT[-END]:GUEST_PORT[-END][/tcp|/udp]`.
///
/// The host address defaults to 127.0.0.1 (forwarded ports are private to this host unless asked
/// otherwise) and the protocol to tcp. An IPv6 host address goes in brackets. A range forwards each
/// port to the port at the same offset in the other range, so both ranges have the same length.
///
/// `description` is the canonical text, which parses back to an equal value:
/// `8080:80` → `127.0.0.1:8080:80/tcp`. Codable as that text.
public struct PortSpec: Sendable, Hashable, CustomStringConvertible, LosslessStringConvertible {
    public static let defaultHostAddress = "127.0.0.1"

    /// An IP literal in canonical form (no brackets).
    public let hostAddress: String
    public let hostPorts: ClosedRange<Int>
    public let guestPorts: ClosedRange<Int>
    public let proto: TransportProtocol

    public static let validPorts = 1...65535

    /// Checks the same rules as parsing does.
    public init(
        hostAddress: String = PortSpec.defaultHostAddress, hostPorts: ClosedRange<Int>, guestPorts: ClosedRange<Int>,
        proto: TransportProtocol = .tcp
    ) throws(PortSpecError) {
        let text = Self.render(hostAddress, hostPorts, guestPorts, proto)
        guard let address = HostAddress.canonical(hostAddress)?.address else {
            throw PortSpecError(spec: text, reason: .invalidHostAddress(hostAddress))
        }
        for ports in [hostPorts, guestPorts] {
            for port in [ports.lowerBound, ports.upperBound] where !Self.validPorts.contains(port) {
                throw PortSpecError(spec: text, reason: .portOutOfRange(String(port)))
            }
        }
        guard hostPorts.count == guestPorts.count else {
            throw PortSpecError(spec: text, reason: .rangeLengthMismatch(
                host: Self.render(hostPorts), guest: Self.render(guestPorts)))
        }
        self.hostAddress = address
        self.hostPorts = hostPorts
        self.guestPorts = guestPorts
        self.proto = proto
    }

    /// A single-port spec.
    public init(
        hostAddress: String = PortSpec.defaultHostAddress, hostPort: Int, guestPort: Int,
        proto: TransportProtocol = .tcp
    ) throws(PortSpecError) {
        try self.init(hostAddress: hostAddress, hostPorts: hostPort...hostPort, guestPorts: guestPort...guestPort,
                      proto: proto)
    }

    public init(parsing text: String) throws(PortSpecError) {
        self = try PortSpecParser(text).parse()
    }

    /// LosslessStringConvertible: nil where `init(parsing:)` throws.
    public init?(_ description: String) {
        guard let spec = try? PortSpec(parsing: description) else { return nil }
        self = spec
    }

    /// `127.0.0.1:8080:80/tcp`, `[::1]:8000-8009:9000-9009/udp`
    public var description: String { Self.render(hostAddress, hostPorts, guestPorts, proto) }

    /// The single-port specs this one stands for, in port order.
    public var expanded: [PortSpec] {
        zip(hostPorts, guestPorts).map { host, guest in
            PortSpec(checkedAddress: hostAddress, hostPorts: host...host, guestPorts: guest...guest, proto: proto)
        }
    }

    /// What this spec listens on, one key per host port.
    public var listenKeys: [ListenKey] {
        hostPorts.map { ListenKey(address: hostAddress, port: $0, proto: proto) }
    }

    private init(checkedAddress: String, hostPorts: ClosedRange<Int>, guestPorts: ClosedRange<Int>, proto: TransportProtocol) {
        self.hostAddress = checkedAddress
        self.hostPorts = hostPorts
        self.guestPorts = guestPorts
        self.proto = proto
    }

    static func render(_ ports: ClosedRange<Int>) -> String {
        ports.count == 1 ? "\(ports.lowerBound)" : "\(ports.lowerBound)-\(ports.upperBound)"
    }

    private static func render(
        _ address: String, _ hostPorts: ClosedRange<Int>, _ guestPorts: ClosedRange<Int>, _ proto: TransportProtocol
    ) -> String {
        let host = address.contains(":") ? "[\(address)]" : address
        return "\(host):\(render(hostPorts)):\(render(guestPorts))/\(proto)"
    }
}

// MARK: - Duplicates

extension PortSpec {
    /// Host address, port and protocol combinations that more than one spec (or one spec twice)
    /// listens on, sorted.
    public static func duplicates(in specs: [PortSpec]) -> [ListenKey] {
        var seen = Set<ListenKey>()
        var repeated = Set<ListenKey>()
        for key in specs.flatMap(\.listenKeys) where !seen.insert(key).inserted {
            repeated.insert(key)
        }
        return repeated.sorted()
    }

    /// Throws for the first spec that listens where an earlier one already does.
    public static func checkNoDuplicates(_ specs: [PortSpec]) throws(PortSpecError) {
        var owners: [ListenKey: PortSpec] = [:]
        for spec in specs {
            for key in spec.listenKeys {
                if let other = owners[key] {
                    throw PortSpecError(spec: spec.description, reason: .duplicate(key, other: other.description))
                }
                owners[key] = spec
            }
        }
    }
}

// MARK: - Codable as text

extension PortSpec: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            self = try PortSpec(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

// MARK: - Parsing

/// Reads `[HOST_IP:]HOST_PORT[-END]:GUEST_PORT[-END][/tcp|/udp]` left to right, naming the first
/// bad part it meets.
private struct PortSpecParser {
    let text: String

    init(_ text: String) { self.text = text }

    func parse() throws(PortSpecError) -> PortSpec {
        guard !text.isEmpty else { throw failure(.empty) }
        var rest = Substring(text)
        var proto = TransportProtocol.tcp
        if let slash = rest.lastIndex(of: "/") {
            let name = rest[rest.index(after: slash)...]
            guard let parsed = TransportProtocol(rawValue: name.lowercased()) else {
                throw failure(.invalidProtocol(String(name)))
            }
            proto = parsed
            rest = rest[..<slash]
        }

        var address = PortSpec.defaultHostAddress
        let ports: [Substring]
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw failure(.unclosedBracket) }
            let inside = String(rest[rest.index(after: rest.startIndex)..<close])
            guard let canonical = HostAddress.canonical(inside), canonical.family == .ipv6 else {
                throw failure(.invalidHostAddress("[\(inside)]"))
            }
            address = canonical.address
            let after = rest[rest.index(after: close)...]
            guard after.hasPrefix(":") else {
                throw failure(after.isEmpty ? .missingGuestPort : .expectedColonAfterAddress(String(after)))
            }
            ports = after.dropFirst().split(separator: ":", omittingEmptySubsequences: false)
            guard ports.count == 2 else { throw failure(ports.count < 2 ? .missingGuestPort : .tooManyParts) }
        } else {
            let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
            switch parts.count {
            case 1:
                throw failure(.missingGuestPort)
            case 2:
                ports = parts
            case 3:
                let given = String(parts[0])
                guard let canonical = HostAddress.canonical(given), canonical.family == .ipv4 else {
                    throw failure(.invalidHostAddress(given))
                }
                address = canonical.address
                ports = Array(parts[1...])
            default:
                // `::1:8080:80` or `fe80::1:80:80`: find the longest leading IPv6 literal to name it.
                for cut in stride(from: parts.count - 2, through: 2, by: -1) {
                    let candidate = parts[..<cut].joined(separator: ":")
                    if HostAddress.family(of: candidate) == .ipv6 { throw failure(.unbracketedIPv6(candidate)) }
                }
                throw failure(.tooManyParts)
            }
        }

        let hostPorts = try range(ports[0])
        let guestPorts = try range(ports[1])
        guard hostPorts.count == guestPorts.count else {
            throw failure(.rangeLengthMismatch(host: String(ports[0]), guest: String(ports[1])))
        }
        return try PortSpec(hostAddress: address, hostPorts: hostPorts, guestPorts: guestPorts, proto: proto)
    }

    /// `80` or `8000-8010`.
    private func range(_ part: Substring) throws(PortSpecError) -> ClosedRange<Int> {
        let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
        guard bounds.count == 1 || bounds.count == 2 else { throw failure(.invalidPort(String(part))) }
        let lower = try port(bounds[0], in: part)
        let upper = bounds.count == 2 ? try port(bounds[1], in: part) : lower
        guard lower <= upper else { throw failure(.invertedRange(String(part))) }
        return lower...upper
    }

    private func port(_ digits: Substring, in part: Substring) throws(PortSpecError) -> Int {
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw failure(.invalidPort(String(part)))
        }
        guard digits.count <= 5, let value = Int(digits), PortSpec.validPorts.contains(value) else {
            throw failure(.portOutOfRange(String(digits)))
        }
        return value
    }

    private func failure(_ reason: PortSpecError.Reason) -> PortSpecError {
        PortSpecError(spec: text, reason: reason)
    }
}
