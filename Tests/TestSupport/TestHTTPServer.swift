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
    public let behaviour: Behaviour
    private let log = Shared<[Request]>([])
    private let channel: Shared<Channel?> = Shared(nil)
    private let boundPort = Shared(0)
    public var port: Int { boundPort.current }

    private init(files: [String: [UInt8]], behaviour: Behaviour) {
        self.files = files
        self.behaviour = behaviour
    }

    public static func start(files: [String: [UInt8]], behaviour: Behaviour = Behaviour()) async throws -> TestHTTPServer {
        let server = TestHTTPServer(files: files, behaviour: behaviour)
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

    init(server: TestHTTPServer) { self.server = server }

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

    private func finish(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(.end(nil)))
            .assumeIsolated()
            .whenComplete { _ in context.close(promise: nil) }
    }
}
