import Foundation
import Yams

/// cloud-init NoCloud meta-data.
public struct MetaData: Codable, Sendable, Equatable {
    public var instanceID: String
    public var localHostname: String

    enum CodingKeys: String, CodingKey {
        case instanceID = "instance-id"
        case localHostname = "local-hostname"
    }

    public init(instanceID: String, localHostname: String) {
        self.instanceID = instanceID
        self.localHostname = localHostname
    }

    /// The YAML text.
    public func render() throws -> String {
        do {
            return try YAMLEncoder().encode(self)
        } catch {
            throw ProvisioningError.rendering(reason: "meta-data: \(error)")
        }
    }
}

/// cloud-init network-config version 2 with one ethernet interface matched by its MAC address
/// (cloud-init ignores name globs when it renders for systemd-networkd), renamed eth0, using DHCPv4.
public struct NetworkConfig: Codable, Sendable, Equatable {
    public var version: Int
    public var ethernets: [String: Ethernet]

    public struct Ethernet: Codable, Sendable, Equatable {
        public var match: Match
        public var setName: String?
        public var dhcp4: Bool
        /// Search domains: berth's networks name their machines NAME.berth.internal, and systemd-networkd
        /// does not take the domain DHCP offers, so the guest is told to search it.
        public var nameservers: Nameservers?

        enum CodingKeys: String, CodingKey {
            case match, dhcp4, nameservers
            case setName = "set-name"
        }

        public init(match: Match, setName: String?, dhcp4: Bool, nameservers: Nameservers? = nil) {
            self.match = match
            self.setName = setName
            self.dhcp4 = dhcp4
            self.nameservers = nameservers
        }
    }

    public struct Nameservers: Codable, Sendable, Equatable {
        public var search: [String]
        public init(search: [String]) { self.search = search }
    }

    public struct Match: Codable, Sendable, Equatable {
        public var macAddress: String

        enum CodingKeys: String, CodingKey {
            case macAddress = "macaddress"
        }

        public init(macAddress: String) {
            self.macAddress = macAddress
        }
    }

    /// One NIC with the MAC that berth chose (lower-cased, as cloud-init compares), named `interfaceName`,
    /// searching `searchDomain` for short names.
    public init(macAddress: String, interfaceName: String = "eth0", searchDomain: String? = "berth.internal") {
        version = 2
        ethernets = [
            interfaceName: Ethernet(
                match: Match(macAddress: macAddress.lowercased()), setName: interfaceName, dhcp4: true,
                nameservers: searchDomain.map { Nameservers(search: [$0]) }),
        ]
    }

    /// The YAML text.
    public func render() throws -> String {
        let encoder = YAMLEncoder()
        encoder.options.sortKeys = true
        do {
            return try encoder.encode(self)
        } catch {
            throw ProvisioningError.rendering(reason: "network-config: \(error)")
        }
    }
}
