import Crypto
import Foundation
import Libvirt

/// Addresses on berth's NAT networks: a subnet that does not clash with the host's own networks,
/// a MAC address derived from the machine name, and a fixed IP reserved for it.
enum NetworkPlan {
    /// Reserved addresses come from .2–.99; DHCP hands out .100–.254 to anything else.
    static let reservedRange = 2...99

    /// A NAT network spec on the first 192.168.X.0/24 (X from 124) that no host route or interface
    /// address touches (VPN tunnels, docker0, other libvirt networks), or on `preferredGateway`'s
    /// /24 when that is still free (a network made again keeps its machines' addresses).
    static func newNetwork(named name: String, preferredGateway: String? = nil,
                           hostAddresses: [String] = hostIPv4Addresses(),
                           hostRoutes: [IPv4Subnet] = hostIPv4Routes()) -> NetworkSpec {
        let taken = hostRoutes.filter { $0.prefix > 0 } + hostAddresses.compactMap { IPv4Subnet(address: $0, prefix: 32) }
        func isFree(_ third: Int) -> Bool {
            guard let candidate = IPv4Subnet(address: "192.168.\(third).0", prefix: 24) else { return false }
            return !taken.contains { $0.overlaps(candidate) }
        }
        let preferred = preferredGateway.flatMap { gateway -> Int? in
            let parts = gateway.split(separator: ".")
            guard parts.count == 4, parts[0] == "192", parts[1] == "168", let third = Int(parts[2]) else { return nil }
            return third
        }
        let third = preferred.flatMap { isFree($0) ? $0 : nil } ?? (124...254).first(where: isFree) ?? 124
        let base = "192.168.\(third)"
        return NetworkSpec(name: name, bridge: bridgeName(for: name), gateway: "\(base).1", prefix: 24,
                           dhcpStart: "\(base).100", dhcpEnd: "\(base).254")
    }

    /// The gateway of the /24 an address is in (berth's networks are /24s with the host on .1).
    static func gateway(forAddress ip: String) -> String? {
        let parts = ip.split(separator: ".")
        guard parts.count == 4, parts.allSatisfy({ UInt8($0) != nil }) else { return nil }
        return parts.dropLast().joined(separator: ".") + ".1"
    }

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
        if let previous, !previous.mac.isEmpty, gateway(forAddress: previous.ip) == spec.gateway,
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
        let usedIPs = Set(spec.hosts.map(\.ip) + leases.filter { $0.mac.lowercased() != mac }.map(\.ipAddress))
        let base = spec.gateway.split(separator: ".").dropLast().joined(separator: ".")
        guard let last = reservedRange.first(where: { !usedIPs.contains("\(base).\($0)") && "\(base).\($0)" != spec.gateway }) else {
            throw BerthError(.hypervisor, "network \(spec.name) has no free fixed addresses left; remove unused machines or use --network with another name")
        }
        return NetworkSpec.DHCPHost(mac: mac, name: machine, ip: "\(base).\(last)")
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

    func overlaps(_ other: IPv4Subnet) -> Bool {
        let shorter = min(prefix, other.prefix)
        return network & Self.mask(shorter) == other.network & Self.mask(shorter)
    }

    var description: String {
        "\(network >> 24).\(network >> 16 & 255).\(network >> 8 & 255).\(network & 255)/\(prefix)"
    }
}
