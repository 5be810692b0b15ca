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

    @Test("create -d/--driver takes libvirt, its alias kvm, and generic with its flags")
    func drivers() throws {
        for driver in ["libvirt", "kvm"] {
            let create = try #require(try Berth.parseAsRoot(["create", "-d", driver, "dev"]) as? Create)
            #expect(!create.generic.isGeneric)
        }
        let generic = try #require(try Berth.parseAsRoot([
            "create", "--driver", "generic", "--generic-ip-address", "192.0.2.10", "--generic-ssh-user", "admin",
            "--generic-ssh-key", "/tmp/key", "--generic-ssh-port", "2222", "srv",
        ]) as? Create)
        let request = try generic.generic.request(name: "srv")
        #expect(request.address == "192.0.2.10" && request.user == "admin" && request.port == 2222 && request.key.path == "/tmp/key")
        let defaults = try #require(try Berth.parseAsRoot(["create", "-d", "generic", "--generic-ip-address", "192.0.2.10",
                                                           "--generic-ssh-key", "/tmp/key", "srv"]) as? Create)
        #expect(try defaults.generic.request(name: "srv").user == "root", "Docker Machine's default user")
        #expect(try defaults.generic.request(name: "srv").port == 22)

        #expect(Self.failure(["create", "-d", "virtualbox", "dev"]) == "--driver must be libvirt (or its alias kvm) or generic, not \"virtualbox\"")
        #expect(Self.failure(["create", "-d", "generic", "srv"])?.hasPrefix("--driver generic needs --generic-ip-address") == true)
        #expect(Self.failure(["create", "--generic-ip-address", "192.0.2.10", "dev"]) == "--generic-ip-address needs --driver generic")
        #expect(Self.failure(["create", "-d", "generic", "--generic-ip-address", "192.0.2.10", "--generic-ssh-port", "0", "srv"])
            == "--generic-ssh-port must be between 1 and 65535, not 0")
        for flags in [["--memory", "512"], ["--image", "berth-plain"], ["--libvirt-uri", "qemu:///session"], ["-p", "8080:80"]] {
            let message = try #require(Self.failure(["create", "-d", "generic", "--generic-ip-address", "192.0.2.10"] + flags + ["srv"]))
            #expect(message == "\(flags[0] == "-p" ? "--publish" : flags[0]) applies to machines berth makes, not to --driver generic")
        }
        #expect(Self.failure(["create", "-d", "generic", "--generic-ip-address", "192.0.2.10", "--ssh-key", "/tmp/k", "srv"])
            == "--ssh-key applies to machines berth makes, not to --driver generic; use --generic-ssh-key")
    }

    @Test("create's swarm flags: a new swarm or a join, with labels; Docker Machine's standalone-Swarm flags say what to use")
    func swarmFlags() throws {
        let manager = try #require(try Berth.parseAsRoot(["create", "--swarm-manager", "--swarm-label", "zone=a", "m1"]) as? Create)
        #expect(manager.swarm.plan == .initialise(labels: ["zone=a"]))
        let worker = try #require(try Berth.parseAsRoot(["create", "--swarm-join", "m1", "w1"]) as? Create)
        #expect(worker.swarm.plan == .join(manager: "m1", role: .worker, labels: []))
        let second = try #require(try Berth.parseAsRoot(["create", "--swarm-join", "m1", "--swarm-join-as", "manager", "m2"]) as? Create)
        #expect(second.swarm.plan == .join(manager: "m1", role: .manager, labels: []))
        #expect(try #require(try Berth.parseAsRoot(["create", "dev"]) as? Create).swarm.plan == nil)

        #expect(Self.failure(["create", "--swarm-manager", "--swarm-join", "m1", "x"])?.hasPrefix("--swarm-manager and --swarm-join exclude each other") == true)
        #expect(Self.failure(["create", "--swarm-join-as", "manager", "x"]) == "--swarm-join-as needs --swarm-join MANAGER")
        #expect(Self.failure(["create", "--swarm-join", "m1", "--swarm-join-as", "leader", "x"]) == "--swarm-join-as must be worker or manager, not \"leader\"")
        #expect(Self.failure(["create", "--swarm-label", "a=b", "x"]) == "--swarm-label needs --swarm-manager or --swarm-join")
        #expect(Self.failure(["create", "--swarm-manager", "--swarm-label", "bad key=1", "x"])?.hasPrefix("--swarm-label takes key=value") == true)
        #expect(Self.failure(["create", "--swarm-join", "x", "x"]) == "--swarm-join names the machine being made; give the name of a swarm manager")
        #expect(Self.failure(["create", "--swarm-join", "../m", "x"])?.hasPrefix("--swarm-join: invalid machine name") == true)
        for legacy in [["--swarm"], ["--swarm-master"], ["--swarm-discovery", "token://abc"]] {
            let message = try #require(Self.failure(["create"] + legacy + ["x"]))
            #expect(message.hasPrefix("--swarm, --swarm-master and --swarm-discovery made Docker Machine's standalone Swarm, which is gone; berth uses Docker's swarm mode"))
        }
    }

    @Test("berth swarm init, join and leave; rm --remove-engine-config")
    func swarmCommands() throws {
        let initialise = try #require(try Berth.parseAsRoot(["swarm", "init", "m1", "--label", "zone=a"]) as? SwarmInit)
        #expect(initialise.machine.name == "m1" && initialise.labels == ["zone=a"])
        let join = try #require(try Berth.parseAsRoot(["swarm", "join", "m1", "w1", "--as", "manager"]) as? SwarmJoin)
        #expect(join.manager == "m1" && join.name == "w1" && join.role == "manager")
        #expect(try #require(try Berth.parseAsRoot(["swarm", "leave", "-f", "w1"]) as? SwarmLeave).force)
        #expect(Self.failure(["swarm", "join", "m1", "w1", "--as", "boss"]) == "--as must be worker or manager, not \"boss\"")
        #expect(Self.failure(["swarm", "init", "m1", "--label", "=x"])?.hasPrefix("--label takes key=value") == true)
        #expect(Self.failure(["swarm", "join", "m1"]) != nil, "join needs the manager and the machine")
        #expect(try #require(try Berth.parseAsRoot(["rm", "--remove-engine-config", "-y", "srv"]) as? Rm).removeEngineConfig)
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
