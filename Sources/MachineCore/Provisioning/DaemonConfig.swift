import Foundation

/// Docker Engine's /etc/docker/daemon.json for a berth machine: the unix socket and TLS on 2376
/// with client verification, labels, registries and an optional storage driver.
public struct DaemonConfig: Codable, Sendable, Equatable {
    /// The TCP port Docker listens on with TLS.
    public static let tlsPort = 2376
    /// Where the guest keeps its TLS files.
    public static let guestCertificateDirectory = "/etc/docker"

    public var hosts: [String]
    public var tls: Bool
    public var tlsVerify: Bool
    public var tlsCACert: String
    public var tlsCert: String
    public var tlsKey: String
    public var labels: [String]
    public var insecureRegistries: [String]
    public var registryMirrors: [String]
    public var storageDriver: String?

    enum CodingKeys: String, CodingKey {
        case hosts, tls, labels
        case tlsVerify = "tlsverify"
        case tlsCACert = "tlscacert"
        case tlsCert = "tlscert"
        case tlsKey = "tlskey"
        case insecureRegistries = "insecure-registries"
        case registryMirrors = "registry-mirrors"
        case storageDriver = "storage-driver"
    }

    /// berth's daemon.json: `labels` are the --engine-label values; "provider=berth" is always added once.
    public init(
        labels: [String] = [],
        insecureRegistries: [String] = [],
        registryMirrors: [String] = [],
        storageDriver: String? = nil
    ) {
        hosts = ["unix:///var/run/docker.sock", "tcp://0.0.0.0:\(Self.tlsPort)"]
        tls = true
        tlsVerify = true
        tlsCACert = "\(Self.guestCertificateDirectory)/ca.pem"
        tlsCert = "\(Self.guestCertificateDirectory)/server.pem"
        tlsKey = "\(Self.guestCertificateDirectory)/server-key.pem"
        var allLabels: [String] = []
        for label in labels + ["provider=berth"] where !allLabels.contains(label) {
            allLabels.append(label)
        }
        self.labels = allLabels
        self.insecureRegistries = insecureRegistries
        self.registryMirrors = registryMirrors
        self.storageDriver = storageDriver.flatMap { $0.isEmpty ? nil : $0 }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        hosts = try container.decodeIfPresent([String].self, forKey: .hosts) ?? []
        tls = try container.decodeIfPresent(Bool.self, forKey: .tls) ?? false
        tlsVerify = try container.decodeIfPresent(Bool.self, forKey: .tlsVerify) ?? false
        tlsCACert = try container.decodeIfPresent(String.self, forKey: .tlsCACert) ?? ""
        tlsCert = try container.decodeIfPresent(String.self, forKey: .tlsCert) ?? ""
        tlsKey = try container.decodeIfPresent(String.self, forKey: .tlsKey) ?? ""
        labels = try container.decodeIfPresent([String].self, forKey: .labels) ?? []
        insecureRegistries = try container.decodeIfPresent([String].self, forKey: .insecureRegistries) ?? []
        registryMirrors = try container.decodeIfPresent([String].self, forKey: .registryMirrors) ?? []
        storageDriver = try container.decodeIfPresent(String.self, forKey: .storageDriver)
    }

    /// Empty lists and an absent storage driver are left out, so dockerd keeps its defaults.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(hosts, forKey: .hosts)
        try container.encode(tls, forKey: .tls)
        try container.encode(tlsVerify, forKey: .tlsVerify)
        try container.encode(tlsCACert, forKey: .tlsCACert)
        try container.encode(tlsCert, forKey: .tlsCert)
        try container.encode(tlsKey, forKey: .tlsKey)
        if !labels.isEmpty { try container.encode(labels, forKey: .labels) }
        if !insecureRegistries.isEmpty { try container.encode(insecureRegistries, forKey: .insecureRegistries) }
        if !registryMirrors.isEmpty { try container.encode(registryMirrors, forKey: .registryMirrors) }
        try container.encodeIfPresent(storageDriver, forKey: .storageDriver)
    }

    /// The JSON text: pretty-printed, keys sorted, slashes unescaped, with a final newline.
    public func render() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
        } catch {
            throw ProvisioningError.rendering(reason: "daemon.json: \(error)")
        }
    }
}
