import Foundation
import Testing

@testable import Download

@Suite("Terminal progress")
struct TerminalProgressTests {
    @Test("a line with bar, percentage, bytes, rate and time left")
    func knownTotal() {
        let progress = DownloadProgress(bytes: 50 * 1024 * 1024, total: 200 * 1024 * 1024, bytesPerSecond: 10 * 1024 * 1024)
        let line = TerminalProgress.render(progress, label: "debian.qcow2", width: 100)
        #expect(line.hasPrefix("debian.qcow2 [########."))
        #expect(line.contains(" 25%"))
        #expect(line.contains("50.0 MiB / 200.0 MiB"))
        #expect(line.contains("10.0 MiB/s"))
        #expect(line.contains("ETA 0:15"))
        #expect(line.count <= 99)
    }

    @Test("without a total: bytes and rate only")
    func unknownTotal() {
        let line = TerminalProgress.render(DownloadProgress(bytes: 1536, total: nil, bytesPerSecond: 512), label: "list")
        #expect(line == "list 1.5 KiB  512 B/s")
    }

    @Test("narrow terminals drop the bar and never wrap")
    func narrow() {
        let progress = DownloadProgress(bytes: 1, total: 2, bytesPerSecond: 1)
        let line = TerminalProgress.render(progress, label: "a-rather-long-file-name.qcow2", width: 40)
        #expect(!line.contains("["))
        #expect(line.count <= 39)
    }

    @Test("durations")
    func durations() {
        #expect(TerminalProgress.formatDuration(5) == "0:05")
        #expect(TerminalProgress.formatDuration(754) == "12:34")
        #expect(TerminalProgress.formatDuration(3723) == "1:02:03")
        #expect(TerminalProgress.formatDuration(.infinity) == "--:--")
    }

    @Test("draws nothing when the output is not a terminal")
    func notATerminal() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let bar = TerminalProgress(label: "file", fileDescriptor: fds[1])
        #expect(!bar.isEnabled)
        bar.update(DownloadProgress(bytes: 10, total: 100, bytesPerSecond: 5))
        bar.finish()
        close(fds[1])
        var buffer = [UInt8](repeating: 0, count: 16)
        #expect(read(fds[0], &buffer, buffer.count) == 0)
    }
}
