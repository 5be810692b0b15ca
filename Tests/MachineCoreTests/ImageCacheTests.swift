import Foundation
import Testing
import TestSupport
@testable import MachineCore

/// A store in a fresh temporary folder, with an image entry "keep" that must survive every test.
struct CacheFixture {
    let folder: TemporaryDirectory
    let store: Store
    let cache: ImageCache

    init() throws {
        folder = try TemporaryDirectory()
        store = Store(root: folder.url.appendingPathComponent("store"))
        try store.prepare()
        cache = ImageCache(store: store)
        let keep = store.imagesDirectory.appendingPathComponent("keep")
        try FileManager.default.createDirectory(at: keep, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: keep.appendingPathComponent("disk.img"))
    }

    /// What the store and its cache hold, apart from the working and download folders.
    var untouched: Bool {
        FileManager.default.fileExists(atPath: store.imagesDirectory.appendingPathComponent("keep/disk.img").path)
            && FileManager.default.fileExists(atPath: store.root.appendingPathComponent("certs").path)
    }

    /// Entry folders and leftovers of failed attempts (working folders), but not downloads or locks.
    var cacheContents: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: store.imagesDirectory.path)) ?? [])
            .filter { $0 != ".downloads" }.sorted()
    }

    func remove() { folder.remove() }
}

@Suite("Image cache names and paths")
struct ImageCacheNameTests {
    @Test("names made from URLs and file names are always valid cache names")
    func namesFromFileNames() {
        #expect(ImageCache.name(from: "debian-13-genericcloud-amd64.qcow2") == "debian-13-genericcloud-amd64")
        #expect(ImageCache.name(from: "disk.qcow2.xz") == "disk")
        for hostile in ["..", ".", "", "...", "/", ".hidden", "..qcow2", ".qcow2", "-", "ü.img", "a/../b"] {
            let name = ImageCache.name(from: hostile)
            #expect(ImageCache.isValidName(name), "\(hostile) → \(name)")
            #expect(name != "." && name != ".." && !name.hasPrefix(".") && !name.contains("/"))
        }
        #expect(ImageCache.name(from: "..") == "image")
        #expect(ImageCache.name(from: ".hidden.qcow2") == "hidden")
    }

    @Test("names that would leave the cache are refused wherever a name becomes a path")
    func hostileNamesRefused() throws {
        let fixture = try CacheFixture()
        defer { fixture.remove() }
        // An entry file planted where ".." would find it: the store's root.
        let planted = """
            {"name":"..","source":"file","origin":"x","format":"raw","disk":{"path":"images","sha256":"","size":0},\
            "facts":{"osType":"linux","distro":"debian","version":"13","majorVersion":13,"minorVersion":0,"productName":"x",\
            "architecture":"x86_64","hasCloudInit":true},"addedAt":"2026-01-01T00:00:00Z"}
            """
        try Data(planted.utf8).write(to: fixture.store.root.appendingPathComponent("image.json"))
        for name in ["..", ".", "", "../keep", "keep/..", ".work-1", "/etc"] {
            #expect(fixture.cache.entry(named: name) == nil, "entry(named: \(name))")
            #expect(throws: BerthError.self, "remove(named: \(name))") { try fixture.cache.remove(named: name) }
        }
        #expect(fixture.untouched)
        #expect(FileManager.default.fileExists(atPath: fixture.store.imagesDirectory.path))
    }

    @Test("an entry whose recorded name or file names leave its folder is not believed")
    func tamperedEntriesIgnored() throws {
        let fixture = try CacheFixture()
        defer { fixture.remove() }
        let folder = fixture.store.imagesDirectory.appendingPathComponent("tampered")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let entry = """
            {"name":"tampered","source":"file","origin":"x","format":"raw","disk":{"path":"../keep/disk.img","sha256":"","size":0},\
            "facts":{"osType":"linux","distro":"debian","version":"13","majorVersion":13,"minorVersion":0,"productName":"x",\
            "architecture":"x86_64","hasCloudInit":true},"addedAt":"2026-01-01T00:00:00Z"}
            """
        try Data(entry.utf8).write(to: folder.appendingPathComponent("image.json"))
        #expect(fixture.cache.entry(named: "tampered") == nil)
        #expect(fixture.cache.entries().isEmpty)
    }

    @Test("a text file given to import is refused at once, in one line, with nothing made")
    func importOfTextRefused() async throws {
        let fixture = try CacheFixture()
        defer { fixture.remove() }
        let before = fixture.cacheContents
        let text = fixture.folder.url.appendingPathComponent("passwd")
        try Data("root:x:0:0:root:/root:/bin/bash\n".utf8).write(to: text)
        let error = await #expect(throws: BerthError.self) {
            _ = try await fixture.cache.importFile(text, forceTCG: true)
        }
        #expect(error?.cause is DiskImageProblem, "refused by the format check, before libguestfs")
        #expect(error?.message == "the image \(text.path) \(DiskImageProblem.notADiskImage)")
        #expect(error?.message.contains("\n") == false)
        #expect(fixture.cacheContents == before)
        #expect(fixture.untouched)
    }

    @Test("a folder or a missing file given to import is refused in one line")
    func importOfNonFilesRefused() async throws {
        let fixture = try CacheFixture()
        defer { fixture.remove() }
        for path in [fixture.folder.url.path, "/nonexistent/berth/disk.qcow2"] {
            let error = await #expect(throws: BerthError.self) {
                _ = try await fixture.cache.importFile(URL(fileURLWithPath: path), forceTCG: true)
            }
            #expect(error?.code == .invalidArgument)
        }
        #expect(fixture.untouched)
    }
}

/// Pulls of URLs whose last component is `..` (a loopback server answers with a real disk).
@Suite("Image pulls with hostile URLs")
struct HostilePullTests {
    /// A small raw ext4 disk that libguestfs recognises as Debian 13, made without an appliance.
    static func debianDisk(in folder: URL) throws -> Data {
        let root = folder.appendingPathComponent("root")
        // libguestfs takes a filesystem for a Linux root when it has /etc, /bin and /etc/fstab.
        for directory in ["etc", "bin", "usr/lib", "var/lib/dpkg", "usr/bin"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(directory), withIntermediateDirectories: true)
        }
        let osRelease = "PRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"13\"\nID=debian\n"
        try Data(osRelease.utf8).write(to: root.appendingPathComponent("usr/lib/os-release"))
        try Data(osRelease.utf8).write(to: root.appendingPathComponent("etc/os-release"))
        try Data("13.1\n".utf8).write(to: root.appendingPathComponent("etc/debian_version"))
        try Data("/dev/vda / ext4 defaults 0 1\n".utf8).write(to: root.appendingPathComponent("etc/fstab"))
        try Data().write(to: root.appendingPathComponent("var/lib/dpkg/status"))
        let disk = folder.appendingPathComponent("disk.raw")
        let mkfs = Process()
        mkfs.executableURL = URL(fileURLWithPath: "/sbin/mkfs.ext4")
        mkfs.arguments = ["-q", "-F", "-d", root.path, disk.path, "16M"]
        try mkfs.run()
        mkfs.waitUntilExit()
        #expect(mkfs.terminationStatus == 0)
        return try Data(contentsOf: disk)
    }

    @Test("pulling http://127.0.0.1:PORT/x/.. makes an entry inside the cache and removes nothing")
    func dotDotURL() async throws {
        let fixture = try CacheFixture()
        defer { fixture.remove() }
        let disk = try [UInt8](Self.debianDisk(in: fixture.folder.url))
        // curl may or may not resolve the dots before asking; the server answers both ways.
        let server = try await TestHTTPServer.start(files: ["/x/..": disk, "/": disk, "/x/../": disk])
        let url = try #require(URL(string: "http://127.0.0.1:\(server.port)/x/.."))
        #expect(url.lastPathComponent == "..")

        let image: CachedImage
        do {
            image = try await fixture.cache.pull(url, checksum: nil, forceTCG: true)
            await server.stop()
        } catch {
            await server.stop()
            throw error
        }
        #expect(image.name == "image")
        #expect(image.facts.distro == "debian")
        #expect(fixture.cache.entry(named: "image")?.disk == image.disk)
        #expect(fixture.untouched, "the store and its other images are still there")
        #expect(fixture.cacheContents == ["image", "keep"], "no working folders left behind")
    }
}
