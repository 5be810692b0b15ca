import Foundation
import Testing
@testable import MachineCore

@Suite("SSH keys")
struct SSHKeyPairTests {
    @Test("generates an ed25519 pair with the machine's comment, private key 0600")
    func generate() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let directory = temporary.url.appendingPathComponent("machines/dev")
        let pair = try SSHKeyPair.generate(machineName: "dev", in: directory)
        #expect(pair.privateKeyPath.lastPathComponent == "id_ed25519")
        #expect(pair.publicKey.hasPrefix("ssh-ed25519 "))
        #expect(pair.publicKey.hasSuffix(" berth-dev"))
        #expect(try SecureFile.mode(of: pair.privateKeyPath) == 0o600)
        #expect(try SecureFile.mode(of: directory) == 0o700)
        #expect(try SecureFile.readText(pair.publicKeyPath).trimmingCharacters(in: .newlines) == pair.publicKey)
        #expect(try SecureFile.readText(pair.privateKeyPath).contains("BEGIN OPENSSH PRIVATE KEY"))
        #expect(try SSHKeyPair.load(privateKeyPath: pair.privateKeyPath) == pair)

        // Generating again replaces the pair instead of failing on the existing file.
        let second = try SSHKeyPair.generate(machineName: "dev", in: directory)
        #expect(second.publicKey != pair.publicKey)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".tmp") || $0.hasSuffix(".tmp.pub") }
        #expect(leftovers.isEmpty)
    }

    @Test("imports a user's key, with or without its .pub file")
    func importKey() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let user = try SSHKeyPair.generate(machineName: "user", in: temporary.url.appendingPathComponent("home"))
        // A key the user keeps with loose permissions is still copied as 0600.
        chmod(user.privateKeyPath.path, 0o644)

        let machine = temporary.url.appendingPathComponent("machines/dev")
        let imported = try SSHKeyPair.importKey(from: user.privateKeyPath, into: machine)
        #expect(imported.publicKey == user.publicKey)
        #expect(imported.privateKeyPath.deletingLastPathComponent().path == machine.path)
        #expect(try SecureFile.mode(of: imported.privateKeyPath) == 0o600)
        #expect(try Data(contentsOf: imported.privateKeyPath) == Data(contentsOf: user.privateKeyPath))

        try FileManager.default.removeItem(at: user.publicKeyPath)
        let derived = try SSHKeyPair.importKey(from: user.privateKeyPath, into: temporary.url.appendingPathComponent("machines/other"))
        #expect(derived.publicKey.hasPrefix(user.publicKey.split(separator: " ").prefix(2).joined(separator: " ")))
    }

    @Test("a missing key is reported")
    func missing() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        #expect(throws: ProvisioningError.self) {
            try SSHKeyPair.importKey(from: temporary.url.appendingPathComponent("nope"), into: temporary.url)
        }
    }
}
