import Foundation
import Guestfs
import Testing

@Suite("ImageInspector")
struct ImageInspectorTests {
    static let osRelease = """
        PRETTY_NAME="Debian GNU/Linux 13 (trixie)"
        NAME="Debian GNU/Linux"
        VERSION_ID="13"
        VERSION="13 (trixie)"
        VERSION_CODENAME=trixie
        DEBIAN_VERSION_FULL=13.1
        ID=debian
        HOME_URL="https://www.debian.org/"

        """

    static let dpkgStatus = """
        Package: cloud-init
        Status: install ok installed
        Architecture: all
        Version: 25.1.4-1
        Description: initialization and customization tool for cloud instances

        Package: docker.io
        Status: install ok installed
        Architecture: amd64
        Version: 26.1.5+dfsg1-9+b2
        Description: Linux container runtime
         Docker complements kernel namespacing with a high-level API.

        """

    /// Builds a small ext4 disk that libguestfs recognises as Debian 13, in one appliance launch.
    static func makeDebianImage(at url: URL, kernel: Data, initrd: Data, oldKernel: Data) async throws {
        let g = try GuestfsHandle(forceTCG: forceTCG)
        try await g.diskCreate(path: url.path, format: "qcow2", size: 128 * 1024 * 1024)
        try await g.addDrive(path: url.path, format: "qcow2", readOnly: false)
        try await g.launch()
        try await g.partDisk("/dev/sda", tableType: "mbr")
        try await g.mkfs("ext4", device: "/dev/sda1")
        try await g.mount("/dev/sda1", at: "/")
        for dir in ["/etc", "/bin", "/usr/bin", "/usr/lib", "/var/lib/dpkg", "/boot", "/root", "/tmp"] {
            try await g.mkdirP(dir)
        }
        try await g.write("/usr/lib/os-release", contents: Data(osRelease.utf8))
        try await g.symlink(target: "../usr/lib/os-release", linkName: "/etc/os-release")
        try await g.write("/etc/debian_version", contents: Data("13.1\n".utf8))
        try await g.write("/etc/fstab", contents: Data("/dev/sda1 / ext4 errors=remount-ro 0 1\n".utf8))
        try await g.write("/etc/hostname", contents: Data("berth-test\n".utf8))
        try await g.write("/var/lib/dpkg/status", contents: Data(dpkgStatus.utf8))
        try await g.write("/usr/bin/cloud-init", contents: Data("#!/usr/bin/python3\n".utf8))
        try await g.write("/boot/vmlinuz-6.12.0-test", contents: kernel)
        try await g.write("/boot/initrd.img-6.12.0-test", contents: initrd)
        try await g.write("/boot/vmlinuz-6.1.0-old", contents: oldKernel)
        try await g.write("/boot/initrd.img-6.1.0-old", contents: oldKernel)
        try await g.umountAll()
        try await g.shutdown()
    }

    @Test("an image built as Debian 13 with cloud-init and docker.io is recognised, and its newest kernel extracted")
    func inspectsDebianImage() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let image = folder.file("debian.qcow2")
        let kernel = binaryBytes(count: 300_000, seed: 1)
        let initrd = binaryBytes(count: 200_000, seed: 2)
        try await Self.makeDebianImage(at: image, kernel: kernel, initrd: initrd,
                                       oldKernel: binaryBytes(count: 1000, seed: 3))

        let boot = folder.file("boot")
        let facts = try await ImageInspector().inspect(
            imageAt: image, format: "qcow2", extractBootFilesTo: boot, forceTCG: forceTCG)

        #expect(facts.osType == "linux")
        #expect(facts.distro == "debian")
        #expect(facts.version == "13")
        #expect(facts.majorVersion == 13)
        #expect(facts.productName == "Debian GNU/Linux 13 (trixie)")
        #expect(facts.hasCloudInit)
        #expect(facts.dockerPackage == "docker.io")
        #expect(facts.dockerVersion == "26.1.5+dfsg1-9+b2")
        #expect(facts.kernelVersion == "6.12.0-test")
        let kernelPath = try #require(facts.kernelPath)
        let initrdPath = try #require(facts.initrdPath)
        #expect(kernelPath == boot.appendingPathComponent("vmlinuz-6.12.0-test").path)
        #expect(initrdPath == boot.appendingPathComponent("initrd.img-6.12.0-test").path)
        #expect(try Data(contentsOf: URL(fileURLWithPath: kernelPath)) == kernel)
        #expect(try Data(contentsOf: URL(fileURLWithPath: initrdPath)) == initrd)

        // The facts survive a JSON round trip, as machines store them.
        let decoded = try JSONDecoder().decode(ImageFacts.self, from: JSONEncoder().encode(facts))
        #expect(decoded == facts)
    }

    @Test("a file that is not a disk image fails with libguestfs's own message")
    func notADiskImage() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let notAnImage = folder.file("notes.qcow2")
        try Data("these are notes, not a disk image\n".utf8).write(to: notAnImage)

        let error = await #expect(throws: GuestfsError.self) {
            _ = try await ImageInspector().inspect(
                imageAt: notAnImage, format: "qcow2", extractBootFilesTo: nil, forceTCG: forceTCG)
        }
        // libguestfs 1.48 says: "qemu-img: /tmp/libguestfsXXXXXX/overlay1.qcow2: qemu-img exited
        // with error status 1." followed by advice on debugging.
        #expect(error?.code == .callFailed)
        #expect(["add_drive_opts", "launch"].contains(error?.call ?? ""))
        #expect(error?.summary.isEmpty == false)
    }

    @Test("a missing image fails when the drive is added, before any launch")
    func missingImage() async throws {
        let error = await #expect(throws: GuestfsError.self) {
            _ = try await ImageInspector().inspect(
                imageAt: URL(fileURLWithPath: "/nonexistent/berth/disk.qcow2"), format: "qcow2",
                extractBootFilesTo: nil, forceTCG: forceTCG)
        }
        #expect(error?.call == "add_drive_opts")
        #expect(error?.message.contains("/nonexistent/berth/disk.qcow2") == true)
    }
}
