import Foundation
import Synchronization

/// One row of `berth ls`.
public struct MachineListing: Sendable, Codable, Equatable {
    public var name: String
    /// Whether this is the machine `$DOCKER_HOST` points at; only a running machine can be.
    public var active: Bool
    public var driver: String
    public var state: MachineState
    public var url: String
    public var dockerVersion: String?
    public var error: String?
    public var labels: [String]
    /// How long this machine took to answer: its state from libvirt plus its Docker's version
    /// (the whole `--timeout` when Docker did not answer in time), in milliseconds.
    public var responseTimeMs: Int = 0
    /// The machine's swarm, from its config (no API call): its role and the cluster's name.
    public var swarm: Swarm?

    public struct Swarm: Sendable, Codable, Equatable {
        public var role: MachineConfig.SwarmMembership.Role
        /// The cluster's name: the machine that initialised it.
        public var manager: String

        public init(role: MachineConfig.SwarmMembership.Role, manager: String) {
            self.role = role
            self.manager = manager
        }

        init(_ membership: MachineConfig.SwarmMembership) { self.init(role: membership.role, manager: membership.manager) }

        /// Docker Machine's SWARM column in swarm mode: `NAME (manager)` for a manager (Docker
        /// Machine printed `NAME (master)` for a standalone Swarm's master), the cluster's name for a worker.
        public var column: String { role == .manager ? "\(manager) (manager)" : manager }
    }
}

extension Machines {
    /// Every machine with its state from one libvirt listing per URI and, for running machines,
    /// Docker's version asked in parallel. A Docker that does not answer within `timeout` makes its
    /// machine's state Timeout, as in Docker Machine, so a dead machine never holds up the list.
    /// Rows come in natural order of their names (dev2 before dev10).
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
        let clock = ContinuousClock()
        var states: [String: MachineState] = [:]
        var errors: [String: String] = [:]
        var stateTimes: [String: Duration] = [:]
        // Existing servers answer for themselves (their SSH port), all at once.
        let servers = configs.filter(\.isGeneric)
        await withTaskGroup(of: (String, MachineState, Duration).self) { group in
            for config in servers {
                group.addTask {
                    let started = clock.now
                    return (config.name, await GenericDriver().state(config), clock.now - started)
                }
            }
            for await (name, state, elapsed) in group {
                states[name] = state
                stateTimes[name] = elapsed
            }
        }
        for (uri, group) in Dictionary(grouping: configs.filter { !$0.isGeneric }, by: { $0.hypervisor.uri }) {
            let started = clock.now
            do {
                let found = try await driver(uri: uri).states(of: group)
                states.merge(found) { first, _ in first }
                for config in group where found[config.name] == nil {
                    errors[config.name] = "libvirt has no domain \(config.hypervisor.domainName); remove it with `berth rm -f \(config.name)`"
                }
            } catch {
                for config in group { errors[config.name] = (error as? BerthError)?.message ?? "\(error)" }
            }
            // One listing answers for every machine on the URI: each waited that long for its state.
            for config in group { stateTimes[config.name] = clock.now - started }
        }
        let answers = await withTaskGroup(of: (String, DockerAnswer, Duration).self) { group in
            for config in configs where askDocker && states[config.name] == .running {
                // The machine's forwarder follows Docker's events: while that stream is open, Docker
                // answers, and its version is known without a TLS handshake with an emulated guest.
                if let version = forwarder(config.name).state()?.engineVersion {
                    group.addTask { (config.name, .version(version), .zero) }
                    continue
                }
                guard let endpoint = try? endpoint(config) else { continue }
                group.addTask {
                    let started = clock.now
                    let answer = await DockerAnswer.ask(endpoint, within: timeout)
                    return (config.name, answer, answer == .timedOut ? timeout : clock.now - started)
                }
            }
            var answers: [String: (DockerAnswer, Duration)] = [:]
            for await (name, answer, elapsed) in group { answers[name] = (answer, elapsed) }
            return answers
        }
        for config in configs {
            var state = states[config.name] ?? .error
            var error = errors[config.name]
            var version: String?
            switch answers[config.name]?.0 {
            case .version(let answered)?: version = "v\(answered)"
            case .noAnswer?: if error == nil { error = "Docker does not answer at \(config.dockerURL) yet" }
            case .timedOut?:
                state = .timeout
                if error == nil { error = "Docker did not answer at \(config.dockerURL) within \(timeout.wholeSeconds)s" }
            case nil: break
            }
            if config.isGeneric, state == .stopped, error == nil {
                error = "the server does not answer on SSH at \(config.network.ip):\(config.ssh.port)"
            }
            if state == .running, error == nil, config.wantsForwarder, !forwarder(config.name).isRunning {
                error = "its port forwarder is not running; `berth start \(config.name)` starts it again"
            }
            let elapsed = (stateTimes[config.name] ?? .zero) + (answers[config.name]?.1 ?? .zero)
            rows.append(MachineListing(
                name: config.name, active: state == .running && activeHost == config.dockerURL, driver: config.driver,
                state: state, url: state == .running || state == .timeout ? config.dockerURL : "", dockerVersion: version,
                error: error, labels: config.labels, responseTimeMs: elapsed.wholeMilliseconds,
                swarm: config.swarm.map(MachineListing.Swarm.init)))
        }
        return rows.sorted { NaturalOrder.precedes($0.name, $1.name) }
    }
}

/// What a machine's Docker said when `ls` asked for its version.
enum DockerAnswer: Sendable, Equatable {
    case version(String)
    /// It refused or failed before the time was up.
    case noAnswer
    /// The time was up first.
    case timedOut

    /// Asks for Docker's version and gives up at `timeout`. The request itself may take a moment
    /// longer to stop; the answer does not wait for it.
    static func ask(_ endpoint: DockerEndpoint, within timeout: Duration) async -> DockerAnswer {
        await withCheckedContinuation { continuation in
            let first = FirstAnswer(continuation)
            let timer = Task {
                try? await Task.sleep(for: timeout)
                if !Task.isCancelled { first.decide(.timedOut) }
            }
            Task {
                // A little longer than the timer, so a request that runs out at the deadline counts as timed out.
                let version = await endpoint.engineVersion(timeout: timeout + .seconds(1))
                first.decide(version.map(DockerAnswer.version) ?? .noAnswer)
                timer.cancel()
            }
        }
    }

    /// Resumes a continuation with whichever answer comes first; later ones are dropped.
    private final class FirstAnswer: Sendable {
        private let continuation: CheckedContinuation<DockerAnswer, Never>
        private let decided = Mutex(false)

        init(_ continuation: CheckedContinuation<DockerAnswer, Never>) { self.continuation = continuation }

        func decide(_ answer: DockerAnswer) {
            let isFirst = decided.withLock { done in
                defer { done = true }
                return !done
            }
            if isFirst { continuation.resume(returning: answer) }
        }
    }
}

/// Names in natural order, as Docker Machine sorted `ls`: case ignored, runs of digits compared as
/// numbers, so dev2 comes before dev10.
public enum NaturalOrder {
    public static func precedes(_ left: String, _ right: String) -> Bool {
        let (a, b) = (chunks(left.lowercased()), chunks(right.lowercased()))
        for (x, y) in zip(a, b) where x != y {
            switch (x.first?.isASCIIDigit ?? false, y.first?.isASCIIDigit ?? false) {
            case (true, true):
                let (p, q) = (x.drop { $0 == "0" }, y.drop { $0 == "0" })
                if p.count != q.count { return p.count < q.count }
                if p != q { return p < q }
                return x.count < y.count // equal numbers: fewer leading zeros first
            default:
                return x < y
            }
        }
        if a.count != b.count { return a.count < b.count }
        return left < right
    }

    /// `web10b` → ["web", "10", "b"].
    static func chunks(_ text: String) -> [Substring] {
        var result: [Substring] = []
        var start = text.startIndex
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(after: index)
            if next < text.endIndex, text[index].isASCIIDigit != text[next].isASCIIDigit {
                result.append(text[start..<next])
                start = next
            }
            index = next
        }
        if start < text.endIndex { result.append(text[start...]) }
        return result
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

extension Duration {
    /// Whole milliseconds, rounded.
    var wholeMilliseconds: Int {
        Int((Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15).rounded())
    }

    /// Whole seconds, for messages.
    var wholeSeconds: Int64 { components.seconds }
}
