import Crypto
import Foundation
import Libvirt

/// Addresses on berth's NAT networks: a subnet that does not clash with the host's own networks,
/// a MAC address derived from the machine name, and a fixed IP reserved for it.
enum NetworkPlan {
    /// Reserved addresses come from .2–.99; DHCP hands out .100–.254 to anything else.
    static let reservedRange = 2...99

    /// A NAT network spec on the first 192.168.X.0/24 (X from 124) that no host interface uses.
    static func newNetwork(named name: String, hostAddresses: [String] = hostIPv4Addresses()) -> NetworkSpec {
        let used = Set(hostAddresses.compactMap { address -> Int? in
            let parts = address.split(separator: ".")
            guard parts.count == 4, parts[0] == "192", parts[1] == "168" else { return nil }
            return Int(parts[2])
        })
        let third = (124...254).first { !used.contains($0) } ?? 124
        let base = "192.168.\(third)"
        return NetworkSpec(name: name, bridge: bridgeName(for: name), gateway: "\(base).1", prefix: 24,
                           dhcpStart: "\(base).100", dhcpEnd: "\(base).254")
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
    static func reservation(for machine: String, on spec: NetworkSpec, leases: [DHCPLease] = []) throws -> NetworkSpec.DHCPHost {
        if let existing = spec.hosts.first(where: { $0.name == machine }) { return existing }
        let usedMACs = Set(spec.hosts.map { $0.mac.lowercased() })
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
