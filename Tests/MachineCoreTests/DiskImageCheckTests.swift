import Foundation
import Testing
@testable import MachineCore

/// Runs qemu-img (from qemu-utils) to make real images for the checks to judge.
func qemuImg(_ arguments: [String]) async throws {
    let result = try await HelperProgram.capture("/usr/bin/qemu-img", arguments)
    guard result.status == 0 else {
        throw BerthError(.command, "qemu-img \(arguments.joined(separator: " ")) failed (exit \(result.status)): \(result.standardError)")
    }
}

/// A qcow2 image with some data in it, so it has L2 tables and data clusters to lose.
func makeQCOW2(at url: URL, size: String = "64M") async throws {
    try await qemuImg(["create", "-q", "-f", "qcow2", url.path, size])
    let io = try await HelperProgram.capture(
        "/usr/bin/qemu-io", ["-f", "qcow2", "-c", "write -P 0xab 0 8M", "-c", "write -P 0xcd 32M 4M", url.path])
    guard io.status == 0 else { throw BerthError(.command, "qemu-io failed (exit \(io.status)): \(io.standardError)") }
}

/// The problem `DiskImageCheck.verify` reports for a file, or nil when it accepts it.
func problem(of url: URL) async -> DiskImageProblem? {
    do {
        _ = try await DiskImageCheck.verify(url, origin: url.path)
        return nil
    } catch let error as BerthError {
        return error.cause as? DiskImageProblem
    } catch {
        return .unreadable("\(error)")
    }
}

@Suite("Disk image checks")
struct DiskImageCheckTests {
    @Test("a sound qcow2 (version 3 and version 2) passes, as qcow2")
    func soundQCOW2Passes() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let v3 = folder.url.appendingPathComponent("v3.qcow2")
        try await makeQCOW2(at: v3)
        #expect(try await DiskImageCheck.verify(v3, origin: "v3") == .qcow2)
        let v2 = folder.url.appendingPathComponent("v2.qcow2")
        try await qemuImg(["create", "-q", "-f", "qcow2", "-o", "compat=0.10", v2.path, "64M"])
        #expect(try await DiskImageCheck.verify(v2, origin: "v2") == .qcow2)
    }

    @Test("a qcow2 whose header names a backing file such as /dev/sda is refused, naming it")
    func backingFileRefused() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let image = folder.url.appendingPathComponent("overlay.qcow2")
        try await qemuImg(["create", "-q", "-f", "qcow2", "-u", "-b", "/dev/sda", "-F", "raw", image.path, "64M"])
        #expect(await problem(of: image) == .backingFile("/dev/sda"))
        // Version 2 as well, where the name follows the header directly.
        let v2 = folder.url.appendingPathComponent("overlay-v2.qcow2")
        try await qemuImg(["create", "-q", "-f", "qcow2", "-o", "compat=0.10", "-u", "-b", "/etc/shadow", "-F", "raw", v2.path, "64M"])
        #expect(await problem(of: v2) == .backingFile("/etc/shadow"))
    }

    @Test("a qcow2 with an external data file is refused")
    func externalDataFileRefused() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let data = folder.url.appendingPathComponent("data.raw")
        let image = folder.url.appendingPathComponent("external.qcow2")
        try await qemuImg(["create", "-q", "-f", "qcow2", "-o", "data_file=\(data.path)", image.path, "64M"])
        #expect(await problem(of: image) == .externalDataFile(data.path))

        // The incompatible feature bit alone is enough, with no header extension naming the file.
        var header = try Data(contentsOf: image)
        header.replaceSubrange(72..<80, with: [0, 0, 0, 0, 0, 0, 0, 0x04])
        header.replaceSubrange(104..<header.count, with: Data(count: header.count - 104))
        #expect(throws: DiskImageProblem.externalDataFile(nil)) { try DiskImageCheck.classify(head: header, fileSize: Int64(header.count)) }
    }

    @Test("an encrypted qcow2 is refused")
    func encryptedRefused() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let image = folder.url.appendingPathComponent("luks.qcow2")
        // qemu-img times its key derivation by the CPU time it gets; on a busy host a measurement
        // can come out empty ("Unable to get accurate CPU usage"), so it is given three tries.
        let create = ["create", "-q", "--object", "secret,id=sec0,data=berth", "-f", "qcow2",
                      "-o", "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10", image.path, "64M"]
        for attempt in 1...3 {
            do {
                try await qemuImg(create)
                break
            } catch let error as BerthError where attempt < 3 && error.message.contains("accurate CPU usage") {
                continue
            }
        }
        #expect(await problem(of: image) == .encrypted)
    }

    @Test("unknown incompatible features, a corrupt mark and other versions are refused from the header alone")
    func headerFlagsRefused() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let image = folder.url.appendingPathComponent("plain.qcow2")
        try await qemuImg(["create", "-q", "-f", "qcow2", image.path, "64M"])
        let original = try Data(contentsOf: image)
        func classify(_ edit: (inout Data) -> Void) throws(DiskImageProblem) -> DiskFormat {
            var header = original
            edit(&header)
            return try DiskImageCheck.classify(head: header, fileSize: Int64(header.count))
        }
        #expect(try classify { _ in } == .qcow2)
        #expect(throws: DiskImageProblem.unknownFeatures(1 << 40)) { try classify { $0[74] = 0x01 } }
        #expect(throws: DiskImageProblem.markedCorrupt) { try classify { $0[79] = 0x02 } }
        #expect(throws: DiskImageProblem.unsupportedVersion(1)) { try classify { $0[7] = 1 } }
        #expect(throws: DiskImageProblem.encrypted) { try classify { $0[35] = 1 } }
        // A header that ends early is damaged, not read past its end.
        #expect(throws: DiskImageProblem.malformedHeader("the file ends inside the header")) {
            try DiskImageCheck.classify(head: original.prefix(40), fileSize: 40)
        }
    }

    @Test("a truncated qcow2 gets one line from qemu-img check, not libguestfs's advice")
    func truncatedQCOW2() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let image = folder.url.appendingPathComponent("truncated.qcow2")
        try await makeQCOW2(at: image)
        try FileHandle(forWritingTo: image).truncate(atOffset: 3 << 20)
        guard case .damaged(let errors)? = await problem(of: image) else {
            Issue.record("a truncated qcow2 was not reported as damaged")
            return
        }
        #expect(errors > 0)
        do {
            _ = try await DiskImageCheck.verify(image, origin: "truncated.qcow2")
        } catch let error as BerthError {
            #expect(error.message.split(whereSeparator: \.isNewline).count == 1)
            #expect(error.message.contains("truncated"))
        }
    }

    @Test("text is not a disk, and compressed or foreign formats are named")
    func notDisks() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let text = folder.url.appendingPathComponent("passwd")
        try Data(String(repeating: "root:x:0:0:root:/root:/bin/bash\n", count: 64 * 1024).utf8).write(to: text)
        #expect(await problem(of: text) == .notADiskImage)
        #expect(throws: DiskImageProblem.compressed("xz")) {
            try DiskImageCheck.classify(head: Data([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00, 0x00]), fileSize: 1 << 20)
        }
        #expect(throws: DiskImageProblem.compressed("gzip")) { try DiskImageCheck.classify(head: Data([0x1F, 0x8B, 8, 0]), fileSize: 1 << 20) }
        #expect(throws: DiskImageProblem.otherFormat("VMDK")) { try DiskImageCheck.classify(head: Data("KDMV....".utf8), fileSize: 1 << 20) }
    }

    @Test("a raw disk needs a partition table or filesystem, a plausible size, and all the bytes they need")
    func rawDisks() throws {
        var mbr = Data(count: 512)
        mbr[510] = 0x55
        mbr[511] = 0xAA
        // One Linux partition from sector 2048, 8192 sectors long: the disk needs 5 MiB.
        mbr[446 + 4] = 0x83
        mbr.replaceSubrange(446 + 8..<446 + 16, with: [0x00, 0x08, 0, 0, 0x00, 0x20, 0, 0])
        #expect(try DiskImageCheck.classify(head: mbr, fileSize: 5 << 20) == .raw)
        #expect(throws: DiskImageProblem.truncated(expected: 5 << 20, actual: 4 << 20)) {
            try DiskImageCheck.classify(head: mbr, fileSize: 4 << 20)
        }
        #expect(throws: DiskImageProblem.implausibleSize(5_000_000)) { try DiskImageCheck.classify(head: mbr, fileSize: 5_000_000) }

        // A bare ext4 filesystem (no partition table), as mkfs makes it.
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let ext4 = folder.url.appendingPathComponent("root.ext4")
        _ = FileManager.default.createFile(atPath: ext4.path, contents: nil)
        try FileHandle(forWritingTo: ext4).truncate(atOffset: 8 << 20)
        let mkfs = Process()
        mkfs.executableURL = URL(fileURLWithPath: "/sbin/mkfs.ext4")
        mkfs.arguments = ["-q", "-F", ext4.path]
        try mkfs.run()
        mkfs.waitUntilExit()
        let head = try Data(contentsOf: ext4).prefix(DiskImageCheck.headLength)
        #expect(try DiskImageCheck.classify(head: head, fileSize: 8 << 20) == .raw)
        #expect(throws: DiskImageProblem.truncated(expected: 8 << 20, actual: 6 << 20)) {
            try DiskImageCheck.classify(head: head, fileSize: 6 << 20)
        }
    }
}
