import Foundation

/// The guest's sshd host key. berth makes it on the host and hands it to the guest through
/// cloud-init, so it knows the key before the guest ever answers and can refuse any other: each
/// machine has a known_hosts file that pins it under the alias `berth-NAME`, which stays valid
/// when the machine's address changes.
public struct SSHHostKey: Sendable, Equatable {
    /// The private key file inside the machine folder (0600).
    public static let fileName = "ssh_host_ed25519_key"
    /// The machine's known_hosts file.
    public static let knownHostsFileName = "known_hosts"

    public let privateKeyPEM: String
    /// `ssh-ed25519 AAAA… berth-NAME-host`.
    public let publicKey: String

    /// Makes a new ed25519 host key in `directory` and writes the known_hosts file that pins it.
    public static func generate(machineName: String, in directory: URL) throws -> SSHHostKey {
        let pair = try SSHKeyPair.generate(machineName: "\(machineName)-host", in: directory, fileName: fileName)
        let key = SSHHostKey(privateKeyPEM: try SecureFile.readText(pair.privateKeyPath), publicKey: pair.publicKey)
        try SecureFile.write(key.knownHostsLine(machineName: machineName), to: directory.appendingPathComponent(knownHostsFileName),
                             mode: SecureFile.publicMode)
        return key
    }

    /// The alias berth's ssh commands name the machine by (`HostKeyAlias`).
    public static func alias(for machineName: String) -> String { "berth-\(machineName)" }

    /// The known_hosts line: the alias, the key type and the key, without the comment.
    public func knownHostsLine(machineName: String) -> String {
        let fields = publicKey.split(separator: " ").prefix(2).joined(separator: " ")
        return "\(Self.alias(for: machineName)) \(fields)\n"
    }
}
