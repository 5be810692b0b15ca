import Foundation

/// An exclusive `flock` on a lock file, shared by processes and by tasks of one process (each
/// holder opens the file itself). The holder removes the file before unlocking, so no lock files
/// pile up; a waiter that then finds it locked a removed file tries again.
final class FileLock {
    let path: String
    private var descriptor: Int32

    /// Waits for the lock, polling, so that waiting takes no thread and ends when the task is
    /// cancelled. `onWait` is called once if the lock is held by someone else.
    static func acquire(
        path: String, url: String, onWait: () -> Void = {}
    ) async throws(DownloadError) -> FileLock {
        var waited = false
        while true {
            let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else {
                throw .fileError(path: path, operation: "create the lock file", errno: errno)
            }
            if flock(descriptor, LOCK_EX | LOCK_NB) == 0 {
                if isCurrent(descriptor, path: path) {
                    return FileLock(path: path, descriptor: descriptor)
                }
                close(descriptor)
                continue
            }
            let code = errno
            close(descriptor)
            guard code == EWOULDBLOCK || code == EINTR else {
                throw .fileError(path: path, operation: "lock", errno: code)
            }
            if !waited {
                waited = true
                onWait()
            }
            do {
                try await Task.sleep(nanoseconds: 50_000_000)
            } catch {
                throw .cancelled(url: url)
            }
        }
    }

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    /// Whether the locked descriptor is still the file at `path`.
    private static func isCurrent(_ descriptor: Int32, path: String) -> Bool {
        var held = stat()
        var named = stat()
        guard fstat(descriptor, &held) == 0, stat(path, &named) == 0 else { return false }
        return held.st_dev == named.st_dev && held.st_ino == named.st_ino
    }

    /// Removes the lock file and unlocks it.
    func release() {
        guard descriptor >= 0 else { return }
        unlink(path)
        close(descriptor)
        descriptor = -1
    }

    deinit {
        release()
    }
}
