import Foundation
import MachineCore

/// Prints each stage of create/start as one line with its elapsed time, on standard error.
struct StageLines: StageReporter {
    func stageStarted(_ stage: String) {
        if Terminal.standardErrorIsTerminal { FileHandle.standardError.write(Data("  \(stage)…\r".utf8)) }
    }

    func stageFinished(_ stage: String, after: Duration) {
        Terminal.status("✓ \(stage.padding(toLength: 20, withPad: " ", startingAt: 0)) \(Self.format(after))")
    }

    func stageFailed(_ stage: String, after: Duration) {
        Terminal.status("✗ \(stage.padding(toLength: 20, withPad: " ", startingAt: 0)) \(Self.format(after))")
    }

    func note(_ message: String) { Terminal.warning(message) }

    static func format(_ duration: Duration) -> String {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return seconds < 10 ? String(format: "%.1fs", seconds) : String(format: "%.0fs", seconds)
    }
}
