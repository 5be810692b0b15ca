/// What a listener owns on the host: one address, port and transport. Two rules with the same key
/// cannot both be active; rules on different addresses with the same port are left to the kernel
/// (`0.0.0.0:8080` and `127.0.0.1:8080` cannot both bind, `127.0.0.1:8080` and `127.0.0.2:8080` can).
public struct ListenKey: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public let address: String
    public let port: Int
    public let proto: TransportProtocol

    public init(address: String, port: Int, proto: TransportProtocol) {
        self.address = HostAddress.canonical(address)?.address ?? address
        self.port = port
        self.proto = proto
    }

    /// `127.0.0.1:8080/tcp`, `[::1]:53/udp`
    public var description: String { "\(HostAddress.withPort(address, port))/\(proto)" }

    public static func < (lhs: ListenKey, rhs: ListenKey) -> Bool {
        (lhs.proto.rawValue, lhs.address, lhs.port) < (rhs.proto.rawValue, rhs.address, rhs.port)
    }
}
