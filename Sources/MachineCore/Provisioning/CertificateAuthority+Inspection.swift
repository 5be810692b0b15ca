import Foundation
import X509

/// What berth learns from a machine's server certificate before trusting it again.
public struct ServerCertificateStatus: Sendable, Equatable {
    /// The subjectAltName lists the IP address asked about.
    public var coversIP: Bool
    /// The certificate was issued by this CA (issuer name matches and the CA's key verifies the signature).
    public var chainsToCA: Bool
    /// Both the certificate and the CA are within their validity period.
    public var isInDate: Bool
    /// The certificate carries extendedKeyUsage serverAuth.
    public var isServerCertificate: Bool

    public init(coversIP: Bool, chainsToCA: Bool, isInDate: Bool, isServerCertificate: Bool) {
        self.coversIP = coversIP
        self.chainsToCA = chainsToCA
        self.isInDate = isInDate
        self.isServerCertificate = isServerCertificate
    }

    /// True when the certificate can be kept; otherwise berth issues a new one.
    public var isUsable: Bool { coversIP && chainsToCA && isInDate && isServerCertificate }
}

extension CertificateAuthority {
    /// Checks a server certificate against this CA and an IP: SANs, issuer and signature, dates, usage.
    public func inspectServerCertificate(_ server: Certificate, ip: String, at date: Date = Date()) -> ServerCertificateStatus {
        let wanted = IPAddress(ip)
        let addresses = Self.ipAddresses(in: server)
        let coversIP = wanted.map { addresses.contains($0) } ?? false

        let chains = server.issuer == certificate.subject
            && certificate.publicKey.isValidSignature(server.signature, for: server)

        let inDate = Self.isInDate(server, at: date) && Self.isInDate(certificate, at: date)

        let usages = (try? server.extensions.extendedKeyUsage).flatMap { $0 }.map { Array($0) } ?? []
        let isServer = usages.contains(.serverAuth)

        return ServerCertificateStatus(coversIP: coversIP, chainsToCA: chains, isInDate: inDate, isServerCertificate: isServer)
    }

    /// Reads a PEM server certificate (a machine's server.pem) and checks it; see `inspectServerCertificate(_:ip:at:)`.
    public func inspectServerCertificate(at url: URL, ip: String, at date: Date = Date()) throws -> ServerCertificateStatus {
        let pem = try SecureFile.readText(url)
        let server: Certificate
        do {
            server = try Certificate(pemEncoded: pem)
        } catch {
            throw ProvisioningError.invalidPEM(path: url.path, reason: "\(error)")
        }
        return inspectServerCertificate(server, ip: ip, at: date)
    }

    /// The IP addresses in a certificate's subjectAltName.
    public static func ipAddresses(in certificate: Certificate) -> [IPAddress] {
        guard let names = try? certificate.extensions.subjectAlternativeNames else { return [] }
        return names.compactMap { name in
            if case .ipAddress(let octets) = name { return IPAddress(bytes: Array(octets.bytes)) }
            return nil
        }
    }

    /// The DNS names in a certificate's subjectAltName.
    public static func dnsNames(in certificate: Certificate) -> [String] {
        guard let names = try? certificate.extensions.subjectAlternativeNames else { return [] }
        return names.compactMap { name in
            if case .dnsName(let dns) = name { return dns }
            return nil
        }
    }

    private static func isInDate(_ certificate: Certificate, at date: Date) -> Bool {
        certificate.notValidBefore <= date && date < certificate.notValidAfter
    }
}
