import Foundation
import Testing
@testable import BerthCommands
import MachineCore

@Suite("berth scp argument translation")
struct ScpArgumentsTests {
    let store = Store(root: URL(fileURLWithPath: "/var/lib/berth"))

    func access(_ configs: [MachineConfig]) -> (String) throws -> SSHCommand {
        { name in
            guard let config = configs.first(where: { $0.name == name }) else {
                throw BerthError(.machineNotFound, "machine \"\(name)\" does not exist")
            }
            return try SSHCommand(config: config, store: store)
        }
    }

    @Test("NAME:PATH is on a machine; other paths are local")
    func locations() {
        #expect(ScpArguments.location("dev:/tmp/x") == .init(machine: "dev", path: "/tmp/x"))
        #expect(ScpArguments.location("dev:") == .init(machine: "dev", path: ""))
        #expect(ScpArguments.location("dev:a:b") == .init(machine: "dev", path: "a:b"))
        #expect(ScpArguments.location("/tmp/x") == .init(machine: nil, path: "/tmp/x"))
        #expect(ScpArguments.location("./a:b") == .init(machine: nil, path: "./a:b"))
        #expect(ScpArguments.location(":x") == .init(machine: nil, path: ":x"))
    }

    @Test("host to machine: docker@IP:path with the machine's key and port")
    func upload() throws {
        let dev = Fixtures.config("dev", ip: "192.168.122.10", sshPort: 2222)
        let arguments = try ScpArguments.translate(["./app.tar", "dev:/tmp/"], recursive: false, access: access([dev]))
        let ssh = try SSHCommand(config: dev, store: store)
        #expect(arguments == ssh.commonOptions + ["-P", "2222", "--", "./app.tar", "docker@192.168.122.10:/tmp/"])
        #expect(arguments.contains("/var/lib/berth/machines/dev/id_ed25519"))
        #expect(!arguments.contains("-r"))
        #expect(!arguments.contains("-3"))
    }

    @Test("machine to host, recursive")
    func download() throws {
        let dev = Fixtures.config("dev", ip: "192.168.122.10")
        let arguments = try ScpArguments.translate(["dev:/var/log/", "./logs"], recursive: true, access: access([dev]))
        #expect(Array(arguments.suffix(3)) == ["--", "docker@192.168.122.10:/var/log/", "./logs"])
        #expect(arguments.contains("-r"))
        #expect(arguments[arguments.firstIndex(of: "-P")! + 1] == "22")
    }

    @Test("between two machines: both keys, through the host")
    func betweenMachines() throws {
        let a = Fixtures.config("a", ip: "192.168.122.10")
        let b = Fixtures.config("b", ip: "192.168.122.11")
        let arguments = try ScpArguments.translate(["a:/etc/hosts", "b:/tmp/hosts"], recursive: false, access: access([a, b]))
        let keys = arguments.indices.filter { arguments[$0] == "-i" }.map { arguments[$0 + 1] }
        #expect(keys == ["/var/lib/berth/machines/a/id_ed25519", "/var/lib/berth/machines/b/id_ed25519"])
        #expect(arguments.contains("-3"))
        #expect(Array(arguments.suffix(2)) == ["docker@192.168.122.10:/etc/hosts", "docker@192.168.122.11:/tmp/hosts"])
    }

    @Test("several sources from one machine use its key once")
    func oneKeyPerMachine() throws {
        let dev = Fixtures.config("dev", ip: "192.168.122.10")
        let arguments = try ScpArguments.translate(["dev:/a", "dev:/b", "."], recursive: false, access: access([dev]))
        #expect(arguments.filter { $0 == "-i" }.count == 1)
        #expect(!arguments.contains("-3"))
    }

    @Test("an unknown machine is an error")
    func unknownMachine() {
        #expect(throws: BerthError.self) {
            try ScpArguments.translate(["ghost:/a", "."], recursive: false, access: access([]))
        }
    }
}
