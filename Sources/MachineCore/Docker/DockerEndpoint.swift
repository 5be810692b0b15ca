import Download
import Foundation

/// The guest's Docker Engine API over mutual TLS, with the machine's client certificate, through libcurl.
public struct DockerEndpoint: Sendable {
    public let ip: String
    public let port: Int
    let certificates: MachineCertificateFiles

    public init(config: MachineConfig, store: Store) throws {
        (self.ip, self.port) = config.dockerAddress
        self.certificates = MachineCertificateFiles(directory: try store.machineDirectory(config.name))
    }

    func downloader(timeout: Duration) -> Downloader {
        Downloader(configuration: .init(
            connectTimeout: timeout, stallTimeout: timeout,
            caBundlePath: certificates.caCertificate.path,
            clientCertificatePath: certificates.clientCertificate.path,
            clientKeyPath: certificates.clientPrivateKey.path,
            noProxy: "*"))
    }

    var baseURL: String { "https://\(ip):\(port)" }

    /// True when Docker answers `/_ping` with OK over verified mutual TLS.
    public func ping(timeout: Duration = .seconds(3)) async -> Bool {
        guard await TCPProbe.isOpen(host: ip, port: port, timeout: timeout),
              let url = URL(string: "\(baseURL)/_ping"),
              let text = try? await downloader(timeout: timeout).fetchText(url) else { return false }
        return text.trimmingCharacters(in: .whitespacesAndNewlines) == "OK"
    }

    /// Docker Engine's version (`/version`'s "Version"), or nil when it does not answer in time.
    public func engineVersion(timeout: Duration = .seconds(5)) async -> String? {
        guard await TCPProbe.isOpen(host: ip, port: port, timeout: timeout),
              let url = URL(string: "\(baseURL)/version"),
              let data = try? await downloader(timeout: timeout).fetch(url),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return object["Version"] as? String
    }
}
