import Foundation

/// The systemd drop-in /etc/systemd/system/docker.service.d/10-berth.conf: it clears the packaged
/// ExecStart (whose `-H fd://` would clash with daemon.json's `hosts`) and runs plain `dockerd`,
/// with the --engine-env values as Environment= lines and the --engine-opt values as dockerd flags.
public struct DockerServiceDropIn: Sendable, Equatable {
    /// Where the drop-in lives in the guest.
    public static let path = "/etc/systemd/system/docker.service.d/10-berth.conf"

    /// `KEY=value` entries, e.g. `HTTP_PROXY=http://proxy:3128`.
    public var environment: [String]
    /// dockerd flags. Docker Machine style `flag=value` entries become `--flag=value`; entries that
    /// already start with `-` are passed as they are.
    public var engineOptions: [String]

    public init(environment: [String] = [], engineOptions: [String] = []) {
        self.environment = environment
        self.engineOptions = engineOptions
    }

    /// The dockerd arguments after the program name.
    public var dockerdArguments: [String] {
        engineOptions.filter { !$0.isEmpty }.map { $0.hasPrefix("-") ? $0 : "--\($0)" }
    }

    /// The unit file text.
    public func render() -> String {
        var lines = ["# Written by berth: Docker listens where /etc/docker/daemon.json says.", "[Service]"]
        for assignment in environment where !assignment.isEmpty {
            lines.append("Environment=\(Self.quote(assignment, expandsVariables: false))")
        }
        lines.append("ExecStart=")
        lines.append((["ExecStart=dockerd"] + dockerdArguments.map { Self.quote($0, expandsVariables: true) }).joined(separator: " "))
        return lines.joined(separator: "\n") + "\n"
    }

    /// Where berth's own image reads these settings (`cloud-init/systemd/docker.service.d-berth.conf`
    /// and `cloud-init/dockerd.sh`), so changing them needs no daemon-reload.
    public static let environmentFilePath = "/etc/berth/docker.env"
    public static let argumentsFilePath = "/etc/berth/dockerd.args"

    /// The environment as a systemd EnvironmentFile: one `KEY="value"` per line, with `\`, `"`,
    /// `$` and `` ` `` escaped, so values reach dockerd exactly as given.
    public func environmentFile() -> String {
        var lines = ["# Written by berth: dockerd's environment (--engine-env)."]
        for assignment in environment where !assignment.isEmpty {
            let parts = assignment.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0])
            var value = parts.count > 1 ? String(parts[1]) : ""
            for character in ["\\", "\"", "$", "`"] {
                value = value.replacingOccurrences(of: character, with: "\\" + character)
            }
            lines.append("\(key)=\"\(value)\"")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// dockerd's flags, one per line, as `/usr/lib/berth/dockerd` reads them (no quoting: each
    /// line is one argument).
    public func argumentsFile() -> String {
        dockerdArguments.map { $0 + "\n" }.joined()
    }

    /// Quotes one word for a systemd unit: specifiers (`%`) are escaped, and `$` too where systemd
    /// expands variables (ExecStart=, not Environment=); words with spaces, quotes or backslashes are
    /// double-quoted with C-style escapes.
    static func quote(_ word: String, expandsVariables: Bool) -> String {
        var escaped = word.replacingOccurrences(of: "%", with: "%%")
        if expandsVariables { escaped = escaped.replacingOccurrences(of: "$", with: "$$") }
        let needsQuotes = word.isEmpty || word.contains { " \t\"'\\;".contains($0) }
        guard needsQuotes else { return escaped }
        escaped = escaped.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return "\"\(escaped)\""
    }
}
