import Foundation
import Testing
@testable import BerthCommands
@testable import MachineCore

/// What a script sees from the real binary: exit statuses, prompts answered on standard input,
/// the first line of each failure, and env's closing hint.
@Suite("berth as scripts see it")
struct ScriptBehaviourTests {
    @Test("rm reads its answer from standard input without a terminal: n exits 0, y goes ahead, none is an error")
    func rmPrompt() async throws {
        let store = try TemporaryStore()
        defer { store.remove() }
        let no = try await BerthBinary.run(["rm", "ghost"], store: store, input: "n\n")
        #expect(no.status == 0, "\(no.error)")
        #expect(no.error.contains("Are you sure? (y/n): "))
        #expect(no.error.contains("Nothing removed."))
        let yes = try await BerthBinary.run(["rm", "ghost"], store: store, input: "y\n")
        #expect(yes.status == 1)
        #expect(yes.error.contains(#"berth: Docker machine "ghost" does not exist"#), "the answer was read: \(yes.error)")
        let none = try await BerthBinary.run(["rm", "ghost"], store: store)
        #expect(none.status == 1)
        #expect(none.error.contains("no answer on standard input"))
    }

    @Test("regenerate-certs too; N is no")
    func regeneratePrompt() async throws {
        let store = try TemporaryStore()
        defer { store.remove() }
        let no = try await BerthBinary.run(["regenerate-certs", "ghost"], store: store, input: "N\n")
        #expect(no.status == 0, "\(no.error)")
        #expect(no.error.contains("Nothing regenerated."))
        let yes = try await BerthBinary.run(["regenerate-certs", "ghost"], store: store, input: "yes\n")
        #expect(yes.status == 1)
        #expect(yes.error.contains(#"Docker machine "ghost" does not exist"#))
    }

    @Test("exit statuses: 1 for a failure, 64 for a bad command line, 3 for create on a host that fails its pre-create check")
    func statuses() async throws {
        let store = try TemporaryStore()
        defer { store.remove() }
        let missing = try await BerthBinary.run(["status", "ghost"], store: store)
        #expect(missing.status == 1)
        #expect(missing.error.split(separator: "\n").count == 1)
        #expect(missing.error.hasPrefix(#"berth: Docker machine "ghost" does not exist; "#))
        let unset = try await BerthBinary.run(["env", "-u", "dev"], store: store)
        #expect(unset.status == 1)
        #expect(unset.error == "berth: Expected no machine name when the -u flag is present\n")
        let usage = try await BerthBinary.run(["ls", "--bogus"], store: store)
        #expect(usage.status == 64)
        let regex = try await BerthBinary.run(["ls", "--filter", "name=web("], store: store)
        #expect(regex.status != 0)
        #expect(regex.error.contains(#"invalid name filter "web(": not a regular expression"#))
        #expect(regex.error.split(separator: "\n").count == 1)
        let create = try await BerthBinary.run(["create", "--libvirt-uri", "qemu+unix:///system?socket=/nonexistent", "dev"], store: store)
        #expect(create.status == 3, "\(create.error)")
        #expect(!FileManager.default.fileExists(atPath: store.root.appendingPathComponent("machines/dev").path))
    }

    @Test("env's hint repeats the command line as typed, program path and all")
    func envHint() async throws {
        let store = try TemporaryStore()
        defer { store.remove() }
        let fish = try await BerthBinary.run(["env", "-u", "--shell", "fish"], store: store)
        #expect(fish.status == 0)
        #expect(fish.output.hasSuffix("# Run this command to configure your shell: \n# eval (\(BerthBinary.path) env -u --shell fish)\n"))
        let bash = try await BerthBinary.run(["env", "--shell", "bash", "--unset"], store: store)
        #expect(bash.output.hasSuffix("# eval $(\(BerthBinary.path) env --shell bash --unset)\n"))
        #expect(Env.usageCommand(["berth", "env", "--shell", "fish", "dev"]) == "berth env --shell fish dev")
        #expect(Env.usageCommand(["/opt/my tools/berth", "-s", "/my store", "env", "dev"])
            == #""/opt/my tools/berth" -s "/my store" env dev"#)
        #expect(Env.usageCommand([#"C:\berth"#, "env"]) == #""C:\berth" env"#)
    }
}
