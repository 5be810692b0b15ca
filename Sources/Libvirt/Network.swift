import CLibvirt
import Foundation

/// A libvirt virtual network (for berth: a NAT network with DHCP). Frees its handle when released.
public final class Network: LibvirtObject, @unchecked Sendable {
    public let connection: Connection
    let pointer: OpaquePointer
    public let name: String

    init(connection: Connection, pointer: OpaquePointer) {
        self.connection = connection
        self.pointer = pointer
        self.name = virNetworkGetName(pointer).map { String(cString: $0) } ?? ""
    }

    deinit { virNetworkFree(pointer) }

    public func isActive() async throws -> Bool {
        try await flag("read state of network") { virNetworkIsActive($0) }
    }

    public func start() async throws { try await call("start network") { virNetworkCreate($0) } }
    public func destroy() async throws { try await call("stop network") { virNetworkDestroy($0) } }
    public func undefine() async throws { try await call("undefine network") { virNetworkUndefine($0) } }
    public func setAutostart(_ enabled: Bool) async throws {
        try await call("set autostart of network") { virNetworkSetAutostart($0, enabled ? 1 : 0) }
    }

    public func xmlDescription() async throws -> String {
        try await string("describe network") { virNetworkGetXMLDesc($0, 0) }
    }

    /// Adds a DHCP host reservation, to the running network and its persistent definition.
    public func addDHCPHost(_ host: NetworkSpec.DHCPHost) async throws {
        try await update(.addLast, host: host)
    }

    /// Removes a DHCP host reservation (matched by MAC address).
    public func removeDHCPHost(_ host: NetworkSpec.DHCPHost) async throws {
        try await update(.delete, host: host)
    }

    private enum UpdateCommand: UInt32 { case delete = 2, addLast = 3 }

    private func update(_ command: UpdateCommand, host: NetworkSpec.DHCPHost) async throws {
        let xml = host.xmlString
        let section = VIR_NETWORK_SECTION_IP_DHCP_HOST.rawValue
        try await connection.perform { [self] in
            let active = virNetworkIsActive(pointer) == 1
            var flags = VIR_NETWORK_UPDATE_AFFECT_CONFIG.rawValue
            if active { flags |= VIR_NETWORK_UPDATE_AFFECT_LIVE.rawValue }
            guard virNetworkUpdate(pointer, command.rawValue, section, -1, xml, flags) == 0 else {
                throw LibvirtError.last("update DHCP hosts of network \(name)")
            }
        }
    }

    /// The network's current DHCP leases, optionally only those of one MAC address.
    public func dhcpLeases(mac: String? = nil) async throws -> [DHCPLease] {
        try await connection.perform { [self] in
            var leases: UnsafeMutablePointer<virNetworkDHCPLeasePtr?>?
            let count = virNetworkGetDHCPLeases(pointer, mac, &leases, 0)
            guard count >= 0 else { throw LibvirtError.last("read DHCP leases of network \(name)") }
            defer {
                for index in 0..<Int(count) { virNetworkDHCPLeaseFree(leases?[index]) }
                free(leases)
            }
            return (0..<Int(count)).compactMap { index in
                guard let lease = leases?[index]?.pointee else { return nil }
                return DHCPLease(
                    mac: lease.mac.map { String(cString: $0) } ?? "",
                    ipAddress: lease.ipaddr.map { String(cString: $0) } ?? "",
                    hostname: lease.hostname.map { String(cString: $0) },
                    expiry: Date(timeIntervalSince1970: TimeInterval(lease.expirytime)))
            }
        }
    }
}

public struct DHCPLease: Sendable, Equatable {
    public let mac: String
    public let ipAddress: String
    public let hostname: String?
    public let expiry: Date

    public init(mac: String, ipAddress: String, hostname: String?, expiry: Date) {
        self.mac = mac
        self.ipAddress = ipAddress
        self.hostname = hostname
        self.expiry = expiry
    }
}

extension Connection {
    @discardableResult
    public func defineNetwork(xml: String) async throws -> Network {
        Network(connection: self, pointer: try await handle("define network") { virNetworkDefineXML($0, xml) }.pointer)
    }

    public func network(named name: String) async throws -> Network {
        Network(connection: self, pointer: try await handle("look up network \(name)") { virNetworkLookupByName($0, name) }.pointer)
    }

    public func networkIfExists(named name: String) async throws -> Network? {
        do { return try await network(named: name) } catch let error as LibvirtError where error.isNoNetwork { return nil }
    }
}
