import Foundation
import GoTemplate
import Testing
@testable import BerthCommands
@testable import MachineCore

/// Golden output for Docker Machine's Go-template formats. The expected text follows Docker
/// Machine's ls (its default format, `table` header names, tabwriter(5, 1, 3, ' ') alignment) and
/// inspect (templates over the host JSON), written out for the same machines.
@Suite("ls and inspect --format with Go templates")
struct TemplateFormatTests {
    static let rows = [
        LsTests.row("build-server", state: .stopped, docker: nil, responseTimeMs: 1500),
        LsTests.row("dev", active: true, responseTimeMs: 1500),
        LsTests.row("web", state: .error, docker: nil, error: "libvirt has no domain web", responseTimeMs: 1500),
    ]

    static func ls(_ format: String) throws -> String {
        try Ls.template(format).render(rows)
    }

    @Test("Docker Machine's default ls format gives its columns, tab-aligned, trailing padding and all")
    func defaultFormat() throws {
        let format = #"table {{ .Name }}\t{{ .Active }}\t{{ .DriverName}}\t{{ .State }}\t{{ .URL }}\t{{ .Swarm }}\t{{ .DockerVersion }}\t{{ .Error}}"#
        let expected = [
            "NAME           ACTIVE   DRIVER    STATE     URL                         SWARM   DOCKER    ERRORS",
            "build-server   -        libvirt   Stopped                                       Unknown   ",
            "dev            *        libvirt   Running   tcp://192.168.122.10:2376           v26.1.5   ",
            "web            -        libvirt   Error                                         Unknown   libvirt has no domain web",
            "",
        ].joined(separator: "\n")
        #expect(try Self.ls(format) == expected)
    }

    @Test("table headers come from Docker Machine's header names; bools and durations print as Go prints them")
    func tableHeaders() throws {
        let expected = [
            "NAME           DRIVER    ACTIVE_HOST   RESPONSE",
            "build-server   libvirt   false         1.5s",
            "dev            libvirt   true          1.5s",
            "web            libvirt   false         1.5s",
            "",
        ].joined(separator: "\n")
        #expect(try Self.ls(#"table {{.Name}}\t{{.DriverName}}\t{{.ActiveHost}}\t{{.ResponseTime}}"#) == expected)
        #expect(try Self.ls("table {{.Name}}") == "NAME\nbuild-server\ndev\nweb\n")
    }

    @Test("without table: one line per machine, no header, \\t as a tab")
    func plainRows() throws {
        #expect(try Self.ls("{{.Name}}: {{.DriverName}}") == "build-server: libvirt\ndev: libvirt\nweb: libvirt\n")
        #expect(try Self.ls(#"{{.Name}}\t{{.URL}}"#) == "build-server\t\ndev\ttcp://192.168.122.10:2376\nweb\t\n")
        #expect(try Self.ls("  {{.Name}} {{.State}} {{.ActiveSwarm}} [{{.Swarm}}]  ")
            == "build-server Stopped false []\ndev Running false []\nweb Error false []\n")
        #expect(try Ls.template("table {{.Name}}").render([]) == "NAME\n")
        #expect(try Ls.template("{{.Name}}").render([]) == "")
    }

    @Test("Swarm is the SWARM column; ActiveSwarm is true for the active machine when it is a swarm manager")
    func swarmFields() throws {
        let rows = [
            LsTests.row("m1", active: true, swarm: .init(role: .manager, manager: "m1")),
            LsTests.row("w1", swarm: .init(role: .worker, manager: "m1")),
            LsTests.row("w2", active: true, swarm: .init(role: .worker, manager: "m1")),
        ]
        #expect(try Ls.template("{{.Name}}|{{.Swarm}}|{{.ActiveSwarm}}").render(rows)
            == "m1|m1 (manager)|true\nw1|m1|false\nw2|m1|false\n")
    }

    @Test("an unknown ls field fails at once, in one line naming it, even with no machines")
    func lsUnknownField() throws {
        let error = try #require(throws: BerthError.self) { try Ls.template("table {{.Name}}\t{{.Nmae}}") }
        #expect(error.code == .invalidArgument)
        #expect(error.message.hasPrefix("--format: template: unknown field .Nmae in {{.Nmae}}"))
        #expect(!error.message.contains("\n"))
    }

    @Test("ls --format accepts table, json and templates, and nothing else")
    func lsFormatValidation() throws {
        #expect(try Berth.parseAsRoot(["ls", "--format", "table {{.Name}}"]) is Ls)
        #expect(try Berth.parseAsRoot(["ls", "-f", "{{json .}}"]) is Ls)
        #expect(try #require(ArgumentValidationTests.failure(["ls", "--format", "Name"])).contains("Go template"))
    }

    // MARK: - inspect

    static let host = try! DockerMachineHost(config: Fixtures.config("dev", ip: "192.168.122.10"),
                                        store: Store(root: URL(fileURLWithPath: "/var/lib/berth")))

    @Test("inspect templates read Docker Machine's host paths")
    func inspectPaths() throws {
        let cases: [(String, String)] = [
            ("{{.Driver.IPAddress}}", "192.168.122.10"),
            ("{{.Driver.SSHKeyPath}}", "/var/lib/berth/machines/dev/id_ed25519"),
            ("{{.Driver.SSHUser}}", "docker"),
            ("{{.Driver.SSHPort}}", "22"),
            ("{{.Driver.MachineName}} {{.DriverName}} {{.Name}}", "dev libvirt dev"),
            ("{{.HostOptions.AuthOptions.CertDir}}", "/var/lib/berth/certs"),
            ("{{.HostOptions.AuthOptions.ClientCertPath}}", "/var/lib/berth/certs/cert.pem"),
            ("{{.HostOptions.AuthOptions.ServerCertPath}}", "/var/lib/berth/machines/dev/server.pem"),
            ("{{.HostOptions.EngineOptions.Labels}}", "[env=test]"),
            ("{{json .HostOptions.EngineOptions.Labels}}", #"["env=test"]"#),
            ("{{.HostOptions.EngineOptions.Dns}}", "<no value>"),
            ("{{.Driver.Memory}} {{.Driver.DiskSize}} {{.Driver.CPU}}", "2048 20480 2"),
            ("{{.ConfigVersion}}", "3"),
        ]
        for (format, expected) in cases {
            #expect(try Inspect.render(format, Self.host) == expected, "\(format)")
        }
    }

    @Test("{{prettyjson .}} is Docker Machine's host JSON for the machine, keys sorted as Go sorts a map's")
    func inspectHostJSON() throws {
        let expected = """
            {
                "ConfigVersion": 3,
                "Driver": {
                    "Boot2DockerURL": "",
                    "CPU": 2,
                    "CaCertPath": "",
                    "CacheMode": "",
                    "DiskPath": "",
                    "DiskSize": 20480,
                    "DomainName": "dev",
                    "EnginePort": 2376,
                    "IOMode": "",
                    "IPAddress": "192.168.122.10",
                    "ISO": "",
                    "Image": "berth-docker",
                    "MACAddress": "52:54:00:12:34:56",
                    "MachineName": "dev",
                    "Memory": 2048,
                    "Network": "berth",
                    "PrivateKeyPath": "",
                    "PrivateNetwork": "",
                    "SSHKeyPath": "/var/lib/berth/machines/dev/id_ed25519",
                    "SSHPort": 22,
                    "SSHUser": "docker",
                    "StoragePool": "berth",
                    "StorePath": "/var/lib/berth",
                    "SwarmDiscovery": "",
                    "SwarmHost": "",
                    "SwarmMaster": false,
                    "URI": "qemu:///system",
                    "VirtType": "qemu"
                },
                "DriverName": "libvirt",
                "HostOptions": {
                    "AuthOptions": {
                        "CaCertPath": "/var/lib/berth/certs/ca.pem",
                        "CaCertRemotePath": "/etc/docker/ca.pem",
                        "CaPrivateKeyPath": "/var/lib/berth/certs/ca-key.pem",
                        "CertDir": "/var/lib/berth/certs",
                        "ClientCertPath": "/var/lib/berth/certs/cert.pem",
                        "ClientKeyPath": "/var/lib/berth/certs/key.pem",
                        "ServerCertPath": "/var/lib/berth/machines/dev/server.pem",
                        "ServerCertRemotePath": "/etc/docker/server.pem",
                        "ServerCertSANs": [],
                        "ServerKeyPath": "/var/lib/berth/machines/dev/server-key.pem",
                        "ServerKeyRemotePath": "/etc/docker/server-key.pem",
                        "StorePath": "/var/lib/berth/machines/dev"
                    },
                    "Disk": 0,
                    "Driver": "",
                    "EngineOptions": {
                        "ArbitraryFlags": [],
                        "Dns": null,
                        "Env": [],
                        "GraphDir": "",
                        "InsecureRegistry": [],
                        "InstallURL": "",
                        "Ipv6": false,
                        "Labels": [
                            "env=test"
                        ],
                        "LogLevel": "",
                        "RegistryMirror": [],
                        "SelinuxEnabled": false,
                        "StorageDriver": "",
                        "TlsVerify": true
                    },
                    "Memory": 0,
                    "SwarmOptions": {
                        "Address": "",
                        "Agent": false,
                        "ArbitraryFlags": [],
                        "ArbitraryJoinFlags": [],
                        "Discovery": "",
                        "Env": null,
                        "Heartbeat": 0,
                        "Host": "",
                        "Image": "",
                        "IsExperimental": false,
                        "IsSwarm": false,
                        "Master": false,
                        "Overcommit": 0,
                        "Strategy": ""
                    }
                },
                "Name": "dev"
            }
            """
        #expect(try Inspect.render("{{prettyjson .}}", Self.host) == expected)
        let compact = try Inspect.render("{{json .}}", Self.host)
        #expect(compact.hasPrefix(#"{"ConfigVersion":3,"Driver":{"Boot2DockerURL":"","CPU":2,"#))
        #expect(!compact.contains("\n"))
        #expect(try TemplateValue(json: Data(compact.utf8)) == TemplateValue(json: Data(expected.utf8)))
    }

    @Test("an unknown inspect field fails in one line naming it; the default output is berth's own JSON")
    func inspectErrors() throws {
        let error = try #require(throws: BerthError.self) { try Inspect.render("{{.Driver.IPAdress}}", Self.host) }
        #expect(error.message.hasPrefix("--format: template: unknown field .Driver.IPAdress in {{.Driver.IPAdress}}"))
        #expect(!error.message.contains("\n"))
        #expect(try Berth.parseAsRoot(["inspect", "dev", "--format", "{{.Driver.IPAddress}}"]) is Inspect)
        let inspect = try #require(try Berth.parseAsRoot(["inspect", "dev"]) as? Inspect)
        #expect(inspect.format == "json")
    }
}
