import Foundation

/// An exclusive lock held across processes with `flock`, so two berth processes never act on
/// the same machine (or pull the same image, or make the same shared thing) at once. The kernel
/// drops it when the holder exits, however it exits. Released when the value is dropped.
public final class StoreLock: Sendable {
    private let descriptor: Int32

    /// Takes the lock, waiting up to `timeout` for another berth process to finish with `subject`
    /// (for messages: `machine "dev"`).
    static func acquire(at url: URL, subject: String, timeout: Duration) async throws -> StoreLock {
        let descriptor = try open(url)
        let deadline = ContinuousClock.now + timeout
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard ContinuousClock.now < deadline else {
                close(descriptor)
                throw BerthError(.machineBusy, "\(subject) is busy with another berth command; wait for it to finish and try again")
            }
            do {
                try await Task.sleep(for: .milliseconds(100))
            } catch {
                close(descriptor)
                throw BerthError(.interrupted, "interrupted while waiting for \(subject)")
            }
        }
        return StoreLock(descriptor: descriptor)
    }

    /// Runs `body` under the lock, waiting for it without an async context (for short critical
    /// sections such as making the store's CA).
    static func withLock<T>(at url: URL, subject: String, timeout: Duration = .seconds(60), _ body: () throws -> T) throws -> T {
        let descriptor = try open(url)
        defer { close(descriptor) }
        let deadline = ContinuousClock.now + timeout
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard ContinuousClock.now < deadline else {
                throw BerthError(.machineBusy, "\(subject) is busy with another berth command; wait for it to finish and try again")
            }
            usleep(20_000)
        }
        return try body()
    }

    /// Takes the lock if nobody holds it; nil when someone does. Never waits.
    static func tryAcquire(at url: URL) throws -> StoreLock? {
        let descriptor = try open(url)
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            return nil
        }
        return StoreLock(descriptor: descriptor)
    }

    /// Whether some process holds the lock at `url` now. Never waits.
    static func isHeld(at url: URL) -> Bool {
        let descriptor = Glibc.open(url.path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { return errno == EWOULDBLOCK }
        flock(descriptor, LOCK_UN)
        return false
    }

    /// Opens (creating) a lock file. Read-only is enough for `flock`, so a lock file that another
    /// user made (host-wide locks) can be shared; symbolic links are never followed.
    private static func open(_ url: URL) throws -> Int32 {
        // Open an existing file without O_CREAT first: the kernel's protected_regular rule refuses
        // O_CREAT on another user's file in a sticky folder such as /run/lock.
        for _ in 0..<3 {
            let existing = Glibc.open(url.path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            if existing >= 0 { return existing }
            guard errno == ENOENT else { break }
            let made = Glibc.open(url.path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644)
            if made >= 0 {
                fchmod(made, 0o644)
                return made
            }
            guard errno == EEXIST else { break }
        }
        throw BerthError(.store, "cannot open the lock file \(url.path): \(String(cString: strerror(errno)))")
    }

    private init(descriptor: Int32) { self.descriptor = descriptor }

    deinit { close(descriptor) }
}

/// Locks for things every berth process on this host shares, whatever its store: libvirt's
/// storage pool, networks, address reservations and image volumes. They live in `/run/lock`
/// (world-writable, sticky, cleared at boot), named after the libvirt URI and the resource.
public enum HostLock {
    static var directory: URL {
        let runLock = URL(fileURLWithPath: "/run/lock")
        return FileManager.default.isWritableFile(atPath: runLock.path) ? runLock : FileManager.default.temporaryDirectory
    }

    static func url(uri: String, resource: String) -> URL {
        let key = "\(uri)|\(resource)".utf8.reduce(UInt64(14_695_981_039_346_656_037)) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 }
        let readable = resource.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "-" }
        return directory.appendingPathComponent("berth-\(String(readable).prefix(60))-\(String(key, radix: 16)).lock")
    }

    /// Takes the host-wide lock for `resource` on `uri`, waiting up to `timeout`.
    public static func acquire(uri: String, resource: String, timeout: Duration = .seconds(600)) async throws -> StoreLock {
        try await StoreLock.acquire(at: url(uri: uri, resource: resource), subject: resource, timeout: timeout)
    }
}
