import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// A libvirt NAT network with DHCP and fixed host reservations, as a typed value.
public struct NetworkSpec: Sendable, Equatable {
    /// A DHCP reservation: this MAC address always gets this IPv4 address.
    public struct DHCPHost: Sendable, Equatable, Hashable {
        public var mac: String
        public var name: String?
        public var ip: String
        public init(mac: String, name: String? = nil, ip: String) {
            self.mac = mac
            self.name = name
            self.ip = ip
        }

        var element: XMLElement { XMLElement("host", ["mac": mac, "name": name, "ip": ip]) }
        /// The `<host/>` element alone, as `virNetworkUpdate` takes it.
        public var xmlString: String { element.xmlString }
    }

    public var name: String
    public var bridge: String
    /// The host's address on the network, for example 192.168.124.1.
    public var gateway: String
    public var prefix: Int
    public var dhcpStart: String
    public var dhcpEnd: String
    public var hosts: [DHCPHost]
    /// The DNS domain dnsmasq serves the hosts' names under (handed to guests as their search domain).
    public var domain: String?

    public init(name: String, bridge: String, gateway: String, prefix: Int = 24, dhcpStart: String,
                dhcpEnd: String, hosts: [DHCPHost] = [], domain: String? = nil) {
        self.name = name
        self.bridge = bridge
        self.gateway = gateway
        self.prefix = prefix
        self.dhcpStart = dhcpStart
        self.dhcpEnd = dhcpEnd
        self.hosts = hosts
        self.domain = domain
    }

    public var xml: String {
        XMLElement("network", children: [
            XMLElement("name", text: name),
            XMLElement("forward", ["mode": "nat"]),
            // No spanning tree: a NAT bridge of VM ports has no loops, and with STP each new port
            // drops the guest's first DHCP requests for 4 s (the kernel's least forward delay, twice).
            XMLElement("bridge", ["name": bridge, "stp": "off", "delay": "0"]),
            domain.map { XMLElement("domain", ["name": $0, "localOnly": "yes"]) },
            XMLElement("ip", ["address": gateway, "prefix": String(prefix)], children: [
                XMLElement("dhcp", children: [XMLElement("range", ["start": dhcpStart, "end": dhcpEnd])] + hosts.map(\.element)),
            ]),
        ]).rendered
    }

    public init(xml: String) throws {
        let root = try parseRoot(xml, expecting: "network")
        guard let name = root.child("name")?.stringValue else { throw SpecParseError(message: "network has no name") }
        guard let ip = root.children("ip").first(where: { ($0.attribute("family") ?? "ipv4") == "ipv4" }),
              let gateway = ip.attribute("address") else {
            throw SpecParseError(message: "network \(name) has no IPv4 address")
        }
        let prefix = ip.attribute("prefix").flatMap(Int.init) ?? ip.attribute("netmask").map(Self.prefix(ofNetmask:)) ?? 24
        let dhcp = ip.child("dhcp")
        let range = dhcp?.child("range")
        let hosts = (dhcp?.children("host") ?? []).compactMap { host -> DHCPHost? in
            guard let mac = host.attribute("mac"), let address = host.attribute("ip") else { return nil }
            return DHCPHost(mac: mac, name: host.attribute("name"), ip: address)
        }
        self.init(name: name, bridge: root.child("bridge")?.attribute("name") ?? "", gateway: gateway, prefix: prefix,
                  dhcpStart: range?.attribute("start") ?? "", dhcpEnd: range?.attribute("end") ?? "", hosts: hosts,
                  domain: root.child("domain")?.attribute("name"))
    }

    private static func prefix(ofNetmask netmask: String) -> Int {
        netmask.split(separator: ".").compactMap { UInt8($0) }.reduce(0) { $0 + $1.nonzeroBitCount }
    }
}

/// A directory storage pool.
public struct StoragePoolSpec: Sendable, Equatable {
    public var name: String
    public var path: String
    public init(name: String, path: String) {
        self.name = name
        self.path = path
    }

    public var xml: String {
        XMLElement("pool", ["type": "dir"], children: [
            XMLElement("name", text: name),
            XMLElement("target", children: [XMLElement("path", text: path)]),
        ]).rendered
    }
}

/// A storage volume, optionally a copy-on-write overlay on a backing file.
public struct VolumeSpec: Sendable, Equatable {
    public var name: String
    public var capacityBytes: UInt64
    public var format: String
    public var backingFile: String?
    public var backingFormat: String?

    public init(name: String, capacityBytes: UInt64, format: String = "qcow2", backingFile: String? = nil,
                backingFormat: String? = nil) {
        self.name = name
        self.capacityBytes = capacityBytes
        self.format = format
        self.backingFile = backingFile
        self.backingFormat = backingFormat
    }

    public var xml: String {
        XMLElement("volume", children: [
            XMLElement("name", text: name),
            XMLElement("capacity", ["unit": "bytes"], text: String(capacityBytes)),
            XMLElement("target", children: [XMLElement("format", ["type": format])]),
            backingFile.map { path in
                XMLElement("backingStore", children: [
                    XMLElement("path", text: path),
                    XMLElement("format", ["type": backingFormat ?? "qcow2"]),
                ])
            },
        ]).rendered
    }
}
