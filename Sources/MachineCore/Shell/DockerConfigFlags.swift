import Foundation

/// What `berth config NAME` prints: the docker CLI flags for a machine, one per line, as Docker Machine does.
public struct DockerConfigFlags: Sendable, Equatable {
    /// The machine folder holding ca.pem, cert.pem and key.pem.
    public var certDirectory: String
    /// e.g. `tcp://192.168.122.10:2376`.
    public var dockerHost: String

    public init(certDirectory: String, dockerHost: String) {
        self.certDirectory = certDirectory
        self.dockerHost = dockerHost
    }

    public init(machineDirectory: URL, ip: String, port: Int = DaemonConfig.tlsPort) {
        self.init(certDirectory: machineDirectory.path, dockerHost: DockerEnvironment.dockerHost(ip: ip, port: port))
    }

    /// The flags as separate arguments (unquoted), for running docker directly.
    public var arguments: [String] {
        [
            "--tlsverify",
            "--tlscacert=\(file("ca.pem"))",
            "--tlscert=\(file("cert.pem"))",
            "--tlskey=\(file("key.pem"))",
            "-H=\(dockerHost)",
        ]
    }

    /// The printed text: paths double-quoted, each flag on its own line.
    public func render() -> String {
        [
            "--tlsverify",
            "--tlscacert=\(Self.quote(file("ca.pem")))",
            "--tlscert=\(Self.quote(file("cert.pem")))",
            "--tlskey=\(Self.quote(file("key.pem")))",
            "-H=\(dockerHost)",
        ].joined(separator: "\n") + "\n"
    }

    private func file(_ name: String) -> String {
        certDirectory.hasSuffix("/") ? certDirectory + name : certDirectory + "/" + name
    }

    private static func quote(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
