import Crypto
import Download
import Foundation
import Guestfs
import Logging

/// The image cache under the store's `images/` folder. Entries appear atomically: everything is
/// prepared in a hidden working folder and renamed into place only when verified and inspected.
public struct ImageCache: Sendable {
    /// The image `create` uses when not told otherwise.
    public static let defaultImageName = "berth-docker"

    public let directory: URL
    /// Whether every user of the host reads this cache (the system cache): its folders and files
    /// are then readable by all, where a user's own cache is private.
    public let shared: Bool
    let logger: Logger

    public init(store: Store, logger: Logger = Logger(label: "berth.images")) {
        self.init(directory: store.imagesDirectory, logger: logger)
    }

    public init(directory: URL, shared: Bool = false, logger: Logger = Logger(label: "berth.images")) {
        self.directory = directory
        self.shared = shared
        self.logger = logger
    }

    /// The host's system-wide cache (`/var/lib/berth/images`, or `$BERTH_SYSTEM_IMAGES`), which root
    /// fills once (`sudo berth image build --system`) for every user: building berth's image needs
    /// root, and users who are not root read their images from here.
    public static var system: ImageCache {
        let path = ProcessInfo.processInfo.environment["BERTH_SYSTEM_IMAGES"].flatMap { $0.isEmpty ? nil : $0 } ?? "/var/lib/berth/images"
        return ImageCache(directory: URL(fileURLWithPath: path), shared: true)
    }

    // MARK: - Names and paths

    /// Whether `name` can name a cache entry: letters, digits, '.', '_' and '-', starting with a
    /// letter or digit, at most 128 characters. So never empty, `.`, `..`, hidden or with a `/`.
    public static func isValidName(_ name: String) -> Bool {
        name.range(of: "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", options: .regularExpression) != nil
    }

    /// Throws the one-line error for a name that cannot name a cache entry.
    public static func validate(_ name: String) throws {
        guard isValidName(name) else {
            throw BerthError(.invalidArgument, "invalid image name \"\(name)\": use letters, digits, '.', '_' and '-', starting with a letter or digit, at most 128 characters")
        }
    }

    /// The folder of the entry `name`: the one place where a name becomes a path, so every read,
    /// write and removal of an entry stays inside one of the cache's own entry folders.
    func folder(_ name: String) throws -> URL {
        try Self.validate(name)
        return directory.appendingPathComponent(name, isDirectory: true)
    }

    /// A file of the entry `name`; `fileName` must be a plain file name too.
    func file(_ fileName: String, of name: String) throws -> URL {
        guard Self.isPlainFileName(fileName) else {
            throw BerthError(.image, "the cache entry \"\(name)\" names a file \"\(fileName)\" outside its folder; remove the entry with `berth image rm \(name)`")
        }
        return try folder(name).appendingPathComponent(fileName)
    }

    func entryFile(_ name: String) throws -> URL { try file("image.json", of: name) }

    /// A file name with no folder in it: not empty, `.` or `..`, no `/` and no NUL.
    static func isPlainFileName(_ fileName: String) -> Bool {
        !fileName.isEmpty && fileName != "." && fileName != ".." && !fileName.contains("/") && !fileName.contains("\0")
    }

    /// The host path of one of an image's files. Entries this cache hands out were checked when
    /// they were read (`entry(named:)`); for any other value with a name or file name that would
    /// leave the cache, the path points into a hidden folder that never exists, so reading it fails.
    public func path(of file: CachedImage.File, in image: CachedImage) -> URL {
        (try? self.file(file.path, of: image.name)) ?? directory.appendingPathComponent(".invalid/missing")
    }

    // MARK: - Entries

    /// The entry `name`, or nil when there is none (or `name` could not name one). An entry is
    /// only believed when its recorded name is its folder's and its files are inside that folder.
    public func entry(named name: String) -> CachedImage? {
        guard let url = try? entryFile(name), let data = FileManager.default.contents(atPath: url.path),
              let image = try? Store.decoder.decode(CachedImage.self, from: data), image.name == name,
              [image.disk, image.kernel, image.initrd].allSatisfy({ $0.map { Self.isPlainFileName($0.path) } ?? true })
        else { return nil }
        return image
    }

    public func entries() -> [CachedImage] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter(Self.isValidName).sorted().compactMap(entry(named:))
    }

    /// Removes the entry `name`. It first leaves its place by a rename, so a removal that fails
    /// halfway never leaves a half-entry under the name.
    public func remove(named name: String) throws {
        let folder = try folder(name)
        guard entry(named: name) != nil else {
            throw BerthError(.image, "no image named \"\(name)\" in the cache; `berth image ls` lists them")
        }
        let trash = directory.appendingPathComponent(".removing-\(UUID().uuidString.prefix(8))")
        guard rename(folder.path, trash.path) == 0 else {
            throw BerthError(.image, "cannot remove image \"\(name)\" from \(folder.path): \(String(cString: strerror(errno))); check the folder's owner and permissions")
        }
        try Self.fileOperation("remove the old image files in \(trash.path)") { try FileManager.default.removeItem(at: trash) }
    }

    /// A hidden working folder inside the cache (same filesystem, so the final rename is atomic).
    func makeWorkFolder() throws -> URL {
        let work = directory.appendingPathComponent(".work-\(UUID().uuidString.prefix(8))")
        do {
            try SecureFile.createDirectory(directory, mode: shared ? 0o755 : SecureFile.directoryMode)
            try SecureFile.createDirectory(work)
        } catch {
            throw BerthError(.store, "cannot create a working folder in the image cache \(directory.path): \(Self.reason(error)); check its owner and permissions, or set BERTH_STORAGE_PATH", cause: error)
        }
        return work
    }

    /// Runs a Foundation file operation, turning its error into one line that says what failed.
    static func fileOperation<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as BerthError {
            throw error
        } catch {
            throw BerthError(.image, "cannot \(what): \(reason(error))", cause: error)
        }
    }

    /// The system's own words for a file error (`No such file or directory`), rather than
    /// Foundation's description of its error domain and code.
    static func reason(_ error: any Error) -> String {
        if let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError,
           underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if (error as NSError).domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32((error as NSError).code))) }
        if case .fileAccess(_, let reason)? = error as? ProvisioningError { return reason }
        return (error as NSError).localizedDescription
    }

    /// Checks and inspects the disk in `work`, writes the entry file and renames `work` to the
    /// entry's folder, replacing an older entry of the same name. A built image brings its kernel
    /// and initrd (named in its manifest, whose checksums are verified here); any other image has
    /// them extracted when it has them. The disk's format and integrity are checked before
    /// libguestfs sees it: QEMU would follow a backing file or data file named in a qcow2 header.
    func commit(work: URL, name: String, source: CachedImage.SourceKind, origin: String, diskFile: String,
                kernelCommandLine: String?, forceTCG: Bool, manifest: BuildManifest? = nil) async throws -> CachedImage {
        let destination = try folder(name)
        let diskURL = work.appendingPathComponent(diskFile)
        let format = try await DiskImageCheck.verify(diskURL, origin: origin)
        let facts: ImageFacts
        do {
            facts = try await ImageInspector().inspect(imageAt: diskURL, format: format.rawValue,
                                                       extractBootFilesTo: manifest == nil ? work : nil, forceTCG: forceTCG)
        } catch {
            throw BerthError(.image, "cannot inspect the image \(origin): \(error.summary); is it a Linux disk image?", cause: error)
        }
        func entry(_ fileName: String?, expected: String? = nil) throws -> CachedImage.File? {
            guard let fileName else { return nil }
            guard Self.isPlainFileName(fileName) else {
                throw BerthError(.image, "the image \(origin) names a file \"\(fileName)\" outside its folder; rebuild it")
            }
            let url = work.appendingPathComponent(fileName)
            let digest = try Self.sha256(of: url)
            if let expected, expected != digest {
                throw BerthError(.image, "\(fileName) does not match its manifest checksum; rebuild the image")
            }
            return CachedImage.File(path: fileName, sha256: digest, size: try Self.size(of: url))
        }
        let disk = try entry(diskFile, expected: manifest?.files.disk.sha256)!
        let kernel = try entry(manifest?.files.kernel.path ?? facts.kernelPath.map { URL(fileURLWithPath: $0).lastPathComponent },
                               expected: manifest?.files.kernel.sha256)
        let initrd = try entry(manifest?.files.initrd.path ?? facts.initrdPath.map { URL(fileURLWithPath: $0).lastPathComponent },
                               expected: manifest?.files.initrd.sha256)
        let image = CachedImage(
            name: name, source: source, origin: origin, format: format.rawValue, disk: disk, kernel: kernel, initrd: initrd,
            // An imported image with a kernel boots directly, from the root filesystem inspection found.
            kernelCommandLine: kernel == nil ? nil : (kernelCommandLine ?? "root=\(facts.rootDevice ?? "/dev/vda1") rw console=ttyS0"),
            berthInit: manifest?.berthInit, facts: facts, addedAt: Date())
        try Self.fileOperation("write the entry of image \"\(name)\"") {
            try SecureFile.write(try Store.encoder.encode(image), to: work.appendingPathComponent("image.json"), mode: SecureFile.publicMode)
        }
        try replace(destination, with: work, name: name)
        return image
    }

    /// Puts `work` in place of the entry folder `destination`. An older entry first moves aside
    /// (and comes back if the new one cannot take its place), so the name never points at half an entry.
    private func replace(_ destination: URL, with work: URL, name: String) throws {
        var aside: URL?
        if FileManager.default.fileExists(atPath: destination.path) {
            let old = directory.appendingPathComponent(".removing-\(UUID().uuidString.prefix(8))")
            guard rename(destination.path, old.path) == 0 else {
                throw BerthError(.image, "cannot replace image \"\(name)\" at \(destination.path): \(String(cString: strerror(errno))); check the folder's owner and permissions")
            }
            aside = old
        }
        guard rename(work.path, destination.path) == 0 else {
            let reason = String(cString: strerror(errno))
            if let aside { _ = rename(aside.path, destination.path) }
            throw BerthError(.image, "cannot move image \"\(name)\" into the cache at \(destination.path): \(reason); check the folder's owner and permissions")
        }
        if let aside { try? FileManager.default.removeItem(at: aside) }
        if shared { Self.makeReadableByAll(destination) }
    }

    /// Opens an entry of the system cache to every user: folders 0755, files 0644.
    static func makeReadableByAll(_ folder: URL) {
        chmod(folder.path, 0o755)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] {
            chmod(folder.appendingPathComponent(name).path, 0o644)
        }
    }

    static func sha256(of url: URL) throws -> String {
        try fileOperation("read \(url.path)") {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            var hasher = SHA256()
            while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
            return hasher.finalize().map { String(format: "%02x", $0) }.joined()
        }
    }

    static func size(of url: URL) throws -> Int64 {
        try fileOperation("read the size of \(url.path)") {
            (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.int64Value ?? 0
        }
    }
}

extension ImageCache {
    /// Whether a built image came from the recipe berth ships now (its boot protocol is the
    /// current one); an older build still works, through cloud-init, but boots more slowly.
    public static func isCurrentBuild(_ image: CachedImage) -> Bool {
        image.source != .built || image.berthInit == GuestSeed.protocolVersion
    }

    /// Whether every file of a cached image still has the checksum recorded when it was added.
    public func verify(_ image: CachedImage) -> Bool {
        [image.disk, image.kernel, image.initrd].compactMap { $0 }.allSatisfy { file in
            (try? Self.sha256(of: path(of: file, in: image))) == file.sha256
        }
    }
}
