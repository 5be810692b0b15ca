import Foundation

extension TemplateValue {
    /// The value as Go's json.Marshal writes it: compact, `<`, `>` and `&` escaped.
    public var compactJSON: String {
        var output = ""
        GoJSONWriter(indent: nil).write(self, to: &output, depth: 0)
        return output
    }

    /// The value as Go's json.MarshalIndent(value, "", "    ") writes it.
    public var indentedJSON: String {
        var output = ""
        GoJSONWriter(indent: "    ").write(self, to: &output, depth: 0)
        return output
    }

    /// Parses JSON text, keeping the order of object keys. Numbers become `.number`, as Go
    /// decodes them into an interface value.
    public init(json data: Data) throws {
        var parser = JSONTreeParser(bytes: Array(data))
        self = try parser.parseDocument()
    }

    /// The tree of an Encodable value, through its JSON form with keys sorted: what a Go tool sees
    /// after turning a value into a map (Go prints and encodes maps with sorted keys).
    public init<Value: Encodable>(encoding value: Value) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        self = try TemplateValue(json: encoder.encode(value)).sortingKeys()
    }

    /// The same value with every object's keys in Go's map order (byte order, "CPU" before "CaCertPath").
    public func sortingKeys() -> TemplateValue {
        switch self {
        case .array(let elements): return .array(elements.map { $0.sortingKeys() })
        case .object(let object):
            let fields = object.fields.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
            return .object(TemplateObject(fields.map { ($0.key, $0.value.sortingKeys()) }))
        default: return self
        }
    }
}

/// Writes JSON as Go's encoding/json does.
struct GoJSONWriter {
    var indent: String?

    func write(_ value: TemplateValue, to output: inout String, depth: Int) {
        switch value {
        case .null: output += "null"
        case .bool(let flag): output += flag ? "true" : "false"
        case .integer(let number): output += String(number)
        case .number(let number): output += GoNumberFormat.json(number)
        case .duration(let nanoseconds): output += String(nanoseconds)
        case .string(let text): Self.writeString(text, to: &output)
        case .array(let elements):
            writeContainer("[", "]", count: elements.count, to: &output, depth: depth) { index, output in
                write(elements[index], to: &output, depth: depth + 1)
            }
        case .object(let object):
            let fields = object.fields
            writeContainer("{", "}", count: fields.count, to: &output, depth: depth) { index, output in
                Self.writeString(fields[index].key, to: &output)
                output += indent == nil ? ":" : ": "
                write(fields[index].value, to: &output, depth: depth + 1)
            }
        }
    }

    private func writeContainer(_ open: String, _ close: String, count: Int, to output: inout String, depth: Int,
                                element: (Int, inout String) -> Void) {
        output += open
        guard count > 0 else {
            output += close
            return
        }
        for index in 0..<count {
            if index > 0 { output += "," }
            if let indent { output += "\n" + String(repeating: indent, count: depth + 1) }
            element(index, &output)
        }
        if let indent { output += "\n" + String(repeating: indent, count: depth) }
        output += close
    }

    static func writeString(_ text: String, to output: inout String) {
        output += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            // Go escapes these so JSON can sit inside HTML and JavaScript.
            case "<", ">", "&", "\u{2028}", "\u{2029}":
                output += "\\u" + hex4(scalar.value)
            default:
                if scalar.value < 0x20 {
                    output += "\\u" + hex4(scalar.value)
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        output += "\""
    }

    private static func hex4(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

/// A small JSON reader that keeps object keys in document order.
struct JSONTreeParser {
    let bytes: [UInt8]
    var position = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func parseDocument() throws -> TemplateValue {
        let value = try parseValue()
        skipSpace()
        guard position == bytes.count else { throw failure("unexpected text after the JSON value") }
        return value
    }

    private func failure(_ reason: String) -> TemplateError {
        TemplateError("invalid JSON at byte \(position): \(reason)")
    }

    private mutating func skipSpace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    private mutating func parseValue() throws -> TemplateValue {
        skipSpace()
        guard position < bytes.count else { throw failure("unexpected end") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        default: return .number(try parseNumber())
        }
    }

    private mutating func expect(_ word: String) throws {
        let expected = Array(word.utf8)
        guard position + expected.count <= bytes.count, Array(bytes[position..<position + expected.count]) == expected else {
            throw failure("expected \(word)")
        }
        position += expected.count
    }

    private mutating func parseObject() throws -> TemplateValue {
        position += 1
        var object = TemplateObject()
        skipSpace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            return .object(object)
        }
        while true {
            skipSpace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw failure("expected a key") }
            let key = try parseString()
            skipSpace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw failure("expected ':'") }
            position += 1
            object[key] = try parseValue()
            skipSpace()
            guard position < bytes.count else { throw failure("unexpected end") }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
                continue
            }
            guard bytes[position] == UInt8(ascii: "}") else { throw failure("expected ',' or '}'") }
            position += 1
            return .object(object)
        }
    }

    private mutating func parseArray() throws -> TemplateValue {
        position += 1
        var elements: [TemplateValue] = []
        skipSpace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            elements.append(try parseValue())
            skipSpace()
            guard position < bytes.count else { throw failure("unexpected end") }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
                continue
            }
            guard bytes[position] == UInt8(ascii: "]") else { throw failure("expected ',' or ']'") }
            position += 1
            return .array(elements)
        }
    }

    private mutating func parseString() throws -> String {
        position += 1
        var scalars = String.UnicodeScalarView()
        var pendingHighSurrogate: UInt32?
        var run: [UInt8] = []
        func flushRun() {
            if !run.isEmpty { scalars.append(contentsOf: String(decoding: run, as: UTF8.self).unicodeScalars) }
            run.removeAll()
        }
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            if byte == UInt8(ascii: "\"") {
                flushRun()
                return String(scalars)
            }
            guard byte == UInt8(ascii: "\\") else {
                run.append(byte)
                continue
            }
            flushRun()
            guard position < bytes.count else { break }
            let escape = bytes[position]
            position += 1
            var scalar: UInt32
            switch escape {
            case UInt8(ascii: "n"): scalar = 0x0A
            case UInt8(ascii: "t"): scalar = 0x09
            case UInt8(ascii: "r"): scalar = 0x0D
            case UInt8(ascii: "b"): scalar = 0x08
            case UInt8(ascii: "f"): scalar = 0x0C
            case UInt8(ascii: "u"):
                guard position + 4 <= bytes.count,
                      let value = UInt32(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16)
                else { throw failure("bad \\u escape") }
                position += 4
                scalar = value
            default: scalar = UInt32(escape)
            }
            if (0xD800...0xDBFF).contains(scalar) {
                pendingHighSurrogate = scalar
                continue
            }
            if (0xDC00...0xDFFF).contains(scalar), let high = pendingHighSurrogate {
                scalar = 0x10000 + ((high - 0xD800) << 10) + (scalar - 0xDC00)
            }
            pendingHighSurrogate = nil
            scalars.append(Unicode.Scalar(scalar) ?? "\u{FFFD}")
        }
        throw failure("unterminated string")
    }

    private mutating func parseNumber() throws -> Double {
        let start = position
        while position < bytes.count, "+-0123456789.eE".utf8.contains(bytes[position]) { position += 1 }
        guard position > start, let number = Double(String(decoding: bytes[start..<position], as: UTF8.self)) else {
            throw failure("expected a value")
        }
        return number
    }
}
