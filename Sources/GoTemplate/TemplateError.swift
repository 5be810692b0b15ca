/// Why a template could not be read or rendered, in one line.
public struct TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { "template: \(message)" }
}
