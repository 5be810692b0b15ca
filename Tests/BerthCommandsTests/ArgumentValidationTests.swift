import ArgumentParser
import Foundation
import Testing
@testable import BerthCommands
import MachineCore

@Suite("Argument validation")
struct ArgumentValidationTests {
    /// The message berth would print for these arguments, or nil when they parse.
    static func failure(_ arguments: [String]) -> String? {
        do {
            _ = try Berth.parseAsRoot(arguments)
            return nil
        } catch {
            return Berth.message(for: error)
        }
    }

    @Test("good arguments parse to the right command")
    func goodArguments() throws {
        #expect(try Berth.parseAsRoot(["create", "dev", "--memory", "2G", "--virt-type", "qemu"]) is Create)
        #expect(try Berth.parseAsRoot(["ls", "--format", "json", "--filter", "state=Running"]) is Ls)
        #expect(try Berth.parseAsRoot(["scp", "-r", "./dir", "dev:/tmp"]) is Scp)
        #expect(try Berth.parseAsRoot(["image", "ls", "-q"]) is ImageLs)
        #expect(try Berth.parseAsRoot(["regenerate-certs", "-f", "--client-certs", "a", "b"]) is RegenerateCerts)
        let ssh = try #require(try Berth.parseAsRoot(["ssh", "dev", "ls", "-la", "/"]) as? SSH)
        #expect(ssh.name == "dev")
        #expect(ssh.command == ["ls", "-la", "/"])
        let bare = try #require(try Berth.parseAsRoot(["ssh"]) as? SSH)
        #expect(bare.name == "default")
        #expect(bare.command.isEmpty)
    }

    @Test("create takes --tls-san (repeatable, IPs or DNS names) and --no-context")
    func createFlags() throws {
        let create = try #require(try Berth.parseAsRoot(["create", "--tls-san", "docker.example.com", "--tls-san", "10.0.0.5",
                                                         "--no-context", "dev"]) as? Create)
        #expect(create.tlsSAN == ["docker.example.com", "10.0.0.5"])
        #expect(create.noContext)
        let message = try #require(Self.failure(["create", "--tls-san", "not a name", "dev"]))
        #expect(message.contains("--tls-san takes an IP address or a DNS name"))
    }

    @Test("create refuses a bad --virt-type")
    func virtType() throws {
        let message = try #require(Self.failure(["create", "--virt-type", "xen"]))
        #expect(message.contains("--virt-type"))
        #expect(message.contains("xen"))
    }

    @Test("create refuses a bad --memory and --disk-size")
    func sizes() throws {
        #expect(try #require(Self.failure(["create", "--memory", "lots"])).contains("--memory"))
        #expect(try #require(Self.failure(["create", "--disk-size", "20X"])).contains("--disk-size"))
    }

    @Test("bad --format values are refused")
    func formats() throws {
        #expect(try #require(Self.failure(["ls", "--format", "xml"])).contains("--format"))
        #expect(try #require(Self.failure(["inspect", "dev", "--format", "yaml"])).contains("--format"))
        #expect(try #require(Self.failure(["image", "ls", "-f", "csv"])).contains("--format"))
    }

    @Test("a bad ls --filter is refused")
    func filters() throws {
        #expect(try #require(Self.failure(["ls", "--filter", "colour=red"])).contains("colour"))
        #expect(try #require(Self.failure(["ls", "--filter", "running"])).contains("running"))
    }

    @Test("scp needs a source, a destination and a machine")
    func scp() throws {
        #expect(Self.failure(["scp", "dev:/tmp/x"]) != nil)
        #expect(try #require(Self.failure(["scp", "a", "b"])).contains("NAME:PATH"))
    }

    @Test("image commands check their options")
    func image() throws {
        #expect(try #require(Self.failure(["image", "build", "--flavor", "fancy"])).contains("--flavor"))
        #expect(try #require(Self.failure(["image", "pull", "ftp://example.org/a.qcow2"])).contains("http"))
        #expect(try #require(Self.failure(["image", "pull", "https://example.org/a.qcow2", "--sha256", "abc"])).contains("--sha256"))
        #expect(try #require(Self.failure(["image", "pull", "https://example.org/a.qcow2", "--sha256",
                                            String(repeating: "0", count: 64), "--checksum-url", "https://example.org/SUMS"]))
            .contains("not both"))
        #expect(try #require(Self.failure(["image", "import", "disk.img", "--name", "../evil"])).contains("--name"))
        #expect(Self.failure(["image", "rm"]) != nil)
        #expect(Self.failure(["image", "pull", "https://example.org/a.qcow2", "--sha256", String(repeating: "0", count: 64)]) == nil)
    }

    @Test("berth --generate-completion-script bash prints a script for berth")
    func completion() throws {
        do {
            _ = try Berth.parseAsRoot(["--generate-completion-script", "bash"])
            Issue.record("asking for a completion script should not parse to a command")
        } catch {
            let script = Berth.fullMessage(for: error)
            #expect(Berth.exitCode(for: error) == .success)
            #expect(script.contains("berth"))
            #expect(script.contains("complete"))
            #expect(script.contains("regenerate-certs"))
        }
    }
}
