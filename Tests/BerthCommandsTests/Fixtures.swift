import Foundation
@testable import Guestfs
@testable import MachineCore

/// A fresh store under the system's temporary directory; `remove()` deletes it.
struct TemporaryStore {
    let root: URL
    var store: Store { Store(root: root) }
    var path: String { root.path }

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("berth-commands-\(UUID().uuidString)")
        try Store(root: root).prepare()
    }

    func remove() { try? FileManager.default.removeItem(at: root) }
}

enum Fixtures {
    static func config(_ name: String, ip: String, port: Int = 2376, sshPort: Int = 22) -> MachineConfig {
        var engine = MachineConfig.EngineOptions(labels: ["env=test"])
        engine.port = port
        return MachineConfig(
            name: name, createdAt: Date(timeIntervalSince1970: 1_700_000_000),
            hardware: .init(cpus: 2, memoryMiB: 2048, diskGiB: 20),
            hypervisor: .init(uri: "qemu:///system", virtType: "qemu", domainName: name, storagePool: "berth"),
            image: .init(name: "berth-docker", hasDocker: true, diskVolume: "berth-docker-abc.qcow2", kernelVolume: nil,
                         initrdVolume: nil, kernelCommandLine: nil),
            network: .init(name: "berth", mac: "52:54:00:12:34:56", ip: ip),
            engine: engine, ssh: .init(user: "docker", port: sshPort, keyFile: "id_ed25519"))
    }

    static func image(name: String = "berth-docker", docker: String? = "26.1.5+dfsg1-9+b2",
                      addedAt: Date = Date(timeIntervalSince1970: 1_700_000_000)) -> CachedImage {
        let facts = ImageFacts(
            osType: "linux", distro: "debian", version: "13", majorVersion: 13, minorVersion: 0,
            productName: "Debian GNU/Linux 13 (trixie)", architecture: "x86_64", hasCloudInit: true,
            dockerVersion: docker, dockerPackage: docker == nil ? nil : "docker.io",
            kernelVersion: "6.12.0-1-amd64", kernelPath: nil, initrdPath: nil, rootDevice: "/dev/vda")
        return CachedImage(
            name: name, source: .built, origin: "flavor docker", format: "qcow2",
            disk: .init(path: "disk.qcow2", sha256: String(repeating: "a", count: 64), size: 1 << 30),
            kernel: .init(path: "vmlinuz", sha256: String(repeating: "b", count: 64), size: 256 << 20),
            initrd: .init(path: "initrd.img", sha256: String(repeating: "c", count: 64), size: 256 << 20),
            kernelCommandLine: "root=/dev/vda ro", facts: facts, addedAt: addedAt)
    }
}
