import Foundation
import PortForwarding

/// Port forwards: saved with the machine, served by its forwarder process while it runs.
extension Machines {
    /// Checks forwards before anything is saved: no duplicates among them or with `existing`, and
    /// every host port free and allowed to this user, found by binding it for a moment exactly as
    /// the forwarder will.
    public func checkForwards(_ specs: [PortSpec], existing: [PortSpec] = []) async throws {
        do {
            try PortSpec.checkNoDuplicates(existing + specs)
        } catch {
            throw BerthError(.invalidArgument, error.description, cause: error)
        }
        let trial = Forwarder()
        defer { Task { await trial.close() } }
        for spec in specs {
            do {
                try await trial.add(spec.rules(to: "127.0.0.1"))
            } catch {
                throw BerthError(.invalidArgument, error.description, cause: error)
            }
        }
        await trial.close()
    }

    /// Makes the machine's forwarder match its configuration: running (started, or reloaded) while
    /// the machine runs and wants one, stopped otherwise. Returns what it reports.
    @discardableResult
    func syncForwarder(_ config: MachineConfig) async throws -> ForwardState? {
        let forwarder = forwarder(config.name)
        guard config.wantsForwarder, try await state(of: config) == .running else {
            await forwarder.stop()
            return nil
        }
        return try await forwarder.ensureRunning()
    }

    /// The first error the forwarder reports for one of `specs`, as a `BerthError`.
    static func failure(of specs: [PortSpec], in state: ForwardState?) -> BerthError? {
        let texts = Set(specs.map(\.description))
        guard let failed = state?.entries.first(where: { entry in
            if case .spec(let text) = entry.source { return texts.contains(text) && !entry.listening }
            return false
        }) else { return nil }
        return BerthError(.invalidArgument, failed.error ?? "cannot forward \(failed.rule)")
    }

    /// Adds forwards to a machine; while it runs they take effect at once, and a forward its
    /// forwarder cannot make is taken back out, with the reason.
    @discardableResult
    public func addPorts(_ specs: [PortSpec], to name: String) async throws -> ForwardState? {
        let lock = try await store.lock(name, timeout: .seconds(120))
        defer { withExtendedLifetime(lock) {} }
        var config = try config(name)
        try requireComplete(config)
        let existing = config.ports ?? []
        let running = try await state(of: config) == .running
        if running {
            do {
                try PortSpec.checkNoDuplicates(existing + specs)
            } catch {
                throw BerthError(.invalidArgument, error.description, cause: error)
            }
        } else {
            try await checkForwards(specs, existing: existing)
        }
        config.ports = existing + specs
        try store.save(config)
        guard running else { return nil }
        let state = try await syncForwarder(config)
        if let failure = Self.failure(of: specs, in: state) {
            config.ports = existing
            try store.save(config)
            try await syncForwarder(config)
            throw failure
        }
        return state
    }

    /// Removes forwards from a machine, given as they were added or by their host side
    /// (`[HOST_IP:]HOST_PORT[/tcp|/udp]`).
    public func removePorts(_ texts: [String], from name: String) async throws {
        let lock = try await store.lock(name, timeout: .seconds(120))
        defer { withExtendedLifetime(lock) {} }
        var config = try config(name)
        var ports = config.ports ?? []
        for text in texts {
            guard let index = ports.firstIndex(where: { Self.matches(text, $0) }) else {
                let listed = ports.map(\.description).joined(separator: ", ")
                throw BerthError(.invalidArgument, "machine \"\(name)\" has no forward \(text); it has \(listed.isEmpty ? "none" : listed)")
            }
            ports.remove(at: index)
        }
        config.ports = ports
        try store.save(config)
        try await syncForwarder(config)
    }

    /// Whether `text` names `spec`: the same spec, or its host side.
    static func matches(_ text: String, _ spec: PortSpec) -> Bool {
        if let parsed = try? PortSpec(parsing: text) { return parsed == spec }
        let withGuest = text.contains("/") ? text.replacingOccurrences(of: "/", with: ":1/") : text + ":1"
        guard let hostSide = try? PortSpec(parsing: withGuest) else { return false }
        return hostSide.hostAddress == spec.hostAddress && hostSide.hostPorts == spec.hostPorts && hostSide.proto == spec.proto
    }
}
