import ArgumentParser
import Foundation
import Testing
@testable import BerthCommands
@testable import MachineCore

@Suite("berth use")
struct UseTests {
    @Test("use writes the machine's context and makes it current; --unset goes back to the default")
    func use() throws {
        let storage = try TemporaryStore()
        defer { storage.remove() }
        let dockerConfig = storage.root.appendingPathComponent("docker-config")
        let config = Fixtures.config("dev", ip: "192.168.122.10")
        try storage.store.save(config)
        let files = MachineCertificateFiles(directory: try storage.store.machineDirectory("dev"))
        for file in [files.caCertificate, files.clientCertificate, files.clientPrivateKey] {
            try SecureFile.write(file.lastPathComponent, to: file, mode: SecureFile.privateMode)
        }
        let contexts = DockerContextStore(configDirectory: dockerConfig)
        let use = try #require(try Berth.parseCommand(["-s", storage.path, "use", "dev"]) as? Use)
        try use.apply(contexts: contexts, environment: [:])
        #expect(contexts.contains("berth-dev"))
        #expect(try contexts.currentContext() == "berth-dev")
        let unset = try #require(try Berth.parseAsRoot(["use", "--unset"]) as? Use)
        try unset.apply(contexts: contexts, environment: [:])
        #expect(try contexts.currentContext() == nil)
        #expect(contexts.contains("berth-dev"))
        let missing = try #require(try Berth.parseAsRoot(["use", "nope", "-s", storage.path]) as? Use)
        #expect(throws: BerthError.self) { try missing.apply(contexts: contexts, environment: [:]) }
    }

    @Test("use takes a machine name or --unset, and is listed; generate-manual is not")
    func useArguments() throws {
        let use = try #require(try Berth.parseAsRoot(["use", "dev"]) as? Use)
        #expect(use.machine.name == "dev")
        #expect(!use.unset)
        #expect(try #require(try Berth.parseCommand(["-s", "/tmp/x", "use", "--unset"]) as? Use).unset)
        #expect(Berth.helpMessage().contains("use "))
        #expect(!Berth.helpMessage().contains("generate-manual"))
    }
}
