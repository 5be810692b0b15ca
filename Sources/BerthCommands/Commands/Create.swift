import ArgumentParser
import Foundation
import Libvirt
import MachineCore
import Synchronization

struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a machine: a VM running Docker Engine that the host's docker can talk to.",
        discussion: """
            Runs in stages (preflight, image, disk, network, cloud-init seed, boot, waiting for SSH, \
            waiting for Docker, and waiting for cloud-init when it has work) and prints each with its time. \
            A failed or interrupted create removes everything it made but the guest's console log, which its \
            error names. Once Docker answers, the Docker context berth-NAME is written (docker --context \
            berth-NAME ps), unless --no-context. Exits with status 3 when the host fails the checks before \
            anything is made (libvirt, storage pool, KVM probe), as Docker Machine did; `berth doctor` says why.
            With --driver generic, takes over an existing Debian or Ubuntu server over SSH instead (stages SSH, \
            certificates, Docker Engine, waiting for Docker): Docker Engine is installed from the server's packages \
            when missing, and berth's TLS files, daemon.json and systemd drop-in put in place (the server's own \
            files kept as FILE.before-berth). --swarm-manager makes the machine the first manager of a new swarm \
            (Docker's swarm mode); --swarm-join MANAGER joins it to MANAGER's swarm.
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
    @Option(help: "The network's IPv4 subnet, such as 10.77.0.0/24, when this create makes the network (default: a free 192.168.X.0/24).")
    var subnet: String?
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
    @Option(name: .customLong("cloud-init"), help: "Your own cloud-config file, merged into berth's; create returns once cloud-init has run it.") var cloudInit: String?
    @Option(name: .customLong("ssh-key"), help: "Use this SSH private key instead of generating one.") var sshKey: String?
    @Option(help: "Seconds to wait for Docker to answer (default: 300 with KVM, 900 without).") var timeout: Int?
    @Option(name: [.short, .customLong("publish")],
            help: "Forward a host port to the machine, as [HOST_IP:]HOST_PORT[-END]:GUEST_PORT[-END][/tcp|/udp] (repeatable; see `berth port --help`).")
    var publish: [String] = []
    @Flag(inversion: .prefixedNo, help: "Forward the ports containers publish to the same ports on 127.0.0.1.")
    var autoPublish = true
    @Option(name: .customLong("tls-san"), help: "An extra name for the server certificate: an IP address or DNS name (repeatable).")
    var tlsSAN: [String] = []
    @Flag(name: .customLong("no-context"), help: "Do not write the Docker context berth-NAME (docker --context berth-NAME).")
    var noContext = false
    @OptionGroup var generic: GenericDriverOptions
    @OptionGroup var swarm: SwarmCreateOptions
    @Flag(help: "Print berth's stages and the guest's boot phases (kernel, initrd, systemd units, cloud-init, containerd, dockerd) on one time line; `inspect` keeps them.")
    var timings = false

    func validate() throws {
        guard SizeArgument.mebibytes(memory) != nil else {
            throw ValidationError("--memory takes MiB or a size with a unit (2048, 2G) of at most 1 PiB, not \"\(memory)\"")
        }
        guard SizeArgument.gibibytes(diskSize) != nil else {
            throw ValidationError("--disk-size takes GiB or a size with a unit (20, 20G) of at most 1 PiB, not \"\(diskSize)\"")
        }
        _ = try parsePortSpecs(publish)
        if let timeout, !(1...86_400).contains(timeout) {
            throw ValidationError("--timeout must be between 1 and 86400 seconds, not \(timeout)")
        }
        guard (1...256).contains(cpus) else { throw ValidationError("--cpus must be between 1 and 256, not \(cpus)") }
        if let virtType, DomainSpec.VirtType(rawValue: virtType) == nil {
            throw ValidationError("--virt-type must be kvm or qemu, not \"\(virtType)\"")
        }
        for name in tlsSAN {
            do { try ServerCertificateNames.validate(name) } catch let error as BerthError { throw ValidationError(error.message) }
        }
        try validateManyHosts()
    }

    func run() async throws {
        var request = CreateRequest(name: name)
        request.cpus = cpus
        request.memoryMiB = SizeArgument.mebibytes(memory) ?? 2048
        request.diskGiB = SizeArgument.gibibytes(diskSize) ?? 20
        request.image = image
        request.virtType = try VirtTypeOption.resolve(virtType)
        request.network = network
        request.subnet = subnet
        request.libvirtURI = libvirtURI ?? Machines.defaultURI
        request.engine = MachineConfig.EngineOptions(
            options: engineOpt, environment: engineEnv, labels: engineLabel, insecureRegistries: engineInsecureRegistry,
            registryMirrors: engineRegistryMirror, storageDriver: engineStorageDriver)
        request.cloudInitFile = cloudInit.map { URL(fileURLWithPath: $0) }
        request.sshKey = sshKey.map { URL(fileURLWithPath: $0) }
        request.waitTimeout = timeout.map { .seconds($0) }
        request.ports = try parsePortSpecs(publish)
        request.autoPublish = autoPublish
        request.tlsSANs = tlsSAN
        request.registerDockerContext = !noContext
        request.guestTimings = timings
        let machines = global.machines
        let clock = ContinuousClock()
        let started = clock.now
        var genericRequest: GenericCreateRequest?
        if generic.isGeneric {
            genericRequest = try generic.request(name: name)
            genericRequest?.engine = request.engine
            genericRequest?.tlsSANs = tlsSAN
            genericRequest?.waitTimeout = request.waitTimeout
            genericRequest?.registerDockerContext = !noContext
        }
        let complete = request
        let server = genericRequest
        let plan = swarm.plan
        let name = self.name
        let reporter = StageRecorder(StageLines())
        let config: MachineConfig
        do {
            config = try await Interrupts.cancellingOnSignal {
                try await Self.create(name, libvirt: complete, generic: server, swarm: plan, machines: machines, reporter: reporter)
            }
        } catch let error as BerthError where Self.isPreCreateFailure(error, stagesStarted: reporter.started) {
            throw CommandFailure(error: error, status: ExitStatus.preCreateCheck)
        }
        if timings, let recorded = config.timings { Terminal.status(recorded.rendered()) }
        let place = config.isGeneric ? "manages the server at \(config.network.ip): Docker" : "is running"
        Terminal.status("Machine \"\(config.name)\" \(place) at \(config.dockerURL) (\(StageLines.format(clock.now - started)) in all).")
        Terminal.status("To point your Docker client at it, run: eval $(berth env\(config.name == "default" ? "" : " \(config.name)"))")
    }
}

extension Create {
    /// Whether a failed create failed on the host's checks before anything was made (libvirt
    /// unreachable, no storage pool, the KVM probe): Docker Machine's failed pre-create check, for
    /// which it exited with status 3.
    static func isPreCreateFailure(_ error: BerthError, stagesStarted: [String]) -> Bool {
        error.code == .hypervisor && stagesStarted.allSatisfy { $0 == "preflight" }
    }
}

/// Passes stage progress on and remembers which stages began.
final class StageRecorder: StageReporter {
    private let next: any StageReporter
    private let startedStages = Mutex<[String]>([])

    init(_ next: any StageReporter) { self.next = next }

    var started: [String] { startedStages.withLock { $0 } }

    func stageStarted(_ stage: String) {
        startedStages.withLock { $0.append(stage) }
        next.stageStarted(stage)
    }

    func stageFinished(_ stage: String, after: Duration) { next.stageFinished(stage, after: after) }
    func stageFailed(_ stage: String, after: Duration) { next.stageFailed(stage, after: after) }
    func note(_ message: String) { next.note(message) }
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
