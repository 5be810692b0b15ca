import Foundation

/// The shell scripts berth runs on an existing server (`--driver generic`), each rendered in one
/// place. The server is someone's own: berth keeps a copy of any Docker file of theirs it replaces
/// (`FILE.before-berth`) and puts it back when it removes its own.
public enum GenericServerScripts {
    /// The files in /etc/docker that berth writes and a server may already have (from an earlier
    /// set-up of its owner's, or from Docker Machine, which used the same names).
    public static let replacedFiles = [
        "\(DaemonConfig.guestCertificateDirectory)/daemon.json",
        "\(DaemonConfig.guestCertificateDirectory)/ca.pem",
        "\(DaemonConfig.guestCertificateDirectory)/server.pem",
        "\(DaemonConfig.guestCertificateDirectory)/server-key.pem",
    ]
    /// Files only berth writes, removed without a copy.
    public static let ownFiles = [DockerServiceDropIn.path, CloudConfig.installScriptPath]
    public static let backupSuffix = ".before-berth"

    /// What berth needs to know about a server before it touches anything, one `key=value` a line.
    /// Runs as the login user, in sh whatever the user's shell, with the system folders on PATH
    /// (dockerd lives in /usr/sbin, which is not on an ordinary user's PATH on Debian).
    public static let probe = """
        PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
        . /etc/os-release 2>/dev/null
        echo "id=${ID:-}"
        echo "like=${ID_LIKE:-}"
        echo "version=${VERSION_ID:-}"
        if [ "$(id -u)" = 0 ] || sudo -n true 2>/dev/null; then echo root=yes; else echo root=no; fi
        if command -v dockerd >/dev/null 2>&1; then echo docker=yes; else echo docker=no; fi
        if command -v apt-get >/dev/null 2>&1; then echo apt=yes; else echo apt=no; fi
        """

    /// Copies each Docker file berth is about to replace, once: a copy that exists is never
    /// overwritten (it holds the state before berth). Files in place beside a daemon.json berth
    /// wrote (its `provider=berth` label) are berth's own set, not the owner's, and are not copied.
    public static var backup: String {
        """
        set -e
        grep -qs '"provider=berth"' \(replacedFiles[0]) && exit 0
        for f in \(replacedFiles.joined(separator: " ")); do
            [ -e "$f" ] || continue
            [ -e "$f\(backupSuffix)" ] && continue
            cp -p "$f" "$f\(backupSuffix)"
        done
        """
    }

    /// Removes berth's files, puts back the owner's copies, and restarts Docker with what is left
    /// (the package's defaults when the owner had nothing). Docker Engine itself stays.
    public static var removal: String {
        """
        for f in \(replacedFiles.joined(separator: " ")); do
            if [ -e "$f\(backupSuffix)" ]; then mv -f "$f\(backupSuffix)" "$f"; else rm -f "$f"; fi
        done
        rm -f \(ownFiles.joined(separator: " "))
        rmdir \((DockerServiceDropIn.path as NSString).deletingLastPathComponent) 2>/dev/null || true
        systemctl daemon-reload
        systemctl reset-failed docker.service docker.socket 2>/dev/null || true
        if systemctl is-enabled --quiet docker.service 2>/dev/null; then systemctl restart docker.service; fi
        """
    }

    /// What the probe found.
    public struct Facts: Sendable, Equatable {
        public var id: String
        public var like: String
        public var version: String
        /// Root, or password-less sudo.
        public var canBeRoot: Bool
        public var hasDocker: Bool
        public var hasApt: Bool

        public init(probeOutput: String) {
            var values: [String: String] = [:]
            for line in probeOutput.split(separator: "\n") {
                guard let equals = line.firstIndex(of: "=") else { continue }
                values[String(line[..<equals])] = String(line[line.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
            }
            id = values["id"] ?? ""
            like = values["like"] ?? ""
            version = values["version"] ?? ""
            canBeRoot = values["root"] == "yes"
            hasDocker = values["docker"] == "yes"
            hasApt = values["apt"] == "yes"
        }

        /// Debian, Ubuntu, or a distribution that says it is like one of them (and has apt).
        public var isDebianFamily: Bool {
            let names = [id] + like.split(separator: " ").map(String.init)
            return hasApt && names.contains { $0 == "debian" || $0 == "ubuntu" }
        }

        /// "debian 12", as `MachineConfig.GenericServer.system` keeps it.
        public var system: String { [id.isEmpty ? "unknown" : id, version].filter { !$0.isEmpty }.joined(separator: " ") }
    }
}
