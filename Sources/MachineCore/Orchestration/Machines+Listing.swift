import Foundation

/// One row of `berth ls`.
public struct MachineListing: Sendable, Codable, Equatable {
    public var name: String
    public var active: Bool
    public var driver: String
    public var state: MachineState
    public var url: String
    public var dockerVersion: String?
    public var error: String?
    public var labels: [String]
}

extension Machines {
    /// Every machine with its state from one libvirt listing per URI and, for running machines,
    /// Docker's version asked in parallel with `timeout`, so a dead machine never holds up the list.
    public func list(timeout: Duration = .seconds(3), askDocker: Bool = true,
                     activeHost: String? = ProcessInfo.processInfo.environment["DOCKER_HOST"]) async -> [MachineListing] {
        var rows: [MachineListing] = []
        var configs: [MachineConfig] = []
        for name in store.machineNames() {
            do {
                let config = try config(name)
                if config.isComplete {
                    configs.append(config)
                } else if store.isBusy(name) {
                    rows.append(MachineListing(name: name, active: false, driver: config.driver, state: .creating, url: "",
                                               dockerVersion: nil, error: nil, labels: config.labels))
                } else {
                    rows.append(MachineListing(name: name, active: false, driver: config.driver, state: .error, url: "",
                                               dockerVersion: nil,
                                               error: "its create was interrupted; remove it with `berth rm -f \(name)`",
                                               labels: config.labels))
                }
            } catch {
                let busy = store.isBusy(name)
                rows.append(MachineListing(name: name, active: false, driver: "unknown", state: busy ? .creating : .error, url: "",
                                           dockerVersion: nil, error: busy ? nil : (error as? BerthError)?.message ?? "\(error)",
                                           labels: []))
            }
        }
        var states: [String: MachineState] = [:]
        var errors: [String: String] = [:]
        for (uri, group) in Dictionary(grouping: configs, by: { $0.hypervisor.uri }) {
            do {
                let found = try await driver(uri: uri).states(of: group)
                states.merge(found) { first, _ in first }
                for config in group where found[config.name] == nil {
                    errors[config.name] = "libvirt has no domain \(config.hypervisor.domainName); remove it with `berth rm -f \(config.name)`"
                }
            } catch {
                for config in group { errors[config.name] = (error as? BerthError)?.message ?? "\(error)" }
            }
        }
        let versions = await withTaskGroup(of: (String, String?).self) { group in
            for config in configs where askDocker && states[config.name] == .running {
                guard let endpoint = try? endpoint(config) else { continue }
                group.addTask { (config.name, await endpoint.engineVersion(timeout: timeout)) }
            }
            var versions: [String: String] = [:]
            for await (name, version) in group { if let version { versions[name] = version } }
            return versions
        }
        for config in configs {
            let state = states[config.name] ?? .error
            var error = errors[config.name]
            if askDocker, state == .running, versions[config.name] == nil, error == nil {
                error = "Docker does not answer at \(config.dockerURL) yet"
            }
            if state == .running, error == nil, config.wantsForwarder, !forwarder(config.name).isRunning {
                error = "its port forwarder is not running; `berth start \(config.name)` starts it again"
            }
            rows.append(MachineListing(
                name: config.name, active: activeHost == config.dockerURL, driver: config.driver, state: state,
                url: state == .running ? config.dockerURL : "", dockerVersion: versions[config.name].map { "v\($0)" },
                error: error, labels: config.labels))
        }
        return rows.sorted { $0.name < $1.name }
    }
}
