import ArgumentParser
import Foundation
import Testing
@testable import BerthCommands
@testable import MachineCore

/// Golden tests for the words Docker Machine's users' scripts test for: each message starts with
/// Docker Machine's words, and berth's own advice may follow after "; ".
@Suite("Docker Machine's wording")
struct DockerMachineWordingTests {
    @Test("the words themselves")
    func golden() {
        #expect(DockerMachineWording.doesNotExist("dev") == #"Docker machine "dev" does not exist"#)
        #expect(DockerMachineWording.alreadyExists("dev") == #"Docker machine "dev" already exists"#)
        #expect(DockerMachineWording.hostNotRunning == "Host is not running")
        #expect(DockerMachineWording.sshHostNotRunning("dev") == #"Cannot run SSH command: Host "dev" is not running"#)
        #expect(DockerMachineWording.unsetTakesNoName == "Expected no machine name when the -u flag is present")
        #expect(DockerMachineWording.noMachineNamed == "Expected to get one or more machine names as arguments")
        #expect(DockerMachineWording.noActiveHost == "No active host found")
        #expect(DockerMachineWording.activeTimeout == "Error getting active host: timeout")
        #expect(DockerMachineWording.sshfsMissing == "You must have a copy of the sshfs binary locally to use the mount feature")
    }

    /// Runs a command against `store` (given before the command, so ssh's pass-through leaves it
    /// alone) and returns the BerthError it throws.
    static func error(_ arguments: [String], store: TemporaryStore) async throws -> BerthError? {
        var command = try Berth.parseCommand(["--storage-path", store.path] + arguments)
        do {
            if var command = command as? AsyncParsableCommand { try await command.run() } else { try command.run() }
            return nil
        } catch let error as BerthError {
            return error
        }
    }

    static var missingCases: [[String]] {
        var cases = [["ip"], ["inspect"], ["status"], ["url"], ["config"], ["env"], ["ssh"], ["upgrade"], ["version"],
                     ["start"], ["stop"], ["kill"], ["restart"], ["provision"], ["regenerate-certs", "-f"], ["rm", "-y"],
                     ["use"], ["scp", "/etc/hostname", "ghost:/tmp/"]]
        // mount looks for sshfs before the machine (scripts/packages.txt installs it).
        if HelperProgram.which("sshfs") != nil { cases.append(["mount", "ghost:/srv", "/tmp"]) }
        return cases
    }

    @Test("every command on a missing machine: Docker machine \"NAME\" does not exist", arguments: missingCases)
    func missing(_ command: [String]) async throws {
        let store = try TemporaryStore()
        defer { store.remove() }
        let arguments = command.contains { $0.contains("ghost") } ? command : command + ["ghost"]
        let error = try #require(try await Self.error(arguments, store: store), "\(arguments)")
        #expect(error.code == .machineNotFound)
        #expect(error.message.hasPrefix(#"Docker machine "ghost" does not exist"#), "\(arguments): \(error.message)")
        #expect(!error.message.contains("\n"))
    }

    @Test("create of an existing machine: Docker machine \"NAME\" already exists")
    func exists() async throws {
        let store = try TemporaryStore()
        defer { store.remove() }
        try store.store.save(Fixtures.config("dev", ip: "192.168.122.10"))
        let error = try #require(try await Self.error(["create", "dev"], store: store))
        #expect(error.code == .machineExists)
        #expect(error.message.hasPrefix(#"Docker machine "dev" already exists; "#))
    }

    /// A machine whose create was interrupted is in Error: not running, without asking libvirt.
    static func brokenMachine(in store: TemporaryStore) throws {
        var config = Fixtures.config("dev", ip: "192.168.122.10")
        config.status = .creating
        try store.store.save(config)
    }

    @Test("commands that need a running machine: Host is not running",
          arguments: [["env", "dev"], ["config", "dev"], ["url", "dev"], ["version", "dev"], ["scp", "dev:/etc/hostname", "/tmp/"]])
    func notRunning(_ arguments: [String]) async throws {
        let store = try TemporaryStore()
        defer { store.remove() }
        try Self.brokenMachine(in: store)
        let error = try #require(try await Self.error(arguments, store: store))
        #expect(error.code == .machineNotRunning)
        #expect(error.message.hasPrefix("Host is not running; machine \"dev\" is in error"), "\(error.message)")
    }

    @Test("mount needs a running machine too", .enabled(if: HelperProgram.which("sshfs") != nil))
    func mountNotRunning() async throws {
        let store = try TemporaryStore()
        defer { store.remove() }
        try Self.brokenMachine(in: store)
        let error = try #require(try await Self.error(["mount", "dev:/srv", "/tmp"], store: store))
        #expect(error.message.hasPrefix("Host is not running; "))
    }

    @Test("ssh says it in Docker Machine's ssh words")
    func sshNotRunning() async throws {
        let store = try TemporaryStore()
        defer { store.remove() }
        try Self.brokenMachine(in: store)
        let error = try #require(try await Self.error(["ssh", "dev"], store: store))
        #expect(error.message.hasPrefix(#"Cannot run SSH command: Host "dev" is not running; "#))
    }

    @Test("env -u NAME and env --unset NAME: Expected no machine name when the -u flag is present")
    func unsetWithName() async throws {
        let store = try TemporaryStore()
        defer { store.remove() }
        for flag in ["-u", "--unset"] {
            let error = try #require(try await Self.error(["env", flag, "dev"], store: store))
            #expect(error.message == "Expected no machine name when the -u flag is present")
        }
        let env = try #require(try Berth.parseAsRoot(["env", "-u"]) as? Env)
        #expect(env.unset)
        #expect(env.name == nil)
    }

    @Test("rm without a name: Expected to get one or more machine names as arguments")
    func rmWithoutName() async throws {
        let store = try TemporaryStore()
        defer { store.remove() }
        let error = try #require(try await Self.error(["rm", "-f"], store: store))
        #expect(error.message == "Expected to get one or more machine names as arguments")
    }

    @Test("active: No active host found, or Error getting active host: timeout")
    func active() throws {
        #expect(throws: BerthError.self) { try Active.activeName(in: []) }
        let none = try #require(throws: BerthError.self) { try Active.activeName(in: [LsTests.row("dev", state: .stopped)]) }
        #expect(none.message == "No active host found")
        let late = try #require(throws: BerthError.self) { try Active.activeName(in: [LsTests.row("dev", state: .timeout)]) }
        #expect(late.message == "Error getting active host: timeout")
        #expect(try Active.activeName(in: [LsTests.row("a"), LsTests.row("b", active: true)]) == "b")
    }

    @Test("create's failures before anything is made exit with 3, as Docker Machine's failed pre-create check did")
    func preCreateStatus() {
        let libvirt = BerthError(.hypervisor, "libvirt is not running at qemu:///system")
        #expect(Create.isPreCreateFailure(libvirt, stagesStarted: []))
        #expect(Create.isPreCreateFailure(libvirt, stagesStarted: ["preflight"]))
        #expect(!Create.isPreCreateFailure(libvirt, stagesStarted: ["preflight", "image"]))
        #expect(!Create.isPreCreateFailure(BerthError(.machineExists, "x"), stagesStarted: []))
        #expect(ExitStatus.of(BerthError(.interrupted, "x")) == 130)
        #expect(ExitStatus.of(BerthError(.machineNotFound, "x")) == 1)
    }

    @Test("an answer is yes when it starts with y, in either case")
    func answers() throws {
        for yes in ["y", "Y", "yes", "YES", " y"] { #expect(Confirmation.isYes(yes), "\(yes)") }
        for no in ["", "n", "no", "N", "maybe", "ja"] { #expect(!Confirmation.isYes(no), "\(no)") }
        #expect(try Confirmation.ask("Sure?", skipFlag: "-y") { "y" })
        #expect(try !Confirmation.ask("Sure?", skipFlag: "-y") { "n" })
        let none = try #require(throws: BerthError.self) { try Confirmation.ask("Sure?", skipFlag: "-y") { nil } }
        #expect(none.message.contains("pass -y"))
    }
}
