import Logging
import NIOCore
import NIOPosix

/// Receives datagrams on the host port and relays each client's through a socket of its own
/// (a session) connected to the target, so replies find their way back to the right client.
/// Sessions idle for longer than the timeout are closed.
final class UDPListener: Listener {
    let rule: ForwardRule
    private let channel: any Channel
    private let counters: ListenerCounters

    private init(rule: ForwardRule, channel: any Channel, counters: ListenerCounters) {
        self.rule = rule
        self.channel = channel
        self.counters = counters
    }

    /// The largest UDP payload: a smaller receive buffer would cut datagrams short.
    static let maxDatagram = 65_536

    static func bind(
        rule: ForwardRule, listen: SocketAddress, target: SocketAddress, settings: ListenerSettings
    ) async throws -> UDPListener {
        let counters = ListenerCounters()
        let idleTimeout = settings.udpIdleTimeout
        let maxSessions = settings.maxUDPSessions
        let logger = settings.logger
        // No SO_REUSEADDR: on Linux it would let two UDP sockets bind one port, hiding a port in use.
        let channel = try await DatagramBootstrap(group: settings.group)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: maxDatagram))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UDPForwardHandler(
                        rule: rule, target: target, idleTimeout: idleTimeout, maxSessions: maxSessions,
                        counters: counters, logger: logger))
                }
            }
            .bind(to: listen)
            .get()
        var bound = rule
        bound.listenPort = channel.localAddress?.port ?? rule.listenPort
        return UDPListener(rule: bound, channel: channel, counters: counters)
    }

    var status: ForwardStatus {
        counters.status(rule: rule, isListening: channel.isActive)
    }

    /// The handler closes the sessions when the listener's channel goes inactive.
    func close() async {
        try? await channel.close()
    }

    func closeNow() {
        channel.close(promise: nil)
    }
}

/// One client's datagrams, relayed through a connected socket of its own.
private final class UDPSession {
    let client: SocketAddress
    var channel: (any Channel)?
    /// Datagrams that arrived while the session's socket was being set up.
    var pending: [ByteBuffer] = []
    var lastActive: NIODeadline

    init(client: SocketAddress, now: NIODeadline) {
        self.client = client
        self.lastActive = now
    }

    static let maxPending = 64
}

/// Lives on the listener's event loop, as do all its sessions' channels: no locks needed.
private final class UDPForwardHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let rule: ForwardRule
    private let target: SocketAddress
    private let idleTimeout: TimeAmount
    private let maxSessions: Int
    private let counters: ListenerCounters
    private let logger: Logger
    private var sessions: [SocketAddress: UDPSession] = [:]
    private var sweeper: Scheduled<Void>?
    private var context: ChannelHandlerContext?

    init(rule: ForwardRule, target: SocketAddress, idleTimeout: TimeAmount, maxSessions: Int,
         counters: ListenerCounters, logger: Logger) {
        self.rule = rule
        self.target = target
        self.idleTimeout = idleTimeout
        self.maxSessions = maxSessions
        self.counters = counters
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        scheduleSweep(on: context.eventLoop)
    }

    /// Looks for idle sessions a few times per timeout, so one lives at most 1.25 timeouts.
    private func scheduleSweep(on eventLoop: any EventLoop) {
        let interval = TimeAmount.nanoseconds(max(idleTimeout.nanoseconds / 4, 10_000_000))
        sweeper = eventLoop.assumeIsolated().scheduleTask(in: interval) { [weak self] in
            guard let self, self.context != nil else { return }
            self.closeIdleSessions()
            self.scheduleSweep(on: eventLoop)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        sweeper?.cancel()
        sweeper = nil
        for session in sessions.values {
            session.channel?.close(promise: nil)
        }
        sessions.removeAll()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let now = NIODeadline.now()
        let session: UDPSession
        if let existing = sessions[envelope.remoteAddress] {
            session = existing
        } else {
            guard sessions.count < maxSessions else {
                counters.failed("too many clients (\(maxSessions)); dropped a datagram from \(envelope.remoteAddress)")
                return
            }
            session = UDPSession(client: envelope.remoteAddress, now: now)
            sessions[envelope.remoteAddress] = session
            counters.opened()
            open(session, context: context)
        }
        session.lastActive = now
        if let channel = session.channel {
            // A datagram socket that cannot take more drops, as the network would.
            guard channel.isWritable else { return }
            channel.writeAndFlush(envelope.data, promise: nil)
        } else if session.pending.count < UDPSession.maxPending {
            session.pending.append(envelope.data)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A failed receive or send is not fatal to a datagram listener.
        logger.debug("udp listener error", metadata: ["rule": "\(rule)", "error": "\(error)"])
    }

    /// Sends a reply from the target back to the client, from the host port it wrote to.
    fileprivate func reply(_ data: ByteBuffer, to session: UDPSession) {
        session.lastActive = .now()
        guard let context, context.channel.isWritable else { return }
        context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: session.client, data: data)), promise: nil)
    }

    private func open(_ session: UDPSession, context: ChannelHandlerContext) {
        let target = target
        DatagramBootstrap(group: context.eventLoop)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: UDPListener.maxDatagram))
            .channelOption(.autoRead, value: false)
            .connect(to: target)
            .assumeIsolated()
            .whenComplete { [self] result in
                switch result {
                case .success(let channel):
                    attach(channel, to: session)
                case .failure(let error):
                    counters.failed("\(HostAddress.withPort(rule.targetHost, rule.targetPort)): \(error)")
                    end(session)
                }
            }
    }

    private func attach(_ channel: any Channel, to session: UDPSession) {
        // The listener closed, or the session was swept, while the socket was being set up.
        guard self.context != nil, sessions[session.client] === session else {
            channel.close(promise: nil)
            return
        }
        do {
            try channel.pipeline.syncOperations.addHandler(UDPReplyHandler(parent: self, session: session, counters: counters))
            try channel.syncOptions?.setOption(.autoRead, value: true)
        } catch {
            channel.close(promise: nil)
            end(session)
            return
        }
        session.channel = channel
        for datagram in session.pending {
            channel.write(datagram, promise: nil)
        }
        session.pending.removeAll()
        channel.flush()
        channel.closeFuture.assumeIsolated().whenComplete { [weak self] _ in
            self?.end(session)
        }
    }

    private func end(_ session: UDPSession) {
        guard sessions[session.client] === session else { return }
        sessions.removeValue(forKey: session.client)
        counters.closed()
    }

    private func closeIdleSessions() {
        let cutoff = NIODeadline.now() - idleTimeout
        // A session still setting up its socket is left alone: its first datagram waits in
        // `pending`, and a failed setup ends the session anyway.
        for session in sessions.values where session.lastActive < cutoff {
            session.channel?.close(promise: nil)  // its closeFuture ends the session
        }
    }
}

/// Hands what the target sends on a session's socket back to the listener.
private final class UDPReplyHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private weak var parent: UDPForwardHandler?
    private let session: UDPSession
    private let counters: ListenerCounters

    init(parent: UDPForwardHandler, session: UDPSession, counters: ListenerCounters) {
        self.parent = parent
        self.session = session
        self.counters = counters
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        parent?.reply(unwrapInboundIn(data).data, to: session)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ECONNREFUSED from an ICMP port-unreachable: nothing listens at the target (yet). Keep the
        // session; the client may retry, and the idle timeout ends it otherwise.
        counters.failed("\(error)")
    }
}
