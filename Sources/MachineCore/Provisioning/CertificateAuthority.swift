import Crypto
import Foundation
import SwiftASN1
import X509

/// A certificate with its private key, both as parsed values and as PEM text ready to write.
public struct IssuedCertificate: Sendable {
    public let certificate: Certificate
    public let privateKey: Certificate.PrivateKey

    public init(certificate: Certificate, privateKey: Certificate.PrivateKey) {
        self.certificate = certificate
        self.privateKey = privateKey
    }

    /// The certificate as a "CERTIFICATE" PEM block.
    public func certificatePEM() throws -> String {
        do {
            return try certificate.serializeAsPEM().pemString + "\n"
        } catch {
            throw ProvisioningError.certificateCreation(reason: "cannot encode the certificate: \(error)")
        }
    }

    /// The private key as PEM: PKCS#8 "PRIVATE KEY" for keys berth makes, which Docker (Go's crypto/tls) reads.
    public func privateKeyPEM() throws -> String {
        do {
            return try privateKey.serializeAsPEM().pemString + "\n"
        } catch {
            throw ProvisioningError.certificateCreation(reason: "cannot encode the private key: \(error)")
        }
    }
}

/// berth's certificate authority, Docker Machine style: one CA per store signs the client
/// certificate that the docker CLI presents and each machine's server certificate.
public struct CertificateAuthority: Sendable {
    /// The CA's self-signed certificate.
    public let certificate: Certificate
    /// The CA's signing key.
    public let privateKey: Certificate.PrivateKey

    /// How long a new CA is valid: ten years.
    public static let defaultCAValidity: TimeInterval = 10 * 365 * 24 * 3600
    /// How long client and server certificates are valid: 1080 days, as Docker Machine does.
    public static let defaultLeafValidity: TimeInterval = 1080 * 24 * 3600
    /// New certificates start this long in the past, to tolerate a guest clock slightly behind the host's.
    public static let backdating: TimeInterval = 3600

    public init(certificate: Certificate, privateKey: Certificate.PrivateKey) {
        self.certificate = certificate
        self.privateKey = privateKey
    }

    /// Creates a new CA with an ECDSA P-256 key: basicConstraints CA:true, keyUsage keyCertSign and cRLSign.
    public static func create(
        commonName: String = "berth CA",
        organization: String = "berth",
        validity: TimeInterval = defaultCAValidity,
        now: Date = Date()
    ) throws -> CertificateAuthority {
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        do {
            let name = try DistinguishedName {
                OrganizationName(organization)
                CommonName(commonName)
            }
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: key.publicKey)
            }
            let certificate = try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(),
                publicKey: key.publicKey,
                notValidBefore: now.addingTimeInterval(-backdating),
                notValidAfter: now.addingTimeInterval(validity),
                issuer: name,
                subject: name,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: extensions,
                issuerPrivateKey: key)
            return CertificateAuthority(certificate: certificate, privateKey: key)
        } catch let error as ProvisioningError {
            throw error
        } catch {
            throw ProvisioningError.certificateCreation(reason: "\(error)")
        }
    }

    /// Loads a CA from PEM text. The key may be SEC1 "EC PRIVATE KEY", PKCS#8 "PRIVATE KEY" or
    /// PKCS#1 "RSA PRIVATE KEY" (Docker Machine's own stores use RSA), and must match the certificate.
    public init(certificatePEM: String, privateKeyPEM: String, source: String = "CA") throws {
        let certificate: Certificate
        let key: Certificate.PrivateKey
        do {
            certificate = try Certificate(pemEncoded: certificatePEM)
        } catch {
            throw ProvisioningError.invalidPEM(path: source, reason: "certificate: \(error)")
        }
        do {
            key = try Certificate.PrivateKey(pemEncoded: privateKeyPEM)
        } catch {
            throw ProvisioningError.invalidPEM(path: source, reason: "private key: \(error)")
        }
        guard key.publicKey == certificate.publicKey else {
            throw ProvisioningError.invalidPEM(path: source, reason: "the private key does not belong to the CA certificate")
        }
        self.init(certificate: certificate, privateKey: key)
    }

    /// Loads a CA from its certificate and key files (the store's certs/ca.pem and certs/ca-key.pem).
    public static func load(certificateAt certificateURL: URL, privateKeyAt keyURL: URL) throws -> CertificateAuthority {
        try CertificateAuthority(
            certificatePEM: try SecureFile.readText(certificateURL),
            privateKeyPEM: try SecureFile.readText(keyURL),
            source: certificateURL.path)
    }

    /// The CA certificate as PEM.
    public func certificatePEM() throws -> String {
        try IssuedCertificate(certificate: certificate, privateKey: privateKey).certificatePEM()
    }

    /// The CA key as PEM.
    public func privateKeyPEM() throws -> String {
        try IssuedCertificate(certificate: certificate, privateKey: privateKey).privateKeyPEM()
    }

    /// Issues the client certificate the docker CLI presents (extendedKeyUsage clientAuth).
    public func issueClientCertificate(
        commonName: String = "berth client",
        organization: String = "berth",
        validity: TimeInterval = defaultLeafValidity,
        now: Date = Date()
    ) throws -> IssuedCertificate {
        try issue(
            commonName: commonName, organization: organization, usage: .clientAuth,
            alternativeNames: [], validity: validity, now: now)
    }

    /// Issues a machine's server certificate (extendedKeyUsage serverAuth) whose subjectAltName lists
    /// `ipAddresses` as IP entries and `dnsNames` as DNS entries. berth passes the machine's IP,
    /// its name, "localhost" and "127.0.0.1".
    public func issueServerCertificate(
        commonName: String,
        ipAddresses: [String],
        dnsNames: [String],
        organization: String = "berth",
        validity: TimeInterval = defaultLeafValidity,
        now: Date = Date()
    ) throws -> IssuedCertificate {
        var names: [GeneralName] = []
        var seen = Set<GeneralName>()
        for text in ipAddresses {
            guard let address = IPAddress(text) else { throw ProvisioningError.invalidIPAddress(text) }
            let name = GeneralName.ipAddress(ASN1OctetString(contentBytes: address.bytes[...]))
            if seen.insert(name).inserted { names.append(name) }
        }
        for dns in dnsNames where !dns.isEmpty {
            let name = GeneralName.dnsName(dns)
            if seen.insert(name).inserted { names.append(name) }
        }
        return try issue(
            commonName: commonName, organization: organization, usage: .serverAuth,
            alternativeNames: names, validity: validity, now: now)
    }

    /// Issues a server certificate for a machine with berth's usual names:
    /// IPs `ip` and 127.0.0.1, DNS names `machineName` and localhost, then `extraNames`
    /// (`--tls-san`: each an IP address or a DNS name).
    public func issueServerCertificate(
        machineName: String, ip: String, extraNames: [String] = [], now: Date = Date()
    ) throws -> IssuedCertificate {
        let extra = ServerCertificateNames.split(extraNames)
        return try issueServerCertificate(
            commonName: machineName,
            ipAddresses: [ip, "127.0.0.1"] + extra.ipAddresses,
            dnsNames: [machineName, "localhost"] + extra.dnsNames,
            organization: "berth.\(machineName)",
            now: now)
    }

    private func issue(
        commonName: String,
        organization: String,
        usage: ExtendedKeyUsage.Usage,
        alternativeNames: [GeneralName],
        validity: TimeInterval,
        now: Date
    ) throws -> IssuedCertificate {
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        do {
            let subject = try DistinguishedName {
                OrganizationName(organization)
                CommonName(commonName)
            }
            let caKeyIdentifier = try certificate.extensions.subjectKeyIdentifier?.keyIdentifier
                ?? SubjectKeyIdentifier(hash: certificate.publicKey).keyIdentifier
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([usage])
                SubjectKeyIdentifier(hash: key.publicKey)
                AuthorityKeyIdentifier(keyIdentifier: caKeyIdentifier)
                if !alternativeNames.isEmpty {
                    SubjectAlternativeNames(alternativeNames)
                }
            }
            let signed = try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(),
                publicKey: key.publicKey,
                notValidBefore: now.addingTimeInterval(-Self.backdating),
                notValidAfter: now.addingTimeInterval(validity),
                issuer: certificate.subject,
                subject: subject,
                extensions: extensions,
                issuerPrivateKey: privateKey)
            return IssuedCertificate(certificate: signed, privateKey: key)
        } catch let error as ProvisioningError {
            throw error
        } catch {
            throw ProvisioningError.certificateCreation(reason: "\(error)")
        }
    }
}
