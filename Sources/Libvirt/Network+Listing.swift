import CLibvirt
import Foundation

extension Connection {
    /// Every network, active or defined, from one listing call.
    public func listNetworks() async throws -> [Network] {
        let pointers = try await perform { [self] () throws -> [RawHandle] in
            var networks: UnsafeMutablePointer<virNetworkPtr?>?
            let count = virConnectListAllNetworks(pointer, &networks, 0)
            guard count >= 0 else { throw LibvirtError.last("list networks") }
            defer { free(networks) }
            return (0..<Int(count)).compactMap { networks?[$0].map(RawHandle.init) }
        }
        return pointers.map { Network(connection: self, pointer: $0.pointer) }
    }
}
