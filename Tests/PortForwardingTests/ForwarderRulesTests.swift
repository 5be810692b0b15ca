import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import PortForwarding

@Suite("Forwarder rules", .timeLimit(.minutes(1)))
struct ForwarderRulesTests {
    @Test("a port in use fails the whole batch with a specific error and leaves nothing bound")
    func portInUse() async throws {
        let occupier = try await TCPServer.echo()
        let first = try freePort()
        let forwarder = Forwarder()
        let rules = [
            ForwardRule(listenPort: first, targetHost: "127.0.0.1", targetPort: occupier.port),
            ForwardRule(listenPort: occupier.port, targetHost: "127.0.0.1", targetPort: 9),
        ]

        await #expect(throws: ForwardingError.portInUse(ListenKey(address: "127.0.0.1", port: occupier.port, proto: .tcp))) {
            try await forwarder.add(rules)
        }

        #expect(await forwarder.rules.isEmpty)
        #expect(await canBind(first), "the rule bound before the failure must be closed")
        await forwarder.close()
        await occupier.stop()
    }

    @Test("a UDP port in use is found too")
    func udpPortInUse() async throws {
        let occupier = try await UDPEchoServer()
        let forwarder = Forwarder()

        await #expect(throws: ForwardingError.portInUse(ListenKey(address: "127.0.0.1", port: occupier.port, proto: .udp))) {
            try await forwarder.add([ForwardRule(proto: .udp, listenPort: occupier.port, targetHost: "127.0.0.1", targetPort: 9)])
        }
        await forwarder.close()
        await occupier.stop()
    }

    @Test("an address that is not this host's is named as such")
    func addressNotAvailable() async throws {
        let forwarder = Forwarder()
        // 192.0.2.0/24 is reserved for documentation: no host has it.
        let rule = ForwardRule(listenAddress: "192.0.2.1", listenPort: 0, targetHost: "127.0.0.1", targetPort: 9)
        await #expect(throws: ForwardingError.addressNotAvailable(rule.listenKey)) {
            try await forwarder.add([rule])
        }
        await forwarder.close()
    }

    @Test("removing a rule frees the host port at once and closes its connections")
    func removeFreesPort() async throws {
        let server = try await TCPServer.echo()
        let port = try freePort()
        let forwarder = Forwarder()
        let rule = ForwardRule(listenPort: port, targetHost: "127.0.0.1", targetPort: server.port)
        try await forwarder.add([rule])
        #expect(await !canBind(port))

        let client = try await connect(port)
        // A byte through proves the connection is joined before the rule goes.
        let echoed = try await within(10) {
            try await client.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: "x"))
                var iterator = inbound.makeAsyncIterator()
                let first = try await iterator.next()
                let removed = await forwarder.remove([rule.listenKey])
                #expect(removed == [rule])
                // The forwarder reset this connection (so no TIME_WAIT holds the port): the stream ends.
                do {
                    while try await iterator.next() != nil {}
                } catch let error as IOError {
                    #expect(error.errnoCode == ECONNRESET)
                }
                return first.map { String(buffer: $0) }
            }
        }

        #expect(echoed == "x")
        #expect(await canBind(port))
        #expect(await forwarder.rules.isEmpty)
        await forwarder.close()
        await server.stop()
    }

    @Test("an active rule may be added again; another target on the same key is a conflict")
    func conflicts() async throws {
        let forwarder = Forwarder()
        let port = try freePort()
        let rule = ForwardRule(listenPort: port, targetHost: "127.0.0.1", targetPort: 9)
        try await forwarder.add([rule])
        #expect(try await forwarder.add([rule]) == [rule])

        var other = rule
        other.targetPort = 10
        await #expect(throws: ForwardingError.conflict(rule.listenKey, existing: rule, requested: other)) {
            try await forwarder.add([other])
        }
        let freshPort = try freePort()
        let fresh = ForwardRule(listenPort: freshPort, targetHost: "127.0.0.1", targetPort: 9)
        var freshOther = fresh
        freshOther.targetPort = 10
        await #expect(throws: ForwardingError.conflict(fresh.listenKey, existing: fresh, requested: freshOther)) {
            try await forwarder.add([fresh, freshOther])
        }
        #expect(await forwarder.rules == [rule])
        await forwarder.close()
    }

    @Test("rules that are not IP literals are refused before anything binds")
    func invalidRules() async throws {
        let forwarder = Forwarder()
        await #expect(throws: ForwardingError.self) {
            try await forwarder.add([ForwardRule(listenPort: 0, targetHost: "guest.local", targetPort: 80)])
        }
        await #expect(throws: ForwardingError.self) {
            try await forwarder.add([ForwardRule(listenPort: 0, targetHost: "127.0.0.1", targetPort: 0)])
        }
        #expect(await forwarder.rules.isEmpty)
        await forwarder.close()
    }

    @Test("update makes the active rules exactly those given")
    func update() async throws {
        let forwarder = Forwarder()
        let (a, b, c) = (try freePort(), try freePort(), try freePort())
        let ruleA = ForwardRule(listenPort: a, targetHost: "127.0.0.1", targetPort: 1001)
        let ruleB = ForwardRule(listenPort: b, targetHost: "127.0.0.1", targetPort: 1002)
        let ruleC = ForwardRule(proto: .udp, listenPort: c, targetHost: "127.0.0.1", targetPort: 1003)
        try await forwarder.update(to: [ruleA, ruleB])

        var movedB = ruleB
        movedB.targetPort = 2002
        let changes = try await forwarder.update(to: [movedB, ruleC])

        #expect(Set(changes.removed) == [ruleA, ruleB])
        #expect(Set(changes.added) == [movedB, ruleC])
        #expect(Set(await forwarder.rules) == [movedB, ruleC])
        #expect(await canBind(a))
        let status = await forwarder.status()
        #expect(status.count == 2 && status.allSatisfy(\.isListening))
        await forwarder.close()
    }

    @Test("close frees every port and refuses new rules")
    func close() async throws {
        let forwarder = Forwarder()
        let port = try freePort()
        try await forwarder.add([
            ForwardRule(listenPort: port, targetHost: "127.0.0.1", targetPort: 9),
            ForwardRule(proto: .udp, listenPort: port, targetHost: "127.0.0.1", targetPort: 9),
        ])
        await forwarder.close()

        #expect(await canBind(port, .tcp))
        #expect(await canBind(port, .udp))
        await #expect(throws: ForwardingError.closed) {
            try await forwarder.add([ForwardRule(listenPort: 0, targetHost: "127.0.0.1", targetPort: 9)])
        }
    }

    @Test("a forwarder can bind again while the old listener's connection sits in TIME_WAIT")
    func rebindAfterRestart() async throws {
        // The server shuts its side first, so the forwarder's end of the client connection closes
        // first too, and waits in TIME_WAIT on the host port.
        let received = NIOLockedValueBox(0)
        let sawEOF = NIOLockedValueBox(false)
        let failed = NIOLockedValueBox(false)
        let server = try await TCPServer { GreetThenCountHandler(received: received, sawEOF: sawEOF, failed: failed) }
        let port = try freePort()
        let rule = ForwardRule(listenPort: port, targetHost: "127.0.0.1", targetPort: server.port)
        let first = Forwarder()
        try await first.add([rule])
        #expect(try await within(10) { try await greeting(port) } == "hello")
        #expect(await eventually { sawEOF.withLockedValue { $0 } })
        await first.close()

        // A listener without SO_REUSEADDR cannot have the port yet; the forwarder can.
        #expect(await !canBind(port))
        let second = Forwarder()
        try await second.add([rule])
        #expect(try await within(10) { try await greeting(port) } == "hello")
        await second.close()
        await server.stop()
    }
}

/// Reads the server's greeting to its EOF, then sends a byte and half-closes.
private func greeting(_ port: Int) async throws -> String {
    try await connect(port).executeThenClose { inbound, outbound in
        var text = ""
        for try await buffer in inbound {
            text += String(buffer: buffer)
        }
        try await outbound.write(ByteBuffer(string: "y"))
        outbound.finish()
        return text
    }
}
