import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A value shared between the server's event loop and the test.
public final class Shared<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    public var current: Value { withLock { $0 } }
}

/// A real HTTP/1.1 server on 127.0.0.1 serving files from memory, with range requests and
/// misbehaviours on demand.
public final class TestHTTPServer: Sendable {
    public struct Behaviour: Sendable {
        public init() {}
        /// Answer 404 to everything.
        public var notFound = false
        /// On the first request only, close the connection after this many body bytes.
        public var dropFirstResponseAfter: Int?
        /// Send the body in chunks of this size, `chunkDelay` apart.
        public var chunkSize: Int?
        public var chunkDelay: TimeAmount = .milliseconds(20)
        /// Answer range requests with 206; otherwise ignore them and send 200 and everything.
        public var honoursRanges = true
    }

    public struct Request: Sendable {
        public let path: String
        public let range: String?
    }

    public let files: [String: [UInt8]]
    /// Streamed responses, by path (the query is ignored).
    public let streams: [String: TestHTTPStream]
    public let behaviour: Behaviour
    private let log = Shared<[Request]>([])
    private let channel: Shared<Channel?> = Shared(nil)
    private let boundPort = Shared(0)
    public var port: Int { boundPort.current }

    private init(files: [String: [UInt8]], streams: [String: TestHTTPStream], behaviour: Behaviour) {
        self.files = files
        self.streams = streams
        self.behaviour = behaviour
    }

    public static func start(
        files: [String: [UInt8]], streams: [String: TestHTTPStream] = [:], behaviour: Behaviour = Behaviour()
    ) async throws -> TestHTTPServer {
        let server = TestHTTPServer(files: files, streams: streams, behaviour: behaviour)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(server: server))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        server.channel.withLock { $0 = channel }
        server.boundPort.withLock { $0 = channel.localAddress?.port ?? 0 }
        return server
    }

    public func url(_ path: String) -> URL {
        URL(string: "http://127.0.0.1:\(port)\(path)")!
    }

    public var requests: [Request] { log.current }

    public func stop() async {
        try? await channel.current?.close()
    }

    /// Records a request and returns how many came before it.
    fileprivate func record(_ request: Request) -> Int {
        log.withLock { log in
            log.append(request)
            return log.count - 1
        }
    }
}

private final class Handler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let server: TestHTTPServer
    private var head: HTTPRequestHead?
    private var stream: TestHTTPStream?

    init(server: TestHTTPServer) { self.server = server }

    func channelInactive(context: ChannelHandlerContext) {
        stream?.clientLeft()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            if let head { respond(to: head, context: context) }
            head = nil
        }
    }

    private func respond(to request: HTTPRequestHead, context: ChannelHandlerContext) {
        let behaviour = server.behaviour
        let range = request.headers.first(name: "range")
        let number = server.record(.init(path: request.uri, range: range))
        var headers = HTTPHeaders([("connection", "close")])

        let path = String(request.uri.prefix { $0 != "?" })
        if !behaviour.notFound, let stream = server.streams[path] {
            self.stream = stream
            startStreaming(stream, headers: headers, context: context)
            return
        }

        guard !behaviour.notFound, let content = server.files[request.uri] else {
            let body = Array("not found\n".utf8)
            headers.add(name: "content-length", value: "\(body.count)")
            send(status: .notFound, headers: headers, body: body[...], context: context)
            return
        }
        var status = HTTPResponseStatus.ok
        var body = content[...]
        headers.add(name: "accept-ranges", value: behaviour.honoursRanges ? "bytes" : "none")
        if behaviour.honoursRanges, let range, range.hasPrefix("bytes="), range.hasSuffix("-"),
           let start = Int(range.dropFirst("bytes=".count).dropLast()) {
            if start >= content.count {
                status = .rangeNotSatisfiable
                headers.add(name: "content-range", value: "bytes */\(content.count)")
                body = []
            } else {
                status = .partialContent
                headers.add(name: "content-range", value: "bytes \(start)-\(content.count - 1)/\(content.count)")
                body = content[start...]
            }
        }
        headers.add(name: "content-length", value: "\(body.count)")

        if number == 0, let limit = behaviour.dropFirstResponseAfter {
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body.prefix(limit))))))
                .assumeIsolated()
                .whenComplete { _ in context.close(promise: nil) }
        } else if let chunkSize = behaviour.chunkSize {
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            sendSlowly(body, chunkSize: chunkSize, delay: behaviour.chunkDelay, context: context)
        } else {
            send(status: status, headers: headers, body: body, context: context)
        }
    }

    private func send(status: HTTPResponseStatus, headers: HTTPHeaders, body: ArraySlice<UInt8>, context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        if !body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        }
        finish(context: context)
    }

    private func sendSlowly(_ body: ArraySlice<UInt8>, chunkSize: Int, delay: TimeAmount, context: ChannelHandlerContext) {
        guard !body.isEmpty else {
            finish(context: context)
            return
        }
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body.prefix(chunkSize))))), promise: nil)
        let rest = body.dropFirst(chunkSize)
        context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
            self.sendSlowly(rest, chunkSize: chunkSize, delay: delay, context: context)
        }
    }

    /// Sends the head now and each piece the test sends later as one chunk.
    private func startStreaming(_ stream: TestHTTPStream, headers: HTTPHeaders, context: ChannelHandlerContext) {
        var headers = headers
        headers.add(name: "content-type", value: stream.contentType)
        headers.add(name: "transfer-encoding", value: "chunked")
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        // Attached (and counted) before the head goes out, so a client that has the head sees
        // itself counted. Pieces run on the event loop after this call, so after the head.
        stream.attach { piece in
            bound.eventLoop.execute {
                let (handler, context) = bound.value
                switch piece {
                case .bytes(let bytes):
                    context.writeAndFlush(handler.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: bytes)))), promise: nil)
                case .end:
                    handler.finish(context: context)
                }
            }
        }
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: stream.status, headers: headers))), promise: nil)
    }

    private func finish(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(.end(nil)))
            .assumeIsolated()
            .whenComplete { _ in context.close(promise: nil) }
    }
}

/// A response a test writes piece by piece while the client reads it: chunked transfer encoding,
/// one chunk per `send`, flushed at once. Pieces sent before the client arrives wait for it.
public final class TestHTTPStream: Sendable {
    public enum Piece: Sendable {
        case bytes([UInt8])
        case end
    }

    private struct State {
        var pending: [Piece] = []
        var sink: (@Sendable (Piece) -> Void)?
        var clients = 0
        var departed = 0
    }

    public let status: HTTPResponseStatus
    public let contentType: String
    private let state = Shared(State())

    public init(status: HTTPResponseStatus = .ok, contentType: String = "application/json") {
        self.status = status
        self.contentType = contentType
    }

    /// Sends one chunk.
    public func send(_ bytes: [UInt8]) {
        deliver(.bytes(bytes))
    }

    public func send(_ text: String) {
        send(Array(text.utf8))
    }

    /// Ends the response and closes the connection.
    public func finish() {
        deliver(.end)
    }

    /// Clients that have requested the stream, and those whose connection has closed since.
    public var clients: Int { state.current.clients }
    public var departedClients: Int { state.current.departed }

    /// Waits until `count` clients have connected; false after `timeout`.
    public func waitForClients(_ count: Int = 1, timeout: Duration = .seconds(5)) async -> Bool {
        await poll(timeout) { $0.clients >= count }
    }

    /// Waits until `count` clients' connections have closed; false after `timeout`.
    public func waitForDepartures(_ count: Int = 1, timeout: Duration = .seconds(5)) async -> Bool {
        await poll(timeout) { $0.departed >= count }
    }

    fileprivate func attach(_ sink: @escaping @Sendable (Piece) -> Void) {
        let pending = state.withLock { state in
            state.clients += 1
            state.sink = sink
            defer { state.pending.removeAll() }
            return state.pending
        }
        pending.forEach(sink)
    }

    fileprivate func clientLeft() {
        state.withLock { state in
            state.departed += 1
            state.sink = nil
        }
    }

    private func deliver(_ piece: Piece) {
        let sink = state.withLock { state in
            if state.sink == nil { state.pending.append(piece) }
            return state.sink
        }
        sink?(piece)
    }

    private func poll(_ timeout: Duration, _ condition: (State) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition(state.current) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition(state.current)
    }
}
