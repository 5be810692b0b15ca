import Foundation
import Libvirt
import Logging

/// Machines as libvirt domains: a qcow2 overlay on the cached image in a storage pool QEMU can
/// read, a cloud-init seed ISO beside it, a NAT network with a DHCP reservation per machine,
/// and direct kernel boot when the image brings its kernel.
public actor LibvirtDriver: Driver {
    public nonisolated let name = "libvirt"
    public nonisolated let uri: String
    public nonisolated let poolName: String
    let logger: Logger
    private var openConnection: Connection?

    public init(uri: String, poolName: String = "berth", logger: Logger = Logger(label: "berth.libvirt")) {
        self.uri = uri
        self.poolName = poolName
        self.logger = logger
    }

    /// The connection, opened on first use. libvirt's errors become one-line advice.
    func connection() async throws -> Connection {
        if let openConnection { return openConnection }
        do {
            let connection = try await Connection.open(uri)
            openConnection = connection
            return connection
        } catch let error as LibvirtError {
            throw Self.explain(error, uri: uri)
        }
    }

    static func explain(_ error: LibvirtError, uri: String) -> BerthError {
        let message = error.message
        if error.isAuthFailure || message.contains("Permission denied") {
            return BerthError(.hypervisor, "permission denied by libvirt at \(uri): add your user to the libvirt group (sudo adduser $USER libvirt, then log in again) or use --libvirt-uri qemu:///session", cause: error)
        }
        if message.contains("No such file or directory") || message.contains("Failed to connect socket") {
            return BerthError(.hypervisor, "libvirt is not running at \(uri): start it (sudo systemctl start libvirtd, or run scripts/setup-host.sh)", cause: error)
        }
        return BerthError(.hypervisor, "libvirt at \(uri): \(message)", cause: error)
    }

    /// Runs libvirt calls, turning libvirt's errors into `BerthError`s that name what failed.
    func libvirt<T: Sendable>(_ what: String, _ body: (Connection) async throws -> T) async throws -> T {
        let connection = try await connection()
        do {
            return try await body(connection)
        } catch let error as LibvirtError {
            throw BerthError(.hypervisor, "\(what) failed: \(error.message)", cause: error)
        }
    }

    public func preCreateCheck() async throws {
        _ = try await libvirt("checking the storage pool") { try await self.pool(in: $0) }
    }

    // MARK: - Storage

    /// Where the pool keeps volumes: a folder QEMU's user can read (not a 0700 home folder).
    nonisolated var poolPath: String {
        if uri.contains("/session") {
            let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
            return "\(home)/.local/share/libvirt/images/\(poolName)"
        }
        return "/var/lib/libvirt/images/\(poolName)"
    }

    /// The storage pool, made and started on first use.
    func pool(in connection: Connection) async throws -> StoragePool {
        let pool: StoragePool
        if let existing = try await connection.storagePoolIfExists(named: poolName) {
            pool = existing
        } else {
            pool = try await connection.defineStoragePool(xml: StoragePoolSpec(name: poolName, path: poolPath).xml)
            try await pool.build()
            try await pool.setAutostart(true)
        }
        if try await !pool.isActive() { try await pool.start() }
        return pool
    }

    /// Volume names of an image's files: tagged with the content so a rebuilt image never
    /// replaces the backing file of an existing machine.
    nonisolated func baseVolumeNames(_ image: CachedImage) -> (disk: String, kernel: String?, initrd: String?) {
        let stem = "\(image.name)-\(image.contentTag)"
        return ("\(stem).\(image.format)", image.kernel.map { _ in "\(stem).vmlinuz" }, image.initrd.map { _ in "\(stem).initrd" })
    }

    /// Uploads the image's disk, kernel and initrd into the pool unless they are there already.
    func ensureImageVolumes(_ image: CachedImage, cache: ImageCache, in pool: StoragePool) async throws {
        let names = baseVolumeNames(image)
        let files: [(String?, CachedImage.File?)] = [(names.disk, image.disk), (names.kernel, image.kernel), (names.initrd, image.initrd)]
        for case let (name?, file?) in files where try await pool.volumeIfExists(named: name) == nil {
            try await upload(cache.path(of: file, in: image), as: name, size: UInt64(file.size), into: pool)
        }
    }

    func upload(_ file: URL, as name: String, size: UInt64, into pool: StoragePool) async throws {
        let volume = try await pool.createVolume(xml: VolumeSpec(name: name, capacityBytes: size, format: "raw").xml)
        do {
            try await volume.upload(from: file)
        } catch {
            try? await volume.delete()
            throw error
        }
    }

    /// Deletes an image's volumes from the pool (the caller knows no machine uses them).
    public func removeImageVolumes(_ image: CachedImage) async throws {
        let names = baseVolumeNames(image)
        try await libvirt("removing the volumes of image \(image.name)") { connection in
            guard let pool = try await connection.storagePoolIfExists(named: self.poolName) else { return }
            for case let name? in [names.disk, names.kernel, names.initrd] {
                try await pool.volumeIfExists(named: name)?.delete()
            }
        }
    }

    nonisolated func diskVolumeName(_ config: MachineConfig) -> String { "\(config.hypervisor.domainName).qcow2" }
    nonisolated func seedVolumeName(_ config: MachineConfig) -> String { "\(config.hypervisor.domainName)-seed.iso" }

    /// The machine's disk: a qcow2 overlay on the image's volume, as large as asked (the guest
    /// grows its filesystem on first boot). Never a full copy.
    public func createDisk(for config: MachineConfig, imageFormat: String) async throws {
        try await libvirt("creating the disk of \(config.name)") { connection in
            let pool = try await self.pool(in: connection)
            let base = try await pool.volume(named: config.image.diskVolume)
            let capacity = max(UInt64(config.hardware.diskGiB) << 30, try await base.info().capacity)
            try await pool.createVolume(xml: VolumeSpec(name: self.diskVolumeName(config), capacityBytes: capacity,
                                                        backingFile: try await base.path(), backingFormat: imageFormat).xml)
        }
    }

    /// Puts the cloud-init seed ISO into the pool, replacing an older one.
    public func createSeed(for config: MachineConfig, seed: URL) async throws {
        try await libvirt("storing the cloud-init seed of \(config.name)") { connection in
            let pool = try await self.pool(in: connection)
            try await pool.volumeIfExists(named: self.seedVolumeName(config))?.delete()
            let size = (try FileManager.default.attributesOfItem(atPath: seed.path)[.size] as? NSNumber)?.uint64Value ?? 0
            try await self.upload(seed, as: self.seedVolumeName(config), size: size, into: pool)
        }
    }

    /// Deletes the machine's own volumes (never the image's).
    public func removeVolumes(_ config: MachineConfig) async throws {
        try await libvirt("removing the volumes of \(config.name)") { connection in
            guard let pool = try await connection.storagePoolIfExists(named: self.poolName) else { return }
            if try await !pool.isActive() { try await pool.start() }
            for name in [self.diskVolumeName(config), self.seedVolumeName(config)] {
                try await pool.volumeIfExists(named: name)?.delete()
            }
        }
    }

    /// Uploads a machine's image into the pool (once per image build).
    public func prepareImage(_ image: CachedImage, cache: ImageCache) async throws -> MachineConfig.ImageUse {
        try await libvirt("copying the image into storage pool \(poolName)") { connection in
            let pool = try await self.pool(in: connection)
            try await self.ensureImageVolumes(image, cache: cache, in: pool)
        }
        let names = baseVolumeNames(image)
        return MachineConfig.ImageUse(name: image.name, hasDocker: image.hasDocker, diskVolume: names.disk,
                                      kernelVolume: names.kernel, initrdVolume: names.initrd,
                                      kernelCommandLine: image.kernelCommandLine)
    }

    // MARK: - Network

    /// The NAT network, made (on a subnet free on this host) and started on first use.
    func network(named name: String, in connection: Connection) async throws -> Network {
        let network: Network
        if let existing = try await connection.networkIfExists(named: name) {
            network = existing
        } else {
            network = try await connection.defineNetwork(xml: NetworkPlan.newNetwork(named: name).xml)
            try await network.setAutostart(true)
        }
        if try await !network.isActive() { try await network.start() }
        return network
    }

    public func reserveAddress(for machine: String, network name: String) async throws -> MachineConfig.NetworkAttachment {
        try await libvirt("reserving an address on network \(name)") { connection in
            let network = try await self.network(named: name, in: connection)
            let spec = try NetworkSpec(xml: try await network.xmlDescription())
            // Drivers that keep no lease table (libvirt's test driver) simply have no stale leases.
            let leases = (try? await network.dhcpLeases()) ?? []
            let host = try NetworkPlan.reservation(for: machine, on: spec, leases: leases)
            if !spec.hosts.contains(host) { try await network.addDHCPHost(host) }
            return MachineConfig.NetworkAttachment(name: name, mac: host.mac, ip: host.ip)
        }
    }

    public func releaseAddress(_ attachment: MachineConfig.NetworkAttachment) async throws {
        try await libvirt("releasing \(attachment.ip) on network \(attachment.name)") { connection in
            guard let network = try await connection.networkIfExists(named: attachment.name) else { return }
            let spec = try NetworkSpec(xml: try await network.xmlDescription())
            for host in spec.hosts where host.mac.lowercased() == attachment.mac.lowercased() {
                try await network.removeDHCPHost(host)
            }
        }
    }

    // MARK: - Domain

    public func define(_ config: MachineConfig, consoleLog: URL) async throws {
        try await libvirt("defining \(config.name)") { connection in
            let pool = try await self.pool(in: connection)
            func path(_ volume: String?) async throws -> String? {
                guard let volume else { return nil }
                return try await pool.volume(named: volume).path()
            }
            let boot: DomainSpec.Boot
            if let kernel = try await path(config.image.kernelVolume) {
                boot = .kernel(kernel: kernel, initrd: try await path(config.image.initrdVolume),
                               commandLine: config.image.kernelCommandLine ?? "root=/dev/vda rw console=ttyS0")
            } else {
                boot = .disk
            }
            let spec = DomainSpec(
                virtType: DomainSpec.VirtType(rawValue: config.hypervisor.virtType) ?? .qemu,
                name: config.hypervisor.domainName, memoryMiB: config.hardware.memoryMiB, vcpus: config.hardware.cpus,
                boot: boot,
                disks: [
                    .init(source: .volume(pool: self.poolName, volume: self.diskVolumeName(config))),
                    // The seed rides on virtio too: cloud kernels need no SATA/CD-ROM drivers for it.
                    .init(source: .volume(pool: self.poolName, volume: self.seedVolumeName(config)),
                          format: "raw", target: "vdb", bus: "virtio", readOnly: true),
                ],
                interfaces: [.init(network: config.network.name, mac: config.network.mac)],
                consoleLog: consoleLog.path,
                metadata: ["name": config.name])
            try await connection.defineDomain(xml: spec.xml)
        }
    }

    func domain(_ config: MachineConfig, in connection: Connection) async throws -> Domain {
        guard let domain = try await connection.domainIfExists(named: config.hypervisor.domainName) else {
            throw BerthError(.hypervisor, "machine \"\(config.name)\" has no libvirt domain \(config.hypervisor.domainName) at \(uri); remove it with `berth rm -f \(config.name)`")
        }
        return domain
    }

    public func start(_ config: MachineConfig) async throws {
        try await libvirt("starting \(config.name)") { connection in
            let domain = try await self.domain(config, in: connection)
            if try await !domain.state().isActive { try await domain.start() }
        }
    }

    public func stop(_ config: MachineConfig, timeout: Duration) async throws {
        try await libvirt("stopping \(config.name)") { connection in
            let domain = try await self.domain(config, in: connection)
            guard try await domain.state().isActive else { return }
            let deadline = ContinuousClock.now + timeout
            // The guest may miss an ACPI press while it is still booting: press again now and then.
            var nextPress = ContinuousClock.now
            while ContinuousClock.now < deadline {
                if ContinuousClock.now >= nextPress {
                    try? await domain.shutdown()
                    nextPress = ContinuousClock.now + .seconds(10)
                }
                try await Task.sleep(for: .milliseconds(500))
                if try await !domain.state().isActive { return }
            }
            self.logger.warning("\(config.name) did not shut down within \(timeout); stopping it hard")
            if try await domain.state().isActive { try await domain.destroy() }
        }
    }

    public func kill(_ config: MachineConfig) async throws {
        try await libvirt("killing \(config.name)") { connection in
            let domain = try await self.domain(config, in: connection)
            if try await domain.state().isActive { try await domain.destroy() }
        }
    }

    public func remove(_ config: MachineConfig) async throws {
        try await libvirt("removing \(config.name)") { connection in
            if let domain = try await connection.domainIfExists(named: config.hypervisor.domainName) {
                if try await domain.state().isActive { try await domain.destroy() }
                try await domain.undefine()
            }
        }
        try await removeVolumes(config)
        if !config.network.mac.isEmpty { try await releaseAddress(config.network) }
    }

    public func state(_ config: MachineConfig) async throws -> MachineState {
        try await states(of: [config])[config.name] ?? .error
    }

    public func states(of configs: [MachineConfig]) async throws -> [String: MachineState] {
        let listing = try await libvirt("listing machines") { try await $0.listDomains() }
        let byDomain = Dictionary(listing.map { ($0.name, $0.state) }, uniquingKeysWith: { first, _ in first })
        var states: [String: MachineState] = [:]
        for config in configs {
            if let state = byDomain[config.hypervisor.domainName] { states[config.name] = MachineState(state) }
        }
        return states
    }
}
