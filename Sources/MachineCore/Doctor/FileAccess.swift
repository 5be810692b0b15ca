import Foundation

/// Whether a user other than the caller (QEMU's) can reach a folder, read from the permission bits
/// alone (ACLs aside), and how much room a filesystem has.
enum FileAccess {
    /// A user as the kernel checks permissions: its user id and every group it is in.
    struct Identity: Equatable, Sendable {
        var name: String
        var uid: uid_t
        var groups: Set<gid_t>

        /// The named user from the password and group databases; nil when there is no such user.
        static func named(_ name: String) -> Identity? {
            guard let entry = getpwnam(name) else { return nil }
            let uid = entry.pointee.pw_uid
            let primary = entry.pointee.pw_gid
            var count: Int32 = 64
            var groups = [gid_t](repeating: 0, count: Int(count))
            if getgrouplist(name, primary, &groups, &count) < 0 {
                groups = [gid_t](repeating: 0, count: Int(count))
                _ = getgrouplist(name, primary, &groups, &count)
            }
            return Identity(name: name, uid: uid, groups: Set(groups.prefix(Int(max(count, 0)))).union([primary]))
        }
    }

    /// What a permission check found for one path.
    struct Denial: Equatable, Sendable {
        var path: String
        /// "search" (x on a folder on the way) or "read" (r on the folder itself).
        var missing: String
    }

    /// The first place where `identity` is stopped on its way into folder `path`: a folder on the
    /// way, or `path` itself, that it cannot search; with `listing`, also `path` when it cannot read
    /// it. Parts of the path that do not exist yet are not checked. Nil when nothing stops it.
    static func denial(for identity: Identity, reaching path: String, listing: Bool = false) -> Denial? {
        if identity.uid == 0 { return nil }
        let components = URL(fileURLWithPath: path).standardizedFileURL.pathComponents
        var current = ""
        for (index, component) in components.enumerated() {
            current = index == 0 ? component : (current == "/" ? "/" + component : current + "/" + component)
            var info = stat()
            guard stat(current, &info) == 0 else { return nil }
            let isLast = index == components.count - 1
            if !allows(identity, info, bit: 1) { return Denial(path: current, missing: "search") }
            if isLast, listing, !allows(identity, info, bit: 4) { return Denial(path: current, missing: "read") }
        }
        return nil
    }

    /// Whether the owner, group or other bits (whichever applies, as the kernel picks) include `bit`.
    static func allows(_ identity: Identity, _ info: stat, bit: mode_t) -> Bool {
        let mode = info.st_mode
        if identity.uid == info.st_uid { return mode & (bit << 6) != 0 }
        if identity.groups.contains(info.st_gid) { return mode & (bit << 3) != 0 }
        return mode & bit != 0
    }

    /// `path`, or its nearest ancestor that exists.
    static func nearestExisting(_ path: String) -> String {
        var url = URL(fileURLWithPath: path).standardizedFileURL
        while !FileManager.default.fileExists(atPath: url.path), url.path != "/" { url.deleteLastPathComponent() }
        return url.path
    }

    /// Bytes free to an unprivileged user on the filesystem holding `path` (or its nearest ancestor).
    static func freeBytes(at path: String) -> UInt64? {
        var info = statvfs()
        guard statvfs(nearestExisting(path), &info) == 0 else { return nil }
        return UInt64(info.f_bavail) * UInt64(info.f_frsize)
    }

    /// `12.3 GiB`, `512 MiB`.
    static func describe(bytes: UInt64) -> String {
        let gib = Double(bytes) / Double(1 << 30)
        return gib >= 1 ? String(format: "%.1f GiB", gib) : "\(bytes >> 20) MiB"
    }
}
