import Foundation
import Testing
import X509
@testable import MachineCore

@Suite("create --tls-san: extra names in the server certificate, kept through reissues")
struct ServerCertificateNamesTests {
    @Test("IP addresses and DNS names are accepted; anything else is refused in one line")
    func validation() throws {
        for good in ["10.0.0.5", "fd00::1", "docker.example.com", "*.example.com", "dev", "a-b.c"] {
            #expect(throws: Never.self, "\(good)") { try ServerCertificateNames.validate(good) }
        }
        for bad in ["", "-dev", "exa mple.com", "a..b", "dev_1", "http://x", String(repeating: "a", count: 64)] {
            let error = try #require(throws: BerthError.self, "\(bad)") { try ServerCertificateNames.validate(bad) }
            #expect(error.message.hasPrefix("--tls-san takes an IP address or a DNS name"))
        }
    }

    @Test("the names go in as IP or DNS entries beside berth's own")
    func issued() throws {
        let ca = try CertificateAuthority.create()
        let server = try ca.issueServerCertificate(machineName: "dev", ip: "192.168.124.2",
                                                   extraNames: ["10.0.0.5", "docker.example.com"])
        let ips = CertificateAuthority.ipAddresses(in: server.certificate).map(\.description)
        #expect(ips == ["192.168.124.2", "127.0.0.1", "10.0.0.5"])
        #expect(CertificateAuthority.dnsNames(in: server.certificate) == ["dev", "localhost", "docker.example.com"])
    }

    @Test("a certificate without a wanted name is reissued with it, then kept; a regenerated one keeps the names")
    func reissue() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = StoreCertificateFiles(directory: directory.url.appendingPathComponent("certs"))
        let machine = MachineCertificateFiles(directory: directory.url.appendingPathComponent("dev"))
        #expect(try machine.ensureServerCertificate(store: store, machineName: "dev", ip: "192.168.124.2"))
        #expect(try !machine.serverCertificateIsCurrent(store: store, ip: "192.168.124.2", extraNames: ["docker.example.com"]))
        #expect(try machine.ensureServerCertificate(store: store, machineName: "dev", ip: "192.168.124.2",
                                                    extraNames: ["docker.example.com", "10.0.0.5"]))
        #expect(try !machine.ensureServerCertificate(store: store, machineName: "dev", ip: "192.168.124.2",
                                                     extraNames: ["DOCKER.example.com", "10.0.0.5"]))
        // An address change reissues, and the extra names come along.
        #expect(try machine.ensureServerCertificate(store: store, machineName: "dev", ip: "192.168.124.9",
                                                    extraNames: ["docker.example.com", "10.0.0.5"]))
        let certificate = try Certificate(pemEncoded: try machine.serverPEM().certificate)
        #expect(CertificateAuthority.dnsNames(in: certificate).contains("docker.example.com"))
        #expect(CertificateAuthority.ipAddresses(in: certificate).map(\.description).contains("10.0.0.5"))
    }

    @Test("the names are an optional field: configs without them load, and none are written when there are none")
    func configCompatibility() throws {
        var config = StoreTests.sampleConfig("dev")
        let plain = String(decoding: try Store.encoder.encode(config), as: UTF8.self)
        #expect(!plain.contains("tlsSANs"))
        #expect(try Store.decoder.decode(MachineConfig.self, from: Data(plain.utf8)).tlsSANs == nil)
        config.tlsSANs = ["docker.example.com"]
        let with = try Store.encoder.encode(config)
        #expect(try Store.decoder.decode(MachineConfig.self, from: with).tlsSANs == ["docker.example.com"])
        #expect(config.version == 2)
    }
}
