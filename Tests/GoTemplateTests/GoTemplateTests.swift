import Foundation
import Testing
@testable import GoTemplate

/// Expected text is what Go's text/template, fmt and encoding/json print for the same data.
@Suite("Go templates: the --format subset")
struct GoTemplateTests {
    static let host: TemplateValue = [
        "Name": "dev",
        "Driver": ["IPAddress": "192.168.122.10", "SSHPort": .number(22), "Memory": .number(2048)],
        "Labels": ["env=test", "team=web"],
        "Empty": [],
        "Missing": nil,
        "Running": true,
    ]

    static func render(_ text: String, _ data: TemplateValue = host) throws -> String {
        try GoTemplate(text).render(data)
    }

    @Test("fields, nested fields, . and $")
    func fields() throws {
        #expect(try Self.render("{{.Name}}") == "dev")
        #expect(try Self.render("ip={{.Driver.IPAddress}} port={{ .Driver.SSHPort }}") == "ip=192.168.122.10 port=22")
        #expect(try Self.render("{{$.Name}}") == "dev")
        #expect(try Self.render("{{.}}", "plain") == "plain")
        #expect(try Self.render("{{$}}", .number(1e6)) == "1e+06")
        #expect(try Self.render("no actions at all\n") == "no actions at all\n")
    }

    @Test("values print as Go's fmt prints them")
    func printing() throws {
        #expect(try Self.render("{{.Labels}}") == "[env=test team=web]")
        #expect(try Self.render("{{.Empty}}") == "[]")
        #expect(try Self.render("{{.Missing}}") == "<no value>")
        #expect(try Self.render("{{.Running}}") == "true")
        #expect(try Self.render("{{.Driver}}") == "map[IPAddress:192.168.122.10 Memory:2048 SSHPort:22]")
        #expect(try Self.render("{{.}}", [.null, 1, "a"]) == "[<nil> 1 a]")
        #expect(try Self.render("{{.}}", .duration(nanoseconds: 1_500_000)) == "1.5ms")
    }

    @Test("json and prettyjson, called or piped, write Go's encoding/json")
    func json() throws {
        #expect(try Self.render("{{json .Labels}}") == #"["env=test","team=web"]"#)
        #expect(try Self.render("{{.Driver | json}}") == #"{"IPAddress":"192.168.122.10","SSHPort":22,"Memory":2048}"#)
        #expect(try Self.render("{{json .Missing}}") == "null")
        #expect(try Self.render("{{json .Name}}") == #""dev""#)
        #expect(try Self.render("{{prettyjson .Driver}}") == """
            {
                "IPAddress": "192.168.122.10",
                "SSHPort": 22,
                "Memory": 2048
            }
            """)
        #expect(try Self.render("{{prettyjson .}}", ["a": [], "b": ["c": [1, "x"]], "d": [:]]) == """
            {
                "a": [],
                "b": {
                    "c": [
                        1,
                        "x"
                    ]
                },
                "d": {}
            }
            """)
    }

    @Test("JSON strings are escaped as Go escapes them, HTML characters included")
    func jsonEscaping() {
        let value: TemplateValue = .string("<a&b>\t\"q\"\\ \u{1} é \u{2028}")
        #expect(value.compactJSON == #""\u003ca\u0026b\u003e\t\"q\"\\ \u0001 é \u2028""#)
    }

    @Test("trim markers remove the white space beside an action; comments print nothing")
    func trimAndComments() throws {
        #expect(try Self.render("a  \n {{- .Name -}} \n  b") == "adevb")
        #expect(try Self.render("a {{.Name -}}   b") == "a devb")
        #expect(try Self.render("x{{/* a comment */}}y") == "xy")
        #expect(try Self.render("x  {{- /* trimmed */ -}}  y") == "xy")
    }

    @Test("string and boolean constants")
    func constants() throws {
        #expect(try Self.render(#"{{"a\tb"}}|{{`raw\t`}}|{{true}}"#) == "a\tb|raw\\t|true")
        #expect(try Self.render(#"{{"<x>" | json}}"#) == #""\u003cx\u003e""#)
    }

    @Test("an unknown field fails with one line naming it")
    func unknownField() throws {
        let error = try #require(throws: TemplateError.self) { try Self.render("{{.Driver.Nope}}") }
        #expect(error.description == "template: unknown field .Driver.Nope in {{.Driver.Nope}} (known here: IPAddress, Memory, SSHPort)")
        #expect(!error.description.contains("\n"))
        let top = try #require(throws: TemplateError.self) { try Self.render("{{.Nmae}}") }
        #expect(top.message.hasPrefix("unknown field .Nmae in {{.Nmae}}"))
    }

    @Test("fields of values that have none are refused")
    func fieldOfScalar() throws {
        let error = try #require(throws: TemplateError.self) { try Self.render("{{.Name.First}}") }
        #expect(error.message == ".Name is a string, so it has no field First, in {{.Name.First}}")
        let null = try #require(throws: TemplateError.self) { try Self.render("{{.Missing.X}}") }
        #expect(null.message.contains(".Missing is nil"))
    }

    @Test("syntax errors and unsupported actions say what is wrong")
    func syntaxErrors() {
        let cases: [(String, String)] = [
            ("{{.Name", "unclosed action"),
            ("{{upper .Name}}", "function \"upper\" is not defined"),
            ("{{if .Running}}x{{end}}", "{{if}} is not supported"),
            ("{{range .Labels}}{{.}}{{end}}", "{{range}} is not supported"),
            ("{{$x := .Name}}", "variables are not supported"),
            ("{{.Name.}}", "a field name must follow"),
            ("{{json .Name .Name}}", "json takes one argument, not 2"),
            ("{{.Name .Name}}", "is not a function"),
            ("{{.Name | .Name}}", "is not a function"),
            ("{{}}", "missing value"),
            ("{{/* open", "unclosed comment"),
            ("{{\"abc}}", "unterminated string"),
            ("{{.Name-}}", "unexpected \"-\""),
        ]
        for (text, expected) in cases {
            do {
                _ = try Self.render(text)
                Issue.record("\(text) should fail")
            } catch let error as TemplateError {
                #expect(error.description.contains(expected), "\(text): \(error)")
                #expect(!error.description.contains("\n"))
            } catch {
                Issue.record("\(text): \(error)")
            }
        }
    }
}

@Suite("Go's number, duration and JSON spellings")
struct GoFormattingTests {
    @Test("fmt.Print of float64 (strconv 'g', shortest)")
    func general() {
        let cases: [(Double, String)] = [
            (0, "0"), (22, "22"), (2048, "2048"), (0.5, "0.5"), (-1.5, "-1.5"), (999_999, "999999"),
            (100_000, "100000"), (1e6, "1e+06"), (123_456_789, "1.23456789e+08"), (0.0001, "0.0001"),
            (0.00001, "1e-05"), (1.5e-7, "1.5e-07"), (1e21, "1e+21"), (20480, "20480"), (3.25, "3.25"),
        ]
        for (value, expected) in cases { #expect(GoNumberFormat.general(value) == expected, "\(value)") }
    }

    @Test("encoding/json float64")
    func json() {
        let cases: [(Double, String)] = [
            (0, "0"), (22, "22"), (1e6, "1000000"), (123_456_789, "123456789"), (0.5, "0.5"), (1e-7, "1e-7"),
            (1e20, "100000000000000000000"), (1e21, "1e+21"), (-2.5, "-2.5"), (0.000001, "0.000001"),
        ]
        for (value, expected) in cases { #expect(GoNumberFormat.json(value) == expected, "\(value)") }
    }

    @Test("time.Duration's String")
    func durations() {
        let cases: [(Int64, String)] = [
            (0, "0s"), (1, "1ns"), (999, "999ns"), (1_500, "1.5µs"), (5_000_000, "5ms"), (1_234_567, "1.234567ms"),
            (1_500_000_000, "1.5s"), (120_000_000_000, "2m0s"), (3_661_500_000_000, "1h1m1.5s"), (-5_000_000, "-5ms"),
            (10_000_000_000, "10s"),
        ]
        for (value, expected) in cases { #expect(GoNumberFormat.duration(value) == expected, "\(value)") }
        #expect(TemplateValue.duration(nanoseconds: 5_000_000).compactJSON == "5000000")
    }

    @Test("JSON text parses into a tree that keeps key order and Go's number kind")
    func parsing() throws {
        let value = try TemplateValue(json: Data(#"{"b": 1, "a": [true, null, "x\u00e9\n", 2.5e3], "c": {}}"#.utf8))
        #expect(value == ["b": .number(1), "a": [true, nil, "xé\n", .number(2500)], "c": [:]])
        #expect(value.compactJSON == #"{"b":1,"a":[true,null,"xé\n",2500],"c":{}}"#)
        #expect(throws: TemplateError.self) { try TemplateValue(json: Data("{\"a\": }".utf8)) }
        #expect(throws: TemplateError.self) { try TemplateValue(json: Data("[1] x".utf8)) }
    }

    @Test("Encodable values become trees with sorted keys, as Go's maps are")
    func encodable() throws {
        struct Inner: Encodable { var CacheMode = ""; var CaCertPath = ""; var CPU = 1 }
        struct Sample: Encodable { var zeta = 1; var alpha = "a"; var list: [String] = []; var inner = Inner() }
        let value = try TemplateValue(encoding: Sample())
        #expect(value.compactJSON == #"{"alpha":"a","inner":{"CPU":1,"CaCertPath":"","CacheMode":""},"list":[],"zeta":1}"#)
        #expect(try GoTemplate("{{.inner}}").render(value) == "map[CPU:1 CaCertPath: CacheMode:]")
    }
}

@Suite("Go's text/tabwriter")
struct TabWriterTests {
    @Test("cells pad to the widest in their column plus padding, minimum width 5; the last cell is not padded")
    func columns() {
        let text = "NAME\tACTIVE\tURL\nverylongname\t*\ttcp://1.2.3.4:2376\nb\t-\t\n"
        #expect(TabWriter().format(text) == """
            NAME           ACTIVE   URL
            verylongname   *        tcp://1.2.3.4:2376
            b              -        

            """)
    }

    @Test("a line with fewer cells ends the columns to its right; a line without tabs stands alone")
    func blocks() {
        let text = "a\tb\tc\nlonger\tx\nno tabs here\nq\tw\n"
        // "b" is alone in its column, so it takes the minimum width of 5.
        #expect(TabWriter().format(text) == "a        b    c\nlonger   x\nno tabs here\nq    w\n")
    }

    @Test("empty cells still take the column's width; widths count characters, not bytes")
    func emptyAndWide() {
        #expect(TabWriter().format("\tx\nééé\ty\n") == "      x\nééé   y\n")
        #expect(TabWriter(minimumWidth: 0, padding: 1).format("a\tb") == "a b")
    }
}
