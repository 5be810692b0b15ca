import Foundation

/// Small look-ups the one-shot commands (config, url, ssh, scp, active, version) share.
extension Machines {
    /// The machine's config when the hypervisor says it is running; otherwise an error that starts
    /// with `headline` (Docker Machine's "Host is not running") and says what state the machine is
    /// in and how to start it.
    public func runningConfig(_ name: String, headline: String = DockerMachineWording.hostNotRunning) async throws -> MachineConfig {
        let config = try config(name)
        let state = try await state(of: config)
        guard state == .running else { throw Self.notRunning(name, state, headline: headline) }
        return config
    }

    /// What to tell a user who needs a running machine and has one in `state`: `headline`, then
    /// berth's advice.
    public static func notRunning(_ name: String, _ state: MachineState,
                                  headline: String = DockerMachineWording.hostNotRunning) -> BerthError {
        let advice: String
        switch state {
        case .creating:
            advice = "machine \"\(name)\" is still being created; wait for its create to finish"
        case .error:
            advice = "machine \"\(name)\" is in error; see `berth ls`, then `berth start \(name)` or `berth rm -f \(name)`"
        default:
            advice = "machine \"\(name)\" is \(state.rawValue.lowercased()); start it with `berth start \(name)`"
        }
        return BerthError(.machineNotRunning, "\(headline); \(advice)")
    }

    /// The machines whose Docker URL is `dockerHost` (what `$DOCKER_HOST` points at), by name.
    /// Machines whose config cannot be read are skipped.
    public func configs(withDockerURL dockerHost: String) -> [MachineConfig] {
        let wanted = dockerHost.trimmingCharacters(in: .whitespaces)
        guard !wanted.isEmpty else { return [] }
        return store.machineNames().compactMap { try? config($0) }.filter { $0.dockerURL == wanted }
    }
}

extension Machines {
    /// Removes an image from the cache and its volumes from the default libvirt pool, unless a
    /// machine in this store, or any libvirt domain at all, still uses them (then the volumes stay
    /// for it). When libvirt cannot say, the volumes stay too.
    public func removeImage(named name: String) async throws {
        guard let image = images.entry(named: name) else {
            throw BerthError(.image, "no image named \"\(name)\" in the cache; `berth image ls` lists them")
        }
        try images.remove(named: name)
        let driver = await driver(uri: Self.defaultURI)
        let volumes = driver.baseVolumeNames(image)
        let inUse = store.machineNames().compactMap { try? config($0) }.contains { $0.image.diskVolume == volumes.disk }
        guard !inUse else { return }
        let names = [volumes.disk, volumes.kernel, volumes.initrd].compactMap { $0 }
        guard let users = try? await driver.domainsUsingVolumes(named: names), users.isEmpty else { return }
        try? await driver.removeImageVolumes(image)
    }
}
