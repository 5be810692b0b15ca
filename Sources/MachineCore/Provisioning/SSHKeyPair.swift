import Foundation

/// A machine's SSH key: the private key in the machine folder (0600) and its public half.
public struct SSHKeyPair: Sendable, Equatable {
    /// The private key file, e.g. `machines/NAME/id_ed25519`.
    public let privateKeyPath: URL
    /// The public key file next to it (`….pub`).
    public var publicKeyPath: URL { URL(fileURLWithPath: privateKeyPath.path + ".pub") }
    /// The public key line in OpenSSH format, e.g. `ssh-ed25519 AAAA… berth-NAME`, without a newline.
    public let publicKey: String

    public init(privateKeyPath: URL, publicKey: String) {
        self.privateKeyPath = privateKeyPath
        self.publicKey = publicKey
    }

    /// Creates a new ed25519 key pair `directory/id_ed25519` (0600) and `id_ed25519.pub` with
    /// `ssh-keygen -q -t ed25519 -N '' -C berth-NAME`. An existing pair there is replaced atomically.
    public static func generate(
        machineName: String,
        in directory: URL,
        fileName: String = "id_ed25519",
        sshKeygen: String = "/usr/bin/ssh-keygen"
    ) throws -> SSHKeyPair {
        try SecureFile.createDirectory(directory)
        let destination = directory.appendingPathComponent(fileName)
        let temporary = directory.appendingPathComponent(".\(fileName).\(UUID().uuidString).tmp")
        let temporaryPublic = URL(fileURLWithPath: temporary.path + ".pub")
        defer {
            try? FileManager.default.removeItem(at: temporary)
            try? FileManager.default.removeItem(at: temporaryPublic)
        }
        try runSSHKeygen(
            sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-C", "berth-\(machineName)", "-f", temporary.path])
        let publicKey = try readPublicKey(temporaryPublic)
        guard chmod(temporary.path, SecureFile.privateMode) == 0,
              rename(temporaryPublic.path, destination.path + ".pub") == 0,
              rename(temporary.path, destination.path) == 0
        else {
            throw ProvisioningError.fileAccess(path: destination.path, reason: String(cString: strerror(errno)))
        }
        return SSHKeyPair(privateKeyPath: destination, publicKey: publicKey)
    }

    /// Uses the user's existing key at `source`: copies the private key into `directory` (0600) under
    /// a name that says its type (`id_ed25519`, `id_rsa`, `id_ecdsa`, …), never the user's own file
    /// name, which could clash with berth's files (a key called `key.pem` would be overwritten by the
    /// client key), and its public half next to it. The public half comes from `source.pub`, or from
    /// `ssh-keygen -y` when there is no .pub file (which works for keys without a passphrase).
    public static func importKey(
        from source: URL,
        into directory: URL,
        sshKeygen: String = "/usr/bin/ssh-keygen"
    ) throws -> SSHKeyPair {
        guard FileManager.default.fileExists(atPath: source.path) else {
            throw ProvisioningError.sshKey(path: source.path, reason: "no such file")
        }
        try SecureFile.createDirectory(directory)
        let temporary = directory.appendingPathComponent(".imported-key.\(UUID().uuidString).tmp")
        defer { try? FileManager.default.removeItem(at: temporary) }
        try SecureFile.copy(source, to: temporary, mode: SecureFile.privateMode)
        let sourcePublic = URL(fileURLWithPath: source.path + ".pub")
        let publicKey: String
        if FileManager.default.fileExists(atPath: sourcePublic.path) {
            publicKey = try readPublicKey(sourcePublic)
        } else {
            // ssh-keygen refuses keys readable by others: derive from the 0600 copy.
            let output = try runSSHKeygen(sshKeygen, ["-y", "-P", "", "-f", temporary.path])
            publicKey = output.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard let fileName = privateKeyFileName(forPublicKey: publicKey) else {
            throw ProvisioningError.sshKey(path: sourcePublic.path, reason: "not an OpenSSH public key")
        }
        let destination = directory.appendingPathComponent(fileName)
        try SecureFile.write(publicKey + "\n", to: URL(fileURLWithPath: destination.path + ".pub"), mode: SecureFile.publicMode)
        guard rename(temporary.path, destination.path) == 0 else {
            throw ProvisioningError.fileAccess(path: destination.path, reason: String(cString: strerror(errno)))
        }
        return SSHKeyPair(privateKeyPath: destination, publicKey: publicKey)
    }

    /// The conventional private key file name for a public key line's type.
    static func privateKeyFileName(forPublicKey line: String) -> String? {
        let type = line.split(separator: " ").first.map(String.init) ?? ""
        switch type {
        case "ssh-ed25519": return "id_ed25519"
        case "ssh-rsa": return "id_rsa"
        case "ssh-dss": return "id_dsa"
        case let ecdsa where ecdsa.hasPrefix("ecdsa-"): return "id_ecdsa"
        case "sk-ssh-ed25519@openssh.com": return "id_ed25519_sk"
        case let sk where sk.hasPrefix("sk-ecdsa-"): return "id_ecdsa_sk"
        default: return nil
        }
    }

    /// Loads a pair that already lives in a machine folder.
    public static func load(privateKeyPath: URL) throws -> SSHKeyPair {
        SSHKeyPair(
            privateKeyPath: privateKeyPath,
            publicKey: try readPublicKey(URL(fileURLWithPath: privateKeyPath.path + ".pub")))
    }

    private static func readPublicKey(_ url: URL) throws -> String {
        let text = try SecureFile.readText(url).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty, !text.contains("\n") else {
            throw ProvisioningError.sshKey(path: url.path, reason: "expected one public key line")
        }
        return text
    }

    @discardableResult
    private static func runSSHKeygen(_ program: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do {
            try process.run()
        } catch {
            throw ProvisioningError.sshKeygen(status: -1, output: "cannot run \(program): \(error.localizedDescription)")
        }
        // Read both pipes before waiting so a chatty ssh-keygen cannot block on a full pipe.
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let message = String(decoding: errorData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw ProvisioningError.sshKeygen(status: process.terminationStatus, output: message)
        }
        return String(decoding: outputData, as: UTF8.self)
    }
}
