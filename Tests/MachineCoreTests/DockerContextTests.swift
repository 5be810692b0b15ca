import Foundation
import Testing
@testable import MachineCore

/// Contexts written in Docker's own store format, checked with the real docker CLI (no daemon needed).
@Suite("Docker contexts")
struct DockerContextTests {
    static let dockerCLI = ["/usr/bin/docker", "/usr/local/bin/docker"].first { FileManager.default.isExecutableFile(atPath: $0) }

    static func context(_ name: String = "berth-x", host: String = "tcp://192.168.122.10:2376") -> DockerContext {
        DockerContext(name: name, description: "berth machine x", host: host, caCertificate: Data("CA\n".utf8),
                      clientCertificate: Data("CERT\n".utf8), clientPrivateKey: Data("KEY\n".utf8))
    }

    /// Runs the docker CLI with DOCKER_CONFIG pointing at `config`; returns its standard output.
    static func docker(_ arguments: [String], config: URL) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(dockerCLI))
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["DOCKER_CONFIG"] = config.path
        for variable in ["DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"] { environment[variable] = nil }
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("the folder name is the SHA-256 of the context's name, as Docker names it")
    func folderName() {
        #expect(DockerContextStore.folderName(for: "berth-x") == "d572554fa15f245d5e6d5d57895b4841116de864d6b9c9944afc4a2f532e5ed4")
        #expect(DockerContext.name(forMachine: "dev") == "berth-dev")
    }

    @Test("DOCKER_CONFIG chooses the folder; ~/.docker otherwise")
    func resolution() {
        #expect(DockerContextStore.resolve(environment: ["DOCKER_CONFIG": "/d", "HOME": "/h"]).configDirectory.path == "/d")
        #expect(DockerContextStore.resolve(environment: ["HOME": "/h"]).configDirectory.path == "/h/.docker")
    }

    @Test("a written context has Docker's layout and private TLS files, with no temporary files left")
    func layout() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = DockerContextStore(configDirectory: directory.url)
        try store.write(Self.context())
        let hash = "d572554fa15f245d5e6d5d57895b4841116de864d6b9c9944afc4a2f532e5ed4"
        let meta = directory.url.appendingPathComponent("contexts/meta/\(hash)/meta.json")
        let tls = directory.url.appendingPathComponent("contexts/tls/\(hash)/docker")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: meta)) as? [String: Any])
        #expect(object["Name"] as? String == "berth-x")
        #expect((object["Metadata"] as? [String: Any])?["Description"] as? String == "berth machine x")
        let endpoint = try #require((object["Endpoints"] as? [String: Any])?["docker"] as? [String: Any])
        #expect(endpoint["Host"] as? String == "tcp://192.168.122.10:2376")
        #expect(endpoint["SkipTLSVerify"] as? Bool == false)
        for (file, content) in [("ca.pem", "CA\n"), ("cert.pem", "CERT\n"), ("key.pem", "KEY\n")] {
            let url = tls.appendingPathComponent(file)
            #expect(try String(contentsOf: url, encoding: .utf8) == content)
            #expect(try SecureFile.mode(of: url) == 0o600)
        }
        #expect(try SecureFile.mode(of: tls) == 0o700)
        #expect(try SecureFile.mode(of: meta) == 0o600)
        #expect(store.contains("berth-x"))
        // No temporary files left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: tls.path).sorted() == ["ca.pem", "cert.pem", "key.pem"])
    }

    @Test("the docker CLI lists and inspects the context berth wrote", .enabled(if: dockerCLI != nil))
    func dockerReadsIt() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = DockerContextStore(configDirectory: directory.url)
        try store.write(Self.context())
        let list = try Self.docker(["context", "ls", "--format", "{{.Name}} {{.DockerEndpoint}} {{.Description}}"], config: directory.url)
        #expect(list.status == 0)
        #expect(list.output.contains("berth-x tcp://192.168.122.10:2376 berth machine x"))
        let inspect = try Self.docker(["--context", "berth-x", "context", "inspect"], config: directory.url)
        #expect(inspect.status == 0)
        let contexts = try #require(try JSONSerialization.jsonObject(with: Data(inspect.output.utf8)) as? [[String: Any]])
        let context = try #require(contexts.first)
        #expect(context["Name"] as? String == "berth-x")
        let docker = try #require((context["Endpoints"] as? [String: Any])?["docker"] as? [String: Any])
        #expect(docker["Host"] as? String == "tcp://192.168.122.10:2376")
        let material = try #require((context["TLSMaterial"] as? [String: Any])?["docker"] as? [String])
        #expect(material.sorted() == ["ca.pem", "cert.pem", "key.pem"])
        let storage = try #require(context["Storage"] as? [String: Any])
        #expect((storage["TLSPath"] as? String)?.hasPrefix(directory.url.path) == true)
    }

    @Test("currentContext is set and unset in config.json, every other setting kept", .enabled(if: dockerCLI != nil))
    func currentContext() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = DockerContextStore(configDirectory: directory.url)
        let original = #"{"auths":{"registry.example":{"auth":"dXNlcjpwYXNz"}},"psFormat":"table {{.ID}}\t{{.Names}}","experimental":"enabled","detachKeys":"ctrl-e,e","plugins":{"x":{"n":1.5,"list":[1,true,null]}}}"#
        try Data(original.utf8).write(to: store.configFile)
        chmod(store.configFile.path, 0o640)
        try store.write(Self.context())
        try store.setCurrentContext("berth-x")
        #expect(try store.currentContext() == "berth-x")
        let before = try #require(try JSONSerialization.jsonObject(with: Data(original.utf8)) as? NSDictionary)
        let after = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: store.configFile)) as? [String: Any])
        #expect(after["currentContext"] as? String == "berth-x")
        var rest = after
        rest["currentContext"] = nil
        #expect(NSDictionary(dictionary: rest) == before)
        #expect(try SecureFile.mode(of: store.configFile) == 0o640)
        let list = try Self.docker(["context", "ls", "--format", "{{.Name}} {{.Current}}"], config: directory.url)
        #expect(list.output.contains("berth-x true"))

        try store.setCurrentContext(nil)
        #expect(try store.currentContext() == nil)
        let unset = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: store.configFile)) as? NSDictionary)
        #expect(unset == before)
        let listAgain = try Self.docker(["context", "ls", "--format", "{{.Name}} {{.Current}}"], config: directory.url)
        #expect(listAgain.output.contains("default true"))
    }

    @Test("a new config.json is private; a missing DOCKER_CONFIG folder is made")
    func newConfig() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = DockerContextStore(configDirectory: directory.url.appendingPathComponent("docker"))
        #expect(try store.currentContext() == nil)
        try store.setCurrentContext("berth-y")
        #expect(try SecureFile.mode(of: store.configFile) == 0o600)
        #expect(try store.currentContext() == "berth-y")
    }

    @Test("a config.json that is not JSON is left alone and reported")
    func brokenConfig() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = DockerContextStore(configDirectory: directory.url)
        try Data("{ not json".utf8).write(to: store.configFile)
        #expect(throws: BerthError.self) { try store.setCurrentContext("berth-x") }
        #expect(try String(contentsOf: store.configFile, encoding: .utf8) == "{ not json")
    }

    @Test("removing a context removes its files and, when it was current, goes back to the default", .enabled(if: dockerCLI != nil))
    func remove() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = DockerContextStore(configDirectory: directory.url)
        try store.write(Self.context())
        try store.write(Self.context("berth-other", host: "tcp://192.168.122.11:2376"))
        try store.setCurrentContext("berth-x")
        try store.remove("berth-x")
        #expect(!store.contains("berth-x"))
        #expect(!FileManager.default.fileExists(atPath: store.tlsDirectory(for: "berth-x").path))
        #expect(try store.currentContext() == nil)
        let list = try Self.docker(["context", "ls", "--format", "{{.Name}}"], config: directory.url)
        #expect(list.output.split(separator: "\n").sorted() == ["berth-other", "default"])
        try store.remove("berth-missing")
    }

    @Test("a machine's context uses its URL and the TLS files in its folder")
    func forMachine() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = Store(root: directory.url)
        var engine = MachineConfig.EngineOptions()
        engine.port = 2377
        let config = MachineConfig(
            name: "dev", hardware: .init(cpus: 1, memoryMiB: 1024, diskGiB: 10),
            hypervisor: .init(uri: "qemu:///system", virtType: "qemu", domainName: "dev", storagePool: "berth"),
            image: .init(name: "i", hasDocker: true, diskVolume: "d", kernelVolume: nil, initrdVolume: nil, kernelCommandLine: nil),
            network: .init(name: "berth", mac: "52:54:00:00:00:01", ip: "192.168.122.20"), engine: engine, ssh: .init())
        #expect(throws: BerthError.self) { try DockerContext.forMachine(config, store: store) }
        let files = MachineCertificateFiles(directory: try store.machineDirectory("dev"))
        try SecureFile.write("ca", to: files.caCertificate, mode: SecureFile.publicMode)
        try SecureFile.write("cert", to: files.clientCertificate, mode: SecureFile.publicMode)
        try SecureFile.write("key", to: files.clientPrivateKey, mode: SecureFile.privateMode)
        let context = try DockerContext.forMachine(config, store: store)
        #expect(context.name == "berth-dev")
        #expect(context.host == "tcp://192.168.122.20:2377")
        #expect(context.clientPrivateKey == Data("key".utf8))
    }
}
