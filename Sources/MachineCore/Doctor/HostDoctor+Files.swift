import Foundation
import Libvirt

/// The doctor's checks of folders: the storage pool's (which QEMU's user must reach), berth's
/// store (private to its user) and libguestfs's appliance.
extension HostDoctor {
    static let gibibyte: UInt64 = 1 << 30

    // MARK: - Storage pool

    func poolChecks(_ connection: Connection, driver: LibvirtDriver) async -> [HostCheck] {
        guard isLocal else {
            return [HostCheck(.poolAccess, .skipped, "the storage pool is on another host; not checked from here"),
                    HostCheck(.poolSpace, .skipped, "the storage pool is on another host; not checked from here")]
        }
        var path = driver.poolPath
        if let pool = try? await connection.storagePoolIfExists(named: driver.poolName),
           let xml = try? await pool.xmlDescription(), let target = Self.poolPath(in: xml) {
            path = target
        }
        return [poolAccessCheck(path: path), Self.spaceCheck(.poolSpace, what: "the storage pool (machines' disks)", path: path,
                                                             failBelow: Self.gibibyte, warnBelow: 10 * Self.gibibyte)]
    }

    /// `<target><path>…</path></target>` of a pool's XML.
    static func poolPath(in xml: String) -> String? {
        guard let target = xml.range(of: "<target>") else { return nil }
        return element("path", in: String(xml[target.upperBound...]))
    }

    /// Under the system daemon QEMU runs as its own user (qemu.conf's `user`, libvirt-qemu on
    /// Debian), which must reach the disks in the pool's folder: search every folder on the way
    /// (libvirt gives it the files themselves when a machine starts).
    func poolAccessCheck(path: String) -> HostCheck {
        guard isSystem else { return HostCheck(.poolAccess, .ok, "QEMU runs as you under \(uri) and reaches \(path)") }
        let userName = Self.qemuUser()
        guard let qemu = FileAccess.Identity.named(userName) else {
            return HostCheck(.poolAccess, .skipped, "QEMU's user \(userName) does not exist here; \(path) not checked")
        }
        if let denial = FileAccess.denial(for: qemu, reaching: path) {
            let fix = "chmod o+x \(denial.path)"
            return HostCheck(.poolAccess, .failed, "QEMU's user \(userName) cannot \(denial.missing) \(denial.path), on the way to the storage pool \(path)",
                             fix: fix)
        }
        let exists = FileManager.default.fileExists(atPath: path)
        return HostCheck(.poolAccess, .ok, "QEMU's user \(userName) can reach \(path)\(exists ? "" : " (made on first create)")")
    }

    /// The `user = "…"` setting of libvirt's qemu.conf, else Debian's default.
    static func qemuUser(config: String? = try? String(contentsOfFile: "/etc/libvirt/qemu.conf", encoding: .utf8)) -> String {
        for line in (config ?? "").split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            guard text.hasPrefix("user"), let equals = text.firstIndex(of: "=") else { continue }
            guard text[..<equals].trimmingCharacters(in: .whitespaces) == "user" else { continue }
            let value = text[text.index(after: equals)...].trimmingCharacters(in: .whitespaces)
                .trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            if !value.isEmpty, !value.hasPrefix("+") { return value }
        }
        return "libvirt-qemu"
    }

    /// Free space on the filesystem holding `path`.
    static func spaceCheck(_ code: HostCheck.Code, what: String, path: String, failBelow: UInt64, warnBelow: UInt64,
                           free: UInt64? = nil) -> HostCheck {
        let where_ = FileAccess.nearestExisting(path)
        guard let bytes = free ?? FileAccess.freeBytes(at: path) else {
            return HostCheck(code, .warning, "cannot tell how much room \(where_) has")
        }
        let text = "\(FileAccess.describe(bytes: bytes)) free for \(what) at \(where_)"
        if bytes < failBelow {
            return HostCheck(code, .failed, text, fix: "free at least \(FileAccess.describe(bytes: failBelow)) there")
        }
        if bytes < warnBelow {
            return HostCheck(code, .warning, text, fix: "free some room there: \(FileAccess.describe(bytes: warnBelow)) or more is comfortable")
        }
        return HostCheck(code, .ok, text)
    }

    // MARK: - Store

    func storeChecks() -> [HostCheck] {
        let root = machines.store.root.standardizedFileURL.path
        return [Self.storePermissionsCheck(store: machines.store),
                Self.spaceCheck(.storeSpace, what: "berth's store (keys, image cache)", path: root,
                                failBelow: Self.gibibyte, warnBelow: 4 * Self.gibibyte)]
    }

    /// berth's store holds private keys: its folders must be the user's own and 0700, its keys 0600.
    /// Folders others can write to are a failure (someone could plant keys or configs); folders or
    /// keys others can read are a warning (create still works, but the keys are exposed).
    static func storePermissionsCheck(store: Store, uid: uid_t = geteuid()) -> HostCheck {
        let root = store.root.standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: root) else {
            let parent = FileAccess.nearestExisting(root)
            guard access(parent, W_OK) == 0 else {
                return HostCheck(.storePermissions, .failed, "berth's store \(root) does not exist and \(parent) is not writable",
                                 fix: "set BERTH_STORAGE_PATH (or -s) to a folder you can write")
            }
            return HostCheck(.storePermissions, .ok, "berth's store \(root) does not exist yet; create makes it (0700)")
        }
        var folders = [store.root, store.certsDirectory, store.machinesDirectory, store.imagesDirectory]
        folders += store.machineNames().compactMap { try? store.machineDirectory($0) }
        var keys = ["ca-key.pem", "key.pem"].map { store.certsDirectory.appendingPathComponent($0) }
        for name in store.machineNames() {
            guard let directory = try? store.machineDirectory(name) else { continue }
            keys += ["key.pem", "server-key.pem", "id_ed25519"].map { directory.appendingPathComponent($0) }
        }
        var foreign: [String] = [], writable: [String] = [], readable: [String] = []
        for folder in folders {
            var info = stat()
            guard lstat(folder.path, &info) == 0 else { continue }
            if info.st_uid != uid { foreign.append(folder.path) }
            if info.st_mode & 0o022 != 0 { writable.append(folder.path) } else if info.st_mode & 0o077 != 0 { readable.append(folder.path) }
        }
        for key in keys {
            var info = stat()
            guard lstat(key.path, &info) == 0 else { continue }
            if info.st_mode & 0o077 != 0 { readable.append(key.path) }
        }
        if let first = foreign.first {
            return HostCheck(.storePermissions, .failed, "\(first) belongs to another user\(Self.more(foreign))",
                             fix: "chown -R $USER \(root), or set BERTH_STORAGE_PATH to a folder of your own")
        }
        if access(root, W_OK) != 0 {
            return HostCheck(.storePermissions, .failed, "berth's store \(root) is not writable", fix: "chmod 700 \(root)")
        }
        if let first = writable.first {
            return HostCheck(.storePermissions, .failed, "\(first) is writable by other users\(Self.more(writable))",
                             fix: "chmod 700 \(writable.joined(separator: " "))")
        }
        if let first = readable.first {
            let folderFix = readable.filter { !$0.hasSuffix(".pem") && !$0.hasSuffix("id_ed25519") }
            let keyFix = readable.filter { $0.hasSuffix(".pem") || $0.hasSuffix("id_ed25519") }
            let fixes = (folderFix.isEmpty ? [] : ["chmod 700 \(folderFix.joined(separator: " "))"])
                + (keyFix.isEmpty ? [] : ["chmod 600 \(keyFix.joined(separator: " "))"])
            return HostCheck(.storePermissions, .warning, "\(first) is readable by other users\(Self.more(readable))",
                             fix: fixes.joined(separator: "; "))
        }
        return HostCheck(.storePermissions, .ok, "berth's store \(root) is yours and private (0700, keys 0600)")
    }

    private static func more(_ paths: [String]) -> String {
        paths.count > 1 ? " (and \(paths.count - 1) more)" : ""
    }

    // MARK: - libguestfs

    /// libguestfs looks inside each image as it enters the cache (berth's own image on the first
    /// create). Its appliance is made by supermin from the host's own kernel, which must be readable.
    func libguestfsCheck() -> HostCheck {
        let imageCached = machines.images.entry(named: ImageCache.defaultImageName) != nil
        // Without berth's image, the first create builds it and needs libguestfs; with it, only new images do.
        let missStatus: HostCheck.Status = imageCached ? .warning : .failed
        let folders = (environment["LIBGUESTFS_PATH"].map { $0.split(separator: ":").map(String.init) } ?? [])
            + ["/usr/lib/x86_64-linux-gnu/guestfs", "/usr/lib64/guestfs", "/usr/lib/guestfs"]
        guard let appliance = folders.first(where: { folder in
            ["supermin.d", "appliance", "kernel"].contains { FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent($0)) }
        }) else {
            return HostCheck(.libguestfsAppliance, missStatus, "libguestfs's appliance is not installed",
                             fix: "sudo apt-get install libguestfs0 supermin")
        }
        if let kernel = environment["SUPERMIN_KERNEL"], !kernel.isEmpty {
            guard FileManager.default.isReadableFile(atPath: kernel) else {
                return HostCheck(.libguestfsAppliance, missStatus, "SUPERMIN_KERNEL=\(kernel) is not readable",
                                 fix: "point SUPERMIN_KERNEL at a readable kernel, or unset it")
            }
            return HostCheck(.libguestfsAppliance, .ok, "libguestfs's appliance at \(appliance), kernel \(kernel); `libguestfs-test-tool` tests it fully")
        }
        let kernels = LibvirtDriver.hostKernels()
        guard let readable = kernels.first(where: { FileManager.default.isReadableFile(atPath: $0.path) }) else {
            if kernels.isEmpty {
                return HostCheck(.libguestfsAppliance, missStatus, "there is no kernel in /boot for libguestfs's appliance",
                                 fix: "sudo apt-get install linux-image-amd64")
            }
            return HostCheck(.libguestfsAppliance, missStatus, "the kernels in /boot are not readable, and libguestfs's appliance needs one",
                             fix: "sudo chmod 0644 /boot/vmlinuz-*")
        }
        return HostCheck(.libguestfsAppliance, .ok, "libguestfs's appliance at \(appliance), kernel \(readable.path); `libguestfs-test-tool` tests it fully")
    }
}
