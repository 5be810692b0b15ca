import Foundation

extension MachineConfig.EngineOptions {
    /// dockerd flags that set what berth's daemon.json already sets: dockerd refuses to start when a
    /// setting is given both ways, so these are refused here with the flag to use instead.
    static let settingsOwnedByBerth: [String: String] = [
        "host": "berth sets Docker's sockets itself", "H": "berth sets Docker's sockets itself",
        "tls": "berth always serves TLS", "tlsverify": "berth always verifies client certificates",
        "tlscacert": "berth installs its own CA", "tlscert": "berth installs the server certificate",
        "tlskey": "berth installs the server key",
        "label": "use --engine-label", "insecure-registry": "use --engine-insecure-registry",
        "registry-mirror": "use --engine-registry-mirror", "storage-driver": "use --engine-storage-driver",
        "s": "use --engine-storage-driver", "config-file": "berth writes /etc/docker/daemon.json",
    ]

    /// Refuses values that would break the guest's configuration files (line breaks end up as new
    /// systemd or JSON lines) and options that clash with berth's own daemon settings.
    public func validate() throws {
        let all: [(String, [String])] = [
            ("--engine-opt", options), ("--engine-env", environment), ("--engine-label", labels),
            ("--engine-insecure-registry", insecureRegistries), ("--engine-registry-mirror", registryMirrors),
            ("--engine-storage-driver", storageDriver.map { [$0] } ?? []),
        ]
        for (flag, values) in all {
            for value in values where value.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\0" }) {
                throw BerthError(.invalidArgument, "\(flag) values cannot contain line breaks: \(value.debugDescription)")
            }
        }
        for option in options {
            let name = option.drop(while: { $0 == "-" }).split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
            guard !name.isEmpty else {
                throw BerthError(.invalidArgument, "--engine-opt takes flag=value (a dockerd flag), not \"\(option)\"")
            }
            if let reason = Self.settingsOwnedByBerth[name] {
                throw BerthError(.invalidArgument, "--engine-opt \(option) clashes with berth's own Docker settings: \(reason)")
            }
        }
        for assignment in environment {
            let key = assignment.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            guard assignment.contains("="), key.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil else {
                throw BerthError(.invalidArgument, "--engine-env takes NAME=VALUE with NAME made of letters, digits and '_', not \"\(assignment)\"")
            }
        }
        for value in insecureRegistries + registryMirrors + labels where value.contains(where: \.isWhitespace) {
            throw BerthError(.invalidArgument, "engine settings cannot contain spaces: \"\(value)\"")
        }
    }
}
