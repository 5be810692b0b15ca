import Foundation
import X509

/// The names a machine's server certificate carries besides berth's own (the machine's IP and
/// name, localhost, 127.0.0.1): the values of `create --tls-san`, as Docker Machine took them.
/// A value that reads as an IP address becomes an IP entry, anything else a DNS entry.
public enum ServerCertificateNames {
    /// Checks one `--tls-san` value: an IPv4 or IPv6 address, or a DNS name (letters, digits and
    /// '-' in labels of at most 63 characters, an optional leading "*." for a wildcard).
    public static func validate(_ name: String) throws {
        if IPAddress(name) != nil { return }
        let label = "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
        let pattern = "^(\\*\\.)?\(label)(\\.\(label))*$"
        guard name.count <= 253, name.range(of: pattern, options: .regularExpression) != nil else {
            throw BerthError(.invalidArgument, "--tls-san takes an IP address or a DNS name (such as docker.example.com), not \"\(name)\"")
        }
    }

    /// `names` split into IP addresses and DNS names, in their order.
    static func split(_ names: [String]) -> (ipAddresses: [String], dnsNames: [String]) {
        (names.filter { IPAddress($0) != nil }, names.filter { IPAddress($0) == nil })
    }

    /// Whether `certificate` lists every one of `names` in its subjectAltName (DNS names compared
    /// without regard to case, as DNS compares them).
    static func certificate(_ certificate: Certificate, covers names: [String]) -> Bool {
        let (ips, dns) = split(names)
        let listedIPs = CertificateAuthority.ipAddresses(in: certificate)
        let listedNames = Set(CertificateAuthority.dnsNames(in: certificate).map { $0.lowercased() })
        return ips.allSatisfy { ip in IPAddress(ip).map(listedIPs.contains) ?? false }
            && dns.allSatisfy { listedNames.contains($0.lowercased()) }
    }
}
