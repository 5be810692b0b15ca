import ArgumentParser
import Foundation
import GoTemplate
import MachineCore

struct Ls: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List machines.",
        discussion: """
            Columns: NAME ACTIVE DRIVER STATE URL SWARM DOCKER ERRORS, in natural order of names (dev2 before dev10). \
            ACTIVE is * for the running machine $DOCKER_HOST points at. SWARM names the machine's swarm by the machine \
            that made it: "NAME (manager)" on managers, NAME on workers. States come from one libvirt listing (an \
            existing server of --driver generic is Running when its SSH port answers); Docker is asked in parallel, \
            and a running machine whose Docker does not answer within --timeout is shown as Timeout, so a dead \
            machine never holds up the list. --format json gives each machine's responseTimeMs.
            --format also takes a Go template as Docker Machine's did, e.g. '{{.Name}} {{.State}}' or \
            'table {{.Name}}\\t{{.URL}}', with the fields Name, Active, ActiveHost, ActiveSwarm, DriverName, State, \
            URL, Swarm, DockerVersion, Error and ResponseTime.
            """)

    @OptionGroup var global: GlobalOptions
    @Flag(name: .shortAndLong, help: "Print only machine names.") var quiet = false
    @Option(name: .long, help: "Filter: name=REGEX, state=, driver=, label=key[=value], swarm=NAME (repeatable; same key ORs, different keys AND).")
    var filter: [String] = []
    @Option(name: [.short, .long], help: "Seconds to wait for each machine's Docker to answer.") var timeout = 3
    @Option(name: [.short, .long], help: "Output format: table, json, or a Go template such as '{{.Name}}'.")
    var format = "table"

    func validate() throws {
        guard OutputFormat(rawValue: format) != nil || OutputFormat.isTemplate(format) else {
            throw ValidationError("--format must be table, json or a Go template such as '{{.Name}}', not \"\(format)\"")
        }
        _ = try MachineFilter(filter)
        guard (1...600).contains(timeout) else { throw ValidationError("--timeout must be between 1 and 600 seconds, not \(timeout)") }
    }

    func run() async throws {
        let filters = try MachineFilter(filter)
        let template = try quiet || !OutputFormat.isTemplate(format) ? nil : Self.template(format)
        let rows = await global.machines.list(timeout: .seconds(timeout), askDocker: !quiet).filter(filters.matches)
        if quiet {
            rows.forEach { print($0.name) }
            return
        }
        if let template {
            do {
                print(try template.render(rows), terminator: "")
            } catch let error as TemplateError {
                throw BerthError(.invalidArgument, "--format: \(error)")
            }
            return
        }
        switch OutputFormat(rawValue: format) ?? .table {
        case .json: print(try JSONOutput.string(rows))
        case .table: print(Self.table(rows), terminator: "")
        }
    }

    static func template(_ format: String) throws -> LsTemplate {
        do {
            return try LsTemplate(format: format)
        } catch let error as TemplateError {
            throw BerthError(.invalidArgument, "--format: \(error)")
        }
    }

    static func table(_ rows: [MachineListing]) -> String {
        let header = ["NAME", "ACTIVE", "DRIVER", "STATE", "URL", "SWARM", "DOCKER", "ERRORS"]
        let cells = rows.map { row in
            [row.name, row.active ? "*" : "-", row.driver, row.state.rawValue, row.url, row.swarm?.column ?? "",
             row.dockerVersion ?? "Unknown", row.error ?? ""]
        }
        return TextTable.render(header: header, rows: cells)
    }
}

/// `ls --filter` as Docker Machine took it: values of one key OR together, keys AND together.
struct MachineFilter: Sendable {
    private var values: [String: [String]] = [:]

    init(_ expressions: [String]) throws {
        for expression in expressions {
            guard let equals = expression.firstIndex(of: "=") else {
                throw BerthError(.invalidArgument, "invalid filter \"\(expression)\": use key=value with key name, state, driver, label or swarm")
            }
            let key = expression[..<equals].lowercased()
            let value = String(expression[expression.index(after: equals)...])
            guard ["name", "state", "driver", "label", "swarm"].contains(key) else {
                throw BerthError(.invalidArgument, "unknown filter key \"\(key)\": use name, state, driver, label or swarm")
            }
            if key == "name" {
                // Docker Machine failed on a bad expression too (after printing Go's parser error).
                do { _ = try NSRegularExpression(pattern: value) } catch {
                    throw BerthError(.invalidArgument, "invalid name filter \"\(value)\": not a regular expression")
                }
            }
            values[key, default: []].append(value)
        }
    }

    /// `label=key=value` matches an engine label with that key and the value in any case, as Docker
    /// Machine compared them; `label=key` matches the key with any value.
    static func labelMatches(_ filter: String, _ labels: [String]) -> Bool {
        let wanted = filter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        return labels.contains { label in
            let parts = label.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts[0] == wanted[0] else { return false }
            guard wanted.count == 2 else { return true }
            return parts.count == 2 && parts[1].lowercased() == wanted[1].lowercased()
        }
    }

    func matches(_ row: MachineListing) -> Bool {
        values.allSatisfy { key, wanted in
            wanted.contains { value in
                switch key {
                case "name": row.name == value || row.name.range(of: value, options: .regularExpression) != nil
                case "state": row.state.rawValue.lowercased() == value.lowercased()
                case "driver": row.driver.lowercased() == value.lowercased()
                // Docker Machine matched the swarm's master by name: here, every node of the swarm NAME made.
                case "swarm": row.swarm?.manager == value
                default: Self.labelMatches(value, row.labels)
                }
            }
        }
    }
}

/// Left-aligned columns separated by three spaces, as Docker Machine's tabwriter printed them.
enum TextTable {
    static func render(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.indices.map { column in
                column == row.count - 1 ? row[column] : row[column].padding(toLength: widths[column] + 3, withPad: " ", startingAt: 0)
            }.joined().trimmingCharacters(in: .whitespaces) + "\n"
        }.joined()
    }
}
