/// Reads template text into nodes, following text/template's lexical rules for the supported subset.
struct TemplateParser {
    private let scalars: [Unicode.Scalar]
    private var position = 0

    /// Words that start Go's control structures and definitions: not part of this subset.
    private static let keywords: Set<String> = [
        "if", "else", "end", "range", "with", "define", "template", "block", "break", "continue",
    ]

    init(_ text: String) { scalars = Array(text.unicodeScalars) }

    mutating func parse() throws -> [TemplateNode] {
        var nodes: [TemplateNode] = []
        var text = String.UnicodeScalarView()
        while position < scalars.count {
            guard startsWith("{{", at: position) else {
                text.append(scalars[position])
                position += 1
                continue
            }
            let actionStart = position
            position += 2
            // "{{- " trims the white space before the action.
            if startsWith("-", at: position), position + 1 < scalars.count, Self.isSpace(scalars[position + 1]) {
                while let last = text.last, Self.isSpace(last) { text.removeLast() }
                position += 2
            }
            if !text.isEmpty { nodes.append(.text(String(text))) }
            text.removeAll()
            let trimAfter: Bool
            if startsWith("/*", at: position) {
                trimAfter = try skipComment(startingAt: actionStart)
            } else {
                let (pipeline, trim) = try parseAction(startingAt: actionStart)
                nodes.append(.action(pipeline))
                trimAfter = trim
            }
            // " -}}" trims the white space after the action.
            if trimAfter {
                while position < scalars.count, Self.isSpace(scalars[position]) { position += 1 }
            }
        }
        if !text.isEmpty { nodes.append(.text(String(text))) }
        return nodes
    }

    // MARK: - Actions

    /// Reads words up to the closing delimiter. Returns the pipeline and whether a trim marker closed it.
    private mutating func parseAction(startingAt start: Int) throws -> (TemplatePipeline, Bool) {
        var commands: [[TemplateWord]] = [[]]
        while true {
            skipSpace()
            guard position < scalars.count else {
                throw TemplateError("unclosed action \(excerpt(from: start)): add }}")
            }
            if startsWith("}}", at: position) || startsWith("-}}", at: position) {
                let trim = scalars[position] == "-"
                guard !trim || (position > 0 && Self.isSpace(scalars[position - 1])) else {
                    throw TemplateError("a trim marker needs a space before it: \" -}}\", in \(excerpt(from: start))")
                }
                position += trim ? 3 : 2
                let source = String(String.UnicodeScalarView(scalars[start..<position]))
                guard commands.allSatisfy({ !$0.isEmpty }) else {
                    throw TemplateError("missing value in \(source)")
                }
                return (TemplatePipeline(commands: commands, source: source), trim)
            }
            let scalar = scalars[position]
            switch scalar {
            case "|":
                position += 1
                commands.append([])
            case ".":
                commands[commands.count - 1].append(.field(try fieldPath(start: start)))
            case "$":
                position += 1
                if position < scalars.count, Self.isIdentifierStart(scalars[position]) {
                    throw TemplateError("variables are not supported, only $ itself, in \(excerpt(from: start))")
                }
                commands[commands.count - 1].append(.field(try fieldPath(start: start)))
            case "\"", "`":
                commands[commands.count - 1].append(.string(try stringLiteral(start: start)))
            default:
                guard Self.isIdentifierStart(scalar) else {
                    throw TemplateError("unexpected \"\(scalar)\" in \(excerpt(from: start))")
                }
                let name = identifier()
                if Self.keywords.contains(name) {
                    throw TemplateError("{{\(name)}} is not supported; only fields, json and prettyjson are, in \(excerpt(from: start))")
                }
                switch name {
                case "true": commands[commands.count - 1].append(.bool(true))
                case "false": commands[commands.count - 1].append(.bool(false))
                default:
                    guard GoTemplate.functionNames.contains(name) else {
                        throw TemplateError("function \"\(name)\" is not defined (there are: \(GoTemplate.functionNames.joined(separator: ", "))), in \(excerpt(from: start))")
                    }
                    commands[commands.count - 1].append(.function(name))
                }
            }
        }
    }

    /// `.` or `.A.B.C` at the current position (which may also follow `$`).
    private mutating func fieldPath(start: Int) throws -> [String] {
        var path: [String] = []
        while position < scalars.count, scalars[position] == "." {
            position += 1
            guard position < scalars.count, Self.isIdentifierStart(scalars[position]) else {
                if path.isEmpty { return [] }
                throw TemplateError("a field name must follow \".\", in \(excerpt(from: start))")
            }
            path.append(identifier())
        }
        if position < scalars.count, !Self.endsWord(scalars[position], next: scalars[safe: position + 1]) {
            throw TemplateError("unexpected \"\(scalars[position])\" after a field, in \(excerpt(from: start))")
        }
        return path
    }

    private mutating func identifier() -> String {
        var name = String.UnicodeScalarView()
        while position < scalars.count, Self.isIdentifierStart(scalars[position]) || ("0"..."9").contains(scalars[position]) {
            name.append(scalars[position])
            position += 1
        }
        return String(name)
    }

    /// A Go string: "interpreted" with backslash escapes, or `raw`.
    private mutating func stringLiteral(start: Int) throws -> String {
        let quote = scalars[position]
        position += 1
        var text = String.UnicodeScalarView()
        while position < scalars.count {
            let scalar = scalars[position]
            position += 1
            if scalar == quote { return String(text) }
            if quote == "`" {
                text.append(scalar)
                continue
            }
            if scalar == "\n" { break }
            guard scalar == "\\" else {
                text.append(scalar)
                continue
            }
            guard position < scalars.count else { break }
            let escape = scalars[position]
            position += 1
            switch escape {
            case "n": text.append("\n")
            case "t": text.append("\t")
            case "r": text.append("\r")
            case "\\", "\"": text.append(escape)
            default:
                throw TemplateError("unsupported escape \\\(escape) in a string, in \(excerpt(from: start))")
            }
        }
        throw TemplateError("unterminated string in \(excerpt(from: start))")
    }

    /// Skips `/* … */` and the closing delimiter. Returns whether a trim marker closed it.
    private mutating func skipComment(startingAt start: Int) throws -> Bool {
        position += 2
        while position < scalars.count, !startsWith("*/", at: position) { position += 1 }
        guard position < scalars.count else { throw TemplateError("unclosed comment \(excerpt(from: start))") }
        position += 2
        if startsWith(" -}}", at: position) {
            position += 4
            return true
        }
        guard startsWith("}}", at: position) else {
            throw TemplateError("a comment must end right before }}, in \(excerpt(from: start))")
        }
        position += 2
        return false
    }

    // MARK: - Characters

    private mutating func skipSpace() {
        // The space of a " -}}" trim marker is skipped too; parseAction checks it was there.
        while position < scalars.count, Self.isSpace(scalars[position]) { position += 1 }
    }

    private func startsWith(_ text: String, at index: Int) -> Bool {
        let wanted = Array(text.unicodeScalars)
        guard index + wanted.count <= scalars.count else { return false }
        return Array(scalars[index..<index + wanted.count]) == wanted
    }

    private func excerpt(from start: Int) -> String {
        let end = min(scalars.count, max(position, start + 2))
        var text = String(String.UnicodeScalarView(scalars[start..<end]))
        if let close = text.range(of: "}}") { text = String(text[..<close.upperBound]) }
        return text.count > 60 ? String(text.prefix(57)) + "..." : text
    }

    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r"
    }

    static func isIdentifierStart(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "_" || scalar.properties.isAlphabetic
    }

    /// What may follow a field: space, a pipe, or the closing delimiter (with or without trim marker).
    static func endsWord(_ scalar: Unicode.Scalar, next: Unicode.Scalar?) -> Bool {
        isSpace(scalar) || scalar == "|" || (scalar == "}" && next == "}")
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
