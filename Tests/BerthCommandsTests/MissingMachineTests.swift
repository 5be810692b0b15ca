import ArgumentParser
import Foundation
import Testing
@testable import BerthCommands
import MachineCore

@Suite("Commands on a machine that does not exist")
struct MissingMachineTests {
    /// Parses and runs a command against the given store, returning the BerthError it throws.
    static func error(_ arguments: [String], store: TemporaryStore) async throws -> BerthError? {
        var command = try Berth.parseAsRoot(arguments + ["--storage-path", store.path])
        do {
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
            return nil
        } catch let error as BerthError {
            return error
        }
    }

    @Test("ip, inspect, status, url, config, ssh and upgrade say the machine does not exist",
          arguments: [["ip", "ghost"], ["inspect", "ghost"], ["status", "ghost"], ["url", "ghost"], ["config", "ghost"],
                      ["ssh", "ghost"], ["upgrade", "ghost"], ["version", "ghost"]])
    func missing(_ arguments: [String]) async throws {
        let store = try TemporaryStore()
        defer { store.remove() }
        let error = try #require(try await Self.error(arguments, store: store))
        #expect(error.code == .machineNotFound)
        #expect(error.message.contains("\"ghost\""))
        #expect(error.message.contains("berth create ghost"))
    }

    @Test("a missing NAME means default")
    func defaultName() async throws {
        let store = try TemporaryStore()
        defer { store.remove() }
        let error = try #require(try await Self.error(["status"], store: store))
        #expect(error.message.contains("\"default\""))
    }

    @Test("ip prints a saved machine's IP without asking libvirt, and fails for the missing one")
    func ipOfSavedMachine() async throws {
        let store = try TemporaryStore()
        defer { store.remove() }
        try store.store.save(Fixtures.config("dev", ip: "192.168.122.10"))
        #expect(try await Self.error(["ip", "dev"], store: store) == nil)
        let error = try #require(try await Self.error(["ip", "dev", "ghost"], store: store))
        #expect(error.code == .machineNotFound)
    }

    @Test("active finds machines by their Docker URL")
    func activeLookup() throws {
        let store = try TemporaryStore()
        defer { store.remove() }
        try store.store.save(Fixtures.config("dev", ip: "192.168.122.10"))
        try store.store.save(Fixtures.config("prod", ip: "192.168.122.11"))
        let machines = Machines(store: store.store)
        #expect(machines.configs(withDockerURL: "tcp://192.168.122.11:2376").map(\.name) == ["prod"])
        #expect(machines.configs(withDockerURL: "tcp://192.168.122.12:2376").isEmpty)
        #expect(machines.configs(withDockerURL: "").isEmpty)
    }

    @Test("image inspect and image rm name the missing image")
    func missingImage() async throws {
        let store = try TemporaryStore()
        defer { store.remove() }
        let inspect = try #require(try await Self.error(["image", "inspect", "nothing"], store: store))
        #expect(inspect.code == .image)
        #expect(inspect.message.contains("\"nothing\""))
        let rm = try #require(try await Self.error(["image", "rm", "nothing"], store: store))
        #expect(rm.message.contains("berth image ls"))
    }
}
