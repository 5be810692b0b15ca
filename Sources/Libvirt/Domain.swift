import CLibvirt
import Foundation

/// A libvirt domain (virtual machine). Frees its handle when released.
public final class Domain: LibvirtObject, @unchecked Sendable {
    public let connection: Connection
    let pointer: OpaquePointer
    /// The domain's name, read once when the handle is made (names do not change under us).
    public let name: String

    init(connection: Connection, pointer: OpaquePointer) {
        self.connection = connection
        self.pointer = pointer
        self.name = virDomainGetName(pointer).map { String(cString: $0) } ?? ""
    }

    deinit { virDomainFree(pointer) }

    /// The state libvirt reports, with the reason code libvirt gives for it.
    public func state() async throws -> DomainState {
        try await connection.perform { [self] in try Self.readState(pointer, name) }
    }

    static func readState(_ pointer: OpaquePointer, _ name: String) throws -> DomainState {
        var state: Int32 = 0
        var reason: Int32 = 0
        guard virDomainGetState(pointer, &state, &reason, 0) == 0 else {
            throw LibvirtError.last("get state of domain \(name)")
        }
        return DomainState(rawValue: state) ?? .noState
    }

    /// Boots a defined domain.
    public func start() async throws {
        try await call("start domain") { virDomainCreate($0) }
    }

    /// Asks the guest to shut down cleanly (ACPI power button). Returns at once.
    public func shutdown() async throws {
        try await call("shut down domain") { virDomainShutdown($0) }
    }

    /// Stops the domain at once, like pulling the plug.
    public func destroy() async throws {
        try await call("destroy domain") { virDomainDestroy($0) }
    }

    /// Removes the persistent definition (and any managed save image and snapshots' metadata).
    public func undefine() async throws {
        let flags = VIR_DOMAIN_UNDEFINE_MANAGED_SAVE.rawValue | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA.rawValue
        try await call("undefine domain") { virDomainUndefineFlags($0, flags) }
    }

    public func setAutostart(_ enabled: Bool) async throws {
        try await call("set autostart of domain") { virDomainSetAutostart($0, enabled ? 1 : 0) }
    }

    /// The domain's XML description as libvirt holds it now.
    public func xmlDescription(inactive: Bool = false) async throws -> String {
        let flags = inactive ? VIR_DOMAIN_XML_INACTIVE.rawValue : 0
        return try await string("describe domain") { virDomainGetXMLDesc($0, flags) }
    }

    /// The guest's addresses as libvirt sees them: from the NAT network's DHCP leases by default.
    public func interfaceAddresses(source: AddressSource = .lease) async throws -> [InterfaceAddresses] {
        try await connection.perform { [self] in
            var interfaces: UnsafeMutablePointer<virDomainInterfacePtr?>?
            let count = virDomainInterfaceAddresses(pointer, &interfaces, source.rawValue, 0)
            guard count >= 0 else { throw LibvirtError.last("read addresses of domain \(name)") }
            defer {
                for index in 0..<Int(count) { virDomainInterfaceFree(interfaces?[index]) }
                free(interfaces)
            }
            return (0..<Int(count)).compactMap { index in
                guard let interface = interfaces?[index]?.pointee else { return nil }
                let addresses = (0..<Int(interface.naddrs)).compactMap { addressIndex -> IPAddress? in
                    let entry = interface.addrs[addressIndex]
                    guard let address = entry.addr else { return nil }
                    let family: IPAddress.Family = entry.type == Int32(VIR_IP_ADDR_TYPE_IPV6.rawValue) ? .ipv6 : .ipv4
                    return IPAddress(family: family, address: String(cString: address), prefix: Int(entry.prefix))
                }
                return InterfaceAddresses(
                    name: interface.name.map { String(cString: $0) } ?? "",
                    mac: interface.hwaddr.map { String(cString: $0) } ?? "",
                    addresses: addresses)
            }
        }
    }
}

/// libvirt's `virDomainState`.
public enum DomainState: Int32, Sendable, CustomStringConvertible {
    case noState = 0, running, blocked, paused, shuttingDown, shutOff, crashed, suspended

    public var description: String {
        switch self {
        case .noState: "no state"
        case .running: "running"
        case .blocked: "blocked"
        case .paused: "paused"
        case .shuttingDown: "shutting down"
        case .shutOff: "shut off"
        case .crashed: "crashed"
        case .suspended: "suspended"
        }
    }

    /// Whether a QEMU process exists for the domain.
    public var isActive: Bool { ![.shutOff, .crashed, .noState].contains(self) }
}

public enum AddressSource: UInt32, Sendable {
    case lease = 0, agent = 1, arp = 2
}

public struct IPAddress: Sendable, Equatable {
    public enum Family: Sendable { case ipv4, ipv6 }
    public let family: Family
    public let address: String
    public let prefix: Int
}

public struct InterfaceAddresses: Sendable, Equatable {
    public let name: String
    public let mac: String
    public let addresses: [IPAddress]
}

/// One row of a domain listing: enough for a fast `ls` without a call per domain.
public struct DomainSummary: Sendable {
    public let name: String
    public let state: DomainState
}

extension Connection {
    /// Defines (or redefines) a persistent domain from XML.
    @discardableResult
    public func defineDomain(xml: String) async throws -> Domain {
        Domain(connection: self, pointer: try await handle("define domain") { virDomainDefineXML($0, xml) }.pointer)
    }

    /// Creates and boots a transient domain, which disappears when it stops.
    @discardableResult
    public func createTransientDomain(xml: String) async throws -> Domain {
        Domain(connection: self, pointer: try await handle("create transient domain") { virDomainCreateXML($0, xml, 0) }.pointer)
    }

    /// The domain with this name; throws libvirt's "no domain" error when there is none.
    public func domain(named name: String) async throws -> Domain {
        Domain(connection: self, pointer: try await handle("look up domain \(name)") { virDomainLookupByName($0, name) }.pointer)
    }

    /// The domain with this name, or nil when libvirt has none.
    public func domainIfExists(named name: String) async throws -> Domain? {
        do { return try await domain(named: name) } catch let error as LibvirtError where error.isNoDomain { return nil }
    }

    /// Every domain, running or defined, with its state, from one listing call.
    public func listDomains() async throws -> [DomainSummary] {
        try await perform { [self] in
            var domains: UnsafeMutablePointer<virDomainPtr?>?
            let count = virConnectListAllDomains(pointer, &domains, 0)
            guard count >= 0 else { throw LibvirtError.last("list domains") }
            defer {
                for index in 0..<Int(count) { virDomainFree(domains?[index]) }
                free(domains)
            }
            return (0..<Int(count)).compactMap { index -> DomainSummary? in
                guard let domain = domains?[index] else { return nil }
                let name = virDomainGetName(domain).map { String(cString: $0) } ?? ""
                let state = (try? Domain.readState(domain, name)) ?? .noState
                return DomainSummary(name: name, state: state)
            }
        }
    }
}
