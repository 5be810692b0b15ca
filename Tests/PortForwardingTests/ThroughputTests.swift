import Foundation
import Testing

@testable import PortForwarding

@Suite("Throughput", .timeLimit(.minutes(2)))
struct ThroughputTests {
    @Test("pushes a fixed number of bytes to the sink, directly and through the forwarder")
    func push() async throws {
        let sink = try await ThroughputSink.start()
        let (forwarder, port) = try await forward(to: sink.port)
        let bytes: Int64 = 8 << 20

        let direct = try await Throughput.push(bytes: bytes, to: "127.0.0.1", port: sink.port, timeout: .seconds(30))
        let forwarded = try await Throughput.push(bytes: bytes, to: "127.0.0.1", port: port, timeout: .seconds(30))

        #expect(direct.bytes == bytes && forwarded.bytes == bytes)
        #expect(direct.seconds > 0 && forwarded.seconds > 0)
        await forwarder.close()
        await sink.stop()
    }

    @Test("fails within its timeout when nothing acknowledges")
    func timeout() async throws {
        // A server that never answers: the echo server waits for EOF it never gets a count from.
        let server = try await TCPServer { SilentHandler() }
        await #expect(throws: ForwardingError.self) {
            try await Throughput.push(bytes: 1024, to: "127.0.0.1", port: server.port, timeout: .milliseconds(300))
        }
        await server.stop()
    }

    /// A bounded measurement, run on demand: `BERTH_BENCHMARK=1 swift test --filter Throughput`.
    @Test("loopback throughput, direct and through the forwarder",
          .enabled(if: ProcessInfo.processInfo.environment["BERTH_BENCHMARK"] != nil))
    func measure() async throws {
        let sink = try await ThroughputSink.start()
        let (forwarder, port) = try await forward(to: sink.port)
        let bytes: Int64 = 256 << 20
        let runs = 5
        var direct: [Double] = []
        var forwarded: [Double] = []
        for _ in 0..<runs {
            direct.append(try await Throughput.push(bytes: bytes, to: "127.0.0.1", port: sink.port, timeout: .seconds(60)).bytesPerSecond)
            forwarded.append(try await Throughput.push(bytes: bytes, to: "127.0.0.1", port: port, timeout: .seconds(60)).bytesPerSecond)
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        func mib(_ value: Double) -> String { String(format: "%.0f MiB/s", value / 1_048_576) }
        print("throughput, \(runs) runs of \(bytes >> 20) MiB: direct median \(mib(median(direct))) \(direct.map(mib)); forwarded median \(mib(median(forwarded))) \(forwarded.map(mib))")
        await forwarder.close()
        await sink.stop()
    }
}

import NIOCore

private final class SilentHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}
