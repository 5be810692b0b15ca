import ArgumentParser
import Foundation
import Libvirt
import MachineCore

struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a machine: a VM running Docker Engine that the host's docker can talk to.",
        discussion: """
            Runs in stages (preflight, image, disk, network, cloud-init seed, boot, waiting for SSH, \
            waiting for Docker) and prints each with its time. A failed or interrupted create removes \
            everything it made.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var machine: MachineNameArgument
    var name: String { machine.name }

    @Option(help: "Virtual CPUs.") var cpus = 2
    @Option(help: "Memory, in MiB or with a unit (2048, 2G).") var memory = "2048"
    @Option(name: .customLong("disk-size"), help: "Disk size, in GiB or with a unit (20, 20G).") var diskSize = "20"
    @Option(help: "Base image: a cached image name, an http(s) URL, or a disk image file (default: berth-docker).")
    var image: String?
    @Option(name: .customLong("virt-type"), help: "kvm or qemu (software emulation); default: detected ($BERTH_VIRT_TYPE).")
    var virtType: String?
    @Option(help: "The libvirt NAT network to join (made when missing).") var network = "berth"
    @Option(name: .customLong("libvirt-uri"), help: "libvirt connection URI (default: $BERTH_LIBVIRT_URI or qemu:///system).")
    var libvirtURI: String?
    @Option(name: .customLong("engine-opt"), help: "A dockerd flag, as flag=value (repeatable).") var engineOpt: [String] = []
    @Option(name: .customLong("engine-env"), help: "An environment variable for dockerd, as KEY=VALUE (repeatable).")
    var engineEnv: [String] = []
    @Option(name: .customLong("engine-label"), help: "A label for the engine, as key=value (repeatable).")
    var engineLabel: [String] = []
    @Option(name: .customLong("engine-insecure-registry"), help: "A registry to reach without TLS (repeatable).")
    var engineInsecureRegistry: [String] = []
    @Option(name: .customLong("engine-registry-mirror"), help: "A registry mirror URL (repeatable).")
    var engineRegistryMirror: [String] = []
    @Option(name: .customLong("engine-storage-driver"), help: "Docker's storage driver.") var engineStorageDriver: String?
    @Option(name: .customLong("cloud-init"), help: "Your own cloud-config file, merged into berth's.") var cloudInit: String?
    @Option(name: .customLong("ssh-key"), help: "Use this SSH private key instead of generating one.") var sshKey: String?
    @Option(help: "Seconds to wait for Docker to answer (default: 300 with KVM, 900 without).") var timeout: Int?
    @Flag(help: "Print berth's stages and the guest's boot phases (kernel, initrd, systemd units, cloud-init, containerd, dockerd) on one time line; `inspect` keeps them.")
    var timings = false

    func validate() throws {
        guard SizeArgument.mebibytes(memory) != nil else {
            throw ValidationError("--memory takes MiB or a size with a unit (2048, 2G) of at most 1 PiB, not \"\(memory)\"")
        }
        guard SizeArgument.gibibytes(diskSize) != nil else {
            throw ValidationError("--disk-size takes GiB or a size with a unit (20, 20G) of at most 1 PiB, not \"\(diskSize)\"")
        }
        if let timeout, !(1...86_400).contains(timeout) {
            throw ValidationError("--timeout must be between 1 and 86400 seconds, not \(timeout)")
        }
        guard (1...256).contains(cpus) else { throw ValidationError("--cpus must be between 1 and 256, not \(cpus)") }
        if let virtType, DomainSpec.VirtType(rawValue: virtType) == nil {
            throw ValidationError("--virt-type must be kvm or qemu, not \"\(virtType)\"")
        }
    }

    func run() async throws {
        var request = CreateRequest(name: name)
        request.cpus = cpus
        request.memoryMiB = SizeArgument.mebibytes(memory) ?? 2048
        request.diskGiB = SizeArgument.gibibytes(diskSize) ?? 20
        request.image = image
        request.virtType = try VirtTypeOption.resolve(virtType)
        request.network = network
        request.libvirtURI = libvirtURI ?? Machines.defaultURI
        request.engine = MachineConfig.EngineOptions(
            options: engineOpt, environment: engineEnv, labels: engineLabel, insecureRegistries: engineInsecureRegistry,
            registryMirrors: engineRegistryMirror, storageDriver: engineStorageDriver)
        request.cloudInitFile = cloudInit.map { URL(fileURLWithPath: $0) }
        request.sshKey = sshKey.map { URL(fileURLWithPath: $0) }
        request.waitTimeout = timeout.map { .seconds($0) }
        request.guestTimings = timings
        let machines = global.machines
        let clock = ContinuousClock()
        let started = clock.now
        let complete = request
        let config = try await Interrupts.cancellingOnSignal {
            try await machines.create(complete, reporter: StageLines())
        }
        if timings, let recorded = config.timings { Terminal.status(recorded.rendered()) }
        Terminal.status("Machine \"\(config.name)\" is running at \(config.dockerURL) (\(StageLines.format(clock.now - started)) in all).")
        Terminal.status("To point your Docker client at it, run: eval $(berth env\(config.name == "default" ? "" : " \(config.name)"))")
    }
}

/// `--virt-type` or `BERTH_VIRT_TYPE`, checked.
enum VirtTypeOption {
    static func resolve(_ option: String?) throws -> DomainSpec.VirtType? {
        let value = option ?? ProcessInfo.processInfo.environment["BERTH_VIRT_TYPE"].flatMap { $0.isEmpty ? nil : $0 }
        guard let value else { return nil }
        guard let type = DomainSpec.VirtType(rawValue: value) else {
            throw BerthError(.invalidArgument, "BERTH_VIRT_TYPE must be kvm or qemu, not \"\(value)\"")
        }
        return type
    }
}
