import Foundation

/// Receives the progress of a staged operation (create, start): each stage as it starts and ends.
public protocol StageReporter: Sendable {
    func stageStarted(_ stage: String)
    func stageFinished(_ stage: String, after: Duration)
    func stageFailed(_ stage: String, after: Duration)
    func note(_ message: String)
}

/// A sequence of named, timed stages, each of which may register how to undo it. When a stage
/// fails or the task is cancelled (Ctrl-C), the undo steps run in reverse order, so a failed
/// operation leaves nothing half made.
public final class StagedOperation: @unchecked Sendable {
    private let reporter: StageReporter
    /// Stages may run at once (disk and network), so the undo steps are guarded.
    private let lock = NSLock()
    private var undoSteps: [(String, @Sendable () async throws -> Void)] = []

    public init(reporter: StageReporter) { self.reporter = reporter }

    /// Runs one stage. `undo` is remembered only when the stage succeeds.
    @discardableResult
    public func stage<T>(_ name: String, undo: (@Sendable () async throws -> Void)? = nil,
                         _ body: () async throws -> T) async throws -> T {
        let clock = ContinuousClock()
        let start = clock.now
        reporter.stageStarted(name)
        Self.pauseForFaultInjection(at: name)
        do {
            try Task.checkCancellation()
            let result = try await body()
            try Task.checkCancellation()
            let elapsed = clock.now - start
            reporter.stageFinished(name, after: elapsed)
            if let undo { lock.withLock { undoSteps.append((name, undo)) } }
            return result
        } catch {
            reporter.stageFailed(name, after: clock.now - start)
            throw error
        }
    }

    /// Fault injection for berth's own tests: with `BERTH_STOP_AT_STAGE=NAME`, the process stops
    /// itself (SIGSTOP) as stage NAME begins (or at a named point inside one, such as
    /// `upload VOLUME` between the two halves of an image upload), so a test can deliver a real
    /// signal (SIGINT, SIGKILL) at exactly that point and then let it continue.
    static func pauseForFaultInjection(at stage: String) {
        guard let wanted = ProcessInfo.processInfo.environment["BERTH_STOP_AT_STAGE"], wanted == stage else { return }
        raise(SIGSTOP)
    }

    /// Registers an undo step without a stage of its own (for something made inside a stage).
    public func onFailure(_ name: String, _ undo: @escaping @Sendable () async throws -> Void) {
        lock.withLock { undoSteps.append((name, undo)) }
    }

    /// Undoes every completed stage, newest first. Runs outside the (possibly cancelled) task so
    /// that Ctrl-C cannot interrupt the clean-up itself; failures are reported, not thrown.
    public func rollBack() async {
        let steps = lock.withLock { () -> [(String, @Sendable () async throws -> Void)] in
            defer { undoSteps = [] }
            return undoSteps
        }
        let reporter = self.reporter
        await Task.detached {
            for (name, undo) in steps.reversed() {
                do {
                    try await undo()
                } catch {
                    reporter.note("could not undo \(name): \(error)")
                }
            }
        }.value
    }

    /// Runs `body`, rolling back on any error (including cancellation), and rethrows.
    public func run<T>(_ body: (StagedOperation) async throws -> T) async throws -> T {
        do {
            return try await body(self)
        } catch {
            await rollBack()
            if error is CancellationError {
                throw BerthError(.interrupted, "interrupted; everything made so far was removed")
            }
            throw error
        }
    }
}
