import Crypto
import Foundation
import Testing
import X509
@testable import MachineCore

@Suite("TLS certificates")
struct CertificateTests {
    /// Verifies `leaf` against `root` with X509's Verifier and RFC 5280 rules at the current time.
    static func verify(_ leaf: Certificate, against root: Certificate) async -> Bool {
        var verifier = Verifier(rootCertificates: CertificateStore([root])) {
            RFC5280Policy()
        }
        let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore())
        if case .validCertificate = result { return true }
        return false
    }

    @Test("a new CA is a CA: basicConstraints CA:true, keyCertSign and cRLSign, about ten years")
    func caExtensions() throws {
        let now = Date()
        let ca = try CertificateAuthority.create(now: now)
        let certificate = ca.certificate
        #expect(certificate.issuer == certificate.subject)
        let basic = try #require(try certificate.extensions.basicConstraints)
        guard case .isCertificateAuthority = basic else {
            Issue.record("CA certificate has \(basic)")
            return
        }
        let usage = try #require(try certificate.extensions.keyUsage)
        #expect(usage.keyCertSign)
        #expect(usage.cRLSign)
        let years = certificate.notValidAfter.timeIntervalSince(now) / (365 * 24 * 3600)
        #expect(years > 9.9 && years < 10.1)
        #expect(certificate.publicKey.isValidSignature(certificate.signature, for: certificate))
    }

    @Test("server certificate: SANs, serverAuth, chains to the CA")
    func serverCertificate() async throws {
        let ca = try CertificateAuthority.create()
        let server = try ca.issueServerCertificate(machineName: "dev", ip: "192.168.122.10")
        let certificate = server.certificate

        #expect(CertificateAuthority.ipAddresses(in: certificate).map(\.description) == ["192.168.122.10", "127.0.0.1"])
        #expect(CertificateAuthority.dnsNames(in: certificate) == ["dev", "localhost"])
        let usage = try #require(try certificate.extensions.extendedKeyUsage)
        #expect(usage.contains(.serverAuth))
        #expect(!usage.contains(.clientAuth))
        let basic = try #require(try certificate.extensions.basicConstraints)
        #expect(basic == .notCertificateAuthority)
        #expect(server.privateKey.publicKey == certificate.publicKey)

        #expect(await Self.verify(certificate, against: ca.certificate))
    }

    @Test("client certificate: clientAuth, chains to the CA")
    func clientCertificate() async throws {
        let ca = try CertificateAuthority.create()
        let client = try ca.issueClientCertificate()
        let usage = try #require(try client.certificate.extensions.extendedKeyUsage)
        #expect(usage.contains(.clientAuth))
        #expect(!usage.contains(.serverAuth))
        #expect(await Self.verify(client.certificate, against: ca.certificate))
    }

    @Test("a certificate from another CA does not chain")
    func otherCA() async throws {
        let ca = try CertificateAuthority.create()
        let other = try CertificateAuthority.create()
        let foreign = try other.issueServerCertificate(machineName: "dev", ip: "192.168.122.10")
        #expect(await !Self.verify(foreign.certificate, against: ca.certificate))
        #expect(await Self.verify(foreign.certificate, against: other.certificate))

        let status = ca.inspectServerCertificate(foreign.certificate, ip: "192.168.122.10")
        #expect(status.coversIP)
        #expect(!status.chainsToCA)
        #expect(!status.isUsable)
    }

    @Test("an expired certificate fails verification and inspection")
    func expired() async throws {
        let old = Date(timeIntervalSinceNow: -3 * 365 * 24 * 3600)
        let ca = try CertificateAuthority.create(now: old)
        let server = try ca.issueServerCertificate(
            commonName: "dev", ipAddresses: ["192.168.122.10"], dnsNames: ["dev"],
            validity: 24 * 3600, now: old)
        #expect(await !Self.verify(server.certificate, against: ca.certificate))
        let status = ca.inspectServerCertificate(server.certificate, ip: "192.168.122.10")
        #expect(status.chainsToCA)
        #expect(!status.isInDate)
        #expect(!status.isUsable)
        #expect(ca.inspectServerCertificate(server.certificate, ip: "192.168.122.10", at: old).isUsable)
    }

    @Test("inspection notices an IP that changed")
    func ipMismatch() throws {
        let ca = try CertificateAuthority.create()
        let server = try ca.issueServerCertificate(machineName: "dev", ip: "192.168.122.10")
        let same = ca.inspectServerCertificate(server.certificate, ip: "192.168.122.10")
        #expect(same == ServerCertificateStatus(coversIP: true, chainsToCA: true, isInDate: true, isServerCertificate: true))
        #expect(same.isUsable)
        let moved = ca.inspectServerCertificate(server.certificate, ip: "192.168.122.11")
        #expect(!moved.coversIP)
        #expect(moved.chainsToCA)
        #expect(!moved.isUsable)
        #expect(!ca.inspectServerCertificate(server.certificate, ip: "not-an-ip").coversIP)
    }

    @Test("a client certificate is not accepted as a server certificate")
    func clientIsNotServer() throws {
        let ca = try CertificateAuthority.create()
        let client = try ca.issueClientCertificate()
        let status = ca.inspectServerCertificate(client.certificate, ip: "127.0.0.1")
        #expect(!status.isServerCertificate)
        #expect(!status.isUsable)
    }

    @Test("IPv6 SANs and invalid addresses")
    func ipv6() throws {
        let ca = try CertificateAuthority.create()
        let server = try ca.issueServerCertificate(commonName: "v6", ipAddresses: ["fd00::1"], dnsNames: [])
        #expect(CertificateAuthority.ipAddresses(in: server.certificate).first?.bytes.count == 16)
        #expect(ca.inspectServerCertificate(server.certificate, ip: "fd00:0:0::1").coversIP)
        #expect(throws: ProvisioningError.invalidIPAddress("dev")) {
            try ca.issueServerCertificate(commonName: "x", ipAddresses: ["dev"], dnsNames: [])
        }
    }

    @Test("PEM round trip; SEC1 EC keys load too; a mismatched key is refused")
    func pemRoundTrip() async throws {
        let ca = try CertificateAuthority.create()
        let keyPEM = try ca.privateKeyPEM()
        #expect(keyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        let loaded = try CertificateAuthority(certificatePEM: try ca.certificatePEM(), privateKeyPEM: keyPEM)
        #expect(loaded.certificate == ca.certificate)
        #expect(loaded.privateKey.publicKey == ca.privateKey.publicKey)

        // A SEC1 "EC PRIVATE KEY" signing key, as openssl writes it, issues certificates the same way.
        let p256 = P256.Signing.PrivateKey()
        // ECPrivateKey ::= SEQUENCE { version 1, privateKey OCTET STRING, [0] prime256v1, [1] publicKey BIT STRING }
        let sec1 = Data([0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20]) + p256.rawRepresentation
            + Data([0xA0, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07, 0xA1, 0x44, 0x03, 0x42, 0x00])
            + p256.publicKey.x963Representation
        let sec1PEM = "-----BEGIN EC PRIVATE KEY-----\n"
            + sec1.base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
            + "\n-----END EC PRIVATE KEY-----\n"
        let parsed = try Certificate.PrivateKey(pemEncoded: sec1PEM)
        #expect(parsed.publicKey == Certificate.PrivateKey(p256).publicKey)
        // A CA whose key is stored that way loads and signs certificates that verify.
        let name = try DistinguishedName { CommonName("sec1 CA") }
        let sec1Root = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: parsed.publicKey,
            notValidBefore: Date(timeIntervalSinceNow: -60), notValidAfter: Date(timeIntervalSinceNow: 3600),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: Certificate.PrivateKey(p256))
        let sec1CA = try CertificateAuthority(
            certificatePEM: try sec1Root.serializeAsPEM().pemString, privateKeyPEM: sec1PEM)
        let leaf = try sec1CA.issueServerCertificate(machineName: "dev", ip: "10.0.0.5")
        #expect(await Self.verify(leaf.certificate, against: sec1Root))
        #expect(sec1CA.inspectServerCertificate(leaf.certificate, ip: "10.0.0.5").isUsable)

        let other = try CertificateAuthority.create()
        #expect(throws: ProvisioningError.self) {
            try CertificateAuthority(certificatePEM: try ca.certificatePEM(), privateKeyPEM: try other.privateKeyPEM())
        }
    }

    @Test("store and machine file layout, modes and regeneration after an IP change")
    func fileLayout() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let store = StoreCertificateFiles(storeRoot: temporary.url)
        let ca = try store.ensure()
        for url in [store.caCertificate, store.caPrivateKey, store.clientCertificate, store.clientPrivateKey] {
            #expect(FileManager.default.fileExists(atPath: url.path), "\(url.lastPathComponent)")
        }
        #expect(try SecureFile.mode(of: store.directory) == 0o700)
        #expect(try SecureFile.mode(of: store.caPrivateKey) == 0o600)
        #expect(try SecureFile.mode(of: store.clientPrivateKey) == 0o600)

        // A second ensure keeps the CA.
        let again = try store.ensure()
        #expect(again.certificate == ca.certificate)

        let machine = MachineCertificateFiles(directory: temporary.url.appendingPathComponent("machines/dev"))
        #expect(try machine.ensureServerCertificate(store: store, machineName: "dev", ip: "192.168.122.10"))
        #expect(try SecureFile.mode(of: machine.directory) == 0o700)
        #expect(try SecureFile.mode(of: machine.serverPrivateKey) == 0o600)
        #expect(try SecureFile.mode(of: machine.clientPrivateKey) == 0o600)
        #expect(try Data(contentsOf: machine.caCertificate) == Data(contentsOf: store.caCertificate))
        #expect(try Data(contentsOf: machine.clientPrivateKey) == Data(contentsOf: store.clientPrivateKey))
        let first = try Data(contentsOf: machine.serverCertificate)

        // Same IP: kept. New IP: issued again, and the new one names the new IP.
        #expect(try !machine.ensureServerCertificate(store: store, machineName: "dev", ip: "192.168.122.10"))
        #expect(try Data(contentsOf: machine.serverCertificate) == first)
        #expect(try machine.ensureServerCertificate(store: store, machineName: "dev", ip: "192.168.122.77"))
        let status = try ca.inspectServerCertificate(at: machine.serverCertificate, ip: "192.168.122.77")
        #expect(status.isUsable)
        #expect(try SecureFile.mode(of: machine.serverPrivateKey) == 0o600)

        // No temporary files are left behind by the atomic writes.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: machine.directory.path).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty)
    }

    @Test("SecureFile replaces a file atomically with the mode asked for")
    func secureFileModes() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let url = temporary.url.appendingPathComponent("nested/dir/secret")
        try SecureFile.write("one", to: url, mode: 0o644)
        #expect(try SecureFile.mode(of: url) == 0o644)
        #expect(try SecureFile.mode(of: url.deletingLastPathComponent()) == 0o700)
        try SecureFile.write("two", to: url, mode: 0o600)
        #expect(try SecureFile.mode(of: url) == 0o600)
        #expect(try SecureFile.readText(url) == "two")
    }
}
