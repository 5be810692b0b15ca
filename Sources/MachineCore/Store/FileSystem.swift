import Foundation

/// File operations with the permissions berth promises: private folders are 0700, secrets 0600,
/// and every write goes to a temporary file that is renamed into place, so a reader never sees
/// half a file and an interrupted write leaves the old one.
public enum FileSystem {
    /// Creates a folder (and its parents) readable only by its owner.
    public static func makePrivateDirectory(_ url: URL) throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        chmod(url.path, 0o700)
    }

    /// Writes `data` to `url` atomically with the given permissions.
    public static func writeAtomically(_ data: Data, to url: URL, permissions: Int = 0o644) throws {
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil,
                                             attributes: [.posixPermissions: permissions]) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: temporary.path])
        }
        do {
            let handle = try FileHandle(forWritingTo: temporary)
            try handle.write(contentsOf: data)
            try handle.synchronize()
            try handle.close()
            chmod(temporary.path, mode_t(permissions))
            guard rename(temporary.path, url.path) == 0 else {
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
        } catch {
            unlink(temporary.path)
            throw error
        }
    }

    public static func writeAtomically(_ text: String, to url: URL, permissions: Int = 0o644) throws {
        try writeAtomically(Data(text.utf8), to: url, permissions: permissions)
    }
}
