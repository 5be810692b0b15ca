import Download
import Foundation
import PortForwarding
import Testing
import TestSupport

@testable import MachineCore

@Suite("Docker events and published ports")
struct DockerEventsTests {
    // MARK: Decoding events

    @Test("decodes the event shapes engines send", arguments: [
        (DockerFixtures.startEvent, "container", "start", DockerFixtures.webID, String?("web"), ContainerChange?.some(.started(id: DockerFixtures.webID))),
        (DockerFixtures.dieEvent, "container", "die", DockerFixtures.webID, "web", .stopped(id: DockerFixtures.webID)),
        (DockerFixtures.destroyEvent, "container", "destroy", DockerFixtures.webID, "café", .stopped(id: DockerFixtures.webID)),
        (DockerFixtures.execEvent, "container", "exec_start: sh -c echo hi", DockerFixtures.webID, "web", nil),
        (DockerFixtures.networkEvent, "network", "connect", "b1f2e3d4c5b6a7980123456789abcdef0123456789abcdef0123456789abcdef", "bridge", nil),
        (DockerFixtures.legacyEvent, "container", "die", DockerFixtures.dnsID, nil, .stopped(id: DockerFixtures.dnsID)),
    ])
    func decode(json: String, type: String, action: String, actor: String, name: String?, change: ContainerChange?) throws {
        let event = try JSONDecoder().decode(DockerEvent.self, from: Data(json.utf8))
        #expect(event.type == type)
        #expect(event.action == action)
        #expect(event.actorID == actor)
        #expect(event.attributes["name"] == name)
        #expect(event.containerChange == change)
    }

    @Test("keeps times and the image, from the new fields or the legacy ones")
    func details() throws {
        let start = try JSONDecoder().decode(DockerEvent.self, from: Data(DockerFixtures.startEvent.utf8))
        #expect(start.time == 1_732_886_400)
        #expect(start.timeNano == 1_732_886_400_123_456_789)
        #expect(start.scope == "local")
        #expect(start.attributes["image"] == "nginx:alpine")
        let legacy = try JSONDecoder().decode(DockerEvent.self, from: Data(DockerFixtures.legacyEvent.utf8))
        #expect(legacy.attributes["image"] == "busybox")
        #expect(legacy.timeNano == nil)
    }

    @Test("only start, die, stop and destroy change published ports")
    func changes() {
        func change(_ action: String, type: String = "container") -> ContainerChange? {
            DockerEvent(type: type, action: action, actorID: "c1").containerChange
        }
        #expect(change("start") == .started(id: "c1"))
        #expect(change("die") == .stopped(id: "c1"))
        #expect(change("stop") == .stopped(id: "c1"))
        #expect(change("destroy") == .stopped(id: "c1"))
        for action in ["create", "kill", "pause", "unpause", "restart", "rename", "health_status: healthy", "attach"] {
            #expect(change(action) == nil, "\(action)")
        }
        #expect(change("start", type: "network") == nil)
        #expect(DockerEvent(type: "container", action: "start", actorID: "").containerChange == nil)
    }

    // MARK: Newline-delimited JSON across chunks

    @Test("splits lines wherever the chunks break, even inside a UTF-8 character")
    func splitAnywhere() throws {
        let stream = Array((DockerFixtures.startEvent + "\n" + DockerFixtures.destroyEvent + "\n").utf8)
        let expected = [Array(DockerFixtures.startEvent.utf8), Array(DockerFixtures.destroyEvent.utf8)]
        for cut in 0...stream.count {
            var splitter = JSONLineSplitter()
            var lines = try splitter.append(stream[..<cut])
            lines += try splitter.append(stream[cut...])
            #expect(lines == expected, "cut at \(cut)")
            #expect(splitter.finish() == nil)
        }
        // One byte at a time.
        var splitter = JSONLineSplitter()
        var lines: [[UInt8]] = []
        for byte in stream {
            lines += try splitter.append([byte])
        }
        #expect(lines == expected)
    }

    @Test("skips blank lines, drops CR and a json-seq record separator, keeps a last line without a newline")
    func lineEdges() throws {
        var splitter = JSONLineSplitter()
        let lines = try splitter.append(Array("\n{\"a\":1}\r\n  \n\r\n\u{1E}{\"b\":2}\n{\"c\"".utf8))
        #expect(lines.map { String(decoding: $0, as: UTF8.self) } == [#"{"a":1}"#, #"{"b":2}"#])
        #expect(try splitter.append(Array(":3}".utf8)).isEmpty)
        #expect(splitter.finish().map { String(decoding: $0, as: UTF8.self) } == #"{"c":3}"#)
    }

    @Test("refuses a line longer than the limit")
    func lineTooLong() {
        var splitter = JSONLineSplitter(maxLineLength: 16)
        #expect(throws: JSONLineSplitter.LineTooLong.self) {
            _ = try splitter.append([UInt8](repeating: UInt8(ascii: "x"), count: 17))
        }
    }

    // MARK: Published ports

    @Test("reads published ports from the container list")
    func containerList() throws {
        let containers = try ContainerPorts.decodeList(Data(DockerFixtures.containerList.utf8))
        #expect(containers == [
            ContainerPorts(id: DockerFixtures.webID, name: "web", ports: [
                PublishedPort(containerPort: 80, proto: "tcp", hostIP: "0.0.0.0", hostPort: 8080),
                PublishedPort(containerPort: 80, proto: "tcp", hostIP: "::", hostPort: 8080),
            ]),
            ContainerPorts(id: DockerFixtures.dnsID, name: "dns", ports: [
                PublishedPort(containerPort: 53, proto: "udp", hostIP: "127.0.0.1", hostPort: 5353),
            ]),
        ])
    }

    @Test("reads published ports from an inspection, skipping exposed-only ports")
    func inspection() throws {
        let web = try ContainerPorts.decodeInspection(Data(DockerFixtures.inspection.utf8))
        #expect(web == ContainerPorts(id: DockerFixtures.webID, name: "web", isRunning: true, ports: [
            PublishedPort(containerPort: 80, proto: "tcp", hostIP: "0.0.0.0", hostPort: 8080),
            PublishedPort(containerPort: 80, proto: "tcp", hostIP: "::", hostPort: 8080),
            PublishedPort(containerPort: 53, proto: "udp", hostIP: "127.0.0.1", hostPort: 18053),
        ]))
        let stopped = try ContainerPorts.decodeInspection(Data(DockerFixtures.stoppedInspection.utf8))
        #expect(!stopped.isRunning)
        #expect(stopped.ports.isEmpty)
    }

    // MARK: Mapping to forwards

    static let guest = "192.168.122.10"

    static func rule(_ port: Int, _ proto: TransportProtocol = .tcp, on address: String = "127.0.0.1") -> ForwardRule {
        ForwardRule(proto: proto, listenAddress: address, listenPort: port, targetHost: guest, targetPort: port)
    }

    @Test("maps published ports to forwards", arguments: [
        // 0.0.0.0 and :: are the machine's every address: forwarded on 127.0.0.1, once.
        ([PublishedPort(containerPort: 80, hostIP: "0.0.0.0", hostPort: 8080),
          PublishedPort(containerPort: 80, hostIP: "::", hostPort: 8080)], [rule(8080)], []),
        ([PublishedPort(containerPort: 80, hostIP: "", hostPort: 8080)], [rule(8080)], []),
        // The host port is the port published in the machine, not the container's.
        ([PublishedPort(containerPort: 80, hostIP: "0.0.0.0", hostPort: 18080)], [rule(18080)], []),
        ([PublishedPort(containerPort: 53, proto: "udp", hostIP: "0.0.0.0", hostPort: 5353)], [rule(5353, .udp)], []),
        // The machine's own address is reachable too.
        ([PublishedPort(containerPort: 80, hostIP: guest, hostPort: 8081)], [rule(8081)], []),
        // The machine's loopback is reached over SSH (see loopbackPortsGoOverSSH), except for UDP.
        ([PublishedPort(containerPort: 80, hostIP: "127.0.0.1", hostPort: 18080)], [], []),
        ([PublishedPort(containerPort: 53, proto: "udp", hostIP: "127.0.0.1", hostPort: 5353)], [], [SkippedPort.Reason.guestLoopbackOnly]),
        // Another address of the machine (its docker0 bridge) is not the one berth reaches.
        ([PublishedPort(containerPort: 80, hostIP: "172.17.0.1", hostPort: 8082)], [], [.otherGuestAddress]),
        ([PublishedPort(containerPort: 9, proto: "sctp", hostIP: "0.0.0.0", hostPort: 9999)], [], [.unsupportedProtocol]),
    ])
    func mapping(ports: [PublishedPort], rules: [ForwardRule], skipped: [SkippedPort.Reason]) {
        let plan = AutoPublish.plan(
            for: [ContainerPorts(id: "c1", name: "app", ports: ports)], guestIP: Self.guest)
        #expect(plan.rules == rules)
        #expect(plan.skipped.map(\.reason) == skipped)
    }

    @Test("TCP ports on the machine's loopback are forwarded from the host's loopback, over SSH")
    func loopbackPortsGoOverSSH() {
        let plan = AutoPublish.plan(for: [ContainerPorts(id: "c1", name: "app", ports: [
            PublishedPort(containerPort: 80, hostIP: "127.0.0.1", hostPort: 18080),
            PublishedPort(containerPort: 80, hostIP: "127.0.0.53", hostPort: 18081),
            PublishedPort(containerPort: 80, hostIP: "::1", hostPort: 18082),
        ])], guestIP: Self.guest)
        #expect(plan.rules.isEmpty)
        #expect(plan.skipped.isEmpty)
        #expect(plan.loopbackRules == [
            ForwardRule(listenAddress: "127.0.0.1", listenPort: 18080, targetHost: "127.0.0.1", targetPort: 18080),
            ForwardRule(listenAddress: "127.0.0.1", listenPort: 18081, targetHost: "127.0.0.53", targetPort: 18081),
            ForwardRule(listenAddress: "::1", listenPort: 18082, targetHost: "::1", targetPort: 18082),
        ])
    }

    @Test("several containers, stopped ones left out, sorted by listen key")
    func severalContainers() throws {
        var stopped = ContainerPorts(id: "c3", name: "old", ports: [PublishedPort(containerPort: 80, hostPort: 7000)])
        stopped.isRunning = false
        let containers = try ContainerPorts.decodeList(Data(DockerFixtures.containerList.utf8)) + [
            ContainerPorts(id: "c2", name: "api", ports: [PublishedPort(containerPort: 3000, hostPort: 3000)]),
            stopped,
        ]
        let plan = AutoPublish.plan(for: containers, guestIP: Self.guest)
        #expect(plan.rules == [Self.rule(3000), Self.rule(8080)])
        #expect(plan.skipped.map(\.description) == [
            "dns publishes 127.0.0.1:5353->53/udp on the machine's loopback only; publish it on 0.0.0.0 to forward it",
        ])
    }

    @Test("the host address can be chosen")
    func policy() {
        let plan = AutoPublish.plan(
            for: [ContainerPorts(id: "c1", name: "app", ports: [PublishedPort(containerPort: 80, hostPort: 8080)])],
            guestIP: Self.guest, policy: AutoPublishPolicy(hostAddress: "0.0.0.0"))
        #expect(plan.rules == [Self.rule(8080, on: "0.0.0.0")])
    }

    // MARK: Against a real HTTP server

    @Test("streams events as they come, an event split across chunks included")
    func streaming() async throws {
        let events = TestHTTPStream()
        let server = try await TestHTTPServer.start(files: [:], streams: ["/events": events])
        defer { Task { await server.stop() } }
        let api = DockerAPI(baseURL: "http://127.0.0.1:\(server.port)", configuration: .init(connectTimeout: .seconds(5), noProxy: "*"))

        let stream = try await api.events()
        #expect(server.requests.map(\.path) == ["/events?filters=%7B%22type%22%3A%5B%22container%22%5D%7D"])
        var iterator = stream.makeAsyncIterator()

        let start = Array((DockerFixtures.startEvent + "\n").utf8)
        events.send(Array(start[..<100]))
        events.send(Array(start[100...]) + Array((DockerFixtures.execEvent + "\n" + DockerFixtures.destroyEvent).utf8))
        let first = try await iterator.next()
        #expect(first?.containerChange == .started(id: DockerFixtures.webID))
        #expect(try await iterator.next()?.action == "exec_start: sh -c echo hi")
        // The last event's newline comes in a chunk of its own.
        events.send("\n")
        #expect(try await iterator.next()?.attributes["name"] == "café")
        events.finish()
        #expect(try await iterator.next() == nil)

        // Asking for a replay adds `since`.
        let replay = try await api.events(since: 1_732_886_400)
        replay.cancel()
        #expect(server.requests.last?.path == "/events?filters=%7B%22type%22%3A%5B%22container%22%5D%7D&since=1732886400")
    }

    @Test("a line that is not JSON ends the stream with an error")
    func invalidEvent() async throws {
        let events = TestHTTPStream()
        let server = try await TestHTTPServer.start(files: [:], streams: ["/events": events])
        defer { Task { await server.stop() } }
        let api = DockerAPI(baseURL: "http://127.0.0.1:\(server.port)", configuration: .init(connectTimeout: .seconds(5), noProxy: "*"))

        let stream = try await api.events()
        events.send("this is not json\n")
        var iterator = stream.makeAsyncIterator()
        await #expect(throws: DockerAPIError.self) { try await iterator.next() }
    }

    @Test("reads containers, and a container that is gone is nil")
    func containers() async throws {
        let server = try await TestHTTPServer.start(files: [
            "/containers/json": Array(DockerFixtures.containerList.utf8),
            "/containers/\(DockerFixtures.webID)/json": Array(DockerFixtures.inspection.utf8),
        ])
        defer { Task { await server.stop() } }
        let api = DockerAPI(baseURL: "http://127.0.0.1:\(server.port)/", configuration: .init(connectTimeout: .seconds(5), noProxy: "*"))

        #expect(try await api.runningContainers().map(\.name) == ["web", "dns"])
        #expect(try await api.container(DockerFixtures.webID)?.ports.count == 3)
        #expect(try await api.container("gone") == nil)
    }

    @Test("a Docker that does not answer is a request error")
    func unreachable() async throws {
        let server = try await TestHTTPServer.start(files: [:])
        let base = "http://127.0.0.1:\(server.port)"
        await server.stop()
        let api = DockerAPI(baseURL: base, configuration: .init(connectTimeout: .seconds(5), noProxy: "*"))

        await #expect(throws: DockerAPIError.self) { try await api.events() }
        await #expect(throws: DockerAPIError.self) { try await api.runningContainers() }
    }
}
