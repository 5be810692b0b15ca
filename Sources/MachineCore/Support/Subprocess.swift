import Foundation

/// Runs helper programs (the image recipe, ssh, scp) and waits for them without blocking a
/// thread. Cancelling the task stops the program.
public enum Subprocess {
    public struct Output: Sendable {
        public let status: Int32
        public let standardOutput: String
        public let standardError: String
    }

    /// Runs a program with the caller's standard input, output and error, and returns its exit status.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                           failure: ((Int32) -> BerthError)? = nil) async throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let status = try await wait(for: process)
        if status != 0, let failure { throw failure(status) }
        return status
    }

    /// Runs a program and collects what it prints. With `timeout`, a program still running then is
    /// stopped and the call fails.
    public static func capture(_ executable: String, _ arguments: [String], input: Data? = nil,
                               environment: [String: String]? = nil, timeout: Duration? = nil) async throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        let inputPipe = input.map { _ in Pipe() }
        process.standardInput = inputPipe ?? FileHandle.nullDevice
        // A program that exits before reading all its input must not kill berth with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        // Read both pipes as the program writes, so a full pipe never stalls it.
        async let out = read(output.fileHandleForReading)
        async let err = read(error.fileHandleForReading)
        let watch = Watch()
        defer { watch.finish() }
        let status = try await wait(for: process) { [pid = process.processIdentifier] in
            // Feed the input from another thread once the program runs, then close it.
            if let inputPipe, let input {
                DispatchQueue.global().async {
                    try? inputPipe.fileHandleForWriting.write(contentsOf: input)
                    try? inputPipe.fileHandleForWriting.close()
                }
            }
            if let timeout {
                let milliseconds = Int(min(timeout.components.seconds, 86_400) * 1000)
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(milliseconds)) {
                    guard watch.timeOut() else { return }
                    kill(pid, SIGTERM)
                    DispatchQueue.global().asyncAfter(deadline: .now() + 2) { if watch.isRunning { kill(pid, SIGKILL) } }
                }
            }
        }
        watch.finish()
        let result = Output(status: status, standardOutput: await out, standardError: await err)
        if watch.timedOut {
            let name = URL(fileURLWithPath: executable).lastPathComponent
            throw BerthError(.timeout, "\(name) did not finish within \(timeout.map { "\($0.components.seconds)" } ?? "?") s and was stopped")
        }
        return result
    }

    private static func read(_ handle: FileHandle) async -> String {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let data = (try? handle.readToEnd()) ?? Data()
                continuation.resume(returning: String(decoding: data, as: UTF8.self))
            }
        }
    }

    private static func wait(for process: Process, afterLaunch: @escaping @Sendable () -> Void = {}) async throws -> Int32 {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int32, any Error>) in
                process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
                do {
                    try process.run()
                    afterLaunch()
                } catch {
                    process.terminationHandler = nil
                    continuation.resume(throwing: BerthError(.command, "cannot run \(process.executableURL?.path ?? "program"): \(error.localizedDescription)", cause: error))
                }
            }
        } onCancel: {
            if process.isRunning { process.terminate() }
        }
    }

    /// Whether a program finished or was stopped for taking too long, shared with the timer.
    private final class Watch: @unchecked Sendable {
        private let lock = NSLock()
        private var finished = false
        private var expired = false
        func finish() { lock.withLock { finished = true } }
        /// Marks the program as timed out unless it already finished; true when it did time out.
        func timeOut() -> Bool { lock.withLock { if !finished { expired = true }; return expired } }
        var isRunning: Bool { lock.withLock { !finished } }
        var timedOut: Bool { lock.withLock { expired } }
    }

    /// The full path of a program found on PATH, or nil.
    public static func which(_ program: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
