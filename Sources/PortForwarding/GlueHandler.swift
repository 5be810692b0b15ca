import NIOCore

/// Joins two TCP channels on one event loop: what one reads, the other writes.
///
/// Backpressure both ways: a side reads only while its partner is writable, so a slow reader on
/// one end slows the sender on the other instead of filling memory. Half-close: an EOF from one
/// peer becomes a shutdown of the partner's output once everything before it is written, so a
/// request/response over a half-closed connection works through the proxy.
final class GlueHandler {
    private var partner: GlueHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    /// How long a side may take to deliver what it holds after its partner has gone.
    private let drainTimeout: TimeAmount

    private init(drainTimeout: TimeAmount) {
        self.drainTimeout = drainTimeout
    }

    static func matchedPair(drainTimeout: TimeAmount = .seconds(30)) -> (GlueHandler, GlueHandler) {
        let first = GlueHandler(drainTimeout: drainTimeout)
        let second = GlueHandler(drainTimeout: drainTimeout)
        first.partner = second
        second.partner = first
        return (first, second)
    }

    // MARK: Called by the partner, on the same event loop

    private func partnerWrite(_ buffer: ByteBuffer) {
        guard let context else { return }
        context.write(wrapOutboundOut(buffer), promise: nil)
    }

    private func partnerFlush() {
        context?.flush()
    }

    /// The partner's peer sent EOF: send ours once what came before it is written.
    /// (`close(mode: .output)` alone would drop pending writes when our input is already closed,
    /// because NIO then escalates to a full close.)
    private func partnerReachedEOF() {
        afterPendingWrites { context, written in
            context.close(mode: written ? .output : .all, promise: nil)
        }
    }

    /// The partner's channel closed: deliver what we hold, then close.
    private func partnerClosed() {
        guard let context else { return }
        let drainTimeout = drainTimeout
        let deadline = context.eventLoop.assumeIsolated().scheduleTask(in: drainTimeout) {
            context.close(promise: nil)
        }
        afterPendingWrites { context, _ in
            deadline.cancel()
            context.close(promise: nil)
        }
    }

    private func partnerBecameWritable() {
        if pendingRead {
            pendingRead = false
            context?.read()
        }
    }

    private var partnerWritable: Bool {
        context?.channel.isWritable ?? false
    }

    /// Runs `body` once every write queued so far has gone to the socket (or failed). Writes
    /// complete in order, so an empty write marks the point.
    private func afterPendingWrites(_ body: @escaping (ChannelHandlerContext, _ written: Bool) -> Void) {
        guard let context else { return }
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(ByteBuffer()), promise: promise)
        promise.futureResult.assumeIsolated().whenComplete { result in
            if case .success = result { body(context, true) } else { body(context, false) }
        }
    }
}

extension GlueHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner?.partnerWrite(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.partnerFlush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.partnerClosed()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event {
            partner?.partnerReachedEOF()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset or a failed write: this side is done; channelInactive tells the partner.
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            partner?.partnerBecameWritable()
        }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if let partner, partner.partnerWritable {
            context.read()
        } else {
            pendingRead = true
        }
    }
}
