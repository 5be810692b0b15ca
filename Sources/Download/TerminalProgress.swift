import Foundation

/// Draws a one-line progress bar with bytes, rate and time left on standard error when it is a
/// terminal, redrawn in place at most ten times a second. Draws nothing when standard error is not
/// a terminal.
///
/// ```swift
/// let bar = TerminalProgress(label: "debian-13.qcow2")
/// try await downloader.download(from: url, to: file, progress: bar.handler)
/// bar.finish()
/// ```
public final class TerminalProgress: Sendable {
    private struct State {
        var lastDraw: Double = -1
        var last: DownloadProgress?
        var drawn = false
        var finished = false
    }

    public let label: String
    /// Whether anything is drawn at all.
    public let isEnabled: Bool
    private let fileDescriptor: Int32
    private let state = Locked(State())
    private static let interval = 0.1

    /// - Parameters:
    ///   - label: shown before the bar, usually the file's name.
    ///   - fileDescriptor: where to draw; standard error unless told otherwise.
    public init(label: String, fileDescriptor: Int32 = STDERR_FILENO) {
        self.label = label
        self.fileDescriptor = fileDescriptor
        self.isEnabled = isatty(fileDescriptor) == 1
    }

    /// A progress handler to give to `Downloader`.
    public var handler: DownloadProgressHandler {
        { [self] progress in update(progress) }
    }

    /// Redraws the line unless it was drawn less than a tenth of a second ago.
    public func update(_ progress: DownloadProgress) {
        guard isEnabled else { return }
        let now = monotonicSeconds()
        let line: String? = state.withLock { state in
            guard !state.finished else { return nil }
            state.last = progress
            let complete = progress.total.map { progress.bytes >= $0 } ?? false
            guard complete || now - state.lastDraw >= Self.interval else { return nil }
            state.lastDraw = now
            state.drawn = true
            return Self.render(progress, label: label, width: Self.terminalWidth(fileDescriptor))
        }
        if let line { write("\r" + line + "\u{1B}[K") }
    }

    /// Draws the last progress once more and ends the line. Later updates draw nothing.
    public func finish() {
        guard isEnabled else { return }
        let line: String? = state.withLock { state in
            guard !state.finished else { return nil }
            state.finished = true
            guard state.drawn, let last = state.last else { return nil }
            return Self.render(last, label: label, width: Self.terminalWidth(fileDescriptor))
        }
        if let line { write("\r" + line + "\u{1B}[K\n") }
    }

    /// The progress line for a terminal `width` columns wide, such as
    /// `debian.qcow2 [#######.......]  42%  120.0 MiB / 285.4 MiB  11.2 MiB/s  ETA 0:15`.
    public static func render(_ progress: DownloadProgress, label: String, width: Int = 80) -> String {
        let rate = formatBytes(Double(progress.bytesPerSecond)) + "/s"
        var tail: String
        var fraction: Double?
        if let total = progress.total, total > 0, let value = progress.fraction {
            fraction = value
            let eta = progress.secondsRemaining.map(formatDuration) ?? "--:--"
            tail = String(format: "%3d%%", Int(value * 100))
                + "  \(formatBytes(Double(progress.bytes))) / \(formatBytes(Double(total)))"
                + "  \(rate)  ETA \(eta)"
        } else {
            tail = "\(formatBytes(Double(progress.bytes)))  \(rate)"
        }
        let head = label.isEmpty ? "" : label + " "
        let room = width - 1 - head.count - tail.count - 3
        if let fraction, room >= 10 {
            let barWidth = min(room, 40)
            let filled = Int((fraction * Double(barWidth)).rounded(.down))
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: barWidth - filled)
            tail = "[\(bar)] " + tail
        }
        var line = head + tail
        if line.count > width - 1, width > 1 {
            line = String(line.prefix(width - 1))
        }
        return line
    }

    /// `512 B`, `1.5 KiB`, `12.3 MiB`, `2.0 GiB`.
    static func formatBytes(_ value: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = max(0, value)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(Int(value)) B" : String(format: "%.1f", value) + " " + units[unit]
    }

    /// `0:42`, `12:05`, `1:02:03`.
    static func formatDuration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds < 360_000 else { return "--:--" }
        let total = Int(seconds.rounded(.up))
        let (hours, minutes, secs) = (total / 3600, total / 60 % 60, total % 60)
        return hours > 0
            ? String(format: "%d:%02d:%02d", hours, minutes, secs)
            : String(format: "%d:%02d", minutes, secs)
    }

    private static func terminalWidth(_ fileDescriptor: Int32) -> Int {
        var size = winsize()
        if ioctl(fileDescriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 {
            return Int(size.ws_col)
        }
        if let columns = ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init), columns > 0 {
            return columns
        }
        return 80
    }

    private func write(_ text: String) {
        var text = text
        text.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(fileDescriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}
