import Foundation
import Testing
@testable import BerthCommands
@testable import MachineCore

@Suite("berth ls: table and --filter")
struct LsTests {
    static func row(_ name: String, state: MachineState = .running, active: Bool = false, driver: String = "libvirt",
                    docker: String? = "v26.1.5", error: String? = nil, labels: [String] = [],
                    responseTimeMs: Int = 0, swarm: MachineListing.Swarm? = nil) -> MachineListing {
        MachineListing(name: name, active: active, driver: driver, state: state,
                       url: state == .running ? "tcp://192.168.122.10:2376" : "", dockerVersion: docker, error: error,
                       labels: labels, responseTimeMs: responseTimeMs, swarm: swarm)
    }

    @Test("the table has Docker Machine's columns, aligned, with * for the active machine")
    func table() {
        let text = Ls.table([
            Self.row("dev", active: true),
            Self.row("build-server", state: .stopped, docker: nil),
        ])
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.count == 4)
        #expect(lines[3] == "")
        #expect(lines[0].split(separator: " ") == ["NAME", "ACTIVE", "DRIVER", "STATE", "URL", "SWARM", "DOCKER", "ERRORS"])
        #expect(lines[1].split(separator: " ") == ["dev", "*", "libvirt", "Running", "tcp://192.168.122.10:2376", "v26.1.5"])
        #expect(lines[2].split(separator: " ") == ["build-server", "-", "libvirt", "Stopped", "Unknown"])
        // Columns line up: every row's ACTIVE cell starts where the header's does.
        let activeColumn = lines[0].range(of: "ACTIVE")!.lowerBound.utf16Offset(in: lines[0])
        #expect(lines[1].range(of: "*")!.lowerBound.utf16Offset(in: lines[1]) == activeColumn)
        #expect(lines[2].range(of: " - ")!.lowerBound.utf16Offset(in: lines[2]) + 1 == activeColumn)
        // The longest name sets the width: three spaces after it.
        #expect(lines[2].hasPrefix("build-server   -"))
    }

    @Test("SWARM shows NAME (manager) on managers and the swarm's name on workers, from the config alone")
    func swarmColumn() {
        let text = Ls.table([
            Self.row("m1", swarm: .init(role: .manager, manager: "m1")),
            Self.row("m2", swarm: .init(role: .manager, manager: "m1")),
            Self.row("w1", swarm: .init(role: .worker, manager: "m1")),
            Self.row("solo"),
        ])
        let lines = text.split(separator: "\n").map(String.init)
        let swarmColumn = lines[0].range(of: "SWARM")!.lowerBound.utf16Offset(in: lines[0])
        #expect(lines[1].contains("tcp://192.168.122.10:2376   m1 (manager)   v26.1.5"))
        #expect(lines[2].contains("tcp://192.168.122.10:2376   m1 (manager)   v26.1.5"))
        #expect(lines[3].contains("tcp://192.168.122.10:2376   m1" + String(repeating: " ", count: 13) + "v26.1.5"))
        #expect(lines[4].contains("tcp://192.168.122.10:2376" + String(repeating: " ", count: 18) + "v26.1.5"))
        #expect(lines[1].range(of: "m1 (manager)")!.lowerBound.utf16Offset(in: lines[1]) == swarmColumn)
    }

    @Test("swarm= matches every node of the swarm NAME made, as Docker Machine matched its master's name")
    func swarmFilter() throws {
        let filter = try MachineFilter(["swarm=m1"])
        #expect(filter.matches(Self.row("m1", swarm: .init(role: .manager, manager: "m1"))))
        #expect(filter.matches(Self.row("w1", swarm: .init(role: .worker, manager: "m1"))))
        #expect(!filter.matches(Self.row("w2", swarm: .init(role: .worker, manager: "m2"))))
        #expect(!filter.matches(Self.row("solo")))
        #expect(!(try MachineFilter(["swarm=M1"])).matches(Self.row("m1", swarm: .init(role: .manager, manager: "m1"))),
                "names compare exactly, as Docker Machine compared them")
        let both = try MachineFilter(["swarm=m1", "state=Running"])
        #expect(!both.matches(Self.row("w1", state: .stopped, swarm: .init(role: .worker, manager: "m1"))))
    }

    @Test("an error shows in the last column")
    func errorColumn() {
        let text = Ls.table([Self.row("dev", error: "Docker does not answer")])
        #expect(text.split(separator: "\n")[1].hasSuffix("Docker does not answer"))
    }

    @Test("values of one key OR together")
    func sameKeyOrs() throws {
        let filter = try MachineFilter(["state=running", "state=Paused"])
        #expect(filter.matches(Self.row("a", state: .running)))
        #expect(filter.matches(Self.row("b", state: .paused)))
        #expect(!filter.matches(Self.row("c", state: .stopped)))
    }

    @Test("different keys AND together")
    func differentKeysAnd() throws {
        let filter = try MachineFilter(["state=Running", "name=dev"])
        #expect(filter.matches(Self.row("dev", state: .running)))
        #expect(!filter.matches(Self.row("dev", state: .stopped)))
        #expect(!filter.matches(Self.row("prod", state: .running)))
    }

    @Test("name= takes a regular expression; driver= ignores case")
    func nameAndDriver() throws {
        let name = try MachineFilter(["name=^web-[0-9]+$"])
        #expect(name.matches(Self.row("web-12")))
        #expect(!name.matches(Self.row("web-x")))
        let driver = try MachineFilter(["driver=LIBVIRT"])
        #expect(driver.matches(Self.row("a")))
        #expect(!driver.matches(Self.row("a", driver: "generic")))
    }

    @Test("label= matches a key or a key=value")
    func labels() throws {
        let row = Self.row("a", labels: ["env=prod", "team=web"])
        #expect(try MachineFilter(["label=env"]).matches(row))
        #expect(try MachineFilter(["label=env=prod"]).matches(row))
        #expect(!(try MachineFilter(["label=env=dev"]).matches(row)))
        #expect(!(try MachineFilter(["label=owner"]).matches(row)))
    }

    @Test("label= values compare without regard to case, keys exactly, as Docker Machine compared them")
    func labelCase() throws {
        let row = Self.row("a", labels: ["env=Prod", "Team=web"])
        #expect(try MachineFilter(["label=env=prod"]).matches(row))
        #expect(try MachineFilter(["label=env=PROD"]).matches(row))
        #expect(!(try MachineFilter(["label=ENV=prod"]).matches(row)))
        #expect(try MachineFilter(["label=Team"]).matches(row))
        #expect(!(try MachineFilter(["label=env=pro"]).matches(row)))
    }

    @Test("an invalid name= regular expression is an error in one line")
    func badRegex() {
        let error = #expect(throws: BerthError.self) { try MachineFilter(["name=dev("]) }
        #expect(error?.message == #"invalid name filter "dev(": not a regular expression"#)
    }

    @Test("the Timeout state shows in the table")
    func timeoutRow() {
        let text = Ls.table([Self.row("dev", state: .timeout, docker: nil, error: "Docker did not answer within 3s")])
        #expect(text.split(separator: "\n")[1].split(separator: " ").prefix(4) == ["dev", "-", "libvirt", "Timeout"])
    }

    @Test("no filter matches everything")
    func empty() throws {
        #expect(try MachineFilter([]).matches(Self.row("anything", state: .error)))
    }

    @Test("a filter without = or with an unknown key is refused")
    func badFilters() {
        #expect(throws: BerthError.self) { try MachineFilter(["running"]) }
        #expect(throws: BerthError.self) { try MachineFilter(["colour=red"]) }
    }
}
