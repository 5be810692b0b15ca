import Foundation
import Libvirt
import Logging

/// Machines as libvirt domains: a qcow2 overlay on the cached image in a storage pool QEMU can
/// read, a cloud-init seed ISO beside it, a NAT network with a DHCP reservation per machine,
/// and direct kernel boot when the image brings its kernel.
///
/// Shared things (the pool, networks, reservations, image volumes) are made under host-wide
/// locks, and "already exists" from a concurrent maker counts as success. Everything berth makes
/// for a machine is named from the machine's name with a prefix of its own (`machine-`, image
/// volumes `image-`), and domains carry berth's metadata, so berth never takes someone else's.
public actor LibvirtDriver: Driver {
    public nonisolated let name = "libvirt"
    public nonisolated let uri: String
    public nonisolated let poolName: String
    /// Who owns the machines this driver makes (the store's path), written into each domain's
    /// metadata so that one store never removes another store's domain.
    public nonisolated let owner: String
    let logger: Logger
    private var openConnection: Connection?

    public init(uri: String, poolName: String = "berth", owner: String = "", logger: Logger = Logger(label: "berth.libvirt")) {
        self.uri = uri
        self.poolName = poolName
        self.owner = owner
        self.logger = logger
    }

    /// The connection, opened on first use and opened again when the daemon went away (a libvirt
    /// restart). libvirt's errors become one-line advice.
    func connection() async throws -> Connection {
        if let openConnection, await openConnection.isAlive() { return openConnection }
        openConnection = nil
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
        if message.contains("polkit") || message.contains("system bus") {
            return BerthError(.hypervisor, "libvirt at \(uri) checks access with polkit, which does not run on this host; run `sudo scripts/setup-host.sh` once to give the libvirt group the socket, or use --libvirt-uri qemu:///session", cause: error)
        }
        if error.isAuthFailure || message.contains("Permission denied") || message.contains("authentication") {
            return BerthError(.hypervisor, "permission denied by libvirt at \(uri): add your user to the libvirt group (sudo adduser $USER libvirt, then log in again) or use --libvirt-uri qemu:///session", cause: error)
        }
        if message.contains("No such file or directory") || message.contains("Failed to connect socket") || message.contains("Connection refused") {
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

    /// Whether this is a user's own session daemon (qemu:///session), which has no NAT networks:
    /// its machines use QEMU's user-mode network, reached through ports forwarded on 127.0.0.1.
    public nonisolated var usesUserModeNetwork: Bool { uri.contains("/session") }

    /// The user-mode network of a machine: the MAC berth derives from its name, and the host's
    /// loopback as its address (its SSH and Docker ports are forwarded there).
    public nonisolated func userModeAttachment(for machine: String) -> MachineConfig.NetworkAttachment {
        MachineConfig.NetworkAttachment(name: "user", mac: NetworkPlan.mac(for: machine), ip: "127.0.0.1", userMode: true)
    }

    public func preCreateCheck() async throws {
        _ = try await libvirt("checking the storage pool") { try await self.pool(in: $0) }
    }

    /// The host's memory in MiB, to refuse machines larger than the host before anything is made.
    public func hostMemoryMiB() async throws -> Int {
        try await libvirt("reading the host's memory") { Int(try await $0.nodeInfo().memoryKiB / 1024) }
    }

    /// Takes the host-wide lock for one shared thing on this driver's libvirt.
    func hostLock(_ resource: String) async throws -> StoreLock {
        try await HostLock.acquire(uri: uri, resource: resource)
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
        if let existing = try await connection.storagePoolIfExists(named: poolName), try await existing.isActive() {
            return existing
        }
        let lock = try await hostLock("pool-\(poolName)")
        defer { withExtendedLifetime(lock) {} }
        let pool: StoragePool
        if let existing = try await connection.storagePoolIfExists(named: poolName) {
            pool = existing
        } else {
            do {
                pool = try await connection.defineStoragePool(xml: StoragePoolSpec(name: poolName, path: poolPath).xml)
            } catch let error as LibvirtError {
                // Another host's berth may have defined it meanwhile: then it is there to use.
                guard let existing = try await connection.storagePoolIfExists(named: poolName) else { throw error }
                pool = existing
            }
            // An existing folder is fine; a missing one that cannot be made shows when the pool starts.
            try? await pool.build()
            try? await pool.setAutostart(true)
        }
        if try await !pool.isActive() {
            do {
                try await pool.start()
            } catch let error as LibvirtError {
                guard try await pool.isActive() else { throw error }
            }
        }
        return pool
    }

    /// Volume names of an image's files: `image-` plus the image's name and a tag of its content,
    /// so a rebuilt image never replaces the backing file of an existing machine, and no machine's
    /// volume (always `machine-…`) can ever have the same name.
    nonisolated func baseVolumeNames(_ image: CachedImage) -> (disk: String, kernel: String?, initrd: String?) {
        let stem = "image-\(image.name)-\(image.contentTag)"
        return ("\(stem).\(image.format)", image.kernel.map { _ in "\(stem).vmlinuz" }, image.initrd.map { _ in "\(stem).initrd" })
    }

    /// The console log of a machine on another hypervisor host: a file in that host's pool.
    public nonisolated static func consoleLogVolume(_ config: MachineConfig) -> String {
        "machine-\(config.hypervisor.domainName)-console.log"
    }

    /// The names of a new machine's own volumes.
    public nonisolated static func machineVolumes(domainName: String) -> MachineConfig.Volumes {
        MachineConfig.Volumes(disk: "machine-\(domainName).qcow2", seed: "machine-\(domainName)-seed.iso")
    }

    nonisolated func volumes(of config: MachineConfig) -> MachineConfig.Volumes {
        config.volumes ?? Self.machineVolumes(domainName: config.hypervisor.domainName)
    }

    /// Uploads the image's disk, kernel and initrd into the pool unless they are there already.
    /// The three are checked (and, when needed, uploaded) at once: each check is a stream from
    /// libvirt, which starts a helper process for it.
    func ensureImageVolumes(_ image: CachedImage, cache: ImageCache, in pool: StoragePool) async throws {
        let names = baseVolumeNames(image)
        let files: [(String?, CachedImage.File?)] = [(names.disk, image.disk), (names.kernel, image.kernel), (names.initrd, image.initrd)]
        let wanted = files.compactMap { name, file in
            file.map { (name!, cache.path(of: $0, in: image)) }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (name, path) in wanted {
                group.addTask { try await self.ensureVolume(named: name, holding: path, in: pool) }
            }
            try await group.waitForAll()
        }
    }

    /// Makes sure the pool has a complete volume `name` with the bytes of `file`. A volume is
    /// uploaded back to front, its first block last, so a volume whose first block matches the file
    /// is complete; one left half-uploaded by a killed berth is found by that check and uploaded again.
    func ensureVolume(named name: String, holding file: URL, in pool: StoragePool) async throws {
        let firstBlock = try Self.firstBlock(of: file)
        if let existing = try await pool.volumeIfExists(named: name),
           try await existing.download(offset: 0, length: UInt64(firstBlock.count)) == firstBlock {
            return
        }
        let lock = try await hostLock("volume-\(poolName)-\(name)")
        defer { withExtendedLifetime(lock) {} }
        if let existing = try await pool.volumeIfExists(named: name) {
            if try await existing.download(offset: 0, length: UInt64(firstBlock.count)) == firstBlock { return }
            logger.notice("volume \(name) is incomplete (an interrupted upload); uploading it again")
            try await existing.delete()
        }
        let size = UInt64(try ImageCache.size(of: file))
        let volume = try await pool.createVolume(xml: VolumeSpec(name: name, capacityBytes: size, format: "raw").xml)
        do {
            let head = UInt64(firstBlock.count)
            if size > head { try await volume.upload(from: file, offset: head, length: size - head) }
            StagedOperation.pauseForFaultInjection(at: "upload \(name)")
            try await volume.upload(from: file, offset: 0, length: min(head, size))
        } catch {
            try? await volume.delete()
            throw error
        }
    }

    /// The block uploaded last: 4 KiB, which for every image format holds a header or superblock.
    static func firstBlock(of file: URL) throws -> Data {
        let handle = try FileHandle(forReadingFrom: file)
        defer { try? handle.close() }
        return try handle.read(upToCount: 4096) ?? Data()
    }

    /// Uploads a whole file as a new volume (for the per-machine seed; removed with the machine).
    func upload(_ file: URL, as name: String, into pool: StoragePool) async throws {
        let size = UInt64(try ImageCache.size(of: file))
        let volume = try await pool.createVolume(xml: VolumeSpec(name: name, capacityBytes: size, format: "raw").xml)
        do {
            try await volume.upload(from: file, offset: 0, length: size)
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

    /// The machine's disk: a qcow2 overlay on the image's volume, as large as asked (the guest
    /// grows its filesystem on first boot). Never a full copy. Fails, touching nothing, when a
    /// volume of that name exists.
    public func createDisk(for config: MachineConfig, imageFormat: String) async throws {
        try await libvirt("creating the disk of \(config.name)") { connection in
            let pool = try await self.pool(in: connection)
            let base = try await pool.volume(named: config.image.diskVolume)
            let capacity = max(UInt64(config.hardware.diskGiB) << 30, try await base.info().capacity)
            try await pool.createVolume(xml: VolumeSpec(name: self.volumes(of: config).disk, capacityBytes: capacity,
                                                        backingFile: try await base.path(), backingFormat: imageFormat).xml)
        }
    }

    /// Puts the cloud-init seed ISO into the pool, replacing the machine's older one.
    public func createSeed(for config: MachineConfig, seed: URL) async throws {
        let name = volumes(of: config).seed
        try await libvirt("storing the cloud-init seed of \(config.name)") { connection in
            let pool = try await self.pool(in: connection)
            try await pool.volumeIfExists(named: name)?.delete()
            try await self.upload(seed, as: name, into: pool)
        }
    }

    /// Deletes the machine's own volumes (never the image's).
    public func removeVolumes(_ config: MachineConfig) async throws {
        let own = volumes(of: config)
        try await removeVolumes(named: [own.disk, own.seed], of: config.name)
    }

    public func removeVolumes(named names: [String], of machine: String) async throws {
        try await libvirt("removing the volumes of \(machine)") { connection in
            guard let pool = try await connection.storagePoolIfExists(named: self.poolName) else { return }
            if try await !pool.isActive() { try await pool.start() }
            for name in names {
                try await pool.volumeIfExists(named: name)?.delete()
            }
        }
    }

    /// Uploads a machine's image into the pool (once per image build and host).
    public func prepareImage(_ image: CachedImage, cache: ImageCache) async throws -> MachineConfig.ImageUse {
        try await libvirt("copying the image into storage pool \(poolName)") { connection in
            let pool = try await self.pool(in: connection)
            try await self.ensureImageVolumes(image, cache: cache, in: pool)
        }
        let names = baseVolumeNames(image)
        return MachineConfig.ImageUse(name: image.name, hasDocker: image.hasDocker, diskVolume: names.disk,
                                      kernelVolume: names.kernel, initrdVolume: names.initrd,
                                      kernelCommandLine: image.kernelCommandLine,
                                      berthInit: image.hasBootFiles ? image.berthInit : nil)
    }

    // MARK: - Network

    /// The NAT network, made and started on first use: on `subnet` when pinned, else on a subnet free
    /// on this host (`preferredSubnet` when still free). A network that exists but will not start (its
    /// subnet now clashes with a host route, its bridge is gone) is made again on a free subnet.
    /// Returns whether it had to be made.
    func network(named name: String, subnet: IPv4Subnet? = nil, preferredSubnet: IPv4Subnet? = nil,
                 in connection: Connection) async throws -> (Network, created: Bool) {
        if let existing = try await connection.networkIfExists(named: name), try await existing.isActive() {
            return (existing, false)
        }
        let lock = try await hostLock("network-\(name)")
        defer { withExtendedLifetime(lock) {} }
        var created = false
        var network: Network
        if let existing = try await connection.networkIfExists(named: name) {
            network = existing
        } else {
            network = try await define(NetworkPlan.newNetwork(named: name, subnet: subnet, preferredSubnet: preferredSubnet),
                                       in: connection)
            created = true
        }
        if try await !network.isActive() {
            do {
                try await network.start()
            } catch let error as LibvirtError {
                guard try await !network.isActive() else { return (network, created) }
                // Repair: the network again, on a subnet that is free now; the machines on it get new
                // reservations there (their configs and certificates follow on their next start).
                logger.warning("network \(name) does not start (\(error.message)); making it again on a free subnet")
                try await network.undefine()
                network = try await define(try NetworkPlan.newNetwork(named: name, subnet: subnet), in: connection)
                try await network.start()
                created = true
            }
        }
        return (network, created)
    }

    /// Defines a network (autostarted with the host); one a concurrent maker defined meanwhile is used.
    private func define(_ spec: NetworkSpec, in connection: Connection) async throws -> Network {
        let network: Network
        do {
            network = try await connection.defineNetwork(xml: spec.xml)
        } catch let error as LibvirtError {
            guard let existing = try await connection.networkIfExists(named: spec.name) else { throw error }
            network = existing
        }
        try? await network.setAutostart(true)
        return network
    }

    /// Reserves the machine's address on `network`: its existing reservation, else `previous` (the
    /// address it had, when the network was made again), else the lowest free one. Made under the
    /// network's host-wide lock, so two creates never pick the same address; an entry another host
    /// added meanwhile makes it choose again.
    public func reserveAddress(for machine: String, network name: String, previous: MachineConfig.NetworkAttachment? = nil,
                               subnet: String? = nil) async throws -> AddressReservation {
        let pinned = try subnet.map { text -> IPv4Subnet in
            guard let parsed = IPv4Subnet(cidr: text) else {
                throw BerthError(.invalidArgument, "--subnet takes an IPv4 network such as 10.77.0.0/24, not \"\(text)\"")
            }
            return parsed
        }
        return try await libvirt("reserving an address on network \(name)") { connection in
            let preferred = previous.flatMap { previous in
                previous.subnet.flatMap(IPv4Subnet.init(cidr:)) ?? IPv4Subnet(address: previous.ip, prefix: 24)
            }
            let (network, created) = try await self.network(named: name, subnet: pinned, preferredSubnet: preferred, in: connection)
            let lock = try await self.hostLock("network-\(name)")
            defer { withExtendedLifetime(lock) {} }
            var attempt = 0
            while true {
                let spec = try NetworkSpec(xml: try await network.xmlDescription())
                // Drivers that keep no lease table (libvirt's test driver) simply have no stale leases.
                let leases = (try? await network.dhcpLeases()) ?? []
                if let pinned, NetworkPlan.subnet(of: spec) != pinned {
                    throw BerthError(.invalidArgument, "network \(name) already exists on \(NetworkPlan.subnet(of: spec)?.description ?? spec.gateway); --subnet applies only when berth makes a network (use another --network name)")
                }
                let host = try NetworkPlan.reservation(for: machine, on: spec, leases: leases, previous: previous)
                let attachment = MachineConfig.NetworkAttachment(name: name, mac: host.mac, ip: host.ip,
                                                                 subnet: NetworkPlan.subnet(of: spec)?.description)
                if spec.hosts.contains(host) {
                    return AddressReservation(attachment: attachment, networkCreated: created)
                }
                do {
                    try await network.addDHCPHost(host)
                    return AddressReservation(attachment: attachment, networkCreated: created)
                } catch let error as LibvirtError where attempt < 5 && error.message.contains("existing dhcp host entry") {
                    attempt += 1
                }
            }
        }
    }

    public func releaseAddress(_ attachment: MachineConfig.NetworkAttachment) async throws {
        try await libvirt("releasing \(attachment.ip) on network \(attachment.name)") { connection in
            guard let network = try await connection.networkIfExists(named: attachment.name) else { return }
            let lock = try await self.hostLock("network-\(attachment.name)")
            defer { withExtendedLifetime(lock) {} }
            let spec = try NetworkSpec(xml: try await network.xmlDescription())
            for host in spec.hosts where host.mac.lowercased() == attachment.mac.lowercased() {
                try await network.removeDHCPHost(host)
            }
        }
    }

    /// Whether the network has a DHCP lease for the machine's MAC address: false means the guest
    /// has not asked for its address (yet), so it never got as far as its network. A lease can be
    /// left from an earlier machine of the same name, so true proves less.
    public func hasDHCPLease(_ attachment: MachineConfig.NetworkAttachment) async throws -> Bool {
        try await libvirt("reading the DHCP leases of network \(attachment.name)") { connection in
            guard let network = try await connection.networkIfExists(named: attachment.name) else { return false }
            return try await !network.dhcpLeases(mac: attachment.mac.lowercased()).isEmpty
        }
    }

    // MARK: - Domain

    /// Defines the machine's domain. Fails, touching nothing, when a domain of that name exists.
    public func define(_ config: MachineConfig, consoleLog: URL) async throws {
        try await libvirt("defining \(config.name)") { connection in
            if try await connection.domainIfExists(named: config.hypervisor.domainName) != nil {
                throw BerthError(.machineExists, "libvirt already has a domain named \"\(config.hypervisor.domainName)\" at \(self.uri); pick another machine name")
            }
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
            let own = self.volumes(of: config)
            let network = config.network
            let spec = DomainSpec(
                virtType: DomainSpec.VirtType(rawValue: config.hypervisor.virtType) ?? .qemu,
                name: config.hypervisor.domainName, memoryMiB: config.hardware.memoryMiB, vcpus: config.hardware.cpus,
                boot: boot,
                disks: [
                    .init(source: .volume(pool: self.poolName, volume: own.disk)),
                    // The seed rides on virtio too: cloud kernels need no SATA/CD-ROM drivers for it.
                    .init(source: .volume(pool: self.poolName, volume: own.seed),
                          format: "raw", target: "vdb", bus: "virtio", readOnly: true),
                ],
                interfaces: network.isUserMode ? [] : [.init(network: network.name, mac: network.mac)],
                consoleLog: consoleLog.path,
                metadata: ["name": config.name, "store": self.owner],
                translationCacheMiB: DomainSpec.defaultTranslationCacheMiB,
                qemuArguments: network.isUserMode ? Self.userModeArguments(config) : [])
            try await connection.defineDomain(xml: spec.xml)
        }
    }

    /// QEMU's user-mode network with the machine's SSH and Docker ports forwarded on 127.0.0.1.
    static func userModeArguments(_ config: MachineConfig) -> [String] {
        let forwards = ["tcp:127.0.0.1:\(config.ssh.port)-:22", "tcp:127.0.0.1:\(config.engine.port)-:\(DaemonConfig.tlsPort)"]
        return ["-netdev", "user,id=berth0," + forwards.map { "hostfwd=\($0)" }.joined(separator: ","),
                "-device", "virtio-net-pci,netdev=berth0,mac=\(config.network.mac),bus=pcie.0,addr=0x10"]
    }

    func domain(_ config: MachineConfig, in connection: Connection) async throws -> Domain {
        guard let domain = try await connection.domainIfExists(named: config.hypervisor.domainName) else {
            throw BerthError(.hypervisor, "machine \"\(config.name)\" has no libvirt domain \(config.hypervisor.domainName) at \(uri); remove it with `berth rm -f \(config.name)`")
        }
        return domain
    }

    /// The domain of machine `name` if berth made it for this owner (its metadata says so), with
    /// what it says about itself.
    func ownedDomain(named domainName: String, machine: String, in connection: Connection) async throws -> (Domain, DomainSpec)? {
        guard let domain = try await connection.domainIfExists(named: domainName) else { return nil }
        let spec = try DomainSpec(xml: try await domain.xmlDescription(inactive: true))
        guard spec.metadata["name"] == machine, (spec.metadata["store"] ?? owner) == owner else { return nil }
        return (domain, spec)
    }

    public func domainExists(named name: String) async throws -> Bool {
        try await libvirt("looking up domain \(name)") { try await $0.domainIfExists(named: name) != nil }
    }

    /// Stops and removes the machine's domain only (when it is berth's for this store).
    public func undefine(_ config: MachineConfig) async throws {
        try await libvirt("removing the domain of \(config.name)") { connection in
            guard let (domain, _) = try await self.ownedDomain(named: config.hypervisor.domainName, machine: config.name,
                                                             in: connection) else { return }
            if try await domain.state().isActive { try await domain.destroy() }
            try await domain.undefine()
        }
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

    /// Removes the machine's domain (only if it is berth's, for this store), its volumes and its
    /// address reservation; parts already gone are fine.
    public func remove(_ config: MachineConfig) async throws {
        try await removeMachine(named: config.name, recorded: config)
    }

    /// Removes everything berth made for machine `name`, also when its config is missing, unreadable
    /// or left by an interrupted create: its domain if the domain is berth's for this store (with the
    /// machine's disks and reservations the domain names), the volumes named after the machine, the
    /// recorded reservation, and reservations on any network that carry the machine's name and one of
    /// the MACs berth derives from it. When a domain of that name belongs to someone else, nothing is
    /// touched: the volumes and addresses named after it are that domain's.
    public func removeMachine(named name: String, recorded: MachineConfig?) async throws {
        let domainName = recorded?.hypervisor.domainName ?? name
        var volumeNames = Set([Self.machineVolumes(domainName: domainName).disk, Self.machineVolumes(domainName: domainName).seed,
                               "machine-\(domainName)-console.log"])
        if let recorded { volumeNames.formUnion([volumes(of: recorded).disk, volumes(of: recorded).seed]) }
        var reservations: [MachineConfig.NetworkAttachment] = []
        if let recorded, !recorded.network.mac.isEmpty, !recorded.network.isUserMode { reservations.append(recorded.network) }
        let foreign = try await libvirt("removing what was made for \(name)") { connection -> Bool in
            if let (domain, spec) = try await self.ownedDomain(named: domainName, machine: name, in: connection) {
                for disk in spec.disks {
                    if case .volume(let pool, let volume) = disk.source, pool == self.poolName, !volume.hasPrefix("image-") {
                        volumeNames.insert(volume)
                    }
                }
                reservations += spec.interfaces.map { .init(name: $0.network, mac: $0.mac, ip: "") }
                if try await domain.state().isActive { try await domain.destroy() }
                try await domain.undefine()
                return false
            }
            if try await connection.domainIfExists(named: domainName) != nil { return true }
            let derivedMACs = Set((0..<16).map { NetworkPlan.mac(for: name, attempt: $0) })
            for network in try await connection.listNetworks() {
                guard let spec = try? NetworkSpec(xml: try await network.xmlDescription()) else { continue }
                for host in spec.hosts where host.name == name && derivedMACs.contains(host.mac.lowercased()) {
                    reservations.append(.init(name: network.name, mac: host.mac, ip: host.ip))
                }
            }
            return false
        }
        guard !foreign else {
            logger.notice("a domain named \(domainName) exists but is not this store's machine \(name); leaving it and its volumes alone")
            return
        }
        try await removeVolumes(named: volumeNames.sorted(), of: name)
        for reservation in reservations { try await releaseAddress(reservation) }
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

/// A machine's address on its network, and whether the network had to be made for it (then the
/// reservations of the other machines on it are restored too).
public struct AddressReservation: Sendable, Equatable {
    public let attachment: MachineConfig.NetworkAttachment
    public let networkCreated: Bool
}

// MARK: - Networks berth made

extension LibvirtDriver {
    /// A network as `berth network` shows it.
    public struct NetworkFacts: Sendable, Codable, Equatable {
        public var name: String
        public var subnet: String
        public var gateway: String
        public var bridge: String
        public var domain: String?
        public var active: Bool
        public var reservations: [Reservation]

        public struct Reservation: Sendable, Codable, Equatable {
            public var name: String?
            public var mac: String
            public var ip: String
        }
    }

    /// The networks berth made on this connection (known by the bridge name berth gives them).
    public func berthNetworks() async throws -> [NetworkFacts] {
        try await libvirt("listing networks") { connection in
            var facts: [NetworkFacts] = []
            for network in try await connection.listNetworks() {
                guard let spec = try? NetworkSpec(xml: try await network.xmlDescription()),
                      spec.bridge == NetworkPlan.bridgeName(for: spec.name) else { continue }
                facts.append(NetworkFacts(
                    name: spec.name, subnet: NetworkPlan.subnet(of: spec)?.description ?? "", gateway: spec.gateway,
                    bridge: spec.bridge, domain: spec.domain, active: try await network.isActive(),
                    reservations: spec.hosts.map { .init(name: $0.name, mac: $0.mac, ip: $0.ip) }))
            }
            return facts.sorted { $0.name < $1.name }
        }
    }

    /// Stops and removes one of berth's networks.
    public func removeNetwork(named name: String) async throws {
        try await libvirt("removing network \(name)") { connection in
            guard let network = try await connection.networkIfExists(named: name) else { return }
            let lock = try await self.hostLock("network-\(name)")
            defer { withExtendedLifetime(lock) {} }
            if try await network.isActive() { try await network.destroy() }
            try await network.undefine()
        }
    }

    /// The names of domains on this connection that have an interface on `network`.
    public func domains(on network: String) async throws -> [String] {
        try await libvirt("listing domains") { connection in
            var names: [String] = []
            for summary in try await connection.listDomains() {
                guard let domain = try await connection.domainIfExists(named: summary.name),
                      let spec = try? DomainSpec(xml: try await domain.xmlDescription(inactive: true)) else { continue }
                if spec.interfaces.contains(where: { $0.network == network }) { names.append(summary.name) }
            }
            return names.sorted()
        }
    }
}
