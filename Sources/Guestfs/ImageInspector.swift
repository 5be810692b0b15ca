import Foundation

/// Looks inside a disk image with one libguestfs appliance launch: which operating system it
/// holds, whether cloud-init and Docker Engine are installed, and (optionally) copies out its
/// newest kernel and initrd so the image can be booted with direct kernel boot.
///
/// The image is attached read-only (through an overlay) and mounted read-only; it is never written.
public struct ImageInspector: Sendable {
    public init() {}

    /// Inspects the image.
    /// - Parameters:
    ///   - url: the disk image on the host.
    ///   - format: `"qcow2"`, `"raw"`, …; nil lets libguestfs probe it (avoid for untrusted raw images).
    ///   - folder: where to copy `/boot/vmlinuz-<version>` and its initrd; created if missing.
    ///     Nil copies nothing (`kernelPath` and `initrdPath` are then nil).
    ///   - forceTCG: run the appliance under software emulation (see `GuestfsHandle.init(forceTCG:)`).
    /// - Throws: `GuestfsError` — libguestfs's own message when it cannot read the image, or
    ///   `.noOperatingSystem` when it finds no operating system in it.
    public func inspect(
        imageAt url: URL, format: String?, extractBootFilesTo folder: URL?, forceTCG: Bool
    ) async throws(GuestfsError) -> ImageFacts {
        let g = try GuestfsHandle(forceTCG: forceTCG)
        // Closed before returning or throwing, so the appliance has stopped by then and the
        // caller may exit at once (see `GuestfsHandle.close()`).
        do {
            let facts = try await inspect(g, imageAt: url, format: format, extractBootFilesTo: folder)
            await g.close()
            return facts
        } catch {
            await g.close()
            throw error
        }
    }

    private func inspect(
        _ g: GuestfsHandle, imageAt url: URL, format: String?, extractBootFilesTo folder: URL?
    ) async throws(GuestfsError) -> ImageFacts {
        try await g.addDrive(path: url.path, format: format, readOnly: true)
        try await g.launch()

        let roots = try await g.inspectOS()
        guard let root = roots.first else {
            throw GuestfsError(code: .noOperatingSystem, call: "inspect_os",
                               message: "no operating system was found in \(url.path)")
        }
        let osType = try await g.inspectGetType(root: root)
        let distro = try await g.inspectGetDistro(root: root)
        let major = try await g.inspectGetMajorVersion(root: root)
        let minor = try await g.inspectGetMinorVersion(root: root)
        let libguestfsProductName = try await g.inspectGetProductName(root: root)
        let architecture = try await g.inspectGetArch(root: root)

        try await mountGuest(g, root: root)

        // os-release says it as the distribution does ("24.04", "Debian GNU/Linux 13 (trixie)");
        // libguestfs gives Debian's product name as /etc/debian_version ("13.1").
        var version = minor == 0 ? "\(major)" : "\(major).\(minor)"
        var productName = libguestfsProductName
        if let osRelease = try await readTextIfPresent(g, ["/etc/os-release", "/usr/lib/os-release"]) {
            if let versionID = Self.osReleaseValue("VERSION_ID", in: osRelease), !versionID.isEmpty {
                version = versionID
            }
            if let prettyName = Self.osReleaseValue("PRETTY_NAME", in: osRelease), !prettyName.isEmpty {
                productName = prettyName
            }
        }

        let dpkg = try await readDpkgStatus(g)
        var dockerPackage: String?
        var dockerVersion: String?
        for name in ["docker-ce", "docker.io"] {
            if let v = dpkg?.installed[name] {
                dockerPackage = name
                dockerVersion = v
                break
            }
        }
        let hasCloudInit: Bool
        if dpkg?.installed["cloud-init"] != nil {
            hasCloudInit = true
        } else {
            hasCloudInit = try await g.exists("/usr/bin/cloud-init")
        }

        let boot = try await findBootFiles(g)
        var kernelPath: String?
        var initrdPath: String?
        if let folder, let boot {
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            } catch {
                throw GuestfsError(code: .hostFile, call: "download",
                                   message: "cannot create \(folder.path): \(error.localizedDescription)")
            }
            let kernelDestination = folder.appendingPathComponent(boot.kernelName).path
            try await g.download("/boot/\(boot.kernelName)", to: kernelDestination)
            kernelPath = kernelDestination
            if let initrdName = boot.initrdName {
                let initrdDestination = folder.appendingPathComponent(initrdName).path
                try await g.download("/boot/\(initrdName)", to: initrdDestination)
                initrdPath = initrdDestination
            }
        }

        // The drive is a read-only overlay: there is nothing to flush, so a failing
        // shutdown does not make the facts wrong. Closing the handle stops the appliance anyway.
        try? await g.umountAll()
        try? await g.shutdown()

        return ImageFacts(
            osType: osType, distro: distro, version: version,
            majorVersion: major, minorVersion: minor, productName: productName,
            architecture: architecture, hasCloudInit: hasCloudInit,
            dockerVersion: dockerVersion, dockerPackage: dockerPackage,
            kernelVersion: boot?.version, kernelPath: kernelPath, initrdPath: initrdPath,
            rootDevice: Self.virtioName(root))
    }

    /// libguestfs names the disk /dev/sda; a machine sees the same disk as virtio, /dev/vda.
    static func virtioName(_ device: String) -> String {
        device.hasPrefix("/dev/sd") ? "/dev/vd" + device.dropFirst("/dev/sd".count) : device
    }

    /// Mounts the guest's filesystems read-only as its fstab says, shortest mount point first.
    /// The root must mount; others (an EFI partition, a missing data disk) may fail.
    private func mountGuest(_ g: GuestfsHandle, root: String) async throws(GuestfsError) {
        var mountpoints = try await g.inspectGetMountpoints(root: root)
        if mountpoints["/"] == nil { mountpoints["/"] = root }
        let ordered = mountpoints.sorted { ($0.key.count, $0.key) < ($1.key.count, $1.key) }
        for (mountpoint, device) in ordered {
            if mountpoint == "/" {
                try await g.mountReadOnly(device, at: "/")
            } else {
                try? await g.mountReadOnly(device, at: mountpoint)
            }
        }
    }

    private func readTextIfPresent(_ g: GuestfsHandle, _ paths: [String]) async throws(GuestfsError) -> String? {
        for path in paths where try await g.exists(path) {
            if let text = try? await g.cat(path) { return text }
        }
        return nil
    }

    /// dpkg's status file can be several MiB, more than `read_file` allows: download it.
    private func readDpkgStatus(_ g: GuestfsHandle) async throws(GuestfsError) -> DpkgStatus? {
        let path = "/var/lib/dpkg/status"
        guard try await g.exists(path) else { return nil }
        let temporary = FileManager.default.temporaryDirectory
            .appendingPathComponent("berth-dpkg-status-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: temporary) }
        try await g.download(path, to: temporary.path)
        let data: Data
        do {
            data = try Data(contentsOf: temporary)
        } catch {
            throw GuestfsError(code: .hostFile, call: "download",
                               message: "cannot read \(temporary.path): \(error.localizedDescription)")
        }
        return DpkgStatus(parsing: String(decoding: data, as: UTF8.self))
    }

    private struct BootFiles {
        var version: String
        var kernelName: String
        var initrdName: String?
    }

    /// The newest `/boot/vmlinuz-<version>` and its `initrd.img-<version>` (Debian, Ubuntu)
    /// or `initramfs-<version>.img` (Fedora and relatives).
    private func findBootFiles(_ g: GuestfsHandle) async throws(GuestfsError) -> BootFiles? {
        guard try await g.isDir("/boot") else { return nil }
        let names = try await g.ls("/boot")
        var newest: String?
        for name in names where name.hasPrefix("vmlinuz-") {
            let version = String(name.dropFirst("vmlinuz-".count))
            guard try await g.isFile("/boot/\(name)") else { continue }
            if newest.map({ KernelVersionOrder.isNewer(version, than: $0) }) ?? true {
                newest = version
            }
        }
        guard let version = newest else { return nil }
        let present = Set(names)
        let initrd = ["initrd.img-\(version)", "initramfs-\(version).img"].first { present.contains($0) }
        return BootFiles(version: version, kernelName: "vmlinuz-\(version)", initrdName: initrd)
    }

    /// The unquoted value of `KEY=value` in an os-release file.
    static func osReleaseValue(_ key: String, in text: String) -> String? {
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix(key + "=") else { continue }
            var value = Substring(trimmed.dropFirst(key.count + 1))
            if let q = value.first, q == "\"" || q == "'", value.count >= 2, value.last == q {
                value = value.dropFirst().dropLast()
            }
            return String(value)
        }
        return nil
    }
}
