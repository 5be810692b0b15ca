import Crypto
import Foundation
import Libvirt

/// Addresses on berth's NAT networks: a subnet that does not clash with the host's own networks,
/// a MAC address derived from the machine name, and a fixed IP reserved for it.
enum NetworkPlan {
    /// Reserved addresses are the subnet's 2nd to 99th; DHCP hands out the 100th to the 254th (or the
    /// last but one) to anything else.
    static let reservedRange = 2...99
    /// The domain of berth's networks: machines find each other as NAME and NAME.berth.internal.
    static let domain = "berth.internal"

    /// A NAT network spec: on `subnet` when the user pinned one, else on the first
    /// 192.168.X.0/24 (X from 124) that no host route or interface address touches (VPN tunnels,
    /// docker0, other libvirt networks), preferring `preferredSubnet` (the one a network made again
    /// had, so its machines keep their addresses) when that is still free.
    static func newNetwork(named name: String, subnet pinned: IPv4Subnet? = nil, preferredSubnet: IPv4Subnet? = nil,
                           hostAddresses: [String] = hostIPv4Addresses(),
                           hostRoutes: [IPv4Subnet] = hostIPv4Routes()) throws -> NetworkSpec {
        let taken = hostRoutes.filter { $0.prefix > 0 } + hostAddresses.compactMap { IPv4Subnet(address: $0, prefix: 32) }
        func isFree(_ candidate: IPv4Subnet) -> Bool { !taken.contains { $0.overlaps(candidate) } }
        let subnet: IPv4Subnet
        if let pinned {
            guard (8...24).contains(pinned.prefix) else {
                throw BerthError(.invalidArgument, "--subnet \(pinned.description) is too small: berth's networks need at least a /24")
            }
            guard isFree(pinned) else {
                throw BerthError(.invalidArgument, "--subnet \(pinned.description) overlaps a network this host already uses (see `ip route`); choose another")
            }
            subnet = pinned
        } else if let preferredSubnet, isFree(preferredSubnet) {
            subnet = preferredSubnet
        } else {
            let candidates = (124...254).compactMap { IPv4Subnet(address: "192.168.\($0).0", prefix: 24) }
            guard let free = candidates.first(where: isFree) else {
                throw BerthError(.hypervisor, "no 192.168.X.0/24 subnet is free on this host; choose one with --subnet CIDR")
            }
            subnet = free
        }
        return NetworkSpec(name: name, bridge: bridgeName(for: name), gateway: subnet.address(1), prefix: subnet.prefix,
                           dhcpStart: subnet.address(100), dhcpEnd: subnet.address(min(254, subnet.size - 2)), domain: domain)
    }

    /// The subnet of a network spec.
    static func subnet(of spec: NetworkSpec) -> IPv4Subnet? { IPv4Subnet(address: spec.gateway, prefix: spec.prefix) }

    /// Linux bridge names have at most 15 characters.
    static func bridgeName(for network: String) -> String {
        network == "berth" ? "virbr-berth" : "vbr-" + String(network.prefix(11))
    }

    /// A locally administered-looking QEMU MAC (52:54:00:…) derived from the name, so the same
    /// machine name always gets the same MAC; `attempt` moves past a collision.
    static func mac(for machine: String, attempt: Int = 0) -> String {
        let digest = Array(SHA256.hash(data: Data("\(machine)#\(attempt)".utf8)))
        return String(format: "52:54:00:%02x:%02x:%02x", digest[0], digest[1], digest[2])
    }

    /// The reservation for `machine` on `spec`: the existing one when the machine has one already,
    /// otherwise a new MAC and the lowest free reserved address. `leases` are the network's current
    /// DHCP leases: an address still leased to another MAC (a machine removed minutes ago) is not
    /// free, because dnsmasq would not hand it out again until that lease expires.
    /// `previous` (the address the machine had before its network was made again) is kept when it
    /// is on this network and nobody else holds it.
    static func reservation(for machine: String, on spec: NetworkSpec, leases: [DHCPLease] = [],
                            previous: MachineConfig.NetworkAttachment? = nil) throws -> NetworkSpec.DHCPHost {
        if let existing = spec.hosts.first(where: { $0.name == machine }) { return existing }
        let usedMACs = Set(spec.hosts.map { $0.mac.lowercased() })
        let subnet = subnet(of: spec)
        if let previous, !previous.mac.isEmpty, let address = IPv4Subnet(address: previous.ip, prefix: 32),
           subnet?.overlaps(address) == true, previous.ip != spec.gateway,
           !usedMACs.contains(previous.mac.lowercased()),
           !spec.hosts.contains(where: { $0.ip == previous.ip }),
           !leases.contains(where: { $0.ipAddress == previous.ip && $0.mac.lowercased() != previous.mac.lowercased() }) {
            return NetworkSpec.DHCPHost(mac: previous.mac, name: machine, ip: previous.ip)
        }
        var attempt = 0
        var mac = Self.mac(for: machine)
        while usedMACs.contains(mac) {
            attempt += 1
            mac = Self.mac(for: machine, attempt: attempt)
        }
        let usedIPs = Set(spec.hosts.map(\.ip) + leases.filter { $0.mac.lowercased() != mac }.map(\.ipAddress) + [spec.gateway])
        guard let subnet, let ip = reservedRange.lazy.map({ subnet.address($0) }).first(where: { !usedIPs.contains($0) }) else {
            throw BerthError(.hypervisor, "network \(spec.name) has no free fixed addresses left; remove unused machines or use --network with another name")
        }
        return NetworkSpec.DHCPHost(mac: mac, name: machine, ip: ip)
    }

    /// The host's IPv4 routes (from /proc/net/route), to keep new networks clear of them.
    static func hostIPv4Routes(table: String? = try? String(contentsOfFile: "/proc/net/route", encoding: .utf8)) -> [IPv4Subnet] {
        guard let table else { return [] }
        return table.split(separator: "\n").dropFirst().compactMap { line -> IPv4Subnet? in
            let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            guard fields.count >= 8, let destination = UInt32(fields[1], radix: 16), let mask = UInt32(fields[7], radix: 16) else {
                return nil
            }
            // The kernel prints addresses in host (little-endian) byte order.
            return IPv4Subnet(network: destination.byteSwapped, prefix: mask.byteSwapped.leadingZeroBitCount == 32 ? 0 : mask.nonzeroBitCount)
        }
    }

    /// The host's IPv4 addresses, to keep new networks clear of them.
    static func hostIPv4Addresses() -> [String] {
        var addresses: [String] = []
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var cursor = list
        while let entry = cursor {
            if let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET) {
                var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
                if getnameinfo(address, socklen_t(MemoryLayout<sockaddr_in>.size), &host, socklen_t(host.count), nil, 0,
                               NI_NUMERICHOST) == 0 {
                    addresses.append(String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
                }
            }
            cursor = entry.pointee.ifa_next
        }
        return addresses
    }
}

/// An IPv4 network as a number and a prefix length, for overlap checks.
struct IPv4Subnet: Equatable, Sendable {
    let network: UInt32
    let prefix: Int

    init(network: UInt32, prefix: Int) {
        self.prefix = max(0, min(32, prefix))
        self.network = network & Self.mask(self.prefix)
    }

    init?(address: String, prefix: Int) {
        let parts = address.split(separator: ".").compactMap { UInt32($0) }
        guard parts.count == 4, parts.allSatisfy({ $0 <= 255 }) else { return nil }
        self.init(network: parts.reduce(0) { $0 << 8 | $1 }, prefix: prefix)
    }

    /// `a.b.c.d/n` text.
    init?(cidr: String) {
        let pieces = cidr.split(separator: "/")
        guard pieces.count == 2, let prefix = Int(pieces[1]), (0...32).contains(prefix) else { return nil }
        self.init(address: String(pieces[0]), prefix: prefix)
    }

    static func mask(_ prefix: Int) -> UInt32 { prefix == 0 ? 0 : UInt32.max << UInt32(32 - prefix) }

    /// How many addresses the subnet holds.
    var size: Int { 1 << (32 - prefix) }

    /// The subnet's address at `offset` from its start (1 is berth's gateway), as text.
    func address(_ offset: Int) -> String {
        let value = network &+ UInt32(offset)
        return "\(value >> 24).\(value >> 16 & 255).\(value >> 8 & 255).\(value & 255)"
    }

    func overlaps(_ other: IPv4Subnet) -> Bool {
        let shorter = min(prefix, other.prefix)
        return network & Self.mask(shorter) == other.network & Self.mask(shorter)
    }

    var description: String {
        "\(network >> 24).\(network >> 16 & 255).\(network >> 8 & 255).\(network & 255)/\(prefix)"
    }
}
