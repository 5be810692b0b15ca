import Foundation

/// berth's storage folder: `certs/` (the CA and client certificate shared by all machines),
/// `machines/NAME/` (config.json, keys, certificates, console log) and `images/` (the image cache).
///
/// Found, in order, at `--storage-path`, `$BERTH_STORAGE_PATH`, `$MACHINE_STORAGE_PATH` (Docker
/// Machine's name for it), `$XDG_DATA_HOME/berth`, `~/.local/share/berth`.
public struct Store: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    public static func resolve(explicit: String? = nil,
                               environment: [String: String] = ProcessInfo.processInfo.environment) -> Store {
        if let explicit, !explicit.isEmpty { return Store(root: URL(fileURLWithPath: explicit)) }
        for variable in ["BERTH_STORAGE_PATH", "MACHINE_STORAGE_PATH"] {
            if let path = environment[variable], !path.isEmpty { return Store(root: URL(fileURLWithPath: path)) }
        }
        if let data = environment["XDG_DATA_HOME"], !data.isEmpty {
            return Store(root: URL(fileURLWithPath: data).appendingPathComponent("berth"))
        }
        let home = environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path
        return Store(root: URL(fileURLWithPath: home).appendingPathComponent(".local/share/berth"))
    }

    public var certsDirectory: URL { root.appendingPathComponent("certs") }
    public var machinesDirectory: URL { root.appendingPathComponent("machines") }
    public var imagesDirectory: URL { root.appendingPathComponent("images") }
    var locksDirectory: URL { root.appendingPathComponent("locks") }

    public func machineDirectory(_ name: String) -> URL { machinesDirectory.appendingPathComponent(name) }
    func configFile(_ name: String) -> URL { machineDirectory(name).appendingPathComponent("config.json") }
    public func consoleLog(_ name: String) -> URL { machineDirectory(name).appendingPathComponent("console.log") }

    /// Creates the folders, each readable by its owner only.
    public func prepare() throws {
        for directory in [root, certsDirectory, machinesDirectory, imagesDirectory, locksDirectory] {
            do {
                try SecureFile.createDirectory(directory)
            } catch {
                throw BerthError(.store, "cannot create berth's storage folder \(directory.path); set BERTH_STORAGE_PATH to a writable folder",
                                 cause: error)
            }
        }
    }

    public func exists(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: configFile(name).path)
    }

    public func load(_ name: String) throws -> MachineConfig {
        let file = configFile(name)
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw BerthError(.machineNotFound, "machine \"\(name)\" does not exist; run `berth ls` to see machines or `berth create \(name)` to make it")
        }
        do {
            let config = try Self.decoder.decode(MachineConfig.self, from: data)
            guard config.version <= MachineConfig.currentVersion else {
                throw BerthError(.store, "machine \"\(name)\" was saved by a newer berth (config version \(config.version)); upgrade berth")
            }
            return config
        } catch let error as BerthError {
            throw error
        } catch {
            throw BerthError(.store, "machine \"\(name)\" has an unreadable config.json at \(file.path); fix or remove it with `berth rm -f \(name)`",
                             cause: error)
        }
    }

    public func save(_ config: MachineConfig) throws {
        try SecureFile.createDirectory(machineDirectory(config.name))
        try SecureFile.write(try Self.encoder.encode(config), to: configFile(config.name), mode: SecureFile.privateMode)
    }

    /// Names of every machine with a config, sorted.
    public func machineNames() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: machinesDirectory.path)) ?? []
        return names.filter { exists($0) }.sorted()
    }

    /// Removes a machine's folder and everything in it.
    public func remove(_ name: String) throws {
        let directory = machineDirectory(name)
        if FileManager.default.fileExists(atPath: directory.path) {
            try FileManager.default.removeItem(at: directory)
        }
    }

    /// Takes the machine's lock (see `StoreLock`).
    public func lock(_ name: String, timeout: Duration = .seconds(30)) async throws -> StoreLock {
        try SecureFile.createDirectory(locksDirectory)
        return try await StoreLock.acquire(at: locksDirectory.appendingPathComponent("\(name).lock"),
                                           subject: "machine \"\(name)\"", timeout: timeout)
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}

/// Machine names: what Docker Machine accepted, so they work as host names and libvirt names.
public enum MachineName {
    public static func validate(_ name: String) throws {
        let allowed = name.range(of: "^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$", options: .regularExpression) != nil
        guard allowed, !name.hasSuffix("-"), !name.hasSuffix(".") else {
            throw BerthError(.invalidArgument, "invalid machine name \"\(name)\": use letters, digits, '.' and '-', starting with a letter or digit, at most 63 characters")
        }
    }
}
