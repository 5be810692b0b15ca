import Foundation

/// The variables `berth env` prints for a machine, in Docker Machine's order.
public struct DockerEnvironment: Sendable, Equatable {
    public var machineName: String
    /// e.g. `tcp://192.168.122.10:2376`.
    public var dockerHost: String
    /// The machine folder holding ca.pem, cert.pem and key.pem.
    public var certPath: String
    /// The NO_PROXY value to print (as NO_PROXY and no_proxy), or nil to leave proxies alone.
    public var noProxy: String?

    public init(machineName: String, dockerHost: String, certPath: String, noProxy: String? = nil) {
        self.machineName = machineName
        self.dockerHost = dockerHost
        self.certPath = certPath
        self.noProxy = noProxy
    }

    /// The environment for a machine at `ip` whose folder is `machineDirectory`.
    public init(machineName: String, ip: String, port: Int = DaemonConfig.tlsPort, machineDirectory: URL) {
        self.init(
            machineName: machineName,
            dockerHost: Self.dockerHost(ip: ip, port: port),
            certPath: machineDirectory.path)
    }

    /// `tcp://IP:PORT`, with an IPv6 address in brackets.
    public static func dockerHost(ip: String, port: Int = DaemonConfig.tlsPort) -> String {
        let host = IPAddress(ip).map(\.urlHost) ?? ip
        return "tcp://\(host):\(port)"
    }

    /// Sets `noProxy` to the existing NO_PROXY/no_proxy entries of `environment` plus `ip`, once.
    public mutating func addNoProxy(ip: String, environment: [String: String] = ProcessInfo.processInfo.environment) {
        noProxy = NoProxy.adding(ip, to: NoProxy.existing(in: environment))
    }

    /// The variables to set, in the order they are printed.
    public var variables: [(name: String, value: String)] {
        var result: [(name: String, value: String)] = [
            ("DOCKER_TLS_VERIFY", "1"),
            ("DOCKER_HOST", dockerHost),
            ("DOCKER_CERT_PATH", certPath),
            ("DOCKER_MACHINE_NAME", machineName),
        ]
        if let noProxy {
            result.append(("NO_PROXY", noProxy))
            result.append(("no_proxy", noProxy))
        }
        return result
    }

    /// The names that `berth env --unset` removes.
    public static func unsetNames(noProxy: Bool) -> [String] {
        ["DOCKER_TLS_VERIFY", "DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_MACHINE_NAME"]
            + (noProxy ? ["NO_PROXY", "no_proxy"] : [])
    }

    /// What `berth env NAME` prints for `shell`. `command` is the command shown in the closing hint;
    /// by default `berth env NAME`.
    public func render(for shell: ShellKind, command: String? = nil) -> String {
        let lines = variables.map { shell.setLine($0.name, $0.value) }.joined()
        return lines + shell.usageHint(command: command ?? "berth env \(machineName)")
    }

    /// What `berth env --unset` prints for `shell`; with `noProxy`, NO_PROXY and no_proxy are removed too.
    public static func renderUnset(for shell: ShellKind, noProxy: Bool = false, command: String = "berth env --unset") -> String {
        unsetNames(noProxy: noProxy).map(shell.unsetLine).joined() + shell.usageHint(command: command)
    }
}

/// NO_PROXY lists: comma-separated host names, addresses and domains.
public enum NoProxy {
    /// The entries of NO_PROXY and no_proxy in `environment`, without blanks or duplicates.
    public static func existing(in environment: [String: String]) -> [String] {
        var entries: [String] = []
        for name in ["NO_PROXY", "no_proxy"] {
            for entry in split(environment[name] ?? "") where !entries.contains(entry) {
                entries.append(entry)
            }
        }
        return entries
    }

    /// `entries` plus `host` unless it is already there, joined with commas.
    public static func adding(_ host: String, to entries: [String]) -> String {
        var result = entries
        if !result.contains(host) { result.append(host) }
        return result.joined(separator: ",")
    }

    /// `value` split at commas, entries trimmed, blanks dropped.
    public static func split(_ value: String) -> [String] {
        value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
