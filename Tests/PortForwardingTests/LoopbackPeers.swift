import Crypto
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
import TestSupport

@testable import PortForwarding

// Real peers on 127.0.0.1 for the forwarder to carry traffic between. Every loop is bounded by
// a byte count, and every wait by a deadline.

let group = MultiThreadedEventLoopGroup.singleton

struct TimedOut: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out: \(what)" }
}

/// Runs `body`, failing if it takes longer than `seconds`.
func within<T: Sendable>(
    _ seconds: Double, _ what: String = "the test", _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { tasks in
        tasks.addTask { try await body() }
        tasks.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        defer { tasks.cancelAll() }
        guard let first = try await tasks.next(), let value = first else { throw TimedOut(what: what) }
        return value
    }
}

/// Polls `condition` every 20 ms until it holds or `seconds` pass.
func eventually(_ seconds: Double = 5, _ condition: @Sendable () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}

/// A port nothing listens on right now (bound, read and released).
func freePort(_ proto: TransportProtocol = .tcp) throws -> Int {
    try freeLoopbackPort(udp: proto == .udp)
}

/// Whether a TCP listener can bind `port` on 127.0.0.1 now.
func canBind(_ port: Int, _ proto: TransportProtocol = .tcp) async -> Bool {
    do {
        let channel: any Channel
        switch proto {
        case .tcp:
            channel = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: port).get()
        case .udp:
            channel = try await DatagramBootstrap(group: group).bind(host: "127.0.0.1", port: port).get()
        }
        try await channel.close()
        return true
    } catch {
        return false
    }
}

// MARK: - Deterministic data

/// xorshift64*: the same bytes on both ends without holding 64 MiB in memory.
struct ByteGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed | 1 }

    mutating func next(_ count: Int) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(count + 8)
        while bytes.count < count {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            let word = state &* 2_685_821_657_736_338_717
            withUnsafeBytes(of: word.littleEndian) { bytes.append(contentsOf: $0) }
        }
        return Array(bytes.prefix(count))
    }
}

func hex(_ digest: SHA256.Digest) -> String {
    digest.map { String(format: "%02x", $0) }.joined()
}

// MARK: - TCP servers

/// A TCP server on 127.0.0.1 running one handler per connection.
final class TCPServer: Sendable {
    let channel: any Channel
    var port: Int { channel.localAddress?.port ?? 0 }

    init(_ makeHandler: @escaping @Sendable () -> any ChannelHandler & Sendable) async throws {
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 512)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(makeHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
    }

    func stop() async {
        try? await channel.close()
    }

    /// Echoes what it reads; at EOF, sends EOF back once everything is echoed.
    static func echo() async throws -> TCPServer {
        try await TCPServer { EchoHandler() }
    }

    /// Reads until EOF, then answers `<sha256 hex> <byte count>\n` and closes: a response that can
    /// only arrive if the client's half-close went through.
    static func hashing() async throws -> TCPServer {
        try await TCPServer { HashingHandler() }
    }

    /// Reads until EOF, then sends `size` bytes of `ByteGenerator(seed:)` and closes.
    static func replyingAfterEOF(size: Int, seed: UInt64) async throws -> TCPServer {
        try await TCPServer { ReplyAfterEOFHandler(size: size, seed: seed) }
    }
}

private final class EchoHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer())).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

private final class HashingHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var hash = SHA256()
    private var count = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        buffer.withUnsafeReadableBytes { hash.update(bufferPointer: $0) }
        count += buffer.readableBytes
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event {
            let answer = "\(hex(hash.finalize())) \(count)\n"
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: answer))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

private final class ReplyAfterEOFHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let size: Int
    let seed: UInt64

    init(size: Int, seed: UInt64) {
        self.size = size
        self.seed = seed
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event {
            var generator = ByteGenerator(seed: seed)
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: generator.next(size)))).assumeIsolated()
                .whenComplete { _ in context.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Sends "hello" and shuts its output at once, then counts what the client sends until EOF
/// (`sawEOF`), noting a reset or other error (`failed`).
final class GreetThenCountHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let received: NIOLockedValueBox<Int>
    let sawEOF: NIOLockedValueBox<Bool>
    let failed: NIOLockedValueBox<Bool>

    init(received: NIOLockedValueBox<Int>, sawEOF: NIOLockedValueBox<Bool>, failed: NIOLockedValueBox<Bool>) {
        self.received = received
        self.sawEOF = sawEOF
        self.failed = failed
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "hello")), promise: nil)
        context.close(mode: .output, promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let count = unwrapInboundIn(data).readableBytes
        received.withLockedValue { $0 += count }
    }

    // With its output already shut, NIO turns the client's EOF into a full close of this channel
    // rather than an inputClosed event.
    func channelInactive(context: ChannelHandlerContext) {
        sawEOF.withLockedValue { $0 = true }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failed.withLockedValue { $0 = true }
        context.close(promise: nil)
    }
}

// MARK: - TCP client

typealias TCPClient = NIOAsyncChannel<ByteBuffer, ByteBuffer>

/// Connects to 127.0.0.1:`port` with half-close enabled both ways.
func connect(_ port: Int, host: String = "127.0.0.1") async throws -> TCPClient {
    try await ClientBootstrap(group: group)
        .channelOption(.allowRemoteHalfClosure, value: true)
        .connect(host: host, port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try TCPClient(
                    wrappingChannelSynchronously: channel,
                    configuration: .init(isOutboundHalfClosureEnabled: true))
            }
        }
}

/// Sends `bytes`, half-closes, and returns everything received until the server's EOF.
func exchange(_ port: Int, sending bytes: [UInt8]) async throws -> [UInt8] {
    try await connect(port).executeThenClose { inbound, outbound in
        try await withThrowingTaskGroup(of: [UInt8].self) { tasks in
            tasks.addTask {
                var received = [UInt8]()
                for try await buffer in inbound {
                    received.append(contentsOf: buffer.readableBytesView)
                }
                return received
            }
            var offset = 0
            while offset < bytes.count {
                let end = min(offset + 64 * 1024, bytes.count)
                try await outbound.write(ByteBuffer(bytes: bytes[offset..<end]))
                offset = end
            }
            outbound.finish()
            return try await tasks.next() ?? []
        }
    }
}

// MARK: - UDP peers

/// A UDP server on 127.0.0.1 that sends every datagram back to where it came from.
final class UDPEchoServer: Sendable {
    let channel: any Channel
    var port: Int { channel.localAddress?.port ?? 0 }

    init() async throws {
        channel = try await DatagramBootstrap(group: group)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_536))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UDPEchoHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
    }

    func stop() async {
        try? await channel.close()
    }
}

private final class UDPEchoHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(data, promise: nil)
    }
}

typealias UDPClient = NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>

func udpClient() async throws -> UDPClient {
    try await DatagramBootstrap(group: group)
        .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_536))
        .bind(host: "127.0.0.1", port: 0) { channel in
            channel.eventLoop.makeCompletedFuture { try UDPClient(wrappingChannelSynchronously: channel) }
        }
}
