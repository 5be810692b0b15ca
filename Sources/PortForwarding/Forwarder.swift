import Logging
import NIOCore
import NIOPosix

/// Forwards host ports to target addresses in user space: no firewall rules, so it works for
/// users other than root (on ports from `net.ipv4.ip_unprivileged_port_start`, 1024 by default).
///
/// Lifetime: make one, `add` rules (each batch binds all of its listeners or none), `remove` or
/// `update` them while it runs, read `status()` for a health view, and `close()` at the end.
/// Removing a rule closes its listener and its open connections, and the host port is free when
/// the call returns. A forwarder released without `close()` closes its listeners anyway, without
/// waiting.
///
/// TCP is proxied with backpressure both ways and half-close; UDP is relayed through one socket
/// per client address, closed after `Options.udpIdleTimeout` without traffic.
public actor Forwarder {
    public struct Options: Sendable {
        /// How long connecting to a target may take before the client's connection is reset.
        public var connectTimeout: Duration
        /// A UDP client's session ends after this long without a datagram either way.
        public var udpIdleTimeout: Duration
        /// UDP clients served at once per rule; datagrams from more are dropped.
        public var maxUDPSessionsPerRule: Int

        public init(
            connectTimeout: Duration = .seconds(10), udpIdleTimeout: Duration = .seconds(60),
            maxUDPSessionsPerRule: Int = 1024
        ) {
            self.connectTimeout = connectTimeout
            self.udpIdleTimeout = udpIdleTimeout
            self.maxUDPSessionsPerRule = maxUDPSessionsPerRule
        }
    }

    /// What `update(to:)` changed.
    public struct Changes: Sendable, Hashable {
        public var added: [ForwardRule]
        public var removed: [ForwardRule]
    }

    private let settings: ListenerSettings
    private let logger: Logger
    private var listeners: [ListenKey: any Listener] = [:]
    /// Keys being bound by an `add` that has not returned yet, so a concurrent one cannot take them.
    private var reserved: [ListenKey: ForwardRule] = [:]
    private var isClosed = false

    public init(
        options: Options = Options(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "port-forwarding")
    ) {
        self.logger = logger
        self.settings = ListenerSettings(
            group: group, connectTimeout: TimeAmount(options.connectTimeout),
            udpIdleTimeout: TimeAmount(options.udpIdleTimeout),
            maxUDPSessions: max(1, options.maxUDPSessionsPerRule), logger: logger)
    }

    deinit {
        for listener in listeners.values {
            listener.closeNow()
        }
    }

    // MARK: Rules

    /// Binds a listener for every rule, or for none: when one bind fails, those already bound by
    /// this call are closed before the error is thrown.
    ///
    /// A rule already active is left as it is; one that listens where an active rule does but
    /// sends elsewhere is a conflict.
    /// - Returns: the rules as bound, in the order given (port 0 replaced by the port bound).
    @discardableResult
    public func add(_ rules: [ForwardRule]) async throws(ForwardingError) -> [ForwardRule] {
        guard !isClosed else { throw .closed }
        var plan: [(index: Int, rule: ForwardRule)] = []
        var result = [ForwardRule?](repeating: nil, count: rules.count)
        var requested: [ListenKey: ForwardRule] = [:]
        for (index, rule) in rules.enumerated() {
            try Self.validate(rule)
            let key = rule.listenKey
            if let active = listeners[key]?.rule ?? reserved[key] {
                guard active == rule else { throw .conflict(key, existing: active, requested: rule) }
                result[index] = active
                continue
            }
            if rule.listenPort != 0, let earlier = requested[key] {
                guard earlier == rule else { throw .conflict(key, existing: earlier, requested: rule) }
                continue  // the same rule twice in one request
            }
            requested[key] = rule
            plan.append((index, rule))
        }

        for (key, rule) in requested where rule.listenPort != 0 {
            reserved[key] = rule
        }
        defer {
            for (key, rule) in requested where rule.listenPort != 0 {
                reserved.removeValue(forKey: key)
            }
        }

        var bound: [(index: Int, listener: any Listener)] = []
        for (index, rule) in plan {
            do {
                bound.append((index, try await Listeners.bind(rule, settings: settings)))
            } catch {
                for (_, listener) in bound {
                    await listener.close()
                }
                logger.notice("cannot forward", metadata: ["rule": "\(rule)", "error": "\(error)"])
                throw error
            }
        }
        // close() ran while this call was binding: it must not leave listeners behind.
        guard !isClosed else {
            for (_, listener) in bound {
                await listener.close()
            }
            throw .closed
        }
        for (index, listener) in bound {
            listeners[listener.rule.listenKey] = listener
            result[index] = listener.rule
            logger.info("forwarding", metadata: ["rule": "\(listener.rule)"])
        }
        // Fill in repeats of a rule within the request.
        for (index, rule) in rules.enumerated() where result[index] == nil {
            result[index] = listeners[rule.listenKey]?.rule ?? rule
        }
        return result.map { $0! }
    }

    /// Stops forwarding on these keys: closes their listeners and connections. The ports are free
    /// when this returns. Keys that are not active are ignored.
    /// - Returns: the rules removed.
    @discardableResult
    public func remove(_ keys: [ListenKey]) async -> [ForwardRule] {
        var removed: [ForwardRule] = []
        for key in keys {
            guard let listener = listeners.removeValue(forKey: key) else { continue }
            await listener.close()
            removed.append(listener.rule)
            logger.info("stopped forwarding", metadata: ["rule": "\(listener.rule)"])
        }
        return removed
    }

    /// Stops forwarding for these rules, matched by where they listen.
    @discardableResult
    public func remove(_ rules: [ForwardRule]) async -> [ForwardRule] {
        await remove(rules.map(\.listenKey))
    }

    /// Makes the active rules exactly `rules`: removes those no longer wanted (or wanted with
    /// another target) first, so their ports can be reused, then adds the new ones all or nothing.
    /// When adding fails, the removals stand and the error is thrown.
    @discardableResult
    public func update(to rules: [ForwardRule]) async throws(ForwardingError) -> Changes {
        let wanted = Set(rules)
        let stale = listeners.values.map(\.rule).filter { !wanted.contains($0) }
        let removed = await remove(stale.map(\.listenKey))
        let active = Set(listeners.values.map(\.rule))
        let new = rules.filter { !active.contains($0) }
        let added = try await add(new)
        return Changes(added: added, removed: removed)
    }

    /// Stops every rule; the forwarder takes new ones afterwards.
    public func removeAll() async {
        _ = await remove(Array(listeners.keys))
    }

    /// Stops every rule and refuses new ones.
    public func close() async {
        isClosed = true
        await removeAll()
    }

    // MARK: Views

    /// The active rules, as bound, sorted by listen key.
    public var rules: [ForwardRule] {
        listeners.keys.sorted().compactMap { listeners[$0]?.rule }
    }

    /// The health of each active rule, sorted by listen key.
    public func status() -> [ForwardStatus] {
        listeners.keys.sorted().compactMap { listeners[$0]?.status }
    }

    private static func validate(_ rule: ForwardRule) throws(ForwardingError) {
        guard HostAddress.family(of: rule.listenAddress) != nil else {
            throw .invalidRule(rule, reason: "\(rule.listenAddress) is not an IP address")
        }
        guard HostAddress.family(of: rule.targetHost) != nil else {
            throw .invalidRule(rule, reason: "\(rule.targetHost) is not an IP address")
        }
        guard (0...65535).contains(rule.listenPort) else {
            throw .invalidRule(rule, reason: "the host port \(rule.listenPort) is outside 1-65535")
        }
        guard PortSpec.validPorts.contains(rule.targetPort) else {
            throw .invalidRule(rule, reason: "the target port \(rule.targetPort) is outside 1-65535")
        }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
