/// Aligns tab-separated cells into columns as Go's text/tabwriter does (left-aligned, padded with
/// a character, no flags). A cell is text ended by a tab; the text after a line's last tab is not
/// part of any column. A column is a run of consecutive lines that all have a cell there, so a
/// line with fewer cells ends the columns to its right.
public struct TabWriter: Sendable {
    public var minimumWidth: Int
    public var padding: Int
    public var padCharacter: Character

    /// Docker Machine's `ls` used tabwriter.NewWriter(out, 5, 1, 3, ' ', 0).
    public init(minimumWidth: Int = 5, padding: Int = 3, padCharacter: Character = " ") {
        self.minimumWidth = minimumWidth
        self.padding = padding
        self.padCharacter = padCharacter
    }

    public func format(_ text: String) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        }
        // Text after the last newline is a line without one; an empty remainder has no cells at all.
        if lines.last == [""] { lines[lines.count - 1] = [] }
        var layout = Layout(lines: lines, writer: self)
        layout.format(from: 0, to: lines.count)
        return layout.output
    }

    private struct Layout {
        let lines: [[String]]
        let writer: TabWriter
        var widths: [Int] = []
        var output = ""

        init(lines: [[String]], writer: TabWriter) {
            self.lines = lines
            self.writer = writer
        }

        /// Finds each block of lines that has a cell in the next column, sizes that column, and
        /// formats the columns to its right within the block; other lines are written as they are.
        mutating func format(from start: Int, to end: Int) {
            let column = widths.count
            var blockStart = start
            var line = start
            while line < end {
                guard column < lines[line].count - 1 else {
                    line += 1
                    continue
                }
                write(from: blockStart, to: line)
                blockStart = line
                var width = writer.minimumWidth
                while line < end, column < lines[line].count - 1 {
                    width = max(width, Self.width(of: lines[line][column]) + writer.padding)
                    line += 1
                }
                widths.append(width)
                format(from: blockStart, to: line)
                widths.removeLast()
                blockStart = line
            }
            write(from: blockStart, to: end)
        }

        private mutating func write(from start: Int, to end: Int) {
            for index in start..<end {
                for (column, cell) in lines[index].enumerated() {
                    output += cell
                    if column < widths.count {
                        output += String(repeating: writer.padCharacter, count: widths[column] - Self.width(of: cell))
                    }
                }
                if index + 1 < lines.count { output += "\n" }
            }
        }

        /// Go counts a cell's width in runes (Unicode scalars).
        static func width(of cell: String) -> Int { cell.unicodeScalars.count }
    }
}
