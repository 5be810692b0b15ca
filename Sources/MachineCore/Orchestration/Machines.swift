import Foundation
import Libvirt
import Logging

/// The machines in one store: what every command acts through. Holds one driver per libvirt URI.
public final class Machines: Sendable {
    public let store: Store
    /// The docker CLI's contexts that follow the machines (berth-NAME made by create, removed by rm,
    /// rewritten when certificates or addresses change); nil leaves the docker CLI's files alone.
    public let dockerContexts: DockerContextStore?
    let logger: Logger
    private let drivers = DriverPool()

    /// The berth executable, which runs each machine's port forwarder; nil where berth runs as a
    /// library (tests of the orchestration), which starts no forwarders.
    let executable: URL?

    public init(store: Store, dockerContexts: DockerContextStore? = nil, logger: Logger = Logger(label: "berth"),
                executable: URL? = nil) {
        self.store = store
        self.dockerContexts = dockerContexts
        self.logger = logger
        self.executable = executable
    }

    /// The port forwarder process of a machine.
    public func forwarder(_ name: String) -> ForwarderProcess {
        ForwarderProcess(store: store, machine: name, executable: executable)
    }

    /// The libvirt URI berth uses unless told otherwise: `$BERTH_LIBVIRT_URI`, else `qemu:///system`
    /// (Docker Machine's kvm driver default; NAT networks need it).
    public static var defaultURI: String {
        ProcessInfo.processInfo.environment["BERTH_LIBVIRT_URI"].flatMap { $0.isEmpty ? nil : $0 } ?? "qemu:///system"
    }

    public func driver(uri: String) async -> LibvirtDriver {
        await drivers.driver(uri: uri, owner: store.root.standardizedFileURL.path, logger: logger)
    }
    func driver(for config: MachineConfig) async -> LibvirtDriver { await driver(uri: config.hypervisor.uri) }

    public var images: ImageCache { ImageCache(store: store, logger: logger) }

    public func config(_ name: String) throws -> MachineConfig { try store.load(name) }

    /// The machine's state from libvirt; a machine whose create has not finished is Creating while
    /// that create runs and Error once it was interrupted.
    public func state(of config: MachineConfig) async throws -> MachineState {
        guard config.isComplete else { return store.isBusy(config.name) ? .creating : .error }
        return try await hostState(of: config)
    }

    /// What the machine's host says, whether or not its create finished: libvirt's state of the
    /// domain, or for an existing server, whether its SSH port answers.
    func hostState(of config: MachineConfig) async throws -> MachineState {
        if config.isGeneric { return await GenericDriver().state(config) }
        return try await driver(for: config).state(config)
    }

    /// The Docker endpoint of a machine (its API over mutual TLS with the store's client certificate).
    public func endpoint(_ config: MachineConfig) throws -> DockerEndpoint { try DockerEndpoint(config: config, store: store) }

    public func certificateFiles(_ name: String) throws -> MachineCertificateFiles {
        MachineCertificateFiles(directory: try store.machineDirectory(name))
    }

    var storeCertificates: StoreCertificateFiles { StoreCertificateFiles(storeRoot: store.root) }

    /// Whether libguestfs should run its appliance under TCG: when the last probe on this host
    /// found KVM unusable, or when asked (`BERTH_VIRT_TYPE=qemu`).
    public func libguestfsNeedsTCG(requested: DomainSpec.VirtType? = nil) async throws -> Bool {
        if let requested { return requested == .qemu }
        let choice = try await driver(uri: Self.defaultURI).chooseVirtType(
            requested: nil, probeKernels: LibvirtDriver.hostKernels(), cacheFolder: cacheFolder)
        return choice.virtType == .qemu
    }

    var cacheFolder: URL { store.cacheDirectory }
}

/// One driver (and so one libvirt connection) per URI.
actor DriverPool {
    private var drivers: [String: LibvirtDriver] = [:]

    func driver(uri: String, owner: String, logger: Logger) -> LibvirtDriver {
        if let driver = drivers[uri] { return driver }
        let driver = LibvirtDriver(uri: uri, owner: owner, logger: logger)
        drivers[uri] = driver
        return driver
    }
}
