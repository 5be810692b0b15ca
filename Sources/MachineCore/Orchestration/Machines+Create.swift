import Download
import Foundation
import Libvirt
import PortForwarding
import SeedImage

/// What `berth create` was asked for.
public struct CreateRequest: Sendable {
    public var name: String
    public var cpus = 2
    public var memoryMiB = 2048
    public var diskGiB = 20
    /// A cache name, an http(s) URL or a local file; nil means berth's default image.
    public var image: String?
    public var virtType: DomainSpec.VirtType?
    public var network = "berth"
    /// The subnet (CIDR) of the network, when this create makes it.
    public var subnet: String?
    public var libvirtURI = Machines.defaultURI
    public var engine = MachineConfig.EngineOptions()
    /// The user's own cloud-config, merged into berth's.
    public var cloudInitFile: URL?
    /// An existing SSH private key to use instead of generating one.
    public var sshKey: URL?
    /// How long to wait for Docker's API once the machine boots.
    public var waitTimeout: Duration?
    /// Host ports to forward to the machine (`-p`).
    public var ports: [PortSpec] = []
    /// Whether containers' published ports are forwarded to the same host ports.
    public var autoPublish = true
    /// Extra names for the server certificate (`--tls-san`): IP addresses or DNS names.
    public var tlsSANs: [String] = []
    /// Whether to write the machine's Docker context (berth-NAME) into the `Machines`' context store
    /// once Docker answers (`--no-context` says no).
    public var registerDockerContext = true
    /// Also read the guest's side of the boot (kernel, initrd, systemd units, cloud-init) over SSH
    /// once Docker answers, and put it on the same time line as berth's stages.
    public var guestTimings = false

    public init(name: String) { self.name = name }
}

extension Machines {
    /// Creates a machine in stages (preflight → image → disk → network → cloud-init seed → boot →
    /// waiting for SSH → waiting for Docker). The machine is recorded (state Creating) before
    /// anything is made for it and the record follows each stage, so an interrupted create shows
    /// in `ls` and `rm -f` finds everything. Each stage registers the undo of what it made only once
    /// it made it; anything that fails, or Ctrl-C, undoes exactly that, newest first.
    public func create(_ request: CreateRequest, reporter: StageReporter) async throws -> MachineConfig {
        try MachineName.validate(request.name)
        try validate(request)
        try store.prepare()
        let lock = try await claimNewName(request.name)
        defer { withExtendedLifetime(lock) {} }
        let driver = await driver(uri: request.libvirtURI)
        try await checkHost(for: request, driver: driver)
        try await checkForwards(request.ports)
        let store = self.store
        var config = MachineConfig(
            name: request.name,
            hardware: .init(cpus: request.cpus, memoryMiB: request.memoryMiB, diskGiB: request.diskGiB),
            hypervisor: .init(uri: request.libvirtURI, virtType: request.virtType?.rawValue ?? "", domainName: request.name,
                              storagePool: driver.poolName),
            image: .init(name: request.image ?? ImageCache.defaultImageName, hasDocker: false, diskVolume: "", kernelVolume: nil,
                         initrdVolume: nil, kernelCommandLine: nil),
            network: .init(name: request.network, mac: "", ip: ""),
            volumes: LibvirtDriver.machineVolumes(domainName: request.name),
            engine: request.engine, ssh: .init(),
            userCloudConfig: try request.cloudInitFile.map { try String(contentsOf: $0, encoding: .utf8) },
            status: .creating)
        config.ports = request.ports.isEmpty ? nil : request.ports
        config.autoPublish = request.autoPublish
        config.tlsSANs = request.tlsSANs.isEmpty ? nil : request.tlsSANs
        let timeline = StageTimeline(forwardingTo: reporter)
        let operation = StagedOperation(reporter: timeline)
        let created = try await operation.run { operation in
            try store.save(config)
            operation.onFailure("machine record") { try store.remove(request.name) }

            let virtChoice = try await operation.stage("preflight") { () -> LibvirtDriver.VirtTypeChoice in
                try await driver.preCreateCheck()
                let defaultKernel = [images, ImageCache.system].lazy.compactMap { cache in
                    cache.entry(named: ImageCache.defaultImageName).flatMap { image in image.kernel.map { cache.path(of: $0, in: image) } }
                }.first
                return try await driver.chooseVirtType(requested: request.virtType,
                                                       probeKernels: [defaultKernel].compactMap { $0 } + LibvirtDriver.hostKernels(),
                                                       cacheFolder: cacheFolder)
            }
            if let reason = virtChoice.fallbackReason {
                reporter.note("\(reason): using QEMU software emulation (TCG), which is much slower; set --virt-type or BERTH_VIRT_TYPE to choose")
            }
            config.hypervisor.virtType = virtChoice.virtType.rawValue
            let forceTCG = virtChoice.virtType == .qemu

            // The image: found (or built, pulled, imported) in the cache, and its volumes in the pool.
            let image = try await operation.stage("image") {
                let image = try await resolveImage(request.image, forceTCG: forceTCG, reporter: reporter)
                if !ImageCache.isCurrentBuild(image) {
                    reporter.note("the cached \(image.name) image comes from an older recipe: this machine boots through cloud-init alone, which is slower; `berth image build\(image.name == ImageCache.Flavor.plain.imageName ? " --flavor plain" : "")` makes the current one")
                }
                config.image = try await driver.prepareImage(image, cache: cache(holding: image))
                try store.save(config)
                return image
            }

            // One after the other: both are calls on the one libvirt connection, whose calls run in
            // turn, so making them at once would save nothing and blur each stage's time.
            try await operation.stage("disk") {
                try await driver.createDisk(for: config, imageFormat: image.format)
                let disk = config.volumes?.disk ?? ""
                operation.onFailure("disk") { try await driver.removeVolumes(named: [disk], of: request.name) }
            }

            try await operation.stage("network") {
                if driver.usesUserModeNetwork {
                    // No NAT network in a user's session: SSH and Docker come through ports on 127.0.0.1.
                    config.network = driver.userModeAttachment(for: request.name)
                    config.ssh.port = try FreePort.find()
                    config.engine.port = try FreePort.find(excluding: [config.ssh.port])
                    try store.save(config)
                    return
                }
                let reservation = try await driver.reserveAddress(for: request.name, network: request.network, previous: nil,
                                                                  subnet: request.subnet)
                config.network = reservation.attachment
                let attachment = config.network
                operation.onFailure("network") { try await driver.releaseAddress(attachment) }
                // On another hypervisor host, the guest's address is on that host's network: Docker
                // comes here through SSH to that host.
                if let host = RemoteHost(libvirtURI: request.libvirtURI) {
                    config.tunnel = .init(host: host, dockerPort: try FreePort.find())
                }
                try store.save(config)
                if reservation.networkCreated { try await restoreReservations(on: request.network, except: request.name) }
            }

            try await operation.stage("cloud-init seed") {
                let seed = try await makeSeed(for: &config, sshKey: request.sshKey)
                defer { try? FileManager.default.removeItem(at: seed) }
                try store.save(config)
                try await driver.createSeed(for: config, seed: seed)
                let seedVolume = config.volumes?.seed ?? ""
                operation.onFailure("cloud-init seed") { try await driver.removeVolumes(named: [seedVolume], of: request.name) }
            }

            try await operation.stage("boot") {
                let log = try consoleLog(of: config, driver: driver)
                // Made by this user, so the console log stays theirs to read whoever writes it (virtlogd).
                if config.tunnel == nil, !FileManager.default.fileExists(atPath: log.path) {
                    _ = FileManager.default.createFile(atPath: log.path, contents: nil, attributes: [.posixPermissions: 0o600])
                }
                // Undone after the domain is gone (its log complete), before the folder is removed.
                if config.tunnel == nil { operation.onFailure("console log") { store.keepConsoleLogOfFailedCreate(request.name) } }
                try await driver.define(config, consoleLog: log)
                let frozen = config
                operation.onFailure("domain") { try await driver.undefine(frozen) }
                try await driver.start(config)
                if config.tunnel != nil {
                    let forwarder = forwarder(config.name)
                    try await forwarder.ensureRunning()
                    operation.onFailure("tunnel") { await forwarder.stop() }
                }
            }

            let timeout = request.waitTimeout ?? (virtChoice.virtType == .kvm ? .seconds(300) : .seconds(900))
            let deadline = ContinuousClock.now + timeout
            // Where the console log will be once this create has failed and removed the machine's folder.
            let keptLog = config.tunnel == nil ? try store.failedCreateConsoleLog(request.name) : nil
            // A machine on another host is not reachable from here but through its Docker tunnel.
            if config.tunnel == nil {
                try await operation.stage("waiting for SSH") {
                    try await waitUntil(deadline, for: config, what: "SSH on \(config.network.ip):22", consoleLog: keptLog,
                                        explainTimeout: { await addressNotTaken(by: config, driver: driver) }) {
                        await TCPProbe.isOpen(host: config.network.ip, port: config.ssh.port)
                    }
                }
            }
            try await operation.stage("waiting for Docker") {
                let endpoint = try endpoint(config)
                try await waitUntil(deadline, for: config, what: "Docker on \(config.dockerURL)", consoleLog: keptLog) {
                    await endpoint.ping()
                }
            }
            // cloud-init may still be at work after Docker first answered: the user's cloud-config,
            // or the end of Docker's install (which restarts it). The machine is ready after that.
            if GuestSeed.cloudInitHasWork(hasUserCloudConfig: config.userCloudConfig != nil, imageHasDocker: config.image.hasDocker) {
                try await operation.stage("waiting for cloud-init") {
                    try await waitForCloudInit(on: config, until: deadline, consoleLog: keptLog, reporter: reporter)
                }
            }
            config.status = .ready
            config.timings = BootTimings(operation: "create", phases: timeline.recorded)
            store.forgetFailedCreateLog(request.name)
            try store.save(config)
            if request.guestTimings {
                config.timings = await withGuestTimings(config.timings!, of: config, timeline: timeline)
                try? store.save(config)
            }
            if config.wantsForwarder {
                try await operation.stage("port forwards") {
                    let forwarder = forwarder(config.name)
                    let state = try await forwarder.ensureRunning()
                    operation.onFailure("port forwards") { await forwarder.stop() }
                    if let failure = Self.failure(of: request.ports, in: state) { throw failure }
                }
            }
            return config
        }
        // After Docker answered: a context that cannot be written is a warning, never a rollback.
        if request.registerDockerContext, let contexts = dockerContexts, let warning = registerDockerContext(created, in: contexts) {
            reporter.note(warning)
        }
        return created
    }

    /// Waits until cloud-init has finished in the guest (see `CloudInitCompletion`); what
    /// cloud-init reports as errors becomes one warning line.
    func waitForCloudInit(on config: MachineConfig, until deadline: ContinuousClock.Instant, consoleLog: URL?,
                          reporter: StageReporter) async throws {
        let remaining = max(deadline - ContinuousClock.now, .seconds(1))
        let output: String
        do {
            output = try await SSHCommand(config: config, store: store)
                .run("sudo sh -c \(SSHCommand.quote(CloudInitCompletion.waitScript))", timeout: remaining)
        } catch let error as BerthError where error.code == .timeout {
            throw BerthError(.timeout, "timed out waiting for cloud-init to finish on \(config.name)" + (consoleLog.map { "; see the console log at \($0.path)" } ?? ""))
        }
        if let warning = CloudInitCompletion.warning(for: CloudInitCompletion.parse(output), machine: config.name) {
            reporter.note(warning)
        }
    }

    /// Adds the guest's side of the boot to `timings`, read over SSH (see `GuestBootReport`).
    /// Never fails: when the guest cannot be asked, the note says why.
    func withGuestTimings(_ timings: BootTimings, of config: MachineConfig, timeline: StageTimeline) async -> BootTimings {
        var timings = timings
        do {
            let ssh = try SSHCommand(config: config, store: store)
            guard let program = HelperProgram.which("ssh") else { throw BerthError(.command, "the ssh program is missing") }
            let arguments = ["-o", "BatchMode=yes"]
                + ssh.sshArguments(command: ["sudo sh -c \(SSHCommand.quote(GuestBootReport.script))"], tty: false)
            let (output, uptimeArrived) = try await Self.readMarkingUptime(program, arguments, timeline: timeline)
            let parsed = GuestBootReport.parse(output)
            guard let answered = uptimeArrived, let placed = GuestBootReport.place(parsed, answeredAt: answered) else {
                timings.guestNote = "the guest did not say how long it has been up; its side is missing"
                return timings
            }
            timings.phases += placed
            timings.guestNote = "Guest phases come from the guest's kernel log and systemd, placed on berth's time line by the guest's uptime as its line reached berth."
        } catch {
            timings.guestNote = "could not read the guest's side over SSH: \((error as? BerthError)?.message ?? "\(error)")"
        }
        return timings
    }

    /// Runs the guest report over ssh, reading its output as it comes, and notes when the uptime
    /// line arrived (seconds on `timeline`): the guest read its uptime then, give or take the
    /// line's way back, while the end of the SSH session can take seconds more on a busy guest.
    static func readMarkingUptime(_ program: String, _ arguments: [String], timeline: StageTimeline) async throws -> (String, Double?) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let result: (String, Double?) = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var text = Data()
                var arrived: Double?
                let reader = pipe.fileHandleForReading
                let deadline = Date().addingTimeInterval(120)
                while Date() < deadline {
                    let chunk = reader.availableData
                    if chunk.isEmpty { break }
                    text.append(chunk)
                    if arrived == nil, let marker = text.range(of: Data("--- uptime\n".utf8)),
                       text[marker.upperBound...].contains(UInt8(ascii: "\n")) {
                        arrived = timeline.offset()
                    }
                }
                if process.isRunning { process.terminate() }
                continuation.resume(returning: (String(decoding: text, as: UTF8.self), arrived))
            }
        }
        process.waitUntilExit()
        return result
    }

    /// Checks that need the hypervisor but make nothing: the machine fits the host, and its name is
    /// free in libvirt too (another store on this host may use it).
    func checkHost(for request: CreateRequest, driver: LibvirtDriver) async throws {
        let hostMemory = try await driver.hostMemoryMiB()
        guard request.memoryMiB <= hostMemory else {
            throw BerthError(.invalidArgument, "--memory \(request.memoryMiB) MiB is more than this host has (\(hostMemory) MiB); ask for less")
        }
        if try await driver.domainExists(named: request.name) {
            throw BerthError(.machineExists, "libvirt already has a domain named \"\(request.name)\" at \(request.libvirtURI); pick another machine name")
        }
    }

    /// Where the machine's serial console is logged: its folder here, or for a machine on another
    /// hypervisor host, a file in that host's storage pool (berth reads it through libvirt).
    func consoleLog(of config: MachineConfig, driver: LibvirtDriver) throws -> URL {
        if config.tunnel != nil { return URL(fileURLWithPath: driver.poolPath).appendingPathComponent(LibvirtDriver.consoleLogVolume(config)) }
        return try store.consoleLog(config.name)
    }

    /// The cache an image came from: the user's own, or the host's system cache.
    func cache(holding image: CachedImage) -> ImageCache {
        images.entry(named: image.name) == image ? images : ImageCache.system
    }

    /// After a network was made again, gives every machine of this store on it its address back.
    func restoreReservations(on network: String, except machine: String) async throws {
        for name in store.machineNames() where name != machine {
            guard let other = try? config(name), other.network.name == network, !other.network.mac.isEmpty else { continue }
            _ = try await driver(for: other).reserveAddress(for: other.name, network: network, previous: other.network)
        }
    }

    func validate(_ request: CreateRequest) throws {
        guard (1...256).contains(request.cpus) else {
            throw BerthError(.invalidArgument, "--cpus must be between 1 and 256, not \(request.cpus)")
        }
        guard request.memoryMiB >= 256 else {
            throw BerthError(.invalidArgument, "--memory must be at least 256 (MiB), not \(request.memoryMiB)")
        }
        guard (1...65536).contains(request.diskGiB) else {
            throw BerthError(.invalidArgument, "--disk-size must be between 1 and 65536 (GiB), not \(request.diskGiB)")
        }
        guard request.network.range(of: "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", options: .regularExpression) != nil else {
            throw BerthError(.invalidArgument, "invalid --network name \"\(request.network)\": use letters, digits, '.', '_' and '-'")
        }
        if let file = request.cloudInitFile {
            guard let text = try? String(contentsOf: file, encoding: .utf8) else {
                throw BerthError(.invalidArgument, "cannot read the --cloud-init file \(file.path)")
            }
            do { _ = try CloudConfigMerge.parseUserData(text) } catch {
                throw BerthError(.invalidArgument, "the --cloud-init file \(file.path) is not a cloud-config mapping: \(error)", cause: error)
            }
        }
        for name in request.tlsSANs { try ServerCertificateNames.validate(name) }
        if let key = request.sshKey, !FileManager.default.isReadableFile(atPath: key.path) {
            throw BerthError(.invalidArgument, "cannot read the --ssh-key file \(key.path)")
        }
        try request.engine.validate()
        if request.libvirtURI.contains("/session"), request.network != "berth" || request.subnet != nil {
            throw BerthError(.invalidArgument, "--network and --subnet need qemu:///system: machines of qemu:///session use QEMU's user-mode network")
        }
        if let subnet = request.subnet {
            guard let parsed = IPv4Subnet(cidr: subnet), (8...24).contains(parsed.prefix) else {
                throw BerthError(.invalidArgument, "--subnet takes an IPv4 network of at least 256 addresses, such as 10.77.0.0/24, not \"\(subnet)\"")
            }
        }
    }

    /// Finds the image `create` asked for: a cache name, a URL to pull, a file to import, or
    /// berth's default image, built on first use.
    public func resolveImage(_ reference: String?, forceTCG: Bool, reporter: StageReporter) async throws -> CachedImage {
        let images = self.images
        let flavor = reference == nil ? .docker : ImageCache.Flavor.allCases.first { $0.imageName == reference }
        if let flavor {
            if images.entry(named: flavor.imageName) == nil, let shared = ImageCache.system.entry(named: flavor.imageName) {
                return shared
            }
            guard getuid() == 0 || images.entry(named: flavor.imageName) != nil else {
                throw BerthError(.image, "berth's \(flavor.imageName) image is not built yet, and building it needs root once: run `sudo berth image build --system\(flavor == .docker ? "" : " --flavor \(flavor.rawValue)")` (every user of this host can then use it)")
            }
            return try await images.buildLocked(flavor: flavor, forceTCG: forceTCG, onlyIfMissing: true) {
                reporter.note("building berth's \(flavor.imageName) image once (a few minutes); later machines reuse it")
            }
        }
        guard let reference else { throw BerthError(.image, "no image given") }
        if let image = images.entry(named: reference) { return image }
        if let url = URL(string: reference), ["http", "https"].contains(url.scheme ?? "") {
            let name = ImageCache.name(from: url.lastPathComponent)
            if let image = images.entry(named: name), image.origin == reference { return image }
            let progress = TerminalProgress(label: name)
            defer { progress.finish() }
            return try await images.pull(url, checksum: nil, forceTCG: forceTCG, progress: progress.handler)
        }
        if FileManager.default.fileExists(atPath: reference) {
            let file = URL(fileURLWithPath: reference)
            let name = ImageCache.name(from: file.lastPathComponent)
            if let image = images.entry(named: name), image.origin == file.path { return image }
            return try await images.importFile(file, forceTCG: forceTCG)
        }
        throw BerthError(.image, "no image \"\(reference)\": give a cached image name (`berth image ls`), an http(s) URL or an existing file")
    }

    /// Keys (the user's, and the guest's SSH host key that berth pins), certificates and the
    /// cloud-init documents, written into a seed ISO (a temporary file). Records the key files in `config`.
    func makeSeed(for config: inout MachineConfig, sshKey: URL?) async throws -> URL {
        let directory = try store.machineDirectory(config.name)
        let keys: SSHKeyPair
        if let sshKey {
            keys = try SSHKeyPair.importKey(from: sshKey, into: directory)
        } else {
            keys = try SSHKeyPair.generate(machineName: config.name, in: directory)
        }
        config.ssh.keyFile = keys.privateKeyPath.lastPathComponent
        let hostKey = try SSHHostKey.generate(machineName: config.name, in: directory)
        config.ssh.knownHostsFile = SSHHostKey.knownHostsFileName
        let certificates = try certificateFiles(config.name)
        try certificates.ensureServerCertificate(store: storeCertificates, machineName: config.name, ip: config.network.ip,
                                                 extraNames: config.tlsSANs ?? [])
        if config.image.berthInit != nil, let base = config.image.kernelCommandLine {
            config.image.kernelCommandLine = KernelCommandLine(base: base, macAddress: config.network.mac).rendered
        }
        let files = try seedFiles(for: config, sshPublicKey: keys.publicKey, hostKey: hostKey)
        let seed = FileManager.default.temporaryDirectory.appendingPathComponent("berth-seed-\(config.name)-\(UUID().uuidString.prefix(8)).iso")
        do {
            try SeedImageWriter.write(volumeID: "cidata", files: files, to: seed)
        } catch {
            try? FileManager.default.removeItem(at: seed)
            throw BerthError(.provisioning, "cannot write the cloud-init seed: \(error)", cause: error)
        }
        return seed
    }

    /// The NoCloud documents for a machine: user-data, meta-data and network-config; for berth's
    /// own images also berth-init's files (`GuestSeed`).
    func seedFiles(for config: MachineConfig, sshPublicKey: String, hostKey: SSHHostKey?) throws -> [String: Data] {
        let (serverCertificate, serverKey) = try certificateFiles(config.name).serverPEM()
        let provisioning = GuestProvisioning(
            machineName: config.name, sshPublicKey: sshPublicKey,
            caCertificatePEM: try SecureFile.readText(storeCertificates.caCertificate),
            serverCertificatePEM: serverCertificate, serverPrivateKeyPEM: serverKey,
            daemon: DaemonConfig(labels: config.engine.labels, insecureRegistries: config.engine.insecureRegistries,
                                 registryMirrors: config.engine.registryMirrors, storageDriver: config.engine.storageDriver),
            engineEnvironment: config.engine.environment, engineOptions: config.engine.options,
            imageHasDocker: config.image.hasDocker, sshHostKey: hostKey)
        let metaData = Data(try MetaData(instanceID: "berth-\(config.name)-\(UUID().uuidString.prefix(8))",
                                         localHostname: config.name).render().utf8)
        guard config.image.berthInit != nil else {
            let userData = try CloudConfig(machine: provisioning).render(mergingUserData: config.userCloudConfig)
            return [
                "user-data": Data(userData.utf8),
                "meta-data": metaData,
                "network-config": Data(try NetworkConfig(macAddress: config.network.mac).render().utf8),
            ]
        }
        let seed = GuestSeed(machine: provisioning, hasUserCloudConfig: config.userCloudConfig != nil)
        let userData = try CloudConfig(afterBerthInit: provisioning).render(mergingUserData: config.userCloudConfig)
        var files = try seed.files()
        files["user-data"] = Data(userData.utf8)
        files["meta-data"] = metaData
        files["network-config"] = Data(try GuestSeed.networkConfig().utf8)
        return files
    }

    /// Asks `check` again and again until it holds or the deadline passes. The checks are cheap
    /// connection attempts that fail at once while nothing listens (the guest answers a closed
    /// port with a reset) and wait only while the guest is not on the network yet, so they come
    /// every `interval` rather than with a growing backoff: the answer is seen within that much of
    /// the moment the guest gives it. A machine that stops meanwhile ends the wait at once; a
    /// libvirt daemon that restarts meanwhile does not.
    func waitUntil(_ deadline: ContinuousClock.Instant, for config: MachineConfig, what: String, consoleLog kept: URL? = nil,
                   explainTimeout: () async -> String? = { nil },
                   interval: Duration = .milliseconds(200), _ check: () async -> Bool) async throws {
        let consoleLog = (kept ?? (try? store.consoleLog(config.name)))?.path ?? "its machine folder"
        while ContinuousClock.now < deadline {
            let attempt = ContinuousClock.now
            if await check() { return }
            if let state = try? await hostState(of: config), state != .running {
                throw BerthError(.provisioning, "machine \"\(config.name)\" stopped while waiting for \(what); see its console log at \(consoleLog)")
            }
            let next = attempt + interval
            if next > ContinuousClock.now { try await Task.sleep(until: min(next, deadline), clock: .continuous) }
        }
        let why = await explainTimeout().map { " (\($0))" } ?? ""
        throw BerthError(.timeout, "timed out waiting for \(what)\(why); see the console log at \(consoleLog)")
    }

    /// Why a guest may not answer on its address: it never asked berth's network for it (no DHCP
    /// lease), so its boot stopped before its network came up. Nil when that is not known to be so.
    func addressNotTaken(by config: MachineConfig, driver: LibvirtDriver) async -> String? {
        guard !driver.usesUserModeNetwork, (try? await driver.hasDHCPLease(config.network)) == false else { return nil }
        return "the guest never asked network \(config.network.name) for its address: it has no DHCP lease"
    }
}

extension Machines {
    /// Locks a name no machine has yet, for the create that is about to record it. A name being
    /// created by another berth command counts as taken.
    func claimNewName(_ name: String) async throws -> StoreLock {
        let lock: StoreLock
        do {
            lock = try await store.lock(name, timeout: .seconds(1))
        } catch let error as BerthError where error.code == .machineBusy {
            throw BerthError(.machineExists, "\(DockerMachineWording.alreadyExists(name)); another berth command is creating or using it")
        }
        guard !store.exists(name) else {
            throw BerthError(.machineExists, "\(DockerMachineWording.alreadyExists(name)); use another name or remove it with `berth rm \(name)`")
        }
        return lock
    }
}
