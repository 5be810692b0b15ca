import Foundation

/// berth's storage folder: `certs/` (the CA and client certificate shared by all machines),
/// `machines/NAME/` (config.json, keys, certificates, console log), `images/` (the image cache) and
/// `logs/` (console logs of failed creates).
///
/// Found, in order, at `--storage-path`, `$BERTH_STORAGE_PATH`, `$MACHINE_STORAGE_PATH` (Docker
/// Machine's name for it), `$XDG_DATA_HOME/berth`, `~/.local/share/berth`.
///
/// The store is the one place where machine names become paths: every such path is made by
/// `machineDirectory(_:)`, which refuses names that are not valid machine names, and nothing is
/// ever removed outside `machines/`.
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
    /// Facts worth keeping between commands, such as the KVM probe's answer.
    var cacheDirectory: URL { root.appendingPathComponent("cache") }

    /// The folder of machine `name`; throws for anything that is not a valid machine name, so no
    /// name can reach outside `machines/`.
    public func machineDirectory(_ name: String) throws -> URL {
        try MachineName.validate(name)
        return machinesDirectory.appendingPathComponent(name, isDirectory: true)
    }

    func configFile(_ name: String) throws -> URL { try machineDirectory(name).appendingPathComponent("config.json") }
    public func consoleLog(_ name: String) throws -> URL { try machineDirectory(name).appendingPathComponent("console.log") }

    /// Console logs of creates that failed, kept after their machine folder is gone: the log says
    /// why the guest never answered.
    var failedCreateLogsDirectory: URL { root.appendingPathComponent("logs") }

    /// Where the console log of a failed create of `name` is kept (until the next create of that name).
    public func failedCreateConsoleLog(_ name: String) throws -> URL {
        try MachineName.validate(name)
        return failedCreateLogsDirectory.appendingPathComponent("\(name)-console.log")
    }

    /// Moves the machine's console log out of its folder, which a failed create is about to remove.
    /// Best effort: the log only helps to explain the failure.
    func keepConsoleLogOfFailedCreate(_ name: String) {
        guard let log = try? consoleLog(name), let kept = try? failedCreateConsoleLog(name),
              FileManager.default.fileExists(atPath: log.path),
              (try? SecureFile.createDirectory(failedCreateLogsDirectory)) != nil else { return }
        try? FileManager.default.removeItem(at: kept)
        try? FileManager.default.moveItem(at: log, to: kept)
    }

    /// Drops the kept console log of an earlier failed create of `name`.
    func forgetFailedCreateLog(_ name: String) {
        guard let kept = try? failedCreateConsoleLog(name) else { return }
        try? FileManager.default.removeItem(at: kept)
    }

    /// Creates the folders, each readable by its owner only.
    public func prepare() throws {
        for directory in [root, certsDirectory, machinesDirectory, imagesDirectory, locksDirectory] {
            do {
                try SecureFile.createDirectory(directory)
            } catch {
                throw BerthError(.store, "cannot create berth's storage folder \(directory.path): \(StoreWriteFailure.reason(error)); set BERTH_STORAGE_PATH to a writable folder",
                                 cause: error)
            }
        }
    }

    /// Whether a machine of this name is recorded (complete or not). False for invalid names.
    public func exists(_ name: String) -> Bool {
        guard let directory = try? machineDirectory(name) else { return false }
        return FileManager.default.fileExists(atPath: directory.path)
    }

    public func load(_ name: String) throws -> MachineConfig {
        let file = try configFile(name)
        guard let data = FileManager.default.contents(atPath: file.path) else {
            if exists(name) {
                throw BerthError(.store, "machine \"\(name)\" has no config.json in \(try machineDirectory(name).path) (its create was interrupted); remove it with `berth rm -f \(name)`")
            }
            throw BerthError(.machineNotFound, "\(DockerMachineWording.doesNotExist(name)); run `berth ls` to see machines or `berth create \(name)` to make it")
        }
        do {
            var config = try Self.decoder.decode(MachineConfig.self, from: data)
            guard config.version <= MachineConfig.currentVersion else {
                throw BerthError(.store, "machine \"\(name)\" was saved by a newer berth (config version \(config.version)); upgrade berth")
            }
            guard config.name == name else {
                throw BerthError(.store, "machine \"\(name)\" has a config.json at \(file.path) that names another machine (\"\(config.name)\"); remove it with `berth rm -f \(name)`")
            }
            config.migrate()
            return config
        } catch let error as BerthError {
            throw error
        } catch {
            throw BerthError(.store, "machine \"\(name)\" has an unreadable config.json at \(file.path); remove it with `berth rm -f \(name)`",
                             cause: error)
        }
    }

    /// Saves a machine's config atomically (its folder is made first when missing).
    public func save(_ config: MachineConfig) throws {
        let file = try configFile(config.name)
        do {
            try SecureFile.createDirectory(file.deletingLastPathComponent())
            try SecureFile.write(try Self.encoder.encode(config), to: file, mode: SecureFile.privateMode)
        } catch {
            throw BerthError(.store, "cannot save machine \"\(config.name)\" in \(root.path): \(StoreWriteFailure.reason(error))",
                             cause: error)
        }
    }

    /// Names of every machine folder in the store, complete or not, sorted; files and folders that
    /// are not valid machine names (temporary files, stray entries) are left out.
    public func machineNames() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: machinesDirectory.path)) ?? []
        return names.filter { (try? MachineName.validate($0)) != nil && exists($0) }.sorted()
    }

    /// Removes a machine's folder and everything in it. Only a folder directly inside `machines/`
    /// can be removed; a symbolic link there is removed as a link, never followed.
    public func remove(_ name: String) throws {
        let directory = try machineDirectory(name)
        guard directory.deletingLastPathComponent().standardizedFileURL == machinesDirectory.standardizedFileURL else {
            throw BerthError(.store, "refusing to remove \(directory.path): it is not inside \(machinesDirectory.path)")
        }
        var info = stat()
        guard lstat(directory.path, &info) == 0 else { return }
        do {
            try FileManager.default.removeItem(atPath: directory.path)
        } catch {
            throw BerthError(.store, "cannot remove \(directory.path): \(StoreWriteFailure.reason(error))", cause: error)
        }
    }

    /// Takes the machine's lock (see `StoreLock`).
    public func lock(_ name: String, timeout: Duration = .seconds(30)) async throws -> StoreLock {
        try MachineName.validate(name)
        try SecureFile.createDirectory(locksDirectory)
        return try await StoreLock.acquire(at: locksDirectory.appendingPathComponent("\(name).lock"),
                                           subject: "machine \"\(name)\"", timeout: timeout)
    }

    /// Whether another process holds the machine's lock right now (a create or start in progress).
    public func isBusy(_ name: String) -> Bool {
        guard (try? MachineName.validate(name)) != nil else { return false }
        return StoreLock.isHeld(at: locksDirectory.appendingPathComponent("\(name).lock"))
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
        guard allowed, !name.hasSuffix("-"), !name.hasSuffix("."), !name.contains("..") else {
            throw BerthError(.invalidArgument, "invalid machine name \"\(name)\": use letters, digits, '.' and '-', starting with a letter or digit, at most 63 characters")
        }
    }
}

/// The short reason a file operation failed ("No space left on device"), without Foundation's
/// long error domain text.
enum StoreWriteFailure {
    static func reason(_ error: any Error) -> String {
        if let error = error as? ProvisioningError, case .fileAccess(_, let reason) = error { return reason }
        if let error = error as? BerthError { return error.message }
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if nsError.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(nsError.code))) }
        return nsError.localizedDescription
    }
}
