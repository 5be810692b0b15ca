/// The data a template reads: a small tree with the kinds of value Go's text/template meets in
/// command-line tools. Numbers decoded from JSON are `.number` (Go decodes them as float64);
/// `.integer` and `.duration` stand for Go's int and time.Duration fields.
public indirect enum TemplateValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    /// A Go `time.Duration` in nanoseconds: printed as "1.5s", encoded in JSON as an integer.
    case duration(nanoseconds: Int64)
    case array([TemplateValue])
    case object(TemplateObject)
}

/// Named fields in a fixed order (the order JSON output keeps).
public struct TemplateObject: Sendable, Equatable {
    public private(set) var keys: [String] = []
    private var values: [String: TemplateValue] = [:]

    public init() {}

    public init(_ fields: [(String, TemplateValue)]) {
        for (key, value) in fields { self[key] = value }
    }

    public subscript(key: String) -> TemplateValue? {
        get { values[key] }
        set {
            if newValue != nil, values[key] == nil { keys.append(key) }
            if newValue == nil { keys.removeAll { $0 == key } }
            values[key] = newValue
        }
    }

    public var fields: [(key: String, value: TemplateValue)] { keys.map { ($0, values[$0]!) } }
    public var isEmpty: Bool { keys.isEmpty }

    public static func == (left: TemplateObject, right: TemplateObject) -> Bool {
        left.keys == right.keys && left.values == right.values
    }
}

extension TemplateValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(arrayLiteral elements: TemplateValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, TemplateValue)...) { self = .object(TemplateObject(elements)) }
    public init(nilLiteral: ()) { self = .null }
}

extension TemplateValue {
    /// What kind of value this is, in words for error messages.
    var kindName: String {
        switch self {
        case .null: "nil"
        case .bool: "a bool"
        case .integer, .number: "a number"
        case .string: "a string"
        case .duration: "a duration"
        case .array: "a list"
        case .object: "an object"
        }
    }

    /// The value as Go's fmt.Print shows it inside a larger value (nil is `<nil>`).
    var goPrinted: String {
        switch self {
        case .null: "<nil>"
        case .bool(let value): value ? "true" : "false"
        case .integer(let value): String(value)
        case .number(let value): GoNumberFormat.general(value)
        case .string(let value): value
        case .duration(let nanoseconds): GoNumberFormat.duration(nanoseconds)
        case .array(let elements): "[" + elements.map(\.goPrinted).joined(separator: " ") + "]"
        case .object(let object):
            // Go prints maps with their keys sorted.
            "map[" + object.fields.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }.map { "\($0.key):\($0.value.goPrinted)" }
                .joined(separator: " ") + "]"
        }
    }

    /// The value as a template action prints it: like fmt.Print, but a missing or nil value is `<no value>`.
    var templatePrinted: String {
        if case .null = self { return "<no value>" }
        return goPrinted
    }
}
