import Crypto
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
import TestSupport

@testable import PortForwarding

/// A forwarder from 127.0.0.1 (any free port) to `targetPort` on 127.0.0.1.
func forward(
    to targetPort: Int, proto: TransportProtocol = .tcp, options: Forwarder.Options = .init()
) async throws -> (Forwarder, port: Int) {
    let forwarder = Forwarder(options: options)
    let bound = try await forwarder.add([
        ForwardRule(proto: proto, listenPort: 0, targetHost: "127.0.0.1", targetPort: targetPort),
    ])
    return (forwarder, bound[0].listenPort)
}

@Suite("Forwarder over TCP", .timeLimit(.minutes(2)))
struct ForwarderTCPTests {
    @Test("carries a request and its reply")
    func roundTrip() async throws {
        let server = try await TCPServer.echo()
        let (forwarder, port) = try await forward(to: server.port)
        let message = Array("hello through the forwarder".utf8)

        let reply = try await within(10) { try await exchange(port, sending: message) }

        #expect(reply == message)
        await forwarder.close()
        await server.stop()
    }

    @Test("delivers 64 MiB intact (checksum) and the server's reply after the client's EOF")
    func bulkTransfer() async throws {
        let size = 64 << 20
        let server = try await TCPServer.hashing()
        let (forwarder, port) = try await forward(to: server.port)

        let (expected, answer) = try await within(90, "64 MiB through the forwarder") {
            try await connect(port).executeThenClose { inbound, outbound in
                var generator = ByteGenerator(seed: 64)
                var hash = SHA256()
                var sent = 0
                while sent < size {
                    let chunk = generator.next(min(1 << 20, size - sent))
                    hash.update(data: chunk)
                    try await outbound.write(ByteBuffer(bytes: chunk))
                    sent += chunk.count
                }
                outbound.finish()
                var answer = ""
                for try await buffer in inbound {
                    answer += String(buffer: buffer)
                }
                return ("\(hex(hash.finalize())) \(size)\n", answer)
            }
        }

        #expect(answer == expected)
        await forwarder.close()
        await server.stop()
    }

    @Test("a half-closed client still gets a large reply, then EOF")
    func halfCloseFromClient() async throws {
        let size = 4 << 20
        let server = try await TCPServer.replyingAfterEOF(size: size, seed: 7)
        let (forwarder, port) = try await forward(to: server.port)

        let reply = try await within(30) { try await exchange(port, sending: Array("request".utf8)) }

        var generator = ByteGenerator(seed: 7)
        #expect(reply.count == size)
        #expect(reply == generator.next(size))
        await forwarder.close()
        await server.stop()
    }

    @Test("a server's half-close reaches the client, which can still send")
    func halfCloseFromServer() async throws {
        let received = NIOLockedValueBox(0)
        let sawEOF = NIOLockedValueBox(false)
        let failed = NIOLockedValueBox(false)
        let server = try await TCPServer { GreetThenCountHandler(received: received, sawEOF: sawEOF, failed: failed) }
        let (forwarder, port) = try await forward(to: server.port)

        let greeting = try await within(10) {
            try await connect(port).executeThenClose { inbound, outbound in
                var greeting = ""
                // The loop ends at the server's EOF, which the forwarder passed on.
                for try await buffer in inbound {
                    greeting += String(buffer: buffer)
                }
                // This direction is still open.
                try await outbound.write(ByteBuffer(bytes: [UInt8](repeating: 1, count: 100_000)))
                outbound.finish()
                return greeting
            }
        }

        #expect(greeting == "hello")
        #expect(await eventually { sawEOF.withLockedValue { $0 } })
        #expect(received.withLockedValue { $0 } == 100_000)
        #expect(!failed.withLockedValue { $0 })
        await forwarder.close()
        await server.stop()
    }

    @Test("serves many connections at once")
    func concurrentConnections() async throws {
        let server = try await TCPServer.echo()
        let (forwarder, port) = try await forward(to: server.port)
        let count = 100

        let matches = try await within(60) {
            try await withThrowingTaskGroup(of: Bool.self) { tasks in
                for index in 0..<count {
                    tasks.addTask {
                        var generator = ByteGenerator(seed: UInt64(index + 1))
                        let message = generator.next(32 * 1024)
                        return try await exchange(port, sending: message) == message
                    }
                }
                var matches = 0
                for try await matched in tasks where matched {
                    matches += 1
                }
                return matches
            }
        }

        #expect(matches == count)
        #expect(await eventually {
            let status = await forwarder.status()
            return status.first?.totalConnections == count && status.first?.openConnections == 0
        })
        await forwarder.close()
        await server.stop()
    }

    @Test("a target that refuses shows as a failure in the status, and the client is cut off")
    func targetRefuses() async throws {
        let refusing = try LoopbackPort()
        defer { refusing.close() }
        let closedPort = refusing.port
        let (forwarder, port) = try await forward(to: closedPort)

        let reply = try await within(10) { try? await exchange(port, sending: Array("x".utf8)) }

        #expect(reply == nil || reply == [])
        let status = try #require(await forwarder.status().first)
        #expect(status.isListening)
        #expect(status.failures == 1)
        #expect(status.openConnections == 0)
        #expect(status.lastFailure?.contains("127.0.0.1:\(closedPort)") == true)
        await forwarder.close()
    }
}
