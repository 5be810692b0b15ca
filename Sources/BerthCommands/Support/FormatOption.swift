import ArgumentParser
import Foundation

/// `-f/--format table|json` for a command that prints a list or a record: add it with
/// `@OptionGroup var output: FormatOption`, then print with `try output.print(rows) { Self.table(rows) }`.
/// JSON is berth's (`JSONOutput`: pretty, sorted keys, ISO dates), for scripts; the table is for people.
struct FormatOption: ParsableArguments {
    @Option(name: [.short, .long], help: "Output format: table or json.") var format = "table"

    init() {}

    func validate() throws {
        guard OutputFormat(rawValue: format) != nil else { throw ValidationError("--format must be table or json, not \"\(format)\"") }
    }

    var chosen: OutputFormat { OutputFormat(rawValue: format) ?? .table }

    /// Prints `value` as JSON, or `table()` as it is (it brings its own line ends).
    func print<T: Encodable>(_ value: T, table: () throws -> String) throws {
        Swift.print(try render(value, table: table), terminator: "")
    }

    /// What `print` prints.
    func render<T: Encodable>(_ value: T, table: () throws -> String) throws -> String {
        switch chosen {
        case .json: return try JSONOutput.string(value) + "\n"
        case .table: return try table()
        }
    }
}
