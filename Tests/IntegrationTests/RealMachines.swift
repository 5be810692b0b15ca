import Foundation
import MachineCore
import Testing

/// Everything here runs real VMs under the real `qemu:///system` daemon (TCG where KVM does not
/// work), one at a time: these tests are the proof that berth works, so each one checks what a
/// user would check.
@Suite(.serialized) struct RealMachines {}

/// Built images, kept in the test store between runs and verified by checksum before reuse.
enum TestImages {
    static var cache: ImageCache { ImageCache(store: Store(root: URL(fileURLWithPath: CLI.storePath))) }

    static func ensure(_ flavor: ImageCache.Flavor) async throws -> CachedImage {
        // An image built by an older recipe is built again: the tests prove the boot path berth ships.
        if let image = cache.entry(named: flavor.imageName), image.source == .built, ImageCache.isCurrentBuild(image),
           cache.verify(image) { return image }
        try await CLI.berth("image", "build", "--flavor", flavor.rawValue)
        return try #require(cache.entry(named: flavor.imageName))
    }
}

extension RealMachines {
    @Suite(.serialized) struct Lifecycle {
        /// The image without Docker Engine: cloud-init installs docker.io from Debian on first boot.
        /// Before that, a create killed in the middle of uploading the image into the pool leaves a
        /// half-written volume; the next create notices and uploads it again. The user's own
        /// cloud-config rides along: `create` returns once cloud-init has finished (Docker's install,
        /// which restarts it, and the user's commands), and says that the last command failed.
        @Test func plainImageGetsDockerFromCloudInit() async throws {
            let image = try await TestImages.ensure(.plain)
            #expect(image.facts.dockerVersion == nil)
            let name = "berth-it-plain"
            try await CLI.berth("rm", "-f", name, expectSuccess: false)
            let volume = "image-\(image.name)-\(image.contentTag).qcow2"
            _ = try? await Witness.virsh("vol-delete", "--pool", "berth", volume)
            let killed = try BackgroundBerth(["create", "--memory", "1024", "--image", image.name, name], stopAt: "upload \(volume)")
            #expect(try await killed.waitUntilStopped())
            killed.signal(SIGKILL)
            _ = try await killed.wait()
            #expect(try await Witness.virsh("vol-list", "berth").contains(volume), "the half-uploaded volume is there")
            try await CLI.berth("rm", "-f", name)

            let userConfig = FileManager.default.temporaryDirectory.appendingPathComponent("berth-it-user-\(UUID().uuidString).yaml")
            try """
                #cloud-config
                runcmd:
                  - [sh, -c, "sleep 15; echo set up by your cloud-config > /var/tmp/berth-user-setup"]
                  - [sh, -c, "exit 3"]
                """.write(to: userConfig, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: userConfig) }
            let created = try await CLI.berth("create", "--memory", "1024", "--image", image.name, "--cloud-init", userConfig.path, name)
            #expect(created.error.contains("cloud-init reported errors on \(name)"), "\(created.error)")
            let setUp = try await CLI.berth("ssh", name, "--", "cat", "/var/tmp/berth-user-setup")
            #expect(setUp.output.trimmingCharacters(in: .whitespacesAndNewlines) == "set up by your cloud-config")
            let imported = try await CLI.docker(["import", "-", "berth-test/busybox"], machine: name,
                                                input: try CLI.busyboxTarball())
            #expect(imported.status == 0, "docker import failed: \(imported.error)")
            let hello = try await CLI.docker(["run", "--rm", "berth-test/busybox", "/bin/echo", "installed by cloud-init"],
                                             machine: name)
            #expect(hello.output.trimmingCharacters(in: .whitespacesAndNewlines) == "installed by cloud-init", "\(hello.error)")
            // The docker command works inside the machine too.
            let inside = try await CLI.berth(["ssh", name, "--", "sudo", "docker", "info", "--format", "{{.Name}}"])
            #expect(inside.output.trimmingCharacters(in: .whitespacesAndNewlines) == name)
            try await CLI.berth("rm", "-y", name)
            #expect(try await Witness.leftovers(of: name) == [])
        }

        /// A create that cannot finish (here: far too short a timeout) removes everything it made.
        @Test func failedCreateLeavesNothingBehind() async throws {
            _ = try await TestImages.ensure(.docker)
            let name = "berth-it-fail"
            try await CLI.berth("rm", "-f", name, expectSuccess: false)
            let result = try await CLI.berth("create", "--memory", "1024", "--timeout", "2", name, expectSuccess: false)
            #expect(result.status != 0)
            #expect(result.error.contains("timed out waiting for"))
            // The guest's console log outlives the machine's folder, for the user to read why.
            let keptLog = "\(CLI.storePath)/logs/\(name)-console.log"
            #expect(result.error.contains("see the console log at \(keptLog)"), "\(result.error)")
            // Two seconds are too few for an emulated guest to reach its network: berth says so.
            #expect(result.error.contains("the guest never asked network berth for its address"), "\(result.error)")
            #expect(FileManager.default.fileExists(atPath: keptLog))
            #expect(try await Witness.leftovers(of: name) == [])
            #expect(try await CLI.berth("ls", "-q").output.contains(name) == false)
        }
    }
}
