import Foundation
import X509

/// The store's `certs/` folder: ca.pem, ca-key.pem, cert.pem (client), key.pem (client key).
public struct StoreCertificateFiles: Sendable, Equatable {
    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    /// The store's certs folder under a store root (`ROOT/certs`).
    public init(storeRoot: URL) {
        self.init(directory: storeRoot.appendingPathComponent("certs", isDirectory: true))
    }

    public var caCertificate: URL { directory.appendingPathComponent("ca.pem") }
    public var caPrivateKey: URL { directory.appendingPathComponent("ca-key.pem") }
    public var clientCertificate: URL { directory.appendingPathComponent("cert.pem") }
    public var clientPrivateKey: URL { directory.appendingPathComponent("key.pem") }

    /// Loads the CA from ca.pem and ca-key.pem.
    public func loadCA() throws -> CertificateAuthority {
        try CertificateAuthority.load(certificateAt: caCertificate, privateKeyAt: caPrivateKey)
    }

    /// The lock every berth process takes to make or replace the store's CA and client certificate,
    /// so two first creates at once cannot leave a key and a certificate that do not match.
    var lockFile: URL { directory.appendingPathComponent(".lock") }

    /// Makes sure the folder (0700), the CA and the client certificate exist, creating what is missing,
    /// and returns the CA. A client certificate that does not chain to the CA is issued again.
    @discardableResult
    public func ensure(now: Date = Date()) throws -> CertificateAuthority {
        try SecureFile.createDirectory(directory)
        return try StoreLock.withLock(at: lockFile, subject: "the store's certificate authority") {
            try ensureLocked(now: now)
        }
    }

    /// Replaces the CA and client certificate with new ones (`regenerate-certs --client-certs`).
    public func replaceAuthority(now: Date = Date()) throws {
        try SecureFile.createDirectory(directory)
        try StoreLock.withLock(at: lockFile, subject: "the store's certificate authority") {
            for file in [caCertificate, caPrivateKey, clientCertificate, clientPrivateKey] {
                try? FileManager.default.removeItem(at: file)
            }
            _ = try ensureLocked(now: now)
        }
    }

    private func ensureLocked(now: Date) throws -> CertificateAuthority {
        let fileManager = FileManager.default
        let ca: CertificateAuthority
        var createdCA = false
        if fileManager.fileExists(atPath: caCertificate.path) && fileManager.fileExists(atPath: caPrivateKey.path) {
            ca = try loadCA()
        } else {
            ca = try CertificateAuthority.create(now: now)
            try SecureFile.write(try ca.privateKeyPEM(), to: caPrivateKey, mode: SecureFile.privateMode)
            try SecureFile.write(try ca.certificatePEM(), to: caCertificate, mode: SecureFile.publicMode)
            createdCA = true
        }
        if createdCA || !clientCertificateIsValid(for: ca, at: now) {
            let client = try ca.issueClientCertificate(now: now)
            try SecureFile.write(try client.privateKeyPEM(), to: clientPrivateKey, mode: SecureFile.privateMode)
            try SecureFile.write(try client.certificatePEM(), to: clientCertificate, mode: SecureFile.publicMode)
        }
        return ca
    }

    func clientCertificateIsValid(for ca: CertificateAuthority, at date: Date = Date()) -> Bool {
        guard let pem = try? SecureFile.readText(clientCertificate),
              let keyPEM = try? SecureFile.readText(clientPrivateKey),
              let certificate = try? Certificate(pemEncoded: pem),
              let key = try? Certificate.PrivateKey(pemEncoded: keyPEM)
        else { return false }
        return key.publicKey == certificate.publicKey
            && certificate.issuer == ca.certificate.subject
            && ca.certificate.publicKey.isValidSignature(certificate.signature, for: certificate)
            && certificate.notValidBefore <= date && date < certificate.notValidAfter
    }
}

/// A machine folder's TLS files: copies of the store's ca.pem, cert.pem and key.pem (what
/// DOCKER_CERT_PATH points at) plus the machine's server.pem and server-key.pem.
public struct MachineCertificateFiles: Sendable, Equatable {
    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    public var caCertificate: URL { directory.appendingPathComponent("ca.pem") }
    public var clientCertificate: URL { directory.appendingPathComponent("cert.pem") }
    public var clientPrivateKey: URL { directory.appendingPathComponent("key.pem") }
    public var serverCertificate: URL { directory.appendingPathComponent("server.pem") }
    public var serverPrivateKey: URL { directory.appendingPathComponent("server-key.pem") }

    /// Copies the store's CA certificate and client pair into the machine folder (keys 0600, folder 0700).
    public func copyClientFiles(from store: StoreCertificateFiles) throws {
        try SecureFile.createDirectory(directory)
        try SecureFile.copy(store.caCertificate, to: caCertificate, mode: SecureFile.publicMode)
        try SecureFile.copy(store.clientCertificate, to: clientCertificate, mode: SecureFile.publicMode)
        try SecureFile.copy(store.clientPrivateKey, to: clientPrivateKey, mode: SecureFile.privateMode)
    }

    /// Writes server.pem and server-key.pem (0600).
    public func writeServer(_ server: IssuedCertificate) throws {
        try SecureFile.createDirectory(directory)
        try SecureFile.write(try server.privateKeyPEM(), to: serverPrivateKey, mode: SecureFile.privateMode)
        try SecureFile.write(try server.certificatePEM(), to: serverCertificate, mode: SecureFile.publicMode)
    }

    /// Reads server.pem and server-key.pem back as PEM text, e.g. for cloud-init's write_files.
    public func serverPEM() throws -> (certificate: String, privateKey: String) {
        (try SecureFile.readText(serverCertificate), try SecureFile.readText(serverPrivateKey))
    }

    /// Whether the server certificate in the machine folder is signed by the store's CA, in date,
    /// names `ip` and every one of `extraNames`, and matches its key (nothing is written; false
    /// when anything is missing).
    public func serverCertificateIsCurrent(store: StoreCertificateFiles, ip: String, extraNames: [String] = [],
                                           now: Date = Date()) throws -> Bool {
        guard let ca = try? store.loadCA(),
              FileManager.default.fileExists(atPath: serverCertificate.path),
              let status = try? ca.inspectServerCertificate(at: serverCertificate, ip: ip, at: now) else { return false }
        return status.isUsable && serverCertificateCovers(extraNames) && serverKeyMatchesCertificate()
    }

    /// Makes sure the machine folder has the client files and a server certificate that the CA signed,
    /// that is in date and that names `ip` and every one of `extraNames` (`--tls-san`); issues a new
    /// server certificate otherwise, with all of them. Returns true when it wrote a new server
    /// certificate (the guest then needs the new files).
    @discardableResult
    public func ensureServerCertificate(
        store: StoreCertificateFiles, machineName: String, ip: String, extraNames: [String] = [], now: Date = Date()
    ) throws -> Bool {
        let ca = try store.ensure(now: now)
        try copyClientFiles(from: store)
        if FileManager.default.fileExists(atPath: serverCertificate.path),
           FileManager.default.fileExists(atPath: serverPrivateKey.path),
           let status = try? ca.inspectServerCertificate(at: serverCertificate, ip: ip, at: now),
           status.isUsable,
           serverCertificateCovers(extraNames),
           serverKeyMatchesCertificate() {
            return false
        }
        try writeServer(try ca.issueServerCertificate(machineName: machineName, ip: ip, extraNames: extraNames, now: now))
        return true
    }

    /// Whether server.pem lists every one of `names` (true for none).
    private func serverCertificateCovers(_ names: [String]) -> Bool {
        guard !names.isEmpty else { return true }
        guard let pem = try? SecureFile.readText(serverCertificate), let certificate = try? Certificate(pemEncoded: pem) else {
            return false
        }
        return ServerCertificateNames.certificate(certificate, covers: names)
    }

    private func serverKeyMatchesCertificate() -> Bool {
        guard let (certificatePEM, keyPEM) = try? serverPEM(),
              let certificate = try? Certificate(pemEncoded: certificatePEM),
              let key = try? Certificate.PrivateKey(pemEncoded: keyPEM)
        else { return false }
        return key.publicKey == certificate.publicKey
    }
}
