/// The transport a forwarded port carries.
public enum TransportProtocol: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case tcp
    case udp

    public var description: String { rawValue }
}
