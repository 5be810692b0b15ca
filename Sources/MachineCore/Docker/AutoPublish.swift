import PortForwarding

/// Where auto-published ports listen on the host.
public struct AutoPublishPolicy: Sendable, Hashable {
    /// The host address for a port the container publishes on every address of the machine
    /// (`0.0.0.0`, `::` or empty in Docker's answer) or on the machine's own address. 127.0.0.1
    /// by default: a port published in the machine becomes reachable from this host only, as
    /// berth's forwards are unless asked otherwise; `0.0.0.0` would open it to the host's networks.
    public var hostAddress: String

    public init(hostAddress: String = PortSpec.defaultHostAddress) {
        self.hostAddress = hostAddress
    }
}

/// A published port that auto-publish does not forward, and why.
public struct SkippedPort: Sendable, Hashable, CustomStringConvertible {
    public enum Reason: Sendable, Hashable {
        /// A UDP port published on the machine's loopback (`127.0.0.1:5353:53/udp` in the machine):
        /// Docker answers it only from inside the machine, and SSH, which reaches TCP ports there,
        /// carries no UDP.
        case guestLoopbackOnly
        /// Published on an address of the machine other than the one berth reaches it by.
        case otherGuestAddress
        /// Neither tcp nor udp (sctp).
        case unsupportedProtocol
    }

    public let container: String
    public let port: PublishedPort
    public let reason: Reason

    public var description: String {
        switch reason {
        case .guestLoopbackOnly:
            "\(container) publishes \(port) on the machine's loopback only; publish it on 0.0.0.0 to forward it"
        case .otherGuestAddress:
            "\(container) publishes \(port) on an address berth does not reach the machine by"
        case .unsupportedProtocol:
            "\(container) publishes \(port): only tcp and udp are forwarded"
        }
    }
}

/// The forwards that make containers' published ports reachable on the host.
public struct AutoPublishPlan: Sendable, Hashable {
    /// One rule per host port, sorted by where it listens.
    public var rules: [ForwardRule]
    /// TCP ports published on the machine's own loopback: forwarded from the same loopback address
    /// on the host, over SSH (their target is the machine's loopback, which only SSH reaches).
    public var loopbackRules: [ForwardRule] = []
    public var skipped: [SkippedPort]
}

/// Maps the ports containers publish in a machine to forwards on the host: the same port
/// number on the host (on `policy.hostAddress`) to that port on the machine's address, where
/// Docker takes it on to the container. A pure function, so each case has a test.
public enum AutoPublish {
    public static func plan(
        for containers: [ContainerPorts], guestIP: String, policy: AutoPublishPolicy = AutoPublishPolicy()
    ) -> AutoPublishPlan {
        let guest = HostAddress.canonical(guestIP)?.address ?? guestIP
        var rules: [ListenKey: ForwardRule] = [:]
        var loopback: [ListenKey: ForwardRule] = [:]
        var skipped: [SkippedPort] = []
        for container in containers where container.isRunning {
            for port in container.ports {
                guard let proto = TransportProtocol(rawValue: port.proto.lowercased()) else {
                    skipped.append(SkippedPort(container: container.name, port: port, reason: .unsupportedProtocol))
                    continue
                }
                switch reach(port.hostIP, guest: guest) {
                case .reachable:
                    // Docker reports a port published on all addresses once for 0.0.0.0 and once
                    // for ::; both become the same rule.
                    let rule = ForwardRule(
                        proto: proto, listenAddress: policy.hostAddress, listenPort: port.hostPort,
                        targetHost: guest, targetPort: port.hostPort)
                    rules[rule.listenKey] = rule
                case .loopback where proto == .tcp:
                    let ipv6 = HostAddress.family(of: port.hostIP) == .ipv6
                    let rule = ForwardRule(proto: .tcp, listenAddress: ipv6 ? "::1" : "127.0.0.1", listenPort: port.hostPort,
                                           targetHost: port.hostIP, targetPort: port.hostPort)
                    loopback[rule.listenKey] = rule
                case .loopback:
                    skipped.append(SkippedPort(container: container.name, port: port, reason: .guestLoopbackOnly))
                case .elsewhere:
                    skipped.append(SkippedPort(container: container.name, port: port, reason: .otherGuestAddress))
                }
            }
        }
        return AutoPublishPlan(rules: rules.keys.sorted().compactMap { rules[$0] },
                               loopbackRules: loopback.keys.sorted().compactMap { loopback[$0] }, skipped: skipped)
    }

    private enum Reach {
        case reachable, loopback, elsewhere
    }

    private static func reach(_ hostIP: String, guest: String) -> Reach {
        if hostIP.isEmpty { return .reachable }
        guard let (address, family) = HostAddress.canonical(hostIP) else { return .elsewhere }
        switch (address, family) {
        case ("0.0.0.0", _), ("::", _):
            return .reachable
        case (guest, _):
            return .reachable
        case ("::1", .ipv6):
            return .loopback
        case (_, .ipv4) where address.hasPrefix("127."):
            return .loopback
        default:
            return .elsewhere
        }
    }
}
