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
    let logger: Logger

    public init(store: Store, logger: Logger = Logger(label: "berth.images")) {
        self.directory = store.imagesDirectory
        self.logger = logger
    }

    func folder(_ name: String) -> URL { directory.appendingPathComponent(name) }
    func entryFile(_ name: String) -> URL { folder(name).appendingPathComponent("image.json") }

    /// The host path of one of an image's files.
    public func path(of file: CachedImage.File, in image: CachedImage) -> URL {
        folder(image.name).appendingPathComponent(file.path)
    }

    public func entry(named name: String) -> CachedImage? {
        guard let data = FileManager.default.contents(atPath: entryFile(name).path) else { return nil }
        return try? Store.decoder.decode(CachedImage.self, from: data)
    }

    public func entries() -> [CachedImage] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().compactMap(entry(named:))
    }

    public func remove(named name: String) throws {
        guard entry(named: name) != nil else {
            throw BerthError(.image, "no image named \"\(name)\" in the cache; `berth image ls` lists them")
        }
        try FileManager.default.removeItem(at: folder(name))
    }

    /// A hidden working folder inside the cache (same filesystem, so the final rename is atomic).
    func makeWorkFolder() throws -> URL {
        try SecureFile.createDirectory(directory)
        let work = directory.appendingPathComponent(".work-\(UUID().uuidString.prefix(8))")
        try SecureFile.createDirectory(work)
        return work
    }

    /// Inspects the disk in `work`, writes the entry file and renames `work` to the entry's folder,
    /// replacing an older entry of the same name. A built image brings its kernel and initrd (named in
    /// its manifest, whose checksums are verified here); any other image has them extracted when it has them.
    func commit(work: URL, name: String, source: CachedImage.SourceKind, origin: String, diskFile: String,
                kernelCommandLine: String?, forceTCG: Bool, manifest: BuildManifest? = nil) async throws -> CachedImage {
        let diskURL = work.appendingPathComponent(diskFile)
        let format = try Self.detectFormat(diskURL)
        let facts: ImageFacts
        do {
            facts = try await ImageInspector().inspect(imageAt: diskURL, format: format,
                                                       extractBootFilesTo: manifest == nil ? work : nil, forceTCG: forceTCG)
        } catch {
            throw BerthError(.image, "cannot inspect the image \(origin): \(error); is it a Linux disk image?", cause: error)
        }
        func entry(_ fileName: String?, expected: String? = nil) throws -> CachedImage.File? {
            guard let fileName else { return nil }
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
            name: name, source: source, origin: origin, format: format, disk: disk, kernel: kernel, initrd: initrd,
            // An imported image with a kernel boots directly, from the root filesystem inspection found.
            kernelCommandLine: kernel == nil ? nil : (kernelCommandLine ?? "root=\(facts.rootDevice ?? "/dev/vda1") rw console=ttyS0"),
            facts: facts, addedAt: Date())
        try SecureFile.write(try Store.encoder.encode(image), to: work.appendingPathComponent("image.json"), mode: SecureFile.publicMode)
        let destination = folder(name)
        if FileManager.default.fileExists(atPath: destination.path) {
            try FileManager.default.removeItem(at: destination)
        }
        guard rename(work.path, destination.path) == 0 else {
            throw BerthError(.image, "cannot move the image into the cache at \(destination.path): \(String(cString: strerror(errno)))")
        }
        return image
    }

    static func detectFormat(_ url: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        let magic = try handle.read(upToCount: 4) ?? Data()
        return magic == Data([0x51, 0x46, 0x49, 0xFB]) ? "qcow2" : "raw"
    }

    static func sha256(of url: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    static func size(of url: URL) throws -> Int64 {
        (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.int64Value ?? 0
    }
}

extension ImageCache {
    /// Whether every file of a cached image still has the checksum recorded when it was added.
    public func verify(_ image: CachedImage) -> Bool {
        [image.disk, image.kernel, image.initrd].compactMap { $0 }.allSatisfy { file in
            (try? Self.sha256(of: path(of: file, in: image))) == file.sha256
        }
    }
}
