import Foundation
import Guestfs
import SeedImage
import Testing

@Suite("SeedImage")
struct SeedImageTests {
    @Test("a written seed is a real ISO 9660 volume labelled cidata whose files read back unchanged")
    func seedReadsBackThroughLibguestfs() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let files: [String: Data] = [
            "user-data": Data("#cloud-config\nhostname: berth-test\n".utf8),
            "meta-data": Data("instance-id: iid-berth-test\nlocal-hostname: berth-test\n".utf8),
            "network-config": Data("version: 2\nethernets:\n  nic0:\n    match:\n      macaddress: \"52:54:00:12:34:56\"\n    dhcp4: true\n".utf8),
            "binary-blob": binaryBytes(count: 70_000, seed: 7),
            "empty": Data(),
        ]
        let iso = folder.file("seed.iso")
        try SeedImageWriter.write(volumeID: "cidata", files: files, to: iso)

        let attributes = try FileManager.default.attributesOfItem(atPath: iso.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(((attributes[.size] as? Int) ?? 0) % 2048 == 0)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.url.path)
        #expect(leftovers == ["seed.iso"])

        let g = try GuestfsHandle(forceTCG: forceTCG)
        try await g.addDrive(path: iso.path, format: "raw", readOnly: true)
        try await g.launch()
        let device = try #require(try await g.listDevices().first)
        #expect(try await g.vfsType(device) == "iso9660")
        #expect(try await g.vfsLabel(device) == "cidata")
        try await g.mountReadOnly(device, at: "/")
        #expect(try await g.ls("/") == files.keys.sorted())
        for (name, contents) in files {
            #expect(try await g.readFile("/\(name)") == contents, "\(name) differs")
        }
        try await g.shutdown()
    }

    @Test("names that cannot be root-directory files are refused before libisofs is called")
    func invalidNamesAreRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        for name in ["", "a/b", "..", "."] {
            let error = #expect(throws: SeedImageError.self) {
                try SeedImageWriter.write(volumeID: "cidata", files: [name: Data()], to: folder.file("x.iso"))
            }
            #expect(error?.code == .invalidArgument)
        }
        let error = #expect(throws: SeedImageError.self) {
            try SeedImageWriter.write(volumeID: String(repeating: "v", count: 33), files: [:], to: folder.file("x.iso"))
        }
        #expect(error?.code == .invalidArgument)
        #expect(!FileManager.default.fileExists(atPath: folder.file("x.iso").path))
    }

    @Test("writing into a missing folder fails with the system's reason and leaves nothing behind")
    func missingFolderIsAnIOError() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let error = #expect(throws: SeedImageError.self) {
            try SeedImageWriter.write(volumeID: "cidata", files: ["meta-data": Data()],
                                      to: folder.file("missing/seed.iso"))
        }
        #expect(error?.code == .io)
        #expect(error?.message == "No such file or directory")
    }
}
