import ArgumentParser
import Foundation
import Testing
@testable import BerthCommands
import MachineCore

/// Input that once crashed, hung or reached outside the store is refused with one line.
@Suite("Hostile input")
struct HostileInputTests {
    @Test("numbers that would overflow are refused, not trapped on",
          arguments: [["create", "--memory", "9223372036854775807G"], ["create", "--memory", "99999999999999999999"],
                      ["create", "--disk-size", "9223372036854775807T"], ["ls", "--timeout", "2147484"],
                      ["ls", "--timeout", "0"], ["stop", "--timeout", "-1"], ["create", "--timeout", "99999999999"],
                      ["create", "--cpus", "0"], ["create", "--cpus", "100000"]])
    func overflowingNumbers(_ arguments: [String]) throws {
        let message = try #require(ArgumentValidationTests.failure(arguments))
        #expect(!message.contains("\n"), "\(message)")
    }

    @Test("sizes with units are read exactly")
    func sizes() {
        #expect(SizeArgument.mebibytes("2G") == 2048)
        #expect(SizeArgument.mebibytes("512m") == 512)
        #expect(SizeArgument.mebibytes("1GiB") == 1024)
        #expect(SizeArgument.gibibytes("1T") == 1024)
        #expect(SizeArgument.mebibytes("9223372036854775807G") == nil)
        #expect(SizeArgument.mebibytes("-5") == nil)
        #expect(SizeArgument.mebibytes("5X") == nil)
    }

    /// `rm -f ../../../../tmp/x` once removed /tmp/x, and `rm -f ..` the whole machines folder.
    @Test("rm -f never removes anything outside the store")
    func traversalNames() async throws {
        let store = try TemporaryStore()
        defer { store.remove() }
        try store.store.save(Fixtures.config("keep", ip: "192.168.122.10"))
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("berth-victim-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: outside) }
        for name in ["../../../../\(outside.path)", "..", ".", "../machines"] {
            let error = try #require(try await MissingMachineTests.error(["rm", "-f", name], store: store))
            #expect(error.code == .invalidArgument, "\(name)")
            #expect(error.message.contains("invalid machine name"))
        }
        #expect(FileManager.default.fileExists(atPath: outside.path))
        #expect(store.store.machineNames() == ["keep"])
    }

    @Test("rm -f of a machine that does not exist succeeds, as in Docker Machine")
    func removingNothing() async throws {
        let store = try TemporaryStore()
        defer { store.remove() }
        #expect(try await MissingMachineTests.error(["rm", "-f", "ghost"], store: store) == nil)
        let plain = try #require(try await MissingMachineTests.error(["rm", "-y", "ghost"], store: store))
        #expect(plain.code == .machineNotFound)
    }

    @Test("every command that takes a machine name refuses a path",
          arguments: ["ip", "inspect", "status", "url", "config", "env", "stop", "start", "kill", "ssh", "upgrade", "provision"])
    func everyCommandValidatesNames(_ command: String) async throws {
        let store = try TemporaryStore()
        defer { store.remove() }
        let error = try #require(try await MissingMachineTests.error([command, "../../etc"], store: store))
        #expect(error.code == .invalidArgument, "\(command): \(error.message)")
    }
}
