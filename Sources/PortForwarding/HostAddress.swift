#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// IP address literals, checked and written in one canonical form so that `::0001` and `::1`
/// name the same listener. Names are not resolved: a forwarder listens on addresses, not names.
public enum HostAddress {
    public enum Family: Sendable, Hashable {
        case ipv4
        case ipv6
    }

    /// The family of an IP literal (no brackets), or nil when it is not one.
    public static func family(of text: String) -> Family? {
        canonical(text).map { $0.family }
    }

    /// The literal as `inet_ntop` writes it, with its family; nil when it is not an IP literal.
    public static func canonical(_ text: String) -> (address: String, family: Family)? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return (ntop(AF_INET, &v4, capacity: Int(INET_ADDRSTRLEN)), .ipv4)
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return (ntop(AF_INET6, &v6, capacity: Int(INET6_ADDRSTRLEN)), .ipv6)
        }
        return nil
    }

    /// The address as it appears before `:PORT`: IPv6 in brackets.
    public static func withPort(_ address: String, _ port: Int) -> String {
        address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
    }

    private static func ntop<T>(_ family: Int32, _ address: inout T, capacity: Int) -> String {
        var buffer = [CChar](repeating: 0, count: capacity)
        _ = withUnsafePointer(to: &address) { inet_ntop(family, $0, &buffer, socklen_t(capacity)) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
