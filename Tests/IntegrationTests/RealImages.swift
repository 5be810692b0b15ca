import Crypto
import Foundation
import Guestfs
import MachineCore
import Testing
import TestSupport

extension RealMachines {
    @Suite(.serialized) struct Images {
        /// The recipe's manifest agrees with what libguestfs finds inside the built image.
        @Test func builtImageMatchesItsManifest() async throws {
            let image = try await TestImages.ensure(.docker)
            let folder = URL(fileURLWithPath: "\(CLI.storePath)/images/\(image.name)")
            let manifest = try JSONSerialization.jsonObject(
                with: Data(contentsOf: folder.appendingPathComponent("berth-docker.json"))) as? [String: Any]
            let packages = try #require(manifest?["packages"] as? [String: Any])
            #expect(image.facts.distro == "debian")
            #expect(image.facts.version == "13")
            #expect(image.facts.hasCloudInit)
            #expect(image.facts.dockerVersion == packages["docker"] as? String)
            #expect(image.facts.kernelVersion == manifest?["kernelRelease"] as? String)
            #expect(image.hasBootFiles)
            #expect(image.format == "qcow2")
            #expect(image.disk.size <= 250 << 20, "the compressed image should stay within 250 MB")

            let listing = try await CLI.berth("image", "ls")
            #expect(listing.output.contains("berth-docker"))
            #expect(listing.output.contains(String(image.facts.dockerVersion?.prefix(6) ?? "none")))
        }

        /// `image pull` from a real HTTP server on loopback verifies the checksum and caches the image;
        /// a wrong checksum leaves the cache as it was. Then the pulled image is listed, inspected, removed.
        @Test func pullVerifiesAndCaches() async throws {
            let plain = try await TestImages.ensure(.plain)
            let diskURL = URL(fileURLWithPath: "\(CLI.storePath)/images/\(plain.name)/\(plain.disk.path)")
            let bytes = [UInt8](try Data(contentsOf: diskURL))
            let server = try await TestHTTPServer.start(files: ["/images/served.qcow2": bytes])
            let url = server.url("/images/served.qcow2").absoluteString
            let digest = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()

            let wrong = try await CLI.berth("image", "pull", url, "--sha256", String(repeating: "0", count: 64),
                                            "--name", "berth-it-wrong", expectSuccess: false)
            #expect(wrong.status != 0)
            #expect(wrong.error.contains("checksum"))
            #expect(TestImages.cache.entry(named: "berth-it-wrong") == nil)

            // Two berth processes pulling the same URL at once: one transfer, one cache entry.
            let requestsBefore = server.requests.count
            async let first = CLI.berth("image", "pull", url, "--sha256", digest, "--name", "berth-it-pulled")
            async let second = CLI.berth("image", "pull", url, "--sha256", digest, "--name", "berth-it-pulled")
            _ = try await (first, second)
            #expect(server.requests.count - requestsBefore == 1)
            await server.stop()
            let pulled = try #require(TestImages.cache.entry(named: "berth-it-pulled"))
            #expect(pulled.disk.sha256 == digest)
            #expect(pulled.facts.distro == "debian")
            #expect(pulled.source == .url)
            #expect(try await CLI.berth("image", "ls", "-q").output.contains("berth-it-pulled"))
            let inspected = try await CLI.berth("image", "inspect", "berth-it-pulled")
            #expect(inspected.output.contains(digest))
            try await CLI.berth("image", "rm", "berth-it-pulled")
            #expect(TestImages.cache.entry(named: "berth-it-pulled") == nil)
        }

        @Test func importedFileIsInspectedAndRemovable() async throws {
            let plain = try await TestImages.ensure(.plain)
            let file = "\(CLI.storePath)/images/\(plain.name)/\(plain.disk.path)"
            try await CLI.berth("image", "import", file, "--name", "berth-it-imported")
            let imported = try #require(TestImages.cache.entry(named: "berth-it-imported"))
            #expect(imported.source == .file)
            #expect(imported.facts.hasCloudInit)
            #expect(imported.facts.dockerVersion == nil)
            // Imported images with a kernel boot directly, from the root filesystem libguestfs found.
            #expect(imported.kernelCommandLine?.contains("root=/dev/vda") == true)
            try await CLI.berth("image", "rm", "berth-it-imported")
            #expect(try await CLI.berth("image", "ls", "-q").output.contains("berth-it-imported") == false)
        }
    }
}
