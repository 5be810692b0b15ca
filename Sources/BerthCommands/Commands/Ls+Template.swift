import Foundation
import GoTemplate
import MachineCore

/// `ls --format` with a Go template, as Docker Machine read it: an optional `table` prefix (a
/// header row, then columns aligned by Go's tabwriter), `\t` and `\n` written as two characters,
/// spaces trimmed from both ends, and a newline after each row.
struct LsTemplate {
    let template: GoTemplate
    let table: Bool

    /// The fields of Docker Machine's HostListItem that berth fills, with their header names.
    static let headers: [(field: String, header: String)] = [
        ("Name", "NAME"), ("Active", "ACTIVE"), ("ActiveHost", "ACTIVE_HOST"), ("ActiveSwarm", "ACTIVE_SWARM"),
        ("DriverName", "DRIVER"), ("State", "STATE"), ("URL", "URL"), ("Swarm", "SWARM"),
        ("DockerVersion", "DOCKER"), ("Error", "ERRORS"), ("ResponseTime", "RESPONSE"),
    ]

    init(format: String) throws {
        var text = format
        table = text.hasPrefix("table")
        if table { text.removeFirst("table".count) }
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        text = text.replacingOccurrences(of: #"\t"#, with: "\t").replacingOccurrences(of: #"\n"#, with: "\n")
        template = try GoTemplate(text + "\n")
        // Render one row now, so a mistyped field fails even when there are no machines.
        _ = try template.render(Self.row(name: "", active: false, driver: "", state: "", url: "", dockerVersion: nil,
                                         error: nil, responseTime: .zero, swarm: nil))
    }

    func render(_ rows: [MachineListing]) throws -> String {
        var output = table ? try template.render(Self.headerRow) : ""
        for row in rows { output += try template.render(Self.row(row)) }
        return table ? TabWriter().format(output) : output
    }

    /// A row as Docker Machine's ls gave it to the template, with the machine's own response time.
    static func row(_ listing: MachineListing) -> TemplateValue {
        row(name: listing.name, active: listing.active, driver: listing.driver, state: listing.state.rawValue,
            url: listing.url, dockerVersion: listing.dockerVersion, error: listing.error,
            responseTime: .milliseconds(listing.responseTimeMs), swarm: listing.swarm)
    }

    /// `Swarm` is the SWARM column's text. `ActiveSwarm` was true in Docker Machine when
    /// $DOCKER_HOST pointed at a standalone Swarm's own endpoint; in swarm mode a manager's Docker is
    /// where `docker service` and `docker node` work, so it is true for the active machine when it is a manager.
    static func row(name: String, active: Bool, driver: String, state: String, url: String, dockerVersion: String?,
                    error: String?, responseTime: Duration, swarm: MachineListing.Swarm?) -> TemplateValue {
        let (seconds, attoseconds) = responseTime.components
        return .object(TemplateObject([
            ("Name", .string(name)),
            ("Active", .string(active ? "*" : "-")),
            ("ActiveHost", .bool(active)),
            ("ActiveSwarm", .bool(active && swarm?.role == .manager)),
            ("DriverName", .string(driver)),
            ("State", .string(state)),
            ("URL", .string(url)),
            ("Swarm", .string(swarm?.column ?? "")),
            ("DockerVersion", .string(dockerVersion ?? "Unknown")),
            ("Error", .string(error ?? "")),
            ("ResponseTime", .duration(nanoseconds: seconds * 1_000_000_000 + attoseconds / 1_000_000_000)),
        ]))
    }

    /// Docker Machine filled the table's header by running the template on the header names.
    static var headerRow: TemplateValue {
        .object(TemplateObject(headers.map { ($0.field, TemplateValue.string($0.header)) }))
    }
}
