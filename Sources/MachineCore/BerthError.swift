import Foundation

/// The one error type berth shows users: a stable code, a one-line message that says what is
/// wrong and what to do, and the lower-level error that caused it (printed with `--debug`).
public struct BerthError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case invalidArgument = "invalid-argument"
        case machineNotFound = "machine-not-found"
        case machineExists = "machine-exists"
        case machineNotRunning = "machine-not-running"
        case machineBusy = "machine-busy"
        case hypervisor = "hypervisor"
        case image = "image"
        case download = "download"
        case provisioning = "provisioning"
        case timeout = "timeout"
        case store = "store"
        case command = "command"
        case interrupted = "interrupted"
    }

    public let code: Code
    public let message: String
    public let cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { message }

    /// The message followed by each underlying cause, one per line, for `--debug`.
    public var chain: [String] {
        var lines = ["\(code.rawValue): \(message)"]
        var next: (any Error)? = cause
        while let error = next {
            lines.append("caused by: \(String(describing: error))")
            next = (error as? BerthError)?.cause
        }
        return lines
    }
}
