import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes files the way berth's store expects them: private folders (0700),
/// explicit permissions on every file, and atomic replacement (temporary file in the
/// same folder, then rename), so a reader never sees half a key or certificate.
public enum SecureFile {
    /// Permissions for private keys and other secrets.
    public static let privateMode: mode_t = 0o600
    /// Permissions for public material such as certificates and public keys.
    public static let publicMode: mode_t = 0o644
    /// Permissions for berth's storage folders.
    public static let directoryMode: mode_t = 0o700

    /// Creates `directory` and any missing parents with mode 0700; an existing folder gets mode 0700 too.
    public static func createDirectory(_ directory: URL, mode: mode_t = directoryMode) throws {
        let path = directory.path
        do {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: NSNumber(value: mode)])
        } catch {
            throw ProvisioningError.fileAccess(path: path, reason: "\(error.localizedDescription)")
        }
        guard chmod(path, mode) == 0 else {
            throw ProvisioningError.fileAccess(path: path, reason: String(cString: strerror(errno)))
        }
    }

    /// Atomically writes `data` to `url` with exactly `mode`, creating the parent folder (0700) if needed.
    public static func write(_ data: Data, to url: URL, mode: mode_t) throws {
        let directory = url.deletingLastPathComponent()
        if !FileManager.default.fileExists(atPath: directory.path) {
            try createDirectory(directory)
        }
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw ProvisioningError.fileAccess(path: temporary.path, reason: String(cString: strerror(errno)))
        }
        var failure: String?
        data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buffer.count {
                let written = systemWrite(fd, buffer.baseAddress!.advanced(by: offset), buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                offset += written
            }
        }
        if failure == nil, fchmod(fd, mode) != 0 { failure = String(cString: strerror(errno)) }
        if failure == nil, fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        close(fd)
        if failure == nil, rename(temporary.path, url.path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(temporary.path)
            throw ProvisioningError.fileAccess(path: url.path, reason: failure)
        }
    }

    /// Atomically writes `text` as UTF-8.
    public static func write(_ text: String, to url: URL, mode: mode_t) throws {
        try write(Data(text.utf8), to: url, mode: mode)
    }

    /// Atomically copies `source` to `destination` with exactly `mode`.
    public static func copy(_ source: URL, to destination: URL, mode: mode_t) throws {
        try write(try read(source), to: destination, mode: mode)
    }

    /// Reads a whole file.
    public static func read(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            throw ProvisioningError.fileAccess(path: url.path, reason: "\(error.localizedDescription)")
        }
    }

    /// Reads a whole file as UTF-8 text.
    public static func readText(_ url: URL) throws -> String {
        guard let text = String(data: try read(url), encoding: .utf8) else {
            throw ProvisioningError.fileAccess(path: url.path, reason: "not UTF-8 text")
        }
        return text
    }

    /// The permission bits of a file, e.g. 0o600.
    public static func mode(of url: URL) throws -> mode_t {
        var info = stat()
        guard stat(url.path, &info) == 0 else {
            throw ProvisioningError.fileAccess(path: url.path, reason: String(cString: strerror(errno)))
        }
        return info.st_mode & 0o7777
    }
}

/// The C library's write(2), named apart from `SecureFile.write`.
@inline(__always)
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Darwin)
    return Darwin.write(fd, buffer, count)
    #elseif canImport(Musl)
    return Musl.write(fd, buffer, count)
    #else
    return Glibc.write(fd, buffer, count)
    #endif
}
