/// Cuts a byte stream of newline-delimited JSON into lines, whatever the chunk boundaries: a
/// line may arrive in pieces, and a chunk may hold several lines or end inside a UTF-8 sequence.
/// Blank lines are skipped, a trailing `\r` is dropped, and so is a leading record separator
/// (0x1E), which Docker puts before each event when a client asks for `application/json-seq`.
struct JSONLineSplitter: Sendable {
    /// A longer line means the stream is not what it should be; holding it all would only use memory.
    let maxLineLength: Int
    private var buffer: [UInt8] = []
    /// Where to resume looking for a newline: the bytes before it have none.
    private var scanned = 0

    init(maxLineLength: Int = 1 << 20) {
        self.maxLineLength = maxLineLength
    }

    struct LineTooLong: Error {
        let length: Int
    }

    /// Adds a chunk and returns the lines it completed.
    mutating func append(_ chunk: some Collection<UInt8>) throws(LineTooLong) -> [[UInt8]] {
        buffer.append(contentsOf: chunk)
        var lines: [[UInt8]] = []
        var lineStart = 0
        var index = scanned
        while index < buffer.count {
            if buffer[index] == UInt8(ascii: "\n") {
                appendLine(buffer[lineStart..<index], to: &lines)
                lineStart = index + 1
            }
            index += 1
        }
        buffer.removeFirst(lineStart)
        scanned = buffer.count
        if buffer.count > maxLineLength { throw LineTooLong(length: buffer.count) }
        return lines
    }

    /// At the end of the stream: the last line, when it had no newline.
    mutating func finish() -> [UInt8]? {
        var lines: [[UInt8]] = []
        appendLine(buffer[...], to: &lines)
        buffer.removeAll()
        scanned = 0
        return lines.first
    }

    private func appendLine(_ bytes: ArraySlice<UInt8>, to lines: inout [[UInt8]]) {
        var line = bytes
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        if line.first == 0x1E { line = line.dropFirst() }
        guard line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }) else { return }
        lines.append(Array(line))
    }
}
