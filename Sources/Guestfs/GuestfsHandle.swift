import CGuestfs
import Dispatch
import Foundation

/// One libguestfs handle: a set of drives and, once launched, the appliance that reads them.
///
/// libguestfs calls block (a launch boots a small VM), and a handle must be used from one
/// thread at a time, so every call runs on the handle's own serial queue and is exposed as
/// an `async` method; none of them run on Swift's cooperative pool. Errors are read with
/// `guestfs_last_error` on that queue right after the failing call.
///
/// Close the handle with `close()` when done, on success and on failure alike: it stops the
/// appliance and returns only when the handle is gone. libguestfs closes every handle still open
/// from its own exit handler, so a handle left to close in the background races that handler
/// when the process exits soon after (two `guestfs_close` of one handle: a crash). A handle
/// released without `close()` is closed in `deinit`, synchronously, as a last resort.
///
/// The handle is created with `guestfs_create`, so the usual libguestfs environment
/// variables apply (`LIBGUESTFS_BACKEND`, `LIBGUESTFS_DEBUG=1`, `LIBGUESTFS_TRACE=1`, …),
/// which is the simplest way to diagnose a failing launch.
public final class GuestfsHandle: @unchecked Sendable {
    // Only touched on `queue` (and in init/deinit, when no other reference exists).
    private let g: OpaquePointer
    private var isClosed = false
    private let queue: DispatchQueue

    /// Creates a handle.
    /// - Parameter forceTCG: make the appliance use QEMU's software emulation (backend
    ///   setting `force_tcg`), for hosts whose `/dev/kvm` exists but cannot run guests.
    public init(forceTCG: Bool = false) throws(GuestfsError) {
        guard let g = guestfs_create() else {
            throw GuestfsError(code: .handleCreationFailed, call: "create",
                               message: "libguestfs could not create a handle", errno: Foundation.errno)
        }
        // Errors are read with guestfs_last_error; libguestfs must not print them itself.
        guestfs_set_error_handler(g, nil, nil)
        self.g = g
        self.queue = DispatchQueue(label: "berth.guestfs.handle")
        if forceTCG {
            try Self.check(guestfs_set_backend_setting(g, "force_tcg", "1"), "set_backend_setting", g)
        }
    }

    deinit {
        // Every queued call retains `self`, so nothing else uses the handle now. It is closed
        // right here, not queued for later: a close still running in the background when the
        // process exits races libguestfs's exit handler, which closes the same handle again.
        // This may block while the appliance stops; `close()` is the way that does not.
        if !isClosed { guestfs_close(g) }
    }

    /// Stops the appliance if it runs and closes the handle (`guestfs_close`), returning when
    /// both are done. Later calls on the handle throw `.handleClosed`; closing again does nothing.
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                if !self.isClosed {
                    guestfs_close(self.g)
                    self.isClosed = true
                }
                continuation.resume()
            }
        }
    }

    // MARK: - Configuration

    /// Replaces all backend settings (`guestfs_set_backend_settings`), e.g. `["force_tcg"]`.
    public func setBackendSettings(_ settings: [String]) async throws(GuestfsError) {
        try await perform { g throws(GuestfsError) in
            let copies = settings.map { strdup($0) }
            defer { copies.forEach { free($0) } }
            let argv = copies + [nil]
            let rc = argv.withUnsafeBufferPointer { guestfs_set_backend_settings(g, $0.baseAddress) }
            try Self.check(rc, "set_backend_settings", g)
        }
    }

    /// Sets or replaces one backend setting `name=value` (`guestfs_set_backend_setting`).
    public func setBackendSetting(_ name: String, _ value: String) async throws(GuestfsError) {
        try await perform { g throws(GuestfsError) in
            try Self.check(guestfs_set_backend_setting(g, name, value), "set_backend_setting", g)
        }
    }

    /// The current backend settings.
    public func backendSettings() async throws(GuestfsError) -> [String] {
        try await perform { g throws(GuestfsError) in
            try Self.takeList(guestfs_get_backend_settings(g), "get_backend_settings", g)
        }
    }

    // MARK: - Drives and the appliance

    /// Creates an empty disk image on the host (`guestfs_disk_create`); needs no launch.
    /// - Parameters:
    ///   - format: `"raw"` or `"qcow2"`.
    ///   - size: virtual size in bytes.
    public func diskCreate(path: String, format: String, size: Int64) async throws(GuestfsError) {
        try await perform { g throws(GuestfsError) in
            var opts = guestfs_disk_create_argv()
            opts.bitmask = 0
            try Self.check(guestfs_disk_create_argv(g, path, format, size, &opts), "disk_create", g)
        }
    }

    /// Adds a disk image (`guestfs_add_drive_opts`), before `launch()`.
    /// - Parameters:
    ///   - format: the image format (`"raw"`, `"qcow2"`, …). Give it for images you did not
    ///     make yourself: without it libguestfs probes the format, which a hostile raw image can fool.
    ///   - readOnly: attach through a throw-away overlay, so the image is never written.
    public func addDrive(path: String, format: String? = nil, readOnly: Bool) async throws(GuestfsError) {
        try await perform { g throws(GuestfsError) in
            var opts = guestfs_add_drive_opts_argv()
            opts.bitmask = Self.addDriveReadOnlyBit
            opts.readonly = readOnly ? 1 : 0
            let formatCopy = format.map { strdup($0) }
            defer { formatCopy.map { free($0) } }
            if let formatCopy {
                opts.bitmask |= Self.addDriveFormatBit
                opts.format = UnsafePointer(formatCopy)
            }
            try Self.check(guestfs_add_drive_opts_argv(g, path, &opts), "add_drive_opts", g)
        }
    }

    /// Boots the appliance (`guestfs_launch`). Under TCG this takes tens of seconds.
    public func launch() async throws(GuestfsError) {
        try await perform { g throws(GuestfsError) in
            try Self.check(guestfs_launch(g), "launch", g)
        }
    }

    /// Cleanly stops the appliance, flushing writes (`guestfs_shutdown`).
    public func shutdown() async throws(GuestfsError) {
        try await perform { g throws(GuestfsError) in
            try Self.check(guestfs_shutdown(g), "shutdown", g)
        }
    }

    /// Flushes the appliance's write caches to the drives (`guestfs_sync`).
    public func sync() async throws(GuestfsError) {
        try await perform { g throws(GuestfsError) in
            try Self.check(guestfs_sync(g), "sync", g)
        }
    }

    // MARK: - Devices and filesystems

    /// Block devices, e.g. `["/dev/sda"]`.
    public func listDevices() async throws(GuestfsError) -> [String] {
        try await perform { g throws(GuestfsError) in
            try Self.takeList(guestfs_list_devices(g), "list_devices", g)
        }
    }

    /// Partitions, e.g. `["/dev/sda1"]`.
    public func listPartitions() async throws(GuestfsError) -> [String] {
        try await perform { g throws(GuestfsError) in
            try Self.takeList(guestfs_list_partitions(g), "list_partitions", g)
        }
    }

    /// Filesystems found on the drives: mountable → filesystem type (`"ext4"`, `"iso9660"`, `"swap"`, `"unknown"`).
    public func listFilesystems() async throws(GuestfsError) -> [String: String] {
        try await perform { g throws(GuestfsError) in
            Self.pairs(try Self.takeList(guestfs_list_filesystems(g), "list_filesystems", g))
        }
    }

    /// Writes a partition table with one partition covering the device (`"mbr"` or `"gpt"`).
    public func partDisk(_ device: String, tableType: String) async throws(GuestfsError) {
        try await perform { g throws(GuestfsError) in
            try Self.check(guestfs_part_disk(g, device, tableType), "part_disk", g)
        }
    }

    /// Makes a filesystem (`guestfs_mkfs`), e.g. `mkfs("ext4", device: "/dev/sda1")`.
    public func mkfs(_ type: String, device: String) async throws(GuestfsError) {
        try await perform { g throws(GuestfsError) in
            try Self.check(guestfs_mkfs(g, type, device), "mkfs", g)
        }
    }

    /// The filesystem type on a mountable (`guestfs_vfs_type`).
    public func vfsType(_ mountable: String) async throws(GuestfsError) -> String {
        try await perform { g throws(GuestfsError) in
            try Self.takeString(guestfs_vfs_type(g, mountable), "vfs_type", g)
        }
    }

    /// The filesystem label on a mountable (`guestfs_vfs_label`), empty when it has none.
    public func vfsLabel(_ mountable: String) async throws(GuestfsError) -> String {
        try await perform { g throws(GuestfsError) in
            try Self.takeString(guestfs_vfs_label(g, mountable), "vfs_label", g)
        }
    }

    /// Mounts read-write at a path inside the appliance's tree (`"/"` first).
    public func mount(_ mountable: String, at mountpoint: String) async throws(GuestfsError) {
        try await perform { g throws(GuestfsError) in
            try Self.check(guestfs_mount(g, mountable, mountpoint), "mount", g)
        }
    }

    /// Mounts read-only (`guestfs_mount_ro`).
    public func mountReadOnly(_ mountable: String, at mountpoint: String) async throws(GuestfsError) {
        try await perform { g throws(GuestfsError) in
            try Self.check(guestfs_mount_ro(g, mountable, mountpoint), "mount_ro", g)
        }
    }

    /// Unmounts everything (`guestfs_umount_all`).
    public func umountAll() async throws(GuestfsError) {
        try await perform { g throws(GuestfsError) in
            try Self.check(guestfs_umount_all(g), "umount_all", g)
        }
    }

    // MARK: - Inspection

    /// Finds operating systems (`guestfs_inspect_os`); returns their root mountables, possibly none.
    public func inspectOS() async throws(GuestfsError) -> [String] {
        try await perform { g throws(GuestfsError) in
            try Self.takeList(guestfs_inspect_os(g), "inspect_os", g)
        }
    }

    /// `"linux"`, `"windows"`, `"freebsd"`, … or `"unknown"`.
    public func inspectGetType(root: String) async throws(GuestfsError) -> String {
        try await perform { g throws(GuestfsError) in
            try Self.takeString(guestfs_inspect_get_type(g, root), "inspect_get_type", g)
        }
    }

    /// `"debian"`, `"ubuntu"`, `"fedora"`, … or `"unknown"`.
    public func inspectGetDistro(root: String) async throws(GuestfsError) -> String {
        try await perform { g throws(GuestfsError) in
            try Self.takeString(guestfs_inspect_get_distro(g, root), "inspect_get_distro", g)
        }
    }

    public func inspectGetMajorVersion(root: String) async throws(GuestfsError) -> Int {
        try await perform { g throws(GuestfsError) in
            let v = guestfs_inspect_get_major_version(g, root)
            try Self.check(v, "inspect_get_major_version", g)
            return Int(v)
        }
    }

    public func inspectGetMinorVersion(root: String) async throws(GuestfsError) -> Int {
        try await perform { g throws(GuestfsError) in
            let v = guestfs_inspect_get_minor_version(g, root)
            try Self.check(v, "inspect_get_minor_version", g)
            return Int(v)
        }
    }

    public func inspectGetProductName(root: String) async throws(GuestfsError) -> String {
        try await perform { g throws(GuestfsError) in
            try Self.takeString(guestfs_inspect_get_product_name(g, root), "inspect_get_product_name", g)
        }
    }

    /// `"x86_64"`, `"aarch64"`, … or `"unknown"`.
    public func inspectGetArch(root: String) async throws(GuestfsError) -> String {
        try await perform { g throws(GuestfsError) in
            try Self.takeString(guestfs_inspect_get_arch(g, root), "inspect_get_arch", g)
        }
    }

    /// The guest's mount points for that root: mount point (`"/"`, `"/boot"`) → mountable.
    public func inspectGetMountpoints(root: String) async throws(GuestfsError) -> [String: String] {
        try await perform { g throws(GuestfsError) in
            Self.pairs(try Self.takeList(guestfs_inspect_get_mountpoints(g, root), "inspect_get_mountpoints", g))
        }
    }

    // MARK: - Files (inside the mounted tree)

    public func exists(_ path: String) async throws(GuestfsError) -> Bool {
        try await perform { g throws(GuestfsError) in
            try Self.bool(guestfs_exists(g, path), "exists", g)
        }
    }

    /// True for a regular file (symbolic links are not followed).
    public func isFile(_ path: String) async throws(GuestfsError) -> Bool {
        try await perform { g throws(GuestfsError) in
            try Self.bool(guestfs_is_file(g, path), "is_file", g)
        }
    }

    public func isDir(_ path: String) async throws(GuestfsError) -> Bool {
        try await perform { g throws(GuestfsError) in
            try Self.bool(guestfs_is_dir(g, path), "is_dir", g)
        }
    }

    /// Names in a directory, without `.` and `..`, sorted.
    public func ls(_ directory: String) async throws(GuestfsError) -> [String] {
        try await perform { g throws(GuestfsError) in
            try Self.takeList(guestfs_ls(g, directory), "ls", g)
        }
    }

    /// Paths matching a shell glob such as `"/boot/vmlinuz-*"` (`guestfs_glob_expand`); empty if none.
    public func glob(_ pattern: String) async throws(GuestfsError) -> [String] {
        try await perform { g throws(GuestfsError) in
            try Self.takeList(guestfs_glob_expand(g, pattern), "glob_expand", g)
        }
    }

    /// A small text file (`guestfs_cat`; no NUL bytes, at most a few MiB).
    public func cat(_ path: String) async throws(GuestfsError) -> String {
        try await perform { g throws(GuestfsError) in
            try Self.takeString(guestfs_cat(g, path), "cat", g)
        }
    }

    /// A small file's bytes (`guestfs_read_file`; at most a few MiB — use `download` for more).
    public func readFile(_ path: String) async throws(GuestfsError) -> Data {
        try await perform { g throws(GuestfsError) in
            var size = 0
            guard let buffer = guestfs_read_file(g, path, &size) else {
                throw Self.lastError("read_file", g)
            }
            defer { free(buffer) }
            return Data(bytes: buffer, count: size)
        }
    }

    /// Writes a file, replacing it (`guestfs_write`).
    public func write(_ path: String, contents: Data) async throws(GuestfsError) {
        try await perform { g throws(GuestfsError) in
            // One extra byte so the buffer is never empty (its address must not be NULL).
            let bytes = contents.map { CChar(bitPattern: $0) } + [0]
            let rc = bytes.withUnsafeBufferPointer { guestfs_write(g, path, $0.baseAddress, contents.count) }
            try Self.check(rc, "write", g)
        }
    }

    /// Creates a directory and its parents (`guestfs_mkdir_p`).
    public func mkdirP(_ path: String) async throws(GuestfsError) {
        try await perform { g throws(GuestfsError) in
            try Self.check(guestfs_mkdir_p(g, path), "mkdir_p", g)
        }
    }

    /// Creates a symbolic link `linkName` → `target` (`guestfs_ln_s`).
    public func symlink(target: String, linkName: String) async throws(GuestfsError) {
        try await perform { g throws(GuestfsError) in
            try Self.check(guestfs_ln_s(g, target, linkName), "ln_s", g)
        }
    }

    /// Copies a guest file of any size to a host path (`guestfs_download`).
    public func download(_ path: String, to hostPath: String) async throws(GuestfsError) {
        try await perform { g throws(GuestfsError) in
            try Self.check(guestfs_download(g, path, hostPath), "download", g)
        }
    }

    // MARK: - Plumbing

    // The *_BITMASK macros use UINT64_C, which Swift does not import.
    private static let addDriveReadOnlyBit: UInt64 = 1 << 0  // GUESTFS_ADD_DRIVE_OPTS_READONLY_BITMASK
    private static let addDriveFormatBit: UInt64 = 1 << 1  // GUESTFS_ADD_DRIVE_OPTS_FORMAT_BITMASK

    /// Runs `body` on the handle's queue, off the cooperative pool.
    private func perform<T: Sendable>(
        _ body: @escaping @Sendable (OpaquePointer) throws(GuestfsError) -> T
    ) async throws(GuestfsError) -> T {
        let result: Result<T, GuestfsError> = await withCheckedContinuation { continuation in
            queue.async {
                guard !self.isClosed else {
                    continuation.resume(returning: .failure(GuestfsError(
                        code: .handleClosed, call: "close", message: "the libguestfs handle is closed")))
                    return
                }
                // libguestfs keeps error state and the error handler per thread, and a serial
                // queue may use a different thread each time: silence its printing here.
                guestfs_set_error_handler(self.g, nil, nil)
                continuation.resume(returning: Result { () throws(GuestfsError) -> T in try body(self.g) })
            }
        }
        return try result.get()
    }

    private static func lastError(_ call: String, _ g: OpaquePointer) -> GuestfsError {
        let message = guestfs_last_error(g).map { String(cString: $0) } ?? "guestfs_\(call) failed"
        return GuestfsError(code: .callFailed, call: call, message: message, errno: guestfs_last_errno(g))
    }

    private static func check(_ rc: Int32, _ call: String, _ g: OpaquePointer) throws(GuestfsError) {
        if rc == -1 { throw lastError(call, g) }
    }

    private static func bool(_ rc: Int32, _ call: String, _ g: OpaquePointer) throws(GuestfsError) -> Bool {
        try check(rc, call, g)
        return rc != 0
    }

    private static func takeString(
        _ p: UnsafeMutablePointer<CChar>?, _ call: String, _ g: OpaquePointer
    ) throws(GuestfsError) -> String {
        guard let p else { throw lastError(call, g) }
        defer { free(p) }
        return String(cString: p)
    }

    private static func takeList(
        _ list: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ call: String, _ g: OpaquePointer
    ) throws(GuestfsError) -> [String] {
        guard let list else { throw lastError(call, g) }
        defer { free(list) }
        var strings: [String] = []
        var i = 0
        while let item = list[i] {
            strings.append(String(cString: item))
            free(item)
            i += 1
        }
        return strings
    }

    /// libguestfs returns hashes as flat key, value, key, value lists.
    private static func pairs(_ list: [String]) -> [String: String] {
        var result: [String: String] = [:]
        var i = 0
        while i + 1 < list.count {
            result[list[i]] = list[i + 1]
            i += 2
        }
        return result
    }
}
