import ArgumentParser
import Foundation
import MachineCore

struct Doctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that this host can run berth's machines, and say how to fix what is missing.",
        discussion: """
            One line per check, each with a stable code: libvirt-socket, libvirt-group, virtlogd, qemu, firmware, \
            network-subnet, pool-access, pool-space, store-permissions, store-space, kvm, libguestfs-appliance. \
            The kvm check is create's own probe (a kernel booted under KVM for a moment). Exits with status 1 \
            when something would stop `create`; warnings (such as no working KVM: machines then run under \
            emulation) do not. --format json gives {"checks": [{"code", "status", "message", "fix"}], "readyToCreate"}.
            """)

    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("libvirt-uri"), help: "libvirt connection URI (default: $BERTH_LIBVIRT_URI or qemu:///system).")
    var libvirtURI: String?
    @Option(help: "The libvirt NAT network create would join.") var network = "berth"
    @OptionGroup var output: FormatOption

    func run() async throws {
        let doctor = HostDoctor(machines: global.machines, uri: libvirtURI ?? Machines.defaultURI, network: network)
        let report = await doctor.run()
        let colour = Terminal.colourAllowed && isatty(STDOUT_FILENO) == 1
        try output.print(report) { Self.lines(report, colour: colour) }
        guard report.readyToCreate else {
            let failed = report.checks.filter { $0.status == .failed }.map(\.code.rawValue)
            throw BerthError(.hypervisor, "this host cannot create machines yet: fix \(failed.joined(separator: ", ")) (see above)")
        }
    }

    /// `STATUS  CODE  message; fix` for each check, aligned; the status word coloured on a terminal.
    static func lines(_ report: HostReport, colour: Bool) -> String {
        let width = (report.checks.map(\.code.rawValue.count).max() ?? 0) + 2
        return report.checks.map { check in
            let status = check.status.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
            let shown = colour ? paint(status, check.status) : status
            let code = check.code.rawValue.padding(toLength: width, withPad: " ", startingAt: 0)
            return "\(shown)\(code)\(check.message)\(check.fix.map { "; \($0)" } ?? "")\n"
        }.joined()
    }

    private static func paint(_ text: String, _ status: HostCheck.Status) -> String {
        let code: String
        switch status {
        case .ok: code = "32"
        case .warning: code = "33"
        case .failed: code = "31"
        case .skipped: code = "2"
        }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }
}
