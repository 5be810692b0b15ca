import Foundation
import Libvirt

/// `berth doctor`: checks, one by one, what `create` needs from the host, and says how to fix
/// each miss. It makes nothing except what `create`'s own KVM probe makes (berth's storage pool and
/// the probe's remembered answer), so its answer about KVM is the one `create` will act on.
public struct HostDoctor: Sendable {
    public let machines: Machines
    /// The libvirt URI create would use.
    public let uri: String
    /// The NAT network create would join.
    public let network: String
    let environment: [String: String]

    public init(machines: Machines, uri: String = Machines.defaultURI, network: String = "berth",
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.machines = machines
        self.uri = uri
        self.network = network
        self.environment = environment
    }

    /// Whether the URI names a libvirt on this host (so its files can be looked at from here).
    var isLocal: Bool { LibvirtDriver.isLocal(uri) }
    /// Whether the URI is the system daemon, where QEMU runs as its own user.
    var isSystem: Bool { uri.contains("/system") }

    public func run() async -> HostReport {
        var checks: [HostCheck] = []
        let driver = await machines.driver(uri: uri)
        let connection = await openConnection(driver)
        checks.append(connection.check)
        checks.append(groupCheck(libvirtAnswered: connection.connection != nil))
        checks.append(virtlogdCheck())
        if let libvirt = connection.connection {
            let emulator = await qemuCheck(libvirt)
            checks.append(emulator.check)
            checks.append(await firmwareCheck(emulator: emulator.path))
            checks.append(await networkCheck(libvirt))
            checks += await poolChecks(libvirt, driver: driver)
        } else {
            let reason = "needs a libvirt connection (see libvirt-socket)"
            checks += [HostCheck.Code.qemu, .firmware, .networkSubnet, .poolAccess, .poolSpace].map {
                HostCheck($0, .skipped, reason)
            }
        }
        checks += storeChecks()
        checks.append(connection.connection == nil ? HostCheck(.kvm, .skipped, "needs a libvirt connection (see libvirt-socket)")
                                                   : await kvmCheck(driver))
        checks.append(libguestfsCheck())
        // Run in the order above (the store is looked at before the probe writes to it), shown in the codes' order.
        let order = HostCheck.Code.allCases
        return HostReport(checks: checks.sorted { order.firstIndex(of: $0.code)! < order.firstIndex(of: $1.code)! })
    }

    // MARK: - libvirt

    private func openConnection(_ driver: LibvirtDriver) async -> (check: HostCheck, connection: Connection?) {
        do {
            let connection = try await driver.connection()
            let version = (try? await connection.libraryVersion()).map { "libvirt \($0)" } ?? "libvirt"
            return (HostCheck(.libvirtSocket, .ok, "\(version) answers at \(uri)"), connection)
        } catch {
            let message = (error as? BerthError)?.message ?? "\(error)"
            if Self.isPermissionProblem(error) {
                return (HostCheck(.libvirtSocket, .failed, "libvirt at \(uri) refuses this user",
                                  fix: "see libvirt-group"), nil)
            }
            let reason = ((error as? BerthError)?.cause as? LibvirtError).map { " (\($0.message))" } ?? ""
            return (HostCheck(.libvirtSocket, .failed, "libvirt does not answer at \(uri)\(reason)",
                              fix: Self.fixWithoutAdvice(message, default: "start it: sudo systemctl start libvirtd")), nil)
        }
    }

    static func isPermissionProblem(_ error: any Error) -> Bool {
        guard let berth = error as? BerthError else { return false }
        if let libvirt = berth.cause as? LibvirtError, libvirt.isAuthFailure || libvirt.message.contains("Permission denied") {
            return true
        }
        return berth.message.hasPrefix("permission denied")
    }

    /// The advice part of one of berth's messages ("…: start it (…)"), or `default`.
    static func fixWithoutAdvice(_ message: String, default fallback: String) -> String {
        guard let colon = message.range(of: ": ", options: .backwards) else { return fallback }
        let advice = String(message[colon.upperBound...])
        return advice.hasPrefix("start") || advice.hasPrefix("add") ? advice : fallback
    }

    /// Membership of the libvirt group, which lets a user reach the system daemon's socket.
    func groupCheck(libvirtAnswered: Bool) -> HostCheck {
        if geteuid() == 0 { return HostCheck(.libvirtGroup, .ok, "berth runs as root") }
        guard isLocal, isSystem else { return HostCheck(.libvirtGroup, .ok, "not needed for \(uri)") }
        let user = getpwuid(geteuid()).flatMap { FileAccess.Identity.named(String(cString: $0.pointee.pw_name)) }
        guard let group = getgrnam("libvirt") else {
            return libvirtAnswered ? HostCheck(.libvirtGroup, .ok, "this host has no libvirt group; libvirt lets you in")
                                   : HostCheck(.libvirtGroup, .failed, "this host has no libvirt group",
                                               fix: "install libvirt-daemon-system, which makes it")
        }
        let gid = group.pointee.gr_gid
        var count = getgroups(0, nil)
        var groups = [gid_t](repeating: 0, count: Int(max(count, 0)))
        count = getgroups(count, &groups)
        let thisLogin = Set(groups.prefix(Int(max(count, 0)))).union([getegid()])
        if thisLogin.contains(gid) { return HostCheck(.libvirtGroup, .ok, "you are in the libvirt group") }
        if user?.groups.contains(gid) == true {
            return HostCheck(.libvirtGroup, libvirtAnswered ? .warning : .failed,
                             "you were added to the libvirt group, but this login does not have it yet",
                             fix: "log out and in again (or run `newgrp libvirt`)")
        }
        if libvirtAnswered { return HostCheck(.libvirtGroup, .ok, "you are not in the libvirt group, but libvirt lets you in") }
        return HostCheck(.libvirtGroup, .failed, "you are not in the libvirt group, so the system daemon refuses you",
                         fix: "sudo adduser $USER libvirt, then log out and in again")
    }

    /// libvirt hands each machine's serial console to virtlogd, which writes console.log.
    func virtlogdCheck() -> HostCheck {
        guard isLocal, isSystem else { return HostCheck(.virtlogd, .skipped, "only checked for the local system daemon") }
        let socket = "/run/libvirt/virtlogd-sock"
        if FileManager.default.fileExists(atPath: socket) { return HostCheck(.virtlogd, .ok, "virtlogd listens at \(socket)") }
        return HostCheck(.virtlogd, .failed, "virtlogd is not running, so no machine can start",
                         fix: "sudo systemctl enable --now virtlogd")
    }

    func qemuCheck(_ connection: Connection) async -> (check: HostCheck, path: String?) {
        guard let capabilities = try? await connection.domainCapabilities(virtType: "qemu") else {
            return (HostCheck(.qemu, .failed, "libvirt finds no QEMU for x86_64", fix: "sudo apt-get install qemu-system-x86"), nil)
        }
        let path = Self.element("path", in: capabilities)
        if let path, isLocal, !FileManager.default.isExecutableFile(atPath: path) {
            return (HostCheck(.qemu, .failed, "libvirt names \(path) as QEMU, but it is not there",
                              fix: "sudo apt-get install --reinstall qemu-system-x86"), nil)
        }
        return (HostCheck(.qemu, .ok, "QEMU at \(path ?? "the path libvirt knows")"), path)
    }

    /// The text of the first `<name>` element in an XML document (enough for libvirt's capabilities).
    static func element(_ name: String, in xml: String) -> String? {
        guard let open = xml.range(of: "<\(name)>"), let close = xml.range(of: "</\(name)>", range: open.upperBound..<xml.endIndex) else {
            return nil
        }
        return String(xml[open.upperBound..<close.lowerBound]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The files QEMU loads for every machine: SeaBIOS (even direct kernel boot runs it) and the
    /// virtio network card's option ROM. QEMU says where it looks (`-L help`).
    func firmwareCheck(emulator: String?) async -> HostCheck {
        guard isLocal else { return HostCheck(.firmware, .skipped, "QEMU runs on another host; not checked from here") }
        guard let emulator else { return HostCheck(.firmware, .skipped, "needs QEMU, which was not found") }
        guard let output = try? await HelperProgram.capture(emulator, ["-L", "help"], timeout: .seconds(20)), output.status == 0 else {
            return HostCheck(.firmware, .warning, "\(emulator) -L help did not say where QEMU's firmware is")
        }
        let folders = output.standardOutput.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        return Self.firmwareCheck(folders: folders)
    }

    static let firmwareFiles = ["bios-256k.bin", "efi-virtio.rom"]

    static func firmwareCheck(folders: [String], exists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }) -> HostCheck {
        let missing = firmwareFiles.filter { file in !folders.contains { exists(($0 as NSString).appendingPathComponent(file)) } }
        guard missing.isEmpty else {
            return HostCheck(.firmware, .failed, "QEMU's firmware is missing: \(missing.joined(separator: ", "))",
                             fix: "sudo apt-get install seabios ipxe-qemu")
        }
        return HostCheck(.firmware, .ok, "SeaBIOS and the virtio network ROM are in place")
    }

    /// The probe create uses: a kernel booted under KVM for a moment.
    func kvmCheck(_ driver: LibvirtDriver) async -> HostCheck {
        if let requested = environment["BERTH_VIRT_TYPE"], !requested.isEmpty {
            return HostCheck(.kvm, requested == "kvm" ? .ok : .warning,
                             "BERTH_VIRT_TYPE=\(requested) chooses the virtualization type; KVM was not probed",
                             fix: requested == "kvm" ? nil : "unset BERTH_VIRT_TYPE to let berth use KVM where it works")
        }
        let images = machines.images
        let defaultKernel = images.entry(named: ImageCache.defaultImageName).flatMap { image in
            image.kernel.map { images.path(of: $0, in: image) }
        }
        do {
            let choice = try await driver.chooseVirtType(requested: nil, probeKernels: [defaultKernel].compactMap { $0 } + LibvirtDriver.hostKernels(),
                                                         cacheFolder: machines.cacheFolder)
            guard let reason = choice.fallbackReason else { return HostCheck(.kvm, .ok, "KVM runs guests here") }
            return HostCheck(.kvm, .warning, "\(reason): machines will run under QEMU's software emulation (TCG), many times slower",
                             fix: "enable virtualization (VT-x/AMD-V) in the firmware and load kvm_intel or kvm_amd; in a VM, enable nested virtualization")
        } catch {
            return HostCheck(.kvm, .warning, "the KVM probe failed: \((error as? BerthError)?.message ?? "\(error)")")
        }
    }

    // MARK: - Network

    func networkCheck(_ connection: Connection) async -> HostCheck {
        let routes = (try? String(contentsOfFile: "/proc/net/route", encoding: .utf8)) ?? ""
        guard let existing = try? await connection.networkIfExists(named: network) else {
            guard let planned = try? NetworkPlan.newNetwork(named: network) else {
                return HostCheck(.networkSubnet, .failed, "no 192.168.X.0/24 subnet is free on this host for network \(network); choose one with create --subnet CIDR")
            }
            let subnet = NetworkPlan.subnet(of: planned)?.description ?? planned.gateway
            return HostCheck(.networkSubnet, .ok, "network \(network) does not exist yet; create will make it on \(subnet), which no route uses")
        }
        guard let xml = try? await existing.xmlDescription(), let spec = try? NetworkSpec(xml: xml),
              let subnet = IPv4Subnet(address: spec.gateway, prefix: spec.prefix) else {
            return HostCheck(.networkSubnet, .warning, "network \(network) has no IPv4 subnet berth can read")
        }
        let active = (try? await existing.isActive()) ?? false
        return Self.subnetCheck(network: network, subnet: subnet, bridge: spec.bridge, active: active, routeTable: routes)
    }

    /// The verdict on a network's subnet against the host's routes (other than its own bridge's).
    static func subnetCheck(network: String, subnet: IPv4Subnet, bridge: String, active: Bool, routeTable: String) -> HostCheck {
        let clashes = collisions(subnet: subnet, bridge: bridge, routeTable: routeTable)
        guard clashes.isEmpty else {
            let list = clashes.map { "\($0.subnet.description) on \($0.interface)" }.joined(separator: ", ")
            return HostCheck(.networkSubnet, .failed,
                             "network \(network) (\(subnet.description)) overlaps the host's route \(list): its machines cannot be reached",
                             fix: "remove that route or interface (a VPN?), or remove the network (virsh net-destroy \(network); virsh net-undefine \(network)) so that berth makes it again on a free subnet")
        }
        return HostCheck(.networkSubnet, .ok, "network \(network) on \(subnet.description)\(active ? "" : " (not started; create starts it)"), which no other route uses")
    }

    /// Routes in /proc/net/route (`routeTable`) on interfaces other than `bridge` that overlap
    /// `subnet`; the default route (prefix 0) overlaps everything and is left out.
    static func collisions(subnet: IPv4Subnet, bridge: String, routeTable: String) -> [(interface: String, subnet: IPv4Subnet)] {
        let lines = routeTable.split(separator: "\n")
        guard let header = lines.first else { return [] }
        return lines.dropFirst().compactMap { line in
            let interface = String(line.split(whereSeparator: { $0 == "\t" || $0 == " " }).first ?? "")
            guard interface != bridge,
                  let route = NetworkPlan.hostIPv4Routes(table: header + "\n" + line).first,
                  route.prefix > 0, route.overlaps(subnet) else { return nil }
            return (interface, route)
        }
    }
}
