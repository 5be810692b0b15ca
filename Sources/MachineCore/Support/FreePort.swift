import Foundation

/// A TCP port on 127.0.0.1 that nothing listens on right now, chosen by the kernel.
enum FreePort {
    static func find(excluding taken: [Int] = []) throws -> Int {
        for _ in 0..<20 {
            guard let (socket, port) = bindLoopback() else { break }
            close(socket)
            if !taken.contains(port) { return port }
        }
        throw BerthError(.hypervisor, "cannot find a free port on 127.0.0.1 for the machine's SSH and Docker")
    }

    /// A TCP socket bound to a port of 127.0.0.1 the kernel chose, and that port; nil when the
    /// kernel gives none. The caller closes the socket (or listens on it).
    static func bindLoopback() -> (socket: Int32, port: Int)? {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        guard bound == 0, withUnsafeMutablePointer(to: &address, {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
        }) == 0 else {
            close(socket)
            return nil
        }
        return (socket, Int(UInt16(bigEndian: address.sin_port)))
    }
}
