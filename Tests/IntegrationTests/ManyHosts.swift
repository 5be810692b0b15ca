import Foundation
import MachineCore
import Testing

extension RealMachines {
    /// Beyond one machine: a two-node Docker Swarm made by berth, then an existing server taken over
    /// with `--driver generic`. The server is the swarm's manager VM itself, with berth's Docker set-up
    /// taken off it and Docker Engine purged, so the takeover has to install Docker from the
    /// distribution's packages (through the guest's Debian mirror) like on any bare server.
    @Suite(.serialized) struct ManyHosts {
        static let manager = "berth-it-swarm-m"
        static let worker = "berth-it-swarm-w"
        static let server = "berth-it-server"

        @Test func aTwoNodeSwarmThenTheManagerTakenOverAsAnExistingServer() async throws {
            _ = try await TestImages.ensure(.docker)
            let (manager, worker, server) = (Self.manager, Self.worker, Self.server)
            for name in [server, worker, manager] { try await CLI.berth("rm", "-f", name, expectSuccess: false) }
            defer {
                // Whatever failed, the VMs go (synchronously: a test process may end right after).
                for name in [server, worker, manager] {
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: CLI.berthBinary)
                    process.arguments = ["rm", "-f", name]
                    process.environment = CLI.environment
                    process.standardError = FileHandle.nullDevice
                    try? process.run()
                    process.waitUntilExit()
                }
            }

            // The swarm: a manager, and a worker that joins it with a node label.
            let created = try await CLI.berth("create", "--memory", "512", "--swarm-manager", manager)
            #expect(created.error.contains("✓ swarm"), "\(created.error)")
            try await CLI.berth("create", "--memory", "512", "--swarm-join", manager, "--swarm-label", "zone=a", worker)

            let listing = try await CLI.berth("ls", "--format", "{{.Name}}|{{.Swarm}}", "--filter", "swarm=\(manager)")
            #expect(listing.output == "\(manager)|\(manager) (manager)\n\(worker)|\(manager)\n")
            let nodes = try await CLI.docker(["node", "ls", "--format", "{{.Hostname}} {{.Status}} {{.ManagerStatus}}"], machine: manager)
            #expect(Set(nodes.output.split(separator: "\n")) == ["\(manager) Ready Leader", "\(worker) Ready "], "\(nodes.error)")
            let labels = try await CLI.docker(["node", "inspect", worker, "--format", "{{json .Spec.Labels}}"], machine: manager)
            #expect(labels.output.trimmingCharacters(in: .whitespacesAndNewlines) == #"{"zone":"a"}"#, "\(labels.error)")

            // A service of two replicas, at most one a node: one task on each. The image is imported on
            // both nodes (there is no registry), so the service must not resolve it.
            let image = try CLI.busyboxTarball(applets: ["sh", "sleep"])
            for name in [manager, worker] {
                let imported = try await CLI.docker(["import", "-", "berth-test/busybox"], machine: name, input: image)
                #expect(imported.status == 0, "\(imported.error)")
            }
            let service = try await CLI.docker(["service", "create", "--detach", "--name", "berth-it-sleep", "--replicas", "2",
                                                "--replicas-max-per-node", "1", "--no-resolve-image", "berth-test/busybox",
                                                "/bin/sleep", "3600"], machine: manager)
            #expect(service.status == 0, "\(service.error)")
            var running: Set<String> = []
            let deadline = ContinuousClock.now + .seconds(120)
            while running.count < 2, ContinuousClock.now < deadline {
                let tasks = try await CLI.docker(["service", "ps", "berth-it-sleep", "--filter", "desired-state=running",
                                                  "--format", "{{.Node}} {{.CurrentState}}"], machine: manager)
                running = Set(tasks.output.split(separator: "\n").filter { $0.contains(" Running") }.map { String($0.split(separator: " ")[0]) })
                if running.count < 2 { try await Task.sleep(for: .seconds(2)) }
            }
            #expect(running == [manager, worker], "one task on each node")

            // rm of the worker drains it, makes it leave and takes it off the node list: the manager is healthy alone.
            try await CLI.berth("rm", "-y", worker)
            #expect(try await Witness.leftovers(of: worker) == [])
            let alone = try await CLI.docker(["node", "ls", "--format", "{{.Hostname}} {{.Status}}"], machine: manager)
            #expect(alone.output == "\(manager) Ready\n", "\(alone.error)")
            let info = try await CLI.docker(["info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}} {{.Swarm.Nodes}}"],
                                            machine: manager)
            #expect(info.output.trimmingCharacters(in: .whitespacesAndNewlines) == "active true 1", "\(info.error)")

            // The manager VM becomes a bare server: out of its swarm, berth's TLS files, daemon.json and
            // drop-in gone, Docker Engine purged.
            let ip = try await CLI.berth("ip", manager).output.trimmingCharacters(in: .whitespacesAndNewlines)
            let bare = try await CLI.berth(["ssh", manager, "--", "sudo", "sh", "-c", """
                'docker swarm leave --force >/dev/null && systemctl stop docker.service docker.socket && \
                rm -f /etc/docker/ca.pem /etc/docker/server.pem \
                /etc/docker/server-key.pem /etc/docker/daemon.json /etc/systemd/system/docker.service.d/10-berth.conf && \
                DEBIAN_FRONTEND=noninteractive apt-get purge -y -q docker.io docker-cli >/dev/null && systemctl daemon-reload && \
                ! command -v dockerd'
                """])
            #expect(bare.status == 0, "\(bare.error)")

            // Taken over with the machine's key, as user docker: Docker installed from the packages, TLS on IP:2376.
            let key = "\(CLI.storePath)/machines/\(manager)/id_ed25519"
            let takeover = try await CLI.berth(["create", "--driver", "generic", "--generic-ip-address", ip, "--generic-ssh-user", "docker",
                                                "--generic-ssh-key", key, server])
            #expect(takeover.error.contains("installing Docker Engine (docker.io)"), "\(takeover.error)")
            let environment = try await CLI.dockerEnvironment(for: server)
            #expect(environment["DOCKER_HOST"] == "tcp://\(ip):2376")
            #expect(environment["DOCKER_TLS_VERIFY"] == "1")
            let reached = try await CLI.docker(["info", "--format", "{{.Name}}"], machine: server)
            #expect(reached.output.trimmingCharacters(in: .whitespacesAndNewlines) == manager, "the VM's own Docker: \(reached.error)")
            let row = try await CLI.berth("ls", "--format", "{{.DriverName}} {{.State}} {{.URL}}", "--filter", "name=^\(server)$")
            #expect(row.output == "generic Running tcp://\(ip):2376\n")
            let power = try await CLI.berth(["stop", server], expectSuccess: false)
            #expect(power.status == 1)
            #expect(power.error.contains("berth does not power generic machines"))

            // A manager the server cannot reach (its swarm address on TEST-NET-1, which no network
            // routes): the join is refused in one line before Docker is asked anything.
            let store = Store(root: URL(fileURLWithPath: CLI.storePath))
            var far = try store.load(server)
            far.name = "berth-it-far"
            far.swarm = .init(role: .manager, manager: far.name, nodeID: "none", advertiseAddress: "192.0.2.1")
            try store.save(far)
            let unreachable = try await CLI.berth(["swarm", "join", far.name, server], expectSuccess: false)
            try FileManager.default.removeItem(atPath: "\(CLI.storePath)/machines/\(far.name)")
            #expect(unreachable.status == 1)
            #expect(unreachable.error == "berth: machine \"\(server)\" cannot reach swarm manager \"berth-it-far\" at 192.0.2.1:2377: their networks do not route to each other (on different hypervisor hosts?), and a swarm's nodes must reach each other directly\n")

            // rm forgets the server and leaves it as it is: the VM runs, Docker keeps its TLS set-up.
            try await CLI.berth("rm", "-y", server)
            #expect(!FileManager.default.fileExists(atPath: "\(CLI.storePath)/machines/\(server)"))
            #expect(try await Witness.virsh("domstate", manager).trimmingCharacters(in: .whitespacesAndNewlines) == "running")
            let untouched = try await CLI.berth(["ssh", manager, "--", "sudo", "test", "-f", "/etc/docker/server.pem", "&&", "systemctl",
                                                 "is-active", "docker.service"])
            #expect(untouched.output.trimmingCharacters(in: .whitespacesAndNewlines) == "active")

            try await CLI.berth("rm", "-f", manager)
            #expect(try await Witness.leftovers(of: manager) == [])
        }
    }
}
