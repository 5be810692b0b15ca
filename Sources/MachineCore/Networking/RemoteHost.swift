import Foundation

/// A hypervisor host that berth reaches over SSH (`qemu+ssh://user@host:port/system`): the same
/// user, host, port and key libvirt's own transport uses, so one set of credentials serves both
/// libvirt and the tunnels berth runs through that host to its machines.
public struct RemoteHost: Codable, Sendable, Equatable {
    public var user: String?
    public var host: String
    public var port: Int?
    /// `?keyfile=` of the URI.
    public var keyFile: String?
    /// `?no_verify=1` of the URI: the host key is not checked, as libvirt does not check it then.
    public var skipHostKeyCheck: Bool

    public init(user: String?, host: String, port: Int?, keyFile: String?, skipHostKeyCheck: Bool) {
        self.user = user
        self.host = host
        self.port = port
        self.keyFile = keyFile
        self.skipHostKeyCheck = skipHostKeyCheck
    }

    /// The host of a libvirt URI that goes through SSH; nil for local URIs and other transports.
    public init?(libvirtURI uri: String) {
        guard let components = URLComponents(string: uri), let scheme = components.scheme, scheme.hasSuffix("+ssh"),
              let host = components.host, !host.isEmpty else { return nil }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { first, _ in first })
        self.init(user: components.user, host: host, port: components.port, keyFile: query["keyfile"],
                  skipHostKeyCheck: query["no_verify"] == "1")
    }

    /// `user@host`, or `host`.
    public var destination: String { user.map { "\($0)@\(host)" } ?? host }

    /// ssh options that reach the host as libvirt does.
    public var sshOptions: [String] {
        var options = ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3",
                       "-o", "LogLevel=ERROR"]
        if let keyFile { options += ["-i", keyFile, "-o", "IdentitiesOnly=yes"] }
        if let port { options += ["-p", String(port)] }
        if skipHostKeyCheck { options += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"] }
        return options
    }

    /// An ssh `ProxyCommand` that hops through this host (for ssh and scp to its machines).
    public var proxyCommand: String {
        (["ssh"] + sshOptions.map(Self.quote) + ["-W", "%h:%p", Self.quote(destination)]).joined(separator: " ")
    }

    /// Quotes a word for the shell that runs a ProxyCommand.
    static func quote(_ word: String) -> String {
        word.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:@,".contains($0) } ? word
            : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
