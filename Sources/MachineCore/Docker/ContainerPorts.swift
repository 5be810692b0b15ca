import Foundation

/// A port a container publishes on the machine: traffic to `hostIP:hostPort` inside the machine
/// reaches the container's `containerPort`.
public struct PublishedPort: Sendable, Hashable, CustomStringConvertible {
    public var containerPort: Int
    /// `tcp`, `udp` or `sctp`.
    public var proto: String
    /// As Docker reports it: `0.0.0.0`, `::` or empty for every address of the machine, or one
    /// address such as `127.0.0.1`.
    public var hostIP: String
    public var hostPort: Int

    public init(containerPort: Int, proto: String = "tcp", hostIP: String = "0.0.0.0", hostPort: Int) {
        self.containerPort = containerPort
        self.proto = proto
        self.hostIP = hostIP
        self.hostPort = hostPort
    }

    /// `0.0.0.0:8080->80/tcp`, as `docker ps` writes it.
    public var description: String {
        let address = hostIP.contains(":") ? "[\(hostIP)]" : hostIP
        return "\(address):\(hostPort)->\(containerPort)/\(proto)"
    }
}

/// A container and the ports it publishes, read from `GET /containers/json` (running containers)
/// or `GET /containers/{id}/json`.
public struct ContainerPorts: Sendable, Hashable {
    public var id: String
    /// Without Docker's leading `/`.
    public var name: String
    public var isRunning: Bool
    public var ports: [PublishedPort]

    public init(id: String, name: String, isRunning: Bool = true, ports: [PublishedPort]) {
        self.id = id
        self.name = name
        self.isRunning = isRunning
        self.ports = ports
    }
}

// MARK: - Docker's JSON

extension ContainerPorts {
    /// Parses `GET /containers/json`: `[{"Id":…,"Names":["/web"],"State":"running",
    /// "Ports":[{"IP":"0.0.0.0","PrivatePort":80,"PublicPort":8080,"Type":"tcp"}]}]`.
    /// A port without `PublicPort` is exposed but not published, and left out.
    static func decodeList(_ data: Data) throws -> [ContainerPorts] {
        try JSONDecoder().decode([Summary].self, from: data).map { summary in
            ContainerPorts(
                id: summary.Id,
                name: Self.name(summary.Names?.first ?? summary.Id),
                isRunning: (summary.State ?? "running") == "running",
                ports: (summary.Ports ?? []).compactMap { port in
                    guard let published = port.PublicPort else { return nil }
                    return PublishedPort(
                        containerPort: port.PrivatePort, proto: port.Type_, hostIP: port.IP ?? "", hostPort: published)
                })
        }
    }

    /// Parses `GET /containers/{id}/json`, whose `NetworkSettings.Ports` maps `"80/tcp"` to
    /// `[{"HostIp":"0.0.0.0","HostPort":"8080"}]`, or to null when the port is only exposed.
    static func decodeInspection(_ data: Data) throws -> ContainerPorts {
        let inspection = try JSONDecoder().decode(Inspection.self, from: data)
        var ports: [PublishedPort] = []
        for (key, bindings) in inspection.NetworkSettings?.Ports ?? [:] {
            let parts = key.split(separator: "/", maxSplits: 1)
            guard let containerPort = parts.first.flatMap({ Int($0) }) else { continue }
            let proto = parts.count > 1 ? String(parts[1]) : "tcp"
            for binding in bindings ?? [] {
                guard let hostPort = binding.HostPort.flatMap({ Int($0) }), hostPort > 0 else { continue }
                ports.append(PublishedPort(
                    containerPort: containerPort, proto: proto, hostIP: binding.HostIp ?? "", hostPort: hostPort))
            }
        }
        ports.sort { ($0.hostPort, $0.proto, $0.hostIP) < ($1.hostPort, $1.proto, $1.hostIP) }
        return ContainerPorts(
            id: inspection.Id, name: Self.name(inspection.Name ?? inspection.Id),
            isRunning: inspection.State?.Running ?? false, ports: ports)
    }

    private static func name(_ raw: String) -> String {
        raw.hasPrefix("/") ? String(raw.dropFirst()) : raw
    }

    private struct Summary: Decodable {
        var Id: String
        var Names: [String]?
        var State: String?
        var Ports: [Port]?

        struct Port: Decodable {
            var IP: String?
            var PrivatePort: Int
            var PublicPort: Int?
            var Type_: String

            enum CodingKeys: String, CodingKey {
                case IP, PrivatePort, PublicPort, Type_ = "Type"
            }
        }
    }

    private struct Inspection: Decodable {
        var Id: String
        var Name: String?
        var State: State?
        var NetworkSettings: Network?

        struct State: Decodable {
            var Running: Bool?
        }

        struct Network: Decodable {
            var Ports: [String: [Binding]?]?
        }

        struct Binding: Decodable {
            var HostIp: String?
            var HostPort: String?
        }
    }
}
