import Foundation
import Subprocess
import SystemPackage

/// Runs helper programs (the image recipe, ssh, scp, qemu-img, ssh-keygen) through
/// swift-subprocess, which watches each child through its own process descriptor. What a program
/// prints is collected in files rather than pipes, so a program that leaves a daemon behind (one
/// that keeps its output open, like an SSH master connection) never holds berth up. Cancelling the
/// task stops the program: SIGTERM, then SIGKILL after a grace period.
public enum HelperProgram {
    public struct Output: Sendable {
        /// The exit status, or 128 + the signal that ended the program.
        public let status: Int32
        public let standardOutput: String
        public let standardError: String
    }

    /// Runs a program with berth's own standard input, output and error; returns its exit status.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                           failure: ((Int32) -> BerthError)? = nil) async throws -> Int32 {
        let configuration = configuration(executable, arguments, environment)
        let result = try await launch { try await runInheritingStandardStreams(configuration) }
        let status = code(result)
        if status != 0, let failure { throw failure(status) }
        return status
    }

    /// Runs a program and collects what it prints. With `timeout`, a program still running then is
    /// stopped and the call fails.
    public static func capture(_ executable: String, _ arguments: [String], input: Data? = nil,
                               environment: [String: String]? = nil, timeout: Duration? = nil) async throws -> Output {
        // The input is handed over as a file, not written into a pipe: a program that exits without
        // reading all of it (ssh or docker failing to connect) must not turn into a failed write.
        let source = try input.map { try CaptureFile(holding: $0) }
        let output = try CaptureFile()
        let errors = try CaptureFile()
        let configuration = configuration(executable, arguments, environment)
        let work: @Sendable () async throws -> TerminationStatus = {
            try await launch {
                try await runCollecting(configuration, input: source?.descriptor, output: output.descriptor, error: errors.descriptor)
            }
        }
        let status: TerminationStatus
        if let timeout {
            status = try await withThrowingTaskGroup(of: TerminationStatus?.self) { group in
                group.addTask { try await work() }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let finished = first else {
                    let name = URL(fileURLWithPath: executable).lastPathComponent
                    throw BerthError(.timeout, "\(name) did not finish within \(timeout.components.seconds) s and was stopped")
                }
                return finished
            }
        } else {
            status = try await work()
        }
        return Output(status: code(status), standardOutput: output.text(), standardError: errors.text())
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

    private static func configuration(_ executable: String, _ arguments: [String], _ environment: [String: String]?) -> Configuration {
        var options = PlatformOptions()
        // A program asked to stop gets time to clean up (the image recipe unmounts and removes its work).
        options.teardownSequence = [.gracefulShutDown(allowedDurationToNextStep: .seconds(10))]
        let variables = environment.map { values in
            Environment.custom(Dictionary(uniqueKeysWithValues: values.map { (Environment.Key(stringLiteral: $0.key), $0.value) }))
        } ?? .inherit
        return Configuration(executable: .path(FilePath(executable)), arguments: Arguments(arguments), environment: variables,
                             platformOptions: options)
    }

    /// Turns swift-subprocess's errors into berth's, and a program that ended by a signal into 128+N.
    private static func launch(_ body: () async throws -> TerminationStatus) async throws -> TerminationStatus {
        // A program that exits before reading all its input must not kill berth with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        do {
            return try await body()
        } catch let error as SubprocessError {
            throw BerthError(.command, "cannot run a helper program: \(error)", cause: error)
        }
    }

    private static func code(_ status: TerminationStatus) -> Int32 {
        switch status {
        case .exited(let code): return code
        case .signaled(let signal): return 128 + signal
        }
    }

    /// An unnamed temporary file that collects one stream of a program's output, or holds its input.
    private final class CaptureFile: @unchecked Sendable {
        let descriptor: FileDescriptor

        init() throws {
            // O_TMPFILE (__O_TMPFILE | O_DIRECTORY), which Swift does not import: a file with no name.
            let temporaryFile: Int32 = 0o20_000_000 | O_DIRECTORY
            let raw = open(FileManager.default.temporaryDirectory.path, temporaryFile | O_RDWR | O_CLOEXEC, 0o600)
            guard raw >= 0 else {
                throw BerthError(.command, "cannot make a temporary file to collect a program's output: \(String(cString: strerror(errno)))")
            }
            descriptor = FileDescriptor(rawValue: raw)
        }

        /// A file holding `data`, read from its start.
        convenience init(holding data: Data) throws {
            try self.init()
            do {
                _ = try descriptor.writeAll(data)
                _ = try descriptor.seek(offset: 0, from: .start)
            } catch {
                throw BerthError(.command, "cannot write a program's input to a temporary file: \(error)")
            }
        }

        func text() -> String {
            var data = Data()
            var buffer = [UInt8](repeating: 0, count: 64 << 10)
            var offset: off_t = 0
            while true {
                let count = pread(descriptor.rawValue, &buffer, buffer.count, offset)
                guard count > 0 else { break }
                data.append(buffer, count: count)
                offset += off_t(count)
            }
            return String(decoding: data, as: UTF8.self)
        }

        deinit { try? descriptor.close() }
    }
}

// The package's `run` functions, called from file scope where `HelperProgram.run` does not hide them.

private func runInheritingStandardStreams(_ configuration: Configuration) async throws -> TerminationStatus {
    try await run(configuration, input: .currentStandardInput, output: .currentStandardOutput,
                  error: .currentStandardError).terminationStatus
}

private func runCollecting(_ configuration: Configuration, input: FileDescriptor?, output: FileDescriptor,
                           error: FileDescriptor) async throws -> TerminationStatus {
    let output = FileDescriptorOutput.fileDescriptor(output, closeAfterSpawningProcess: false)
    let error = FileDescriptorOutput.fileDescriptor(error, closeAfterSpawningProcess: false)
    guard let input else { return try await run(configuration, input: .none, output: output, error: error).terminationStatus }
    return try await run(configuration, input: .fileDescriptor(input, closeAfterSpawningProcess: false),
                         output: output, error: error).terminationStatus
}
