/// A Go text/template, for the part of the language command-line tools' `--format` options are
/// used with: text, `{{.Field.Path}}`, `{{.}}`, `{{$}}`, string and boolean constants, the
/// functions `json` and `prettyjson` (called as `json .X` or piped as `.X | json`), trim markers
/// (`{{-`, `-}}`) and comments (`{{/* … */}}`).
///
/// Unlike Go, a field that the data does not have is an error rather than `<no value>`, so a
/// mistyped field fails loudly. Control structures (`if`, `range`, `with`, variables) are not
/// part of this subset and are refused with a message that says so.
public struct GoTemplate: Sendable {
    /// The functions every template may call.
    public static let functionNames = ["json", "prettyjson"]

    let nodes: [TemplateNode]

    public init(_ text: String) throws {
        var parser = TemplateParser(text)
        nodes = try parser.parse()
    }

    /// Renders the template with `data` as `.`.
    public func render(_ data: TemplateValue) throws -> String {
        var output = ""
        for node in nodes {
            switch node {
            case .text(let text): output += text
            case .action(let pipeline): output += try pipeline.evaluate(dot: data).templatePrinted
            }
        }
        return output
    }
}

enum TemplateNode: Sendable, Equatable {
    case text(String)
    case action(TemplatePipeline)
}

/// `command | command | …`: each command's result is the last argument of the next.
struct TemplatePipeline: Sendable, Equatable {
    var commands: [[TemplateWord]]
    /// The action as written, for error messages.
    var source: String

    func evaluate(dot: TemplateValue) throws -> TemplateValue {
        var previous: TemplateValue?
        for words in commands {
            guard let first = words.first else { throw TemplateError("empty command in \(source)") }
            if case .function(let name) = first {
                var arguments = try words.dropFirst().map { try value(of: $0, dot: dot) }
                if let previous { arguments.append(previous) }
                previous = try call(name, arguments)
            } else {
                guard words.count == 1, previous == nil else {
                    throw TemplateError("\(first.spelling) is not a function and takes no arguments, in \(source)")
                }
                previous = try value(of: first, dot: dot)
            }
        }
        return previous ?? .null
    }

    private func value(of word: TemplateWord, dot: TemplateValue) throws -> TemplateValue {
        switch word {
        case .string(let text): return .string(text)
        case .bool(let flag): return .bool(flag)
        case .function(let name): throw TemplateError("function \(name) cannot be an argument; pipe into it instead (.X | \(name)), in \(source)")
        case .field(let path):
            var current = dot
            var walked = ""
            for name in path {
                let next = walked + "." + name
                switch current {
                case .object(let object):
                    guard let field = object[name] else {
                        let known = object.keys.sorted().joined(separator: ", ")
                        throw TemplateError("unknown field \(next) in \(source) (known here: \(known))")
                    }
                    current = field
                case .null:
                    throw TemplateError("\(walked.isEmpty ? "." : walked) is nil, so it has no field \(name), in \(source)")
                default:
                    throw TemplateError("\(walked.isEmpty ? "." : walked) is \(current.kindName), so it has no field \(name), in \(source)")
                }
                walked = next
            }
            return current
        }
    }

    private func call(_ name: String, _ arguments: [TemplateValue]) throws -> TemplateValue {
        guard arguments.count == 1 else {
            throw TemplateError("\(name) takes one argument, not \(arguments.count), in \(source)")
        }
        switch name {
        case "json": return .string(arguments[0].compactJSON)
        case "prettyjson": return .string(arguments[0].indentedJSON)
        default: throw TemplateError("function \"\(name)\" is not defined, in \(source)")
        }
    }
}

/// One word of a command.
enum TemplateWord: Sendable, Equatable {
    /// `.A.B` (an empty path is `.` itself; `$` is the same as `.` without control structures).
    case field([String])
    case string(String)
    case bool(Bool)
    case function(String)

    var spelling: String {
        switch self {
        case .field(let path): path.isEmpty ? "." : path.map { "." + $0 }.joined()
        case .string(let text): "\"\(text)\""
        case .bool(let flag): flag ? "true" : "false"
        case .function(let name): name
        }
    }
}
