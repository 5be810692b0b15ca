import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What can go wrong while forwarding. Each description is one line that says what happened and
/// what to do.
public enum ForwardingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Another program (or another rule) already listens there.
    case portInUse(ListenKey)
    /// The port is below the first port that users other than root may bind.
    case privilegedPort(ListenKey, unprivilegedStart: Int)
    /// The address is not one of this host's.
    case addressNotAvailable(ListenKey)
    /// Binding failed for another reason.
    case bindFailed(ListenKey, errno: Int32)
    /// An address that is not an IP literal, or a port outside 0–65535.
    case invalidRule(ForwardRule, reason: String)
    /// Two rules of one request, or a new rule and an active one, listen on the same key but send
    /// to different targets.
    case conflict(ListenKey, existing: ForwardRule, requested: ForwardRule)
    /// The forwarder was closed and takes no more rules.
    case closed
    /// A measurement could not connect.
    case connectFailed(host: String, port: Int, detail: String)
    /// A measurement did not finish in time.
    case timedOut(String)
    /// A measurement's connection ended before every byte was acknowledged.
    case incomplete(expected: Int64, acknowledged: Int64)

    public var description: String {
        switch self {
        case .portInUse(let key):
            let proto = key.proto == .tcp ? "" : " (\(key.proto))"
            return "port \(key.port) on \(key.address) is already in use\(proto); stop what listens there or choose another host port"
        case .privilegedPort(let key, let start):
            return "port \(key.port) needs root (ports below \(start)); choose a host port of \(start) or above, or lower net.ipv4.ip_unprivileged_port_start"
        case .addressNotAvailable(let key):
            return "cannot listen on \(key.address): it is not an address of this host; use 127.0.0.1 or one of this host's addresses"
        case .bindFailed(let key, let code):
            return "cannot listen on \(key): \(String(cString: strerror(code)))"
        case .invalidRule(let rule, let reason):
            return "cannot forward \(rule): \(reason)"
        case .conflict(let key, let existing, let requested):
            return "\(key) is already forwarded (\(existing)); remove that forward before adding \(requested)"
        case .closed:
            return "the forwarder is closed"
        case .connectFailed(let host, let port, let detail):
            return "cannot connect to \(HostAddress.withPort(host, port)): \(detail)"
        case .timedOut(let what):
            return "\(what) timed out"
        case .incomplete(let expected, let acknowledged):
            return "the connection ended after \(acknowledged) of \(expected) bytes"
        }
    }

    /// Maps the error of a failed bind to what the user can act on.
    static func bind(_ error: any Error, key: ListenKey) -> ForwardingError {
        guard let io = error as? IOError else {
            return .bindFailed(key, errno: EINVAL)
        }
        return bind(errno: io.errnoCode, key: key)
    }

    /// Pure, so every branch has a test: EACCES on a low port means "needs root".
    static func bind(
        errno code: Int32, key: ListenKey, unprivilegedStart: () -> Int = UnprivilegedPorts.start
    ) -> ForwardingError {
        switch code {
        case EADDRINUSE:
            return .portInUse(key)
        case EACCES, EPERM:
            let start = unprivilegedStart()
            return key.port < start ? .privilegedPort(key, unprivilegedStart: start) : .bindFailed(key, errno: code)
        case EADDRNOTAVAIL:
            return .addressNotAvailable(key)
        default:
            return .bindFailed(key, errno: code)
        }
    }
}

/// The first port a user other than root may bind, from the kernel's
/// `net.ipv4.ip_unprivileged_port_start` (which applies to IPv6 too); 1024 where it cannot be read.
enum UnprivilegedPorts {
    static let path = "/proc/sys/net/ipv4/ip_unprivileged_port_start"

    static func start() -> Int {
        guard let file = fopen(path, "r") else { return 1024 }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 16)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return 1024 }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 1024
    }
}
