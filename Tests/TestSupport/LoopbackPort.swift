import Foundation

/// A port of 127.0.0.1 the kernel chose, held by a socket that never accepts, until `close()`.
/// Listening (TCP), connections complete in the kernel and then hear nothing: a probe finds
/// something answering, a server that hangs. Not listening, every TCP connection is refused, as by
/// a server that is down. Either way no other socket is handed the port while it is held, so
/// tests running at once never meet each other's servers on it.
public final class LoopbackPort: @unchecked Sendable {
    public let port: Int
    private let socket: Int32
    private let closed = Shared(false)

    public init(udp: Bool = false, listening: Bool = false) throws {
        let socket = Glibc.socket(AF_INET, Int32((udp ? SOCK_DGRAM : SOCK_STREAM).rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ready = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(socket, pointer, length) == 0 && getsockname(socket, pointer, &length) == 0
            }
        } && (!listening || listen(socket, 8) == 0)
        guard ready else {
            let error = POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            Glibc.close(socket)
            throw error
        }
        self.socket = socket
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// Lets the port go (once; also when the value goes).
    public func close() {
        let first = closed.withLock { wasClosed in
            defer { wasClosed = true }
            return !wasClosed
        }
        if first { Glibc.close(socket) }
    }

    deinit { close() }
}

/// A port nothing listens on right now (bound, read and released).
public func freeLoopbackPort(udp: Bool = false) throws -> Int {
    let held = try LoopbackPort(udp: udp)
    defer { held.close() }
    return held.port
}
