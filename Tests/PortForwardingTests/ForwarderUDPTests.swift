import NIOCore
import NIOPosix
import Testing

@testable import PortForwarding

/// A UDP client on 127.0.0.1 that sends a datagram and waits for its reply.
final class UDPExchanger {
    private var inbound: NIOAsyncChannelInboundStream<AddressedEnvelope<ByteBuffer>>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<AddressedEnvelope<ByteBuffer>>

    init(_ inbound: NIOAsyncChannelInboundStream<AddressedEnvelope<ByteBuffer>>,
         _ outbound: NIOAsyncChannelOutboundWriter<AddressedEnvelope<ByteBuffer>>) {
        self.inbound = inbound.makeAsyncIterator()
        self.outbound = outbound
    }

    /// Sends each payload to 127.0.0.1:`port` and waits for one reply per payload.
    func exchange(port: Int, _ payloads: [[UInt8]]) async throws -> [[UInt8]] {
        let destination = try SocketAddress(ipAddress: "127.0.0.1", port: port)
        var replies: [[UInt8]] = []
        for payload in payloads {
            try await outbound.write(AddressedEnvelope(remoteAddress: destination, data: ByteBuffer(bytes: payload)))
            guard let reply = try await inbound.next() else { break }
            #expect(reply.remoteAddress.port == port, "replies come from the forwarded port")
            replies.append(Array(reply.data.readableBytesView))
        }
        return replies
    }
}

/// Runs `body` with a UDP client whose socket is closed after `seconds` at the latest, which ends
/// any wait for a reply that will not come.
func withUDPClient<T>(seconds: Int64 = 10, _ body: (UDPExchanger) async throws -> T) async throws -> T {
    let client = try await udpClient()
    let channel = client.channel
    let deadline = channel.eventLoop.scheduleTask(in: .seconds(seconds)) { channel.close(promise: nil) }
    defer { deadline.cancel() }
    return try await client.executeThenClose { inbound, outbound in
        try await body(UDPExchanger(inbound, outbound))
    }
}

@Suite("Forwarder over UDP", .timeLimit(.minutes(1)))
struct ForwarderUDPTests {
    @Test("relays requests and replies, one session per client")
    func requestResponse() async throws {
        let server = try await UDPEchoServer()
        let (forwarder, port) = try await forward(to: server.port, proto: .udp)
        let small = [Array("ping".utf8), Array("pong".utf8)]
        var generator = ByteGenerator(seed: 9)
        let large = [generator.next(60_000)]

        try await withUDPClient { (first: UDPExchanger) async throws -> Void in
            try await withUDPClient { (second: UDPExchanger) async throws -> Void in
                #expect(try await first.exchange(port: port, small) == small)
                // A datagram near the largest UDP payload arrives whole.
                #expect(try await second.exchange(port: port, large) == large)

                let status = try #require(await forwarder.status().first)
                #expect(status.rule.proto == .udp)
                #expect(status.openConnections == 2)
                #expect(status.totalConnections == 2)
            }
        }
        await forwarder.close()
        await server.stop()
    }

    @Test("closes a session after the idle timeout")
    func idleTimeout() async throws {
        let server = try await UDPEchoServer()
        let (forwarder, port) = try await forward(
            to: server.port, proto: .udp, options: .init(udpIdleTimeout: .seconds(4)))
        try await withUDPClient { (client: UDPExchanger) async throws -> Void in
            #expect(try await client.exchange(port: port, [[1]]) == [[1]])
            #expect(await forwarder.status().first?.openConnections == 1)
            #expect(await eventually(20) { await forwarder.status().first?.openConnections == 0 })
            // The client can start again: a new session.
            #expect(try await client.exchange(port: port, [[2]]) == [[2]])
            #expect(await forwarder.status().first?.totalConnections == 2)
        }
        await forwarder.close()
        await server.stop()
    }
}
