/// One forwarded port: what to listen on, and where to send what arrives.
public struct ForwardRule: Sendable, Hashable, Codable, CustomStringConvertible {
    public var proto: TransportProtocol
    /// An IP literal on this host.
    public var listenAddress: String
    /// 1–65535; 0 asks for any free port, and the rule `Forwarder.add` returns carries the one bound.
    public var listenPort: Int
    /// An IP literal: the forwarder does not resolve names, so a slow resolver cannot stall it.
    public var targetHost: String
    public var targetPort: Int

    public init(
        proto: TransportProtocol = .tcp, listenAddress: String = PortSpec.defaultHostAddress, listenPort: Int,
        targetHost: String, targetPort: Int
    ) {
        self.proto = proto
        self.listenAddress = HostAddress.canonical(listenAddress)?.address ?? listenAddress
        self.listenPort = listenPort
        self.targetHost = HostAddress.canonical(targetHost)?.address ?? targetHost
        self.targetPort = targetPort
    }

    public var listenKey: ListenKey { ListenKey(address: listenAddress, port: listenPort, proto: proto) }

    /// `tcp 127.0.0.1:8080 -> 192.168.122.10:80`
    public var description: String {
        "\(proto) \(HostAddress.withPort(listenAddress, listenPort)) -> \(HostAddress.withPort(targetHost, targetPort))"
    }
}

extension PortSpec {
    /// The single-port rules of this spec, each sending to the same port number of `guestHost`.
    public func rules(to guestHost: String) -> [ForwardRule] {
        zip(hostPorts, guestPorts).map { hostPort, guestPort in
            ForwardRule(proto: proto, listenAddress: hostAddress, listenPort: hostPort,
                        targetHost: guestHost, targetPort: guestPort)
        }
    }
}
