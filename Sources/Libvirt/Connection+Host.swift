import CLibvirt
import Foundation

/// Facts about the hypervisor host and the health of the connection.
extension Connection {
    /// The host's memory and CPUs, as libvirt reports them.
    public struct NodeInfo: Sendable, Equatable {
        public let memoryKiB: UInt64
        public let cpus: Int
    }

    public func nodeInfo() async throws -> NodeInfo {
        try await perform { [self] in
            var info = virNodeInfo()
            guard virNodeGetInfo(pointer, &info) == 0 else { throw LibvirtError.last("get host information") }
            return NodeInfo(memoryKiB: UInt64(info.memory), cpus: Int(info.cpus))
        }
    }

    /// The host's free memory, in bytes.
    public func freeMemory() async throws -> UInt64 {
        try await perform { [self] in
            let free = virNodeGetFreeMemory(pointer)
            guard free > 0 else { throw LibvirtError.last("get free memory") }
            return UInt64(free)
        }
    }

    /// Whether the connection still reaches its daemon (false once the daemon went away or a
    /// keepalive went unanswered).
    public func isAlive() async -> Bool {
        (try? await perform { [self] in virConnectIsAlive(pointer) == 1 }) ?? false
    }

    /// Asks the daemon for a keepalive answer every 5 s and gives up after 3 missed ones. Drivers
    /// without keepalive support (the test driver, local session drivers) simply decline.
    func enableKeepAlive(interval: Int32 = 5, count: UInt32 = 3) async throws {
        try await perform { [self] in
            guard virConnectSetKeepAlive(pointer, interval, count) >= 0 else { throw LibvirtError.last("enable keepalive") }
        }
    }
}
