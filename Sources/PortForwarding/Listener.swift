import Logging
import NIOCore
import NIOPosix

/// One bound rule: a TCP or UDP listener and what it opened.
protocol Listener: Sendable {
    /// The rule as bound.
    var rule: ForwardRule { get }
    var status: ForwardStatus { get }
    /// Closes the listener and every connection or session it opened; the port is free on return.
    func close() async
    /// The same, without waiting: for `deinit`.
    func closeNow()
}

/// What listeners need besides their rule.
struct ListenerSettings: Sendable {
    var group: any EventLoopGroup
    var connectTimeout: TimeAmount
    var udpIdleTimeout: TimeAmount
    var maxUDPSessions: Int
    var logger: Logger
}

enum Listeners {
    /// Binds the listener for `rule`, mapping a failed bind to an error the user can act on.
    static func bind(_ rule: ForwardRule, settings: ListenerSettings) async throws(ForwardingError) -> any Listener {
        let listen: SocketAddress
        let target: SocketAddress
        do {
            listen = try SocketAddress(ipAddress: rule.listenAddress, port: rule.listenPort)
            target = try SocketAddress(ipAddress: rule.targetHost, port: rule.targetPort)
        } catch {
            throw .invalidRule(rule, reason: "the addresses must be IP literals")
        }
        do {
            switch rule.proto {
            case .tcp:
                return try await TCPListener.bind(rule: rule, listen: listen, target: target, settings: settings)
            case .udp:
                return try await UDPListener.bind(rule: rule, listen: listen, target: target, settings: settings)
            }
        } catch {
            throw ForwardingError.bind(error, key: rule.listenKey)
        }
    }
}

/// Accepts TCP connections and joins each to a new connection to the target.
final class TCPListener: Listener {
    let rule: ForwardRule
    private let channel: any Channel
    private let connections: ChannelRegistry
    private let counters: ListenerCounters

    private init(rule: ForwardRule, channel: any Channel, connections: ChannelRegistry, counters: ListenerCounters) {
        self.rule = rule
        self.channel = channel
        self.connections = connections
        self.counters = counters
    }

    static func bind(
        rule: ForwardRule, listen: SocketAddress, target: SocketAddress, settings: ListenerSettings
    ) async throws -> TCPListener {
        let connections = ChannelRegistry()
        let counters = ListenerCounters()
        let connectTimeout = settings.connectTimeout
        let logger = settings.logger
        let channel = try await ServerBootstrap(group: settings.group)
            // A restarted forwarder can bind again at once, while old connections sit in TIME_WAIT;
            // a port another socket listens on still fails with EADDRINUSE.
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { inbound in
                // The accepted channel is registered, and so read, only once this future succeeds:
                // nothing arrives before both ends are joined.
                counters.opened()
                return ClientBootstrap(group: inbound.eventLoop)
                    .connectTimeout(connectTimeout)
                    .channelOption(.allowRemoteHalfClosure, value: true)
                    .channelOption(.socketOption(.tcp_nodelay), value: 1)
                    .channelOption(.autoRead, value: false)
                    .connect(to: target)
                    .flatMapThrowing { outbound in
                        try join(inbound, outbound, connections: connections)
                        inbound.closeFuture.whenComplete { _ in counters.closed() }
                    }
                    .flatMapErrorThrowing { error in
                        counters.closed()
                        counters.failed("\(HostAddress.withPort(rule.targetHost, rule.targetPort)): \(error)")
                        logger.debug("cannot reach the target", metadata: ["rule": "\(rule)", "error": "\(error)"])
                        // Reset rather than close, so the client sees the failure as a refusal.
                        _ = (inbound as? any SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
                        throw error
                    }
            }
            .bind(to: listen)
            .get()
        var bound = rule
        bound.listenPort = channel.localAddress?.port ?? rule.listenPort
        return TCPListener(rule: bound, channel: channel, connections: connections, counters: counters)
    }

    /// Runs on the inbound channel's event loop, which the outbound channel shares.
    private static func join(_ inbound: any Channel, _ outbound: any Channel, connections: ChannelRegistry) throws {
        let (inboundGlue, outboundGlue) = GlueHandler.matchedPair()
        do {
            try inbound.pipeline.syncOperations.addHandler(inboundGlue)
            try outbound.pipeline.syncOperations.addHandler(outboundGlue)
            try outbound.syncOptions?.setOption(.autoRead, value: true)
        } catch {
            outbound.close(promise: nil)
            throw error
        }
        guard connections.register(inbound, resetOnClose: true), connections.register(outbound) else {
            inbound.close(promise: nil)
            outbound.close(promise: nil)
            return
        }
    }

    var status: ForwardStatus {
        counters.status(rule: rule, isListening: channel.isActive)
    }

    func close() async {
        try? await channel.close()
        await connections.closeAll()
    }

    func closeNow() {
        channel.close(promise: nil)
        connections.closeAllNow()
    }
}
