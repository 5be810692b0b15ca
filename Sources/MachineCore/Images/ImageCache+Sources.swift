import Crypto
import Download
import Foundation

/// The three ways an image gets into the cache: built from Debian packages, pulled from a URL,
/// imported from a local file.
extension ImageCache {
    /// The flavours of berth's own image.
    public enum Flavor: String, Sendable, CaseIterable {
        /// Docker Engine preinstalled: the default, fastest to a working endpoint.
        case docker
        /// No Docker Engine: cloud-init installs it on first boot, as with stock cloud images.
        case plain

        public var imageName: String { "berth-\(rawValue)" }
    }

    /// The recipe that builds berth's image (shipped with berth; also at images/build-image.sh).
    public static var buildScript: URL? {
        Bundle.module.url(forResource: "build-image", withExtension: "sh", subdirectory: "Resources/images")
    }

    /// Builds berth's own image from Debian packages and adds it to the cache.
    /// The recipe prints its stages on standard error as it goes.
    public func build(flavor: Flavor, mirror: String? = nil, forceTCG: Bool) async throws -> CachedImage {
        let name = flavor.imageName
        _ = try folder(name)
        guard let script = Self.buildScript else {
            throw BerthError(.image, "berth's image recipe is missing from this installation; reinstall berth")
        }
        let work = try makeWorkFolder()
        do {
            // Downloaded packages are kept beside the cache, so rebuilding takes a fraction of the time.
            let packages = directory.appendingPathComponent(".packages")
            try SecureFile.createDirectory(packages)
            var arguments = [script.path, "--flavor", flavor.rawValue, "--output", work.path, "--cache", packages.path]
            if let mirror { arguments += ["--mirror", mirror] }
            try await HelperProgram.run("/bin/bash", arguments, failure: { status in
                BerthError(.image, "building the \(flavor.rawValue) image failed (exit \(status)); the lines above say why. Run as root with Debian's mirror reachable")
            })
            let manifestURL = work.appendingPathComponent("\(name).json")
            let manifest = try Self.fileOperation("read the image recipe's manifest \(manifestURL.path)") {
                try JSONDecoder().decode(BuildManifest.self, from: Data(contentsOf: manifestURL))
            }
            return try await commit(work: work, name: name, source: .built, origin: "flavor \(flavor.rawValue)",
                                    diskFile: manifest.files.disk.path, kernelCommandLine: manifest.kernelCommandLine,
                                    forceTCG: forceTCG, manifest: manifest)
        } catch {
            try? FileManager.default.removeItem(at: work)
            throw error
        }
    }

    /// Downloads an image into the cache, verified against a checksum when one is given.
    public func pull(_ url: URL, checksum: Checksum?, name: String? = nil, forceTCG: Bool,
                     progress: DownloadProgressHandler? = nil) async throws -> CachedImage {
        let name = name ?? Self.name(from: url.lastPathComponent)
        // A name that cannot name an entry is refused before anything is downloaded.
        _ = try folder(name)
        // Downloads live in a stable place keyed by URL, so an interrupted pull resumes; the lock
        // makes a second process pulling the same URL wait and then reuse the first one's entry.
        let downloads = directory.appendingPathComponent(".downloads")
        try Self.fileOperation("create the download folder \(downloads.path)") { try SecureFile.createDirectory(downloads) }
        let key = Self.fileKey(url.absoluteString)
        let lock = try await StoreLock.acquire(at: downloads.appendingPathComponent("\(key).pull.lock"),
                                               subject: "the pull of \(url.absoluteString)", timeout: .seconds(3600))
        defer { withExtendedLifetime(lock) {} }
        if let existing = entry(named: name), existing.origin == url.absoluteString,
           checksum.map({ $0.algorithm == .sha256 && $0.hex == existing.disk.sha256 }) ?? true {
            return existing
        }
        let target = downloads.appendingPathComponent(key)
        do {
            try await Downloader().download(from: url, to: target, checksum: checksum, progress: progress)
        } catch {
            throw BerthError(.download, error.description, cause: error)
        }
        let work = try makeWorkFolder()
        do {
            let diskFile = "disk.img"
            guard rename(target.path, work.appendingPathComponent(diskFile).path) == 0 else {
                throw BerthError(.image, "cannot move the download into the cache: \(String(cString: strerror(errno)))")
            }
            return try await commit(work: work, name: name, source: .url, origin: url.absoluteString, diskFile: diskFile,
                                    kernelCommandLine: nil, forceTCG: forceTCG)
        } catch {
            try? FileManager.default.removeItem(at: work)
            throw error
        }
    }

    /// Copies a local disk image into the cache. A file that is not a disk image is refused
    /// before anything is copied; the copy is checked again in full before inspection.
    public func importFile(_ file: URL, name: String? = nil, forceTCG: Bool) async throws -> CachedImage {
        var status = stat()
        guard stat(file.path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG,
              FileManager.default.isReadableFile(atPath: file.path) else {
            throw BerthError(.invalidArgument, "cannot read the image file \(file.path): it is not a readable regular file; check the path and its permissions")
        }
        let name = name ?? Self.name(from: file.lastPathComponent)
        _ = try folder(name)
        _ = try DiskImageCheck.probe(file, origin: file.path)
        let work = try makeWorkFolder()
        do {
            let diskFile = "disk.img"
            try Self.fileOperation("copy \(file.path) into the image cache") {
                try FileManager.default.copyItem(at: file, to: work.appendingPathComponent(diskFile))
            }
            return try await commit(work: work, name: name, source: .file, origin: file.path, diskFile: diskFile,
                                    kernelCommandLine: nil, forceTCG: forceTCG)
        } catch {
            try? FileManager.default.removeItem(at: work)
            throw error
        }
    }

    /// A cache name from a file name: `debian-13-genericcloud-amd64.qcow2` → `debian-13-genericcloud-amd64`.
    /// Always a valid name (`isValidName`): a URL or file name such as `..`, `.hidden` or `ü` never
    /// becomes a path outside the cache; what is left of it, or `image`, is used instead.
    public static func name(from fileName: String) -> String {
        var name = Substring(fileName)
        while let suffix = [".qcow2", ".img", ".raw", ".xz", ".gz"].first(where: { name.hasSuffix($0) }) {
            name = name.dropLast(suffix.count)
        }
        let allowed = name.unicodeScalars.map { scalar -> Character in
            let c = Character(scalar)
            return c.isASCII && (c.isLetter || c.isNumber || c == "-" || c == "." || c == "_") ? c : "-"
        }
        // Must start with a letter or digit: this also drops the dots of `.`, `..` and hidden names.
        let cleaned = String(allowed.drop { !($0.isLetter || $0.isNumber) }.prefix(128))
        return isValidName(cleaned) ? cleaned : "image"
    }

    static func fileKey(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).prefix(12).map { String(format: "%02x", $0) }.joined()
    }
}

/// The manifest the image recipe writes beside its outputs.
struct BuildManifest: Codable, Sendable {
    struct FileEntry: Codable, Sendable {
        var path: String
        var sha256: String
        var size: Int64
    }
    struct Files: Codable, Sendable {
        var disk: FileEntry
        var kernel: FileEntry
        var initrd: FileEntry
    }
    struct Packages: Codable, Sendable {
        var kernel: String?
        var docker: String?
        var containerd: String?
        var cloudInit: String?
    }
    var name: String
    var flavor: String
    var suite: String
    var buildDate: String
    var kernelCommandLine: String
    /// The guest boot protocol version (berth-init); absent in images from older recipes.
    var berthInit: Int?
    var kernelRelease: String?
    var files: Files
    var packages: Packages
}
