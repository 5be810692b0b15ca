import ArgumentParser
import Foundation
import MachineCore

struct Hosts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the hypervisor hosts in use: machines on each, memory, and whether KVM works there.",
        discussion: """
            A host is a libvirt URI: qemu:///system (this host, the default), qemu:///session, or another host \
            through SSH, such as qemu+ssh://user@host/system (create --libvirt-uri). KVM is "kvm" when berth found \
            it runs guests there, "qemu" when it must emulate (much slower), "-" before berth's first machine there.
            """)

    @OptionGroup var global: GlobalOptions
    @Option(name: [.short, .long], help: "Output format: table or json.") var format = "table"

    func validate() throws {
        guard OutputFormat(rawValue: format) != nil else { throw ValidationError("--format must be table or json, not \"\(format)\"") }
    }

    struct Row: Codable {
        var host: LibvirtDriver.HostFacts?
        var uri: String
        var machines: Int
        var error: String?
    }

    func run() async throws {
        let machines = global.machines
        // Existing servers (--driver generic) have no hypervisor host.
        let configs = machines.store.machineNames().compactMap { try? machines.config($0) }.filter { !$0.isGeneric }
        let uris = Set(configs.map(\.hypervisor.uri) + [Machines.defaultURI]).sorted()
        var rows: [Row] = []
        for uri in uris {
            let count = configs.filter { $0.hypervisor.uri == uri }.count
            do {
                let facts = try await machines.driver(uri: uri).hostFacts(cacheFolder: machines.store.root.appendingPathComponent("cache"))
                rows.append(Row(host: facts, uri: uri, machines: count))
            } catch {
                rows.append(Row(host: nil, uri: uri, machines: count, error: (error as? BerthError)?.message ?? "\(error)"))
            }
        }
        switch OutputFormat(rawValue: format) ?? .table {
        case .json: print(try JSONOutput.string(rows))
        case .table:
            print(TextTable.render(header: ["URI", "HOSTNAME", "MACHINES", "CPUS", "MEMORY", "FREE", "KVM", "ERRORS"], rows: rows.map { row in
                [row.uri, row.host?.hostname ?? "", String(row.machines), row.host.map { String($0.cpus) } ?? "",
                 row.host.map { "\($0.memoryMiB) MiB" } ?? "", row.host.map { "\($0.freeMemoryMiB) MiB" } ?? "",
                 row.host?.virtType ?? "-", row.error ?? ""]
            }), terminator: "")
        }
    }
}
