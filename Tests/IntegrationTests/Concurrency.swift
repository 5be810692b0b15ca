import Foundation
import MachineCore
import Testing

extension RealMachines {
    /// berth processes racing for real: the shape of an integration suite that makes its Docker
    /// hosts in parallel.
    @Suite(.serialized) struct Concurrency {
        /// Six creates at once on a fresh store and a fresh network, plus a seventh that asks for a
        /// name one of them is making: six machines with distinct addresses, one CA, Docker answering
        /// on each; the duplicate is told the name is taken and the winner is untouched. Meanwhile
        /// `ls`, `status` and `env` keep answering.
        @Test func sixCreatesAtOnceOnAFreshStore() async throws {
            _ = try await TestImages.ensure(.docker)
            let store = "/var/tmp/berth-race-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: "\(store)/images", withDestinationPath: "\(CLI.storePath)/images")
            defer { try? FileManager.default.removeItem(atPath: store) }
            let network = "berth-race"
            _ = try? await Witness.virsh("net-destroy", network)
            _ = try? await Witness.virsh("net-undefine", network)
            let names = (1...6).map { "berth-it-race\($0)" }

            let create = { (name: String) in
                try BackgroundBerth(["create", "--memory", "512", "--network", network, name], store: store)
            }
            var processes = try names.map { ($0, try create($0)) }
            processes.append((names[0], try create(names[0])))

            // While they run, the read-only commands answer (each bounded, so a hang fails the test).
            var rounds = 0
            while processes.contains(where: { $0.1.isRunning }), rounds < 600 {
                rounds += 1
                let ls = try await CLI.berth(["ls", "--format", "json"], store: store, timeout: .seconds(60))
                #expect(ls.status == 0, "ls while creating: \(ls.error)")
                let status = try await CLI.berth(["status", names[1]], expectSuccess: false, store: store, timeout: .seconds(60))
                #expect(!status.output.isEmpty || !status.error.isEmpty, "status while creating")
                let env = try await CLI.berth(["env", names[2]], expectSuccess: false, store: store, timeout: .seconds(60))
                #expect(env.status == 0 || env.error.contains(names[2]), "env while creating: \(env.error)")
                try await Task.sleep(for: .seconds(3))
            }
            #expect(rounds > 1, "the read-only commands ran while the creates did")

            var results: [(String, Int32, String)] = []
            for (name, process) in processes {
                let (status, error) = try await process.wait()
                results.append((name, status, error))
            }
            let failures = results.filter { $0.1 != 0 }
            #expect(failures.count == 1, "exactly the duplicate fails: \(failures.map { "\($0.0): \($0.2)" })")
            #expect(failures.first?.0 == names[0])
            #expect(failures.first?.2.contains("already exists") == true, "\(failures.first?.2 ?? "")")

            var addresses: Set<String> = []
            let ca = try Data(contentsOf: URL(fileURLWithPath: "\(store)/certs/ca.pem"))
            for name in names {
                let ip = try await CLI.berth(["ip", name], store: store).output.trimmingCharacters(in: .whitespacesAndNewlines)
                addresses.insert(ip)
                #expect(try Data(contentsOf: URL(fileURLWithPath: "\(store)/machines/\(name)/ca.pem")) == ca, "one CA")
                let info = try await CLI.docker(["info", "--format", "{{.Name}}"], machine: name, store: store)
                #expect(info.output.trimmingCharacters(in: .whitespacesAndNewlines) == name, "\(name): \(info.error)")
            }
            #expect(addresses.count == names.count, "distinct addresses: \(addresses.sorted())")

            try await CLI.berth(["rm", "-y"] + names, store: store)
            for name in names {
                #expect(try await Witness.leftovers(of: name, store: store) == [])
            }
            _ = try? await Witness.virsh("net-destroy", network)
            _ = try? await Witness.virsh("net-undefine", network)
        }
    }
}
