import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Measures how fast a TCP path carries bytes: `push` sends a fixed number of bytes to a
/// `ThroughputSink` (directly, or through a forwarded port) and waits until the sink confirms it
/// received every one, so what is timed is delivery, not filling socket buffers.
///
/// Protocol: the client sends its bytes and shuts its output; the sink counts what it reads and,
/// at EOF, answers the count as 8 bytes (big-endian) and closes.
public enum Throughput {
    public struct Result: Sendable, Hashable, CustomStringConvertible {
        public let bytes: Int64
        public let seconds: Double
        public var bytesPerSecond: Double { seconds > 0 ? Double(bytes) / seconds : 0 }

        public var description: String {
            let mebibytes = bytesPerSecond / 1_048_576
            return "\(bytes) bytes in \((seconds * 1000).rounded() / 1000) s: \((mebibytes * 10).rounded() / 10) MiB/s"
        }
    }

    /// Sends `bytes` to the sink at `host:port` and returns the rate, timed from connection to
    /// the sink's acknowledgement. Fails after `timeout`, whatever was sent by then.
    public static func push(
        bytes: Int64, to host: String, port: Int, timeout: Duration = .seconds(60), chunkSize: Int = 64 * 1024,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws(ForwardingError) -> Result {
        let address: SocketAddress
        do {
            address = try SocketAddress(ipAddress: host, port: port)
        } catch {
            throw .connectFailed(host: host, port: port, detail: "not an IP address")
        }
        let eventLoop = group.next()
        let outcome = eventLoop.makePromise(of: Result.self)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(TimeAmount(timeout))
                .channelOption(.allowRemoteHalfClosure, value: true)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            PushHandler(total: bytes, chunkSize: chunkSize, outcome: outcome))
                    }
                }
                .connect(to: address)
                .get()
        } catch {
            outcome.fail(ForwardingError.connectFailed(host: host, port: port, detail: "\(error)"))
            throw .connectFailed(host: host, port: port, detail: "\(error)")
        }
        let deadline = eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            outcome.fail(ForwardingError.timedOut("pushing \(bytes) bytes to \(HostAddress.withPort(host, port))"))
            channel.close(promise: nil)
        }
        defer { deadline.cancel() }
        do {
            return try await outcome.futureResult.get()
        } catch let error as ForwardingError {
            throw error
        } catch {
            throw .connectFailed(host: host, port: port, detail: "\(error)")
        }
    }
}

/// Writes `total` bytes as fast as the connection takes them, then waits for the count.
private final class PushHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let total: Int64
    private var remaining: Int64
    private let chunk: ByteBuffer
    private let outcome: EventLoopPromise<Throughput.Result>
    private var start: NIODeadline = .now()
    private var answer = ByteBuffer()
    private var finishedSending = false
    private var done = false

    init(total: Int64, chunkSize: Int, outcome: EventLoopPromise<Throughput.Result>) {
        self.total = total
        self.remaining = total
        var chunk = ByteBuffer()
        chunk.writeBytes((0..<max(1, chunkSize)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        self.chunk = chunk
        self.outcome = outcome
    }

    func channelActive(context: ChannelHandlerContext) {
        start = .now()
        pump(context)
        context.fireChannelActive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { pump(context) }
        context.fireChannelWritabilityChanged()
    }

    private func pump(_ context: ChannelHandlerContext) {
        while remaining > 0, context.channel.isWritable {
            let count = Int(min(Int64(chunk.readableBytes), remaining))
            context.write(wrapOutboundOut(chunk.getSlice(at: chunk.readerIndex, length: count)!), promise: nil)
            remaining -= Int64(count)
        }
        context.flush()
        if remaining == 0, !finishedSending {
            finishedSending = true
            // NIO shuts the output once the writes before it are done.
            context.close(mode: .output, promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        answer.writeBuffer(&buffer)
        guard answer.readableBytes >= 8, let acknowledged = answer.readInteger(as: UInt64.self) else { return }
        let seconds = Double((NIODeadline.now() - start).nanoseconds) / 1e9
        if Int64(acknowledged) == total {
            finish(.success(Throughput.Result(bytes: total, seconds: seconds)))
        } else {
            finish(.failure(ForwardingError.incomplete(expected: total, acknowledged: Int64(acknowledged))))
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(ForwardingError.incomplete(expected: total, acknowledged: 0)))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(ForwardingError.connectFailed(
            host: "\(context.remoteAddress?.ipAddress ?? "?")", port: context.remoteAddress?.port ?? 0,
            detail: "\(error)")))
        context.close(promise: nil)
    }

    private func finish(_ result: Result<Throughput.Result, any Error>) {
        guard !done else { return }
        done = true
        outcome.completeWith(result)
    }
}

/// The receiving end of `Throughput.push`: discards what it reads and answers the count.
public final class ThroughputSink: Sendable {
    private let channel: any Channel

    /// The port the sink listens on.
    public var port: Int { channel.localAddress?.port ?? 0 }

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// Listens on `host:port`; port 0 takes any free port.
    public static func start(
        host: String = "127.0.0.1", port: Int = 0, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> ThroughputSink {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(CountingSinkHandler())
                }
            }
            .bind(to: try SocketAddress(ipAddress: host, port: port))
            .get()
        return ThroughputSink(channel: channel)
    }

    public func stop() async {
        try? await channel.close()
    }
}

private final class CountingSinkHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var received: UInt64 = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received += UInt64(unwrapInboundIn(data).readableBytes)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event {
            var answer = context.channel.allocator.buffer(capacity: 8)
            answer.writeInteger(received)
            context.writeAndFlush(wrapOutboundOut(answer)).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
