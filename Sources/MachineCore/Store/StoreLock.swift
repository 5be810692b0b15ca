import Foundation

/// An exclusive lock held across processes with `flock`, so two berth processes never act on
/// the same machine (or pull the same image) at once. Released when the value is dropped.
public final class StoreLock: Sendable {
    private let descriptor: Int32

    /// Takes the lock, waiting up to `timeout` for another berth process to finish with `subject`
    /// (for messages: `machine "dev"`).
    static func acquire(at url: URL, subject: String, timeout: Duration) async throws -> StoreLock {
        let descriptor = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw BerthError(.store, "cannot create the lock file \(url.path): \(String(cString: strerror(errno)))")
        }
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

    private init(descriptor: Int32) { self.descriptor = descriptor }

    deinit { close(descriptor) }
}
