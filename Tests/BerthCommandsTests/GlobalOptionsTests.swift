import ArgumentParser
import Foundation
import Testing
@testable import BerthCommands
import MachineCore

@Suite("Global options before or after the command, and Docker Machine's variables")
struct GlobalOptionsTests {
    static func global(_ arguments: [String]) throws -> GlobalOptions {
        try #require(GlobalOptions.of(try Berth.parseCommand(arguments)))
    }

    @Test("-s and --storage-path work before the command as well as after it")
    func storagePathPlacement() throws {
        #expect(try Self.global(["-s", "/tmp/a", "ls"]).storagePath == "/tmp/a")
        #expect(try Self.global(["--storage-path", "/tmp/b", "ls", "-q"]).storagePath == "/tmp/b")
        #expect(try Self.global(["--storage-path=/tmp/c", "status", "dev"]).storagePath == "/tmp/c")
        #expect(try Self.global(["ls", "-s", "/tmp/d"]).storagePath == "/tmp/d")
        #expect(try Self.global(["ls"]).storagePath == nil)
        // Through a command group, to a nested command.
        let imageLs = try Berth.parseCommand(["-s", "/tmp/e", "image", "ls"])
        #expect(imageLs is ImageLs)
        #expect(GlobalOptions.of(imageLs)?.storagePath == "/tmp/e")
    }

    @Test("--debug and -D work before the command, including before create's own options")
    func debugPlacement() throws {
        let create = try Berth.parseCommand(["--debug", "create", "dev", "--memory", "2G"])
        #expect(create is Create)
        #expect(GlobalOptions.of(create)?.debug == true)
        #expect(try Self.global(["-D", "ls"]).debug)
        #expect(try Self.global(["ls", "--debug"]).debug)
        #expect(try !Self.global(["ls"]).debug)
    }

    @Test("options after ssh's machine name stay the remote command's")
    func sshPassThrough() throws {
        let ssh = try #require(try Berth.parseCommand(["-s", "/tmp/a", "--debug", "ssh", "dev", "ls", "-s", "/x"]) as? SSH)
        #expect(ssh.global.storagePath == "/tmp/a")
        #expect(ssh.global.debug)
        #expect(ssh.name == "dev")
        #expect(ssh.command == ["ls", "-s", "/x"])
        let after = try #require(try Berth.parseCommand(["ssh", "--debug", "-s", "/tmp/b", "dev"]) as? SSH)
        #expect(after.global.storagePath == "/tmp/b")
        #expect(after.command.isEmpty)
    }

    @Test("the storage folder: --storage-path, then BERTH_STORAGE_PATH, MACHINE_STORAGE_PATH, XDG_DATA_HOME, HOME")
    func storageResolution() {
        let all = ["BERTH_STORAGE_PATH": "/b", "MACHINE_STORAGE_PATH": "/m", "XDG_DATA_HOME": "/x", "HOME": "/h"]
        #expect(Store.resolve(explicit: "/e", environment: all).root.path == "/e")
        #expect(Store.resolve(environment: all).root.path == "/b")
        var environment = all
        environment["BERTH_STORAGE_PATH"] = ""
        #expect(Store.resolve(environment: environment).root.path == "/m")
        environment["MACHINE_STORAGE_PATH"] = nil
        #expect(Store.resolve(environment: environment).root.path == "/x/berth")
        environment["XDG_DATA_HOME"] = nil
        #expect(Store.resolve(environment: environment).root.path == "/h/.local/share/berth")
    }

    @Test("MACHINE_DEBUG turns debugging on as Go's ParseBool reads it; a bad value is refused in one line")
    func machineDebug() throws {
        #expect(try GlobalOptions.debugRequested(flag: false, environment: ["MACHINE_DEBUG": "1"]))
        #expect(try GlobalOptions.debugRequested(flag: false, environment: ["MACHINE_DEBUG": "true"]))
        #expect(try !GlobalOptions.debugRequested(flag: false, environment: ["MACHINE_DEBUG": "false"]))
        #expect(try !GlobalOptions.debugRequested(flag: false, environment: ["MACHINE_DEBUG": ""]))
        #expect(try !GlobalOptions.debugRequested(flag: false, environment: [:]))
        #expect(try GlobalOptions.debugRequested(flag: true, environment: ["MACHINE_DEBUG": "0"]))
        let error = try #require(throws: BerthError.self) {
            try GlobalOptions.debugRequested(flag: false, environment: ["MACHINE_DEBUG": "loud"])
        }
        #expect(error.message.contains("MACHINE_DEBUG"))
        #expect(error.message.contains("loud"))
    }

    @Test("MACHINE_NATIVE_SSH and --native-ssh are accepted and change nothing")
    func nativeSSH() throws {
        let environment = ["MACHINE_NATIVE_SSH": "1", "HOME": "/h"]
        #expect(try !GlobalOptions.debugRequested(flag: false, environment: environment))
        #expect(Store.resolve(environment: environment).root.path == "/h/.local/share/berth")
        #expect(try Berth.parseCommand(["--native-ssh", "ls"]) is Ls)
        #expect(try Berth.parseCommand(["ssh", "--native-ssh", "dev"]) is SSH)
        #expect(!Berth.helpMessage(for: Ls.self).contains("native-ssh"))
    }

    @Test("global options with nothing to apply to change nothing")
    func leftovers() {
        #expect(GlobalArguments.movedAfterCommand(["-s", "/x", "--help"]) == ["--help"])
        #expect(GlobalArguments.movedAfterCommand(["-D", "image"]) == ["image"])
        #expect(GlobalArguments.movedAfterCommand(["-D", "image", "rm", "a"]) == ["image", "rm", "-D", "a"])
        #expect(GlobalArguments.movedAfterCommand(["ls", "-D"]) == ["ls", "-D"])
    }

    @Test("help shows the global options at the top and on each command")
    func help() {
        let top = Berth.helpMessage()
        #expect(top.contains("-s, --storage-path DIR"))
        #expect(top.contains("-D, --debug"))
        #expect(top.contains("before or after its name"))
        #expect(Berth.helpMessage(for: Ls.self).contains("--storage-path <dir>"))
    }
}
