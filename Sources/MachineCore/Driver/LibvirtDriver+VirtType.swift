import Foundation
import Libvirt

/// Choosing between KVM and QEMU's software emulation (TCG).
///
/// Some hosts have a `/dev/kvm` that cannot run an ordinary guest: QEMU aborts or the kernel hangs
/// right after the bootloader. So berth does not trust the device node: it boots the image's own
/// kernel under KVM for a moment and uses KVM only when that kernel prints its first line. The
/// answer is remembered until the host reboots.
extension LibvirtDriver {
    public struct VirtTypeChoice: Sendable, Equatable {
        public let virtType: DomainSpec.VirtType
        /// Why KVM was not chosen, for the one warning line; nil when KVM is used or was asked for.
        public let fallbackReason: String?
    }

    /// The virtualization type to use: `requested` (from `--virt-type` or `BERTH_VIRT_TYPE`) when given,
    /// otherwise what the probe finds, booting the first readable kernel of `probeKernels`
    /// (berth passes the image's kernel, then the host's own).
    public func chooseVirtType(requested: DomainSpec.VirtType?, probeKernels: [URL], cacheFolder: URL) async throws -> VirtTypeChoice {
        if let requested { return VirtTypeChoice(virtType: requested, fallbackReason: nil) }
        let connection = try await connection()
        if (try? await connection.domainCapabilities(virtType: "kvm")) == nil {
            return VirtTypeChoice(virtType: .qemu, fallbackReason: "KVM is not available on this host")
        }
        guard let kernel = probeKernels.first(where: { FileManager.default.isReadableFile(atPath: $0.path) }) else {
            return VirtTypeChoice(virtType: .kvm, fallbackReason: nil)
        }

        // Remembered until this host reboots; a remote host's answer for half a day (its reboots
        // cannot be seen from here).
        let local = Self.isLocal(uri)
        let memo = cacheFolder.appendingPathComponent(local ? "virt-type-\(Self.bootID())" : "virt-type-\(ImageCache.fileKey(uri))")
        let fresh = local || ((try? FileManager.default.attributesOfItem(atPath: memo.path)[.modificationDate] as? Date)
            .map { Date().timeIntervalSince($0) < 12 * 3600 } ?? false)
        if fresh, let remembered = try? String(contentsOf: memo, encoding: .utf8),
           let virtType = DomainSpec.VirtType(rawValue: remembered.trimmingCharacters(in: .whitespacesAndNewlines)) {
            return VirtTypeChoice(virtType: virtType, fallbackReason: virtType == .kvm ? nil : Self.brokenKVMReason)
        }
        let works = try await kvmBootsKernel(kernel, logFolder: cacheFolder)
        try? SecureFile.createDirectory(cacheFolder)
        try? SecureFile.write(works ? "kvm" : "qemu", to: memo, mode: SecureFile.publicMode)
        return VirtTypeChoice(virtType: works ? .kvm : .qemu, fallbackReason: works ? nil : Self.brokenKVMReason)
    }

    static let brokenKVMReason = "/dev/kvm is present but cannot run a guest here"

    /// Boots the kernel under KVM in a small transient domain and watches its serial console.
    /// The kernel is copied into the storage pool first, where QEMU's user can read it. On another
    /// host the console is logged into that host's pool and read back through libvirt.
    func kvmBootsKernel(_ kernelFile: URL, logFolder: URL, timeout: Duration = .seconds(8)) async throws -> Bool {
        try SecureFile.createDirectory(logFolder)
        let local = Self.isLocal(uri)
        let logName = "probe-console-\(getpid()).log"
        let log = local ? logFolder.appendingPathComponent(logName) : URL(fileURLWithPath: poolPath).appendingPathComponent(logName)
        // Made by this user, so the console log stays readable to berth whoever writes it.
        if local { _ = FileManager.default.createFile(atPath: log.path, contents: nil, attributes: [.posixPermissions: 0o600]) }
        defer { if local { try? FileManager.default.removeItem(at: log) } }
        return try await libvirt("probing KVM") { connection in
            let pool = try await self.pool(in: connection)
            defer {
                if !local { Task { try? await pool.refresh(); try? await pool.volumeIfExists(named: logName)?.delete() } }
            }
            func console() async -> String? {
                if local { return try? String(contentsOf: log, encoding: .utf8) }
                try? await pool.refresh()
                guard let volume = try? await pool.volumeIfExists(named: logName),
                      let data = try? await volume.download(offset: 0, length: 1 << 16) else { return nil }
                return String(decoding: data, as: UTF8.self)
            }
            let volumeName = "probe-kernel-\(try ImageCache.sha256(of: kernelFile).prefix(12)).vmlinuz"
            try await self.ensureVolume(named: volumeName, holding: kernelFile, in: pool)
            let kernel = try await pool.volume(named: volumeName).path()
            let spec = DomainSpec(virtType: .kvm, name: "berth-kvm-probe-\(getpid())", memoryMiB: 128, vcpus: 1,
                                  boot: .kernel(kernel: kernel, initrd: nil, commandLine: "console=ttyS0 earlyprintk=ttyS0 panic=-1"),
                                  consoleLog: log.path)
            let domain: Domain
            do {
                domain = try await connection.createTransientDomain(xml: spec.xml)
            } catch is LibvirtError {
                return false // QEMU refused to start under KVM
            }
            defer { Task { try? await domain.destroy() } }
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if let console = await console(), console.contains("Linux version") {
                    try? await domain.destroy()
                    return true
                }
                if try await !domain.state().isActive { return false }
                try await Task.sleep(for: .milliseconds(200))
            }
            try? await domain.destroy()
            return false
        }
    }

    static func isLocal(_ uri: String) -> Bool {
        guard let components = URLComponents(string: uri) else { return false }
        return (components.host ?? "").isEmpty && !(components.scheme ?? "").contains("+")
    }

    /// The host's own kernels, newest first: a probe kernel when no image kernel is at hand.
    public nonisolated static func hostKernels() -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/boot")) ?? []
        return names.filter { $0.hasPrefix("vmlinuz-") }.sorted().reversed().map { URL(fileURLWithPath: "/boot/\($0)") }
    }

    static func bootID() -> String {
        (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
    }
}

extension LibvirtDriver {
    /// What `berth hosts` shows of a hypervisor host.
    public struct HostFacts: Sendable, Codable, Equatable {
        public var uri: String
        public var hostname: String
        public var cpus: Int
        public var memoryMiB: Int
        public var freeMemoryMiB: Int
        /// "kvm" when KVM runs guests there, "qemu" when berth found it cannot (software emulation),
        /// nil before berth's first machine there.
        public var virtType: String?
    }

    public func hostFacts(cacheFolder: URL) async throws -> HostFacts {
        try await libvirt("reading the host's facts") { connection in
            let node = try await connection.nodeInfo()
            let memo = cacheFolder.appendingPathComponent(Self.isLocal(self.uri) ? "virt-type-\(Self.bootID())"
                                                                            : "virt-type-\(ImageCache.fileKey(self.uri))")
            let known = (try? String(contentsOf: memo, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            let kvmOffered = (try? await connection.domainCapabilities(virtType: "kvm")) != nil
            return HostFacts(uri: self.uri, hostname: (try? await connection.hostname()) ?? "", cpus: node.cpus,
                             memoryMiB: Int(node.memoryKiB / 1024),
                             freeMemoryMiB: Int((try? await connection.freeMemory()) ?? 0) >> 20,
                             virtType: known ?? (kvmOffered ? nil : "qemu"))
        }
    }
}
