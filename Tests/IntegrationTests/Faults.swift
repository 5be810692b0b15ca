import Download
import Foundation
import MachineCore
import Testing

/// Real faults injected into real processes: signals at each create stage, a restarted libvirt
/// daemon, a killed QEMU, a deleted network, a truncated config, a full file system. Each checks
/// what a user would see afterwards. One machine serves the checks that need a running one.
extension RealMachines {
    @Suite(.serialized) struct Faults {
        static let name = "berth-it-fault"
        static let network = "berth-fault"
        static let stages = ["preflight", "image", "disk", "network", "cloud-init seed", "boot", "waiting for SSH",
                             "waiting for Docker"]

        @Test func interruptedCreatesLeaveNothingAndARunningMachineSurvivesFaults() async throws {
            _ = try await TestImages.ensure(.docker)
            try await CLI.berth("rm", "-f", Self.name, expectSuccess: false)
            try await Self.interruptAtEveryStage()

            // After all that, the name is free and a create of it succeeds.
            try await CLI.berth("create", "--memory", "1024", "--network", Self.network, Self.name)
            try await Self.endpointAndStoreAreLockedDown()
            try await Self.aForeignCreateOfTheSameNameTouchesNothing()
            try await Self.provisionAndUpgradeAtOnceBothSucceed()
            try await Self.libvirtRestartChangesNothing()
            try await Self.killedQEMUAndDeletedNetworkRecover()
            try await Self.truncatedConfigIsShownAndRemovable()

            try await CLI.berth("rm", "-y", Self.name)
            #expect(try await Witness.leftovers(of: Self.name) == [])
            _ = try? await Witness.virsh("net-destroy", Self.network)
            _ = try? await Witness.virsh("net-undefine", Self.network)
        }

        /// SIGINT rolls back (exit 130, nothing left); SIGKILL leaves a machine `ls` shows as Error
        /// that `rm -f` removes completely.
        static func interruptAtEveryStage() async throws {
            for stage in stages {
                for signal in [SIGINT, SIGKILL] {
                    let create = try BackgroundBerth(["create", "--memory", "1024", "--network", network, name], stopAt: stage)
                    let stopped = try await create.waitUntilStopped()
                    #expect(stopped, "create never reached stage \(stage)")
                    create.signal(signal)
                    create.signal(SIGCONT)
                    let (status, error) = try await create.wait(timeout: .seconds(300))
                    if signal == SIGINT {
                        #expect(status == 130, "SIGINT at \(stage): exit \(status)\n\(error)")
                        #expect(error.contains("everything made so far was removed"), "SIGINT at \(stage):\n\(error)")
                    } else {
                        #expect(status == 128 + SIGKILL, "SIGKILL at \(stage): exit \(status)")
                        let rows = try await listing()
                        let row = rows.first { $0.name == name }
                        #expect(row == nil || row?.state == .error, "SIGKILL at \(stage): \(String(describing: row))")
                        #expect(row?.error?.contains("berth rm -f \(name)") ?? true)
                        try await CLI.berth("rm", "-f", name)
                    }
                    let left = try await Witness.leftovers(of: name)
                    #expect(left == [], "after \(signal == SIGINT ? "SIGINT" : "SIGKILL") at \(stage): \(left)")
                }
            }
        }

        static func listing(store: String = CLI.storePath) async throws -> [MachineListing] {
            let ls = try await CLI.berth(["ls", "--format", "json"], store: store)
            return try JSONDecoder().decode([MachineListing].self, from: Data(ls.output.utf8))
        }

        /// Docker's endpoint takes nothing but the store's client certificate; the store's folders
        /// and keys are private; no secret shows in inspect, debug output or the console log; the
        /// guest takes only the machine's SSH key, and berth talks only to the host key it pinned.
        static func endpointAndStoreAreLockedDown() async throws {
            let ip = try await CLI.berth("ip", name).output.trimmingCharacters(in: .whitespacesAndNewlines)
            let folder = "\(CLI.storePath)/machines/\(name)"
            let ping = try #require(URL(string: "https://\(ip):2376/_ping"))
            let good = Downloader(configuration: .init(caBundlePath: "\(folder)/ca.pem", clientCertificatePath: "\(folder)/cert.pem",
                                                       clientKeyPath: "\(folder)/key.pem", noProxy: "*"))
            #expect(try await good.fetchText(ping) == "OK")

            let plain = try #require(URL(string: "http://\(ip):2376/_ping"))
            #expect((try? await Downloader(configuration: .init(noProxy: "*")).fetchText(plain)) == nil, "plain HTTP must be refused")
            let anonymous = Downloader(configuration: .init(caBundlePath: "\(folder)/ca.pem", noProxy: "*"))
            #expect((try? await anonymous.fetchText(ping)) == nil, "TLS without a client certificate must be refused")
            let stranger = try StrangerCertificate()
            defer { stranger.remove() }
            let foreign = Downloader(configuration: .init(caBundlePath: "\(folder)/ca.pem", clientCertificatePath: stranger.certificate,
                                                          clientKeyPath: stranger.key, noProxy: "*"))
            #expect((try? await foreign.fetchText(ping)) == nil, "a client certificate from another CA must be refused")

            for directory in [CLI.storePath, "\(CLI.storePath)/certs", "\(CLI.storePath)/machines", folder] {
                #expect(try mode(directory) == 0o700, "\(directory)")
            }
            for key in ["\(CLI.storePath)/certs/ca-key.pem", "\(CLI.storePath)/certs/key.pem", "\(folder)/key.pem",
                        "\(folder)/server-key.pem", "\(folder)/id_ed25519", "\(folder)/\(SSHHostKey.fileName)"] {
                #expect(try mode(key) == 0o600, "\(key)")
            }

            let secrets = try ["\(folder)/server-key.pem", "\(folder)/key.pem", "\(folder)/id_ed25519", "\(folder)/\(SSHHostKey.fileName)"]
                .map { try String(contentsOfFile: $0, encoding: .utf8) }
                .flatMap { $0.split(separator: "\n").filter { !$0.hasPrefix("-----") && $0.count > 20 } }
            let inspect = try await CLI.berth("inspect", name).output
            let debug = try await CLI.berth("--debug", "ls").error + CLI.berth(["--debug", "env", name]).error
            let console = try String(contentsOfFile: "\(folder)/console.log", encoding: .utf8)
            for (place, text) in [("inspect", inspect), ("debug output", debug), ("console log", console)] {
                #expect(!text.contains("PRIVATE KEY"), "\(place) shows a private key")
                #expect(!secrets.contains { text.contains($0) }, "\(place) shows a secret")
            }

            let other = FileManager.default.temporaryDirectory.appendingPathComponent("berth-other-key-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: other); try? FileManager.default.removeItem(atPath: other.path + ".pub") }
            _ = try await HelperProgram.capture("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", other.path])
            let intruder = try await HelperProgram.capture(
                try #require(HelperProgram.which("ssh")),
                ["-i", other.path, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                 "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "docker@\(ip)", "true"], timeout: .seconds(60))
            #expect(intruder.status == 255)
            #expect(intruder.standardError.contains("Permission denied (publickey)"), "only keys, no passwords: \(intruder.standardError)")

            let knownHosts = "\(folder)/known_hosts"
            let pinned = try String(contentsOfFile: knownHosts, encoding: .utf8)
            let impostor = try String(contentsOfFile: other.path + ".pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
            try "berth-\(name) \(impostor)\n".write(toFile: knownHosts, atomically: true, encoding: .utf8)
            let refused = try await CLI.berth(["provision", name], expectSuccess: false)
            try pinned.write(toFile: knownHosts, atomically: true, encoding: .utf8)
            #expect(refused.status != 0)
            #expect(refused.error.contains("not the one berth gave it"), "\(refused.error)")
        }

        static func mode(_ path: String) throws -> mode_t {
            var info = stat()
            guard stat(path, &info) == 0 else { throw CocoaError(.fileNoSuchFile) }
            return info.st_mode & 0o777
        }

        /// Another store on the same host asking for the same name fails at once and touches none
        /// of the running machine's parts.
        static func aForeignCreateOfTheSameNameTouchesNothing() async throws {
            let other = FileManager.default.temporaryDirectory.appendingPathComponent("berth-foreign-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: "\(other)/images", withDestinationPath: "\(CLI.storePath)/images")
            defer { try? FileManager.default.removeItem(atPath: other) }
            let before = try await Witness.leftovers(of: name)
            let clash = try await CLI.berth(["create", "--memory", "512", "--network", network, name], expectSuccess: false, store: other)
            #expect(clash.status != 0)
            #expect(clash.error.contains("already has a domain named"), "\(clash.error)")
            #expect(try await Witness.leftovers(of: name) == before)
            #expect(!FileManager.default.fileExists(atPath: "\(other)/machines/\(name)"))
            #expect(try await CLI.berth("status", name).output.trimmingCharacters(in: .whitespacesAndNewlines) == "Running")
        }

        /// `provision` and `upgrade` at once: they take turns on the machine, and the restarts of
        /// Docker they cause do not trip systemd's start limit.
        static func provisionAndUpgradeAtOnceBothSucceed() async throws {
            async let provision = CLI.berth(["provision", name], expectSuccess: false)
            async let upgrade = CLI.berth(["upgrade", name], expectSuccess: false)
            let (provisioned, upgraded) = try await (provision, upgrade)
            #expect(provisioned.status == 0, "provision: \(provisioned.error)")
            #expect(upgraded.status == 0, "upgrade: \(upgraded.error)")
            let info = try await CLI.docker(["info", "--format", "{{.Name}}"], machine: name)
            #expect(info.output.trimmingCharacters(in: .whitespacesAndNewlines) == name, "\(info.error)")
        }

        /// The files of a machine that must not change when nothing was asked of it. Logs and the
        /// forwarder's live state (what it forwards, whether Docker answers it) change by themselves.
        static func storeSnapshot() throws -> [String: Data] {
            let folder = "\(CLI.storePath)/machines/\(name)"
            let live: Set = ["console.log", "forwarder.log", "forwards.json"]
            var files: [String: Data] = [:]
            for file in try FileManager.default.contentsOfDirectory(atPath: folder) where !live.contains(file) {
                files[file] = try Data(contentsOf: URL(fileURLWithPath: "\(folder)/\(file)"))
            }
            for file in ["ca.pem", "ca-key.pem", "cert.pem", "key.pem"] {
                files["certs/\(file)"] = try Data(contentsOf: URL(fileURLWithPath: "\(CLI.storePath)/certs/\(file)"))
            }
            return files
        }

        static func libvirtRestartChangesNothing() async throws {
            let before = try storeSnapshot()
            let daemonBefore = try await LibvirtDaemon.processID()
            try await LibvirtDaemon.restart()
            let daemonAfter = try await LibvirtDaemon.processID()
            #expect(daemonAfter != nil && daemonAfter != daemonBefore, "libvirtd was really restarted")
            #expect(try await Witness.virsh("domstate", name).contains("running"))
            let rows = try await listing()
            #expect(rows.first { $0.name == name }?.state == .running)
            let info = try await CLI.docker(["info", "--format", "{{.Name}}"], machine: name)
            #expect(info.output.trimmingCharacters(in: .whitespacesAndNewlines) == name, "\(info.error)")
            #expect(try storeSnapshot() == before)
        }

        /// QEMU killed under a running machine: it shows as stopped; with its network deleted behind
        /// berth's back too, `start` makes the network again with the machine's address, and the
        /// data written before the kill is there.
        static func killedQEMUAndDeletedNetworkRecover() async throws {
            let ip = try await CLI.berth("ip", name).output
            let write = try await CLI.docker(["run", "--rm", "-v", "berth-fault:/data", "berth-test/busybox", "/bin/sh", "-c",
                                              "echo survived > /data/file && sync"], machine: name)
            if write.status != 0 {
                let imported = try await CLI.docker(["import", "-", "berth-test/busybox"], machine: name, input: try CLI.busyboxTarball())
                #expect(imported.status == 0, "\(imported.error)")
                let again = try await CLI.docker(["run", "--rm", "-v", "berth-fault:/data", "berth-test/busybox", "/bin/sh", "-c",
                                                  "echo survived > /data/file && sync"], machine: name)
                #expect(again.status == 0, "\(again.error)")
            }
            let pidText = try String(contentsOfFile: "/run/libvirt/qemu/\(name).pid", encoding: .utf8)
            let pid = try #require(Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
            kill(pid, SIGKILL)
            var state = ""
            for _ in 0..<100 {
                state = try await CLI.berth("status", name).output.trimmingCharacters(in: .whitespacesAndNewlines)
                if state != "Running" { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(state == "Stopped" || state == "Error", "after QEMU was killed: \(state)")

            _ = try await Witness.virsh("net-destroy", network)
            _ = try await Witness.virsh("net-undefine", network)
            try await CLI.berth("start", name)
            #expect(try await Witness.virsh("net-list", "--name").contains(network))
            #expect(try await CLI.berth("ip", name).output == ip)
            let read = try await CLI.docker(["run", "--rm", "-v", "berth-fault:/data", "berth-test/busybox", "/bin/cat", "/data/file"],
                                            machine: name)
            #expect(read.output.trimmingCharacters(in: .whitespacesAndNewlines) == "survived", "\(read.error)")
        }

        /// A machine whose config.json was cut short: `ls` names the file, the other machine keeps
        /// working, and `rm -f` removes all of it (domain, volumes, reservation, folder).
        static func truncatedConfigIsShownAndRemovable() async throws {
            let half = "berth-it-half"
            try await CLI.berth("rm", "-f", half, expectSuccess: false)
            let create = try BackgroundBerth(["create", "--memory", "512", "--network", network, half], stopAt: "waiting for SSH")
            #expect(try await create.waitUntilStopped())
            create.signal(SIGKILL)
            _ = try await create.wait()
            let config = "\(CLI.storePath)/machines/\(half)/config.json"
            let text = try String(contentsOfFile: config, encoding: .utf8)
            try String(text.prefix(text.count / 2)).write(toFile: config, atomically: false, encoding: .utf8)

            let rows = try await listing()
            let broken = rows.first { $0.name == half }
            #expect(broken?.state == .error)
            #expect(broken?.error?.contains("config.json") == true, "\(String(describing: broken))")
            let healthy = rows.first { $0.name == name }
            #expect(healthy?.state == .running)
            #expect(healthy?.error == nil)
            #expect(try await CLI.berth("ip", name).status == 0)

            #expect(try await Witness.leftovers(of: half).contains("domain \(half)"))
            try await CLI.berth("rm", "-f", half)
            #expect(try await Witness.leftovers(of: half) == [])
        }

        /// A store on a file system with no room left: create fails with one clear line and leaves
        /// nothing behind, in libvirt or in the store.
        @Test func aFullStoreFailsCleanly() async throws {
            _ = try await TestImages.ensure(.docker)
            let mount = FileManager.default.temporaryDirectory.appendingPathComponent("berth-full-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: mount) }
            let mounted = try await HelperProgram.capture("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mount])
            try #require(mounted.status == 0, "mount a small tmpfs: \(mounted.standardError)")
            defer { unmount(mount) }
            try FileManager.default.createSymbolicLink(atPath: "\(mount)/images", withDestinationPath: "\(CLI.storePath)/images")
            // Fill it, then free a little: the first files fit, the rest do not.
            let filler = "\(mount)/filler"
            _ = try await HelperProgram.capture("/bin/dd", ["if=/dev/zero", "of=\(filler)", "bs=4k"])
            _ = try await HelperProgram.capture("/usr/bin/truncate", ["-s", "-12k", filler])
            let name = "berth-it-full"
            let result = try await CLI.berth(["create", "--memory", "512", name], expectSuccess: false, store: mount)
            #expect(result.status != 0)
            let lines = result.error.split(separator: "\n").filter { $0.hasPrefix("berth:") }
            #expect(lines.count == 1, "\(result.error)")
            #expect(result.error.contains("No space left on device"), "\(result.error)")
            #expect(try await Witness.leftovers(of: name, store: mount) == [])
        }
    }
}

/// Unmounts a test file system (from `defer`, so without waiting on anything async).
func unmount(_ path: String) {
    let umount = Process()
    umount.executableURL = URL(fileURLWithPath: "/bin/umount")
    umount.arguments = [path]
    try? umount.run()
    umount.waitUntilExit()
}

/// A client certificate signed by a CA that is not the store's.
struct StrangerCertificate {
    let folder: URL
    var certificate: String { folder.appendingPathComponent("cert.pem").path }
    var key: String { folder.appendingPathComponent("key.pem").path }

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("berth-stranger-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let ca = try CertificateAuthority.create(commonName: "someone else's CA")
        let client = try ca.issueClientCertificate()
        try client.certificatePEM().write(toFile: certificate, atomically: true, encoding: .utf8)
        try client.privateKeyPEM().write(toFile: key, atomically: true, encoding: .utf8)
    }

    func remove() { try? FileManager.default.removeItem(at: folder) }
}

/// The libvirt daemon, restarted the way this host runs it.
enum LibvirtDaemon {
    static func processID() async throws -> String? {
        let found = try await HelperProgram.capture("/usr/bin/pgrep", ["-x", "libvirtd"])
        return found.status == 0 ? found.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    static func restart() async throws {
        if FileManager.default.fileExists(atPath: "/run/systemd/system") {
            _ = try await HelperProgram.capture("/bin/systemctl", ["restart", "libvirtd"], timeout: .seconds(120))
        } else {
            // As scripts/setup-host.sh runs it where there is no systemd: stop it, wait, start it again.
            let restart = "pkill -TERM -x libvirtd; for i in $(seq 100); do pgrep -x libvirtd >/dev/null || break; sleep 0.1; done; "
                + "libvirtd -d </dev/null >/dev/null 2>&1"
            _ = try await HelperProgram.capture("/bin/sh", ["-c", restart], timeout: .seconds(60))
        }
        for _ in 0..<100 {
            if try await HelperProgram.capture("/usr/bin/virsh", ["-c", "qemu:///system", "version"]).status == 0 { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("libvirtd did not come back")
    }
}
