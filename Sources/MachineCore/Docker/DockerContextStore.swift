import Crypto
import Foundation

/// A Docker context: a named endpoint the docker CLI can switch to with `docker context use` or
/// `--context`, with the TLS files it presents and trusts.
public struct DockerContext: Sendable, Equatable {
    public var name: String
    public var description: String
    /// e.g. `tcp://192.168.122.10:2376`.
    public var host: String
    public var caCertificate: Data
    public var clientCertificate: Data
    public var clientPrivateKey: Data

    public init(name: String, description: String, host: String, caCertificate: Data, clientCertificate: Data,
                clientPrivateKey: Data) {
        self.name = name
        self.description = description
        self.host = host
        self.caCertificate = caCertificate
        self.clientCertificate = clientCertificate
        self.clientPrivateKey = clientPrivateKey
    }

    /// The name berth gives a machine's context.
    public static func name(forMachine machine: String) -> String { "berth-\(machine)" }

    /// The context for a machine: its Docker URL, and the CA and client pair in its folder (what
    /// DOCKER_CERT_PATH points at in `berth env`).
    public static func forMachine(_ config: MachineConfig, store: Store) throws -> DockerContext {
        let files = MachineCertificateFiles(directory: try store.machineDirectory(config.name))
        do {
            return DockerContext(
                name: name(forMachine: config.name), description: "berth machine \(config.name)",
                host: DockerEnvironment.dockerHost(ip: config.network.ip, port: config.engine.port),
                caCertificate: try SecureFile.read(files.caCertificate),
                clientCertificate: try SecureFile.read(files.clientCertificate),
                clientPrivateKey: try SecureFile.read(files.clientPrivateKey))
        } catch {
            throw BerthError(.store, "machine \"\(config.name)\" is missing its TLS files in \(files.directory.path); run `berth regenerate-certs \(config.name)`",
                             cause: error)
        }
    }
}

/// The docker CLI's context store and its `currentContext` setting, in Docker's own formats:
/// `$DOCKER_CONFIG` (default `~/.docker`) holds config.json and `contexts/`, where each context
/// has `meta/<sha256 of its name>/meta.json` and its TLS files in `tls/<sha256>/docker/`.
public struct DockerContextStore: Sendable {
    public let configDirectory: URL

    public init(configDirectory: URL) { self.configDirectory = configDirectory }

    /// Where the docker CLI looks: `$DOCKER_CONFIG`, else `~/.docker`.
    public static func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) -> DockerContextStore {
        if let directory = environment["DOCKER_CONFIG"], !directory.isEmpty {
            return DockerContextStore(configDirectory: URL(fileURLWithPath: directory))
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? FileManager.default.homeDirectoryForCurrentUser.path
        return DockerContextStore(configDirectory: URL(fileURLWithPath: home).appendingPathComponent(".docker"))
    }

    public var configFile: URL { configDirectory.appendingPathComponent("config.json") }
    var contextsDirectory: URL { configDirectory.appendingPathComponent("contexts") }

    /// Docker names a context's folders by the SHA-256 of its name, so any name is a safe path.
    static func folderName(for context: String) -> String {
        SHA256.hash(data: Data(context.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    public func metadataDirectory(for context: String) -> URL {
        contextsDirectory.appendingPathComponent("meta").appendingPathComponent(Self.folderName(for: context))
    }

    public func tlsDirectory(for context: String) -> URL {
        contextsDirectory.appendingPathComponent("tls").appendingPathComponent(Self.folderName(for: context))
    }

    /// Writes (or replaces) a context. The TLS files come first and meta.json last, each atomically,
    /// so the docker CLI never lists a context whose files are not all there.
    public func write(_ context: DockerContext) throws {
        do {
            let tls = tlsDirectory(for: context.name).appendingPathComponent("docker")
            try SecureFile.createDirectory(tlsDirectory(for: context.name))
            try SecureFile.createDirectory(tls)
            try SecureFile.write(context.caCertificate, to: tls.appendingPathComponent("ca.pem"), mode: SecureFile.privateMode)
            try SecureFile.write(context.clientCertificate, to: tls.appendingPathComponent("cert.pem"), mode: SecureFile.privateMode)
            try SecureFile.write(context.clientPrivateKey, to: tls.appendingPathComponent("key.pem"), mode: SecureFile.privateMode)
            let metadata = metadataDirectory(for: context.name)
            try SecureFile.createDirectory(metadata)
            try SecureFile.write(try Self.metadataJSON(context), to: metadata.appendingPathComponent("meta.json"),
                                 mode: SecureFile.privateMode)
        } catch let error as BerthError {
            throw error
        } catch {
            throw BerthError(.store, "cannot write the Docker context \(context.name) under \(contextsDirectory.path); set DOCKER_CONFIG to a writable folder",
                             cause: error)
        }
    }

    /// meta.json as the docker CLI writes it: the name, a description, and the docker endpoint.
    static func metadataJSON(_ context: DockerContext) throws -> Data {
        struct Endpoint: Encodable {
            var Host: String
            var SkipTLSVerify: Bool
        }
        struct Metadata: Encodable {
            var Name: String
            var Metadata: [String: String]
            var Endpoints: [String: Endpoint]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(Metadata(
            Name: context.name, Metadata: ["Description": context.description],
            Endpoints: ["docker": Endpoint(Host: context.host, SkipTLSVerify: false)]))
    }

    /// Whether a context of that name is stored.
    public func contains(_ context: String) -> Bool {
        FileManager.default.fileExists(atPath: metadataDirectory(for: context).appendingPathComponent("meta.json").path)
    }

    /// Removes a context's metadata (first, so it stops being listed) and TLS files. If it was the
    /// current context, Docker goes back to its default one, as it would otherwise fail on every command.
    public func remove(_ context: String) throws {
        if try currentContext() == context { try setCurrentContext(nil) }
        for directory in [metadataDirectory(for: context), tlsDirectory(for: context)]
        where FileManager.default.fileExists(atPath: directory.path) {
            do {
                try FileManager.default.removeItem(at: directory)
            } catch {
                throw BerthError(.store, "cannot remove the Docker context \(context) at \(directory.path)", cause: error)
            }
        }
    }

    // MARK: - config.json

    /// The context `docker` uses when neither --context nor DOCKER_CONTEXT/DOCKER_HOST says otherwise.
    public func currentContext() throws -> String? {
        guard case .string(let name)? = try readConfig()["currentContext"], !name.isEmpty else { return nil }
        return name
    }

    /// Sets (or, with nil, removes) `currentContext` in config.json, leaving every other setting as
    /// it was. The file is replaced atomically and keeps its permissions (0600 when new), and a
    /// config.json that is a symbolic link has its target replaced, as the docker CLI does.
    public func setCurrentContext(_ context: String?) throws {
        var config = try readConfig()
        if let context { config["currentContext"] = .string(context) } else { config["currentContext"] = nil }
        let target = configFile.resolvingSymlinksInPath()
        let mode = (try? SecureFile.mode(of: target)) ?? SecureFile.privateMode
        do {
            if !FileManager.default.fileExists(atPath: configDirectory.path) { try SecureFile.createDirectory(configDirectory) }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try SecureFile.write(try encoder.encode(config), to: target, mode: mode)
        } catch {
            throw BerthError(.store, "cannot update \(configFile.path); check that it is writable", cause: error)
        }
    }

    private func readConfig() throws -> [String: JSONValue] {
        guard let data = FileManager.default.contents(atPath: configFile.path), !data.isEmpty else { return [:] }
        do {
            return try JSONDecoder().decode([String: JSONValue].self, from: data)
        } catch {
            throw BerthError(.store, "\(configFile.path) is not a JSON object; fix it before berth changes Docker's current context",
                             cause: error)
        }
    }
}

/// Any JSON value, so config.json's settings that berth does not know pass through unchanged.
enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}
