import Foundation
import Testing
import TestSupport

@testable import Download

/// Runs `body`, failing if it takes longer than `seconds`: every wait in these tests is bounded.
func within<T: Sendable>(
    _ seconds: Double, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { tasks in
        tasks.addTask { try await body() }
        tasks.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        defer { tasks.cancelAll() }
        guard let first = try await tasks.next(), let value = first else {
            throw DownloadError.timedOut(url: "test", detail: "gave up after \(seconds) s")
        }
        return value
    }
}

@Suite("Downloader.openStream")
struct ResponseStreamTests {
    @Test("returns on the status line, before any body, then yields each chunk as it is sent")
    func streamsChunks() async throws {
        let events = TestHTTPStream()
        let server = try await TestHTTPServer.start(files: [:], streams: ["/events": events])
        defer { Task { await server.stop() } }

        let stream = try await within(10) { try await downloader.openStream(server.url("/events?since=0")) }
        #expect(stream.status == 200)
        #expect(events.clients == 1)
        #expect(server.requests.first?.path == "/events?since=0")

        var iterator = stream.makeAsyncIterator()
        events.send("first")
        #expect(try await iterator.next().map { String(decoding: $0, as: UTF8.self) } == "first")
        // The second chunk is sent only after the first arrived: nothing waits for the end.
        events.send("second")
        #expect(try await iterator.next().map { String(decoding: $0, as: UTF8.self) } == "second")
        events.finish()
        #expect(try await iterator.next() == nil)
        #expect(try await iterator.next() == nil)
    }

    @Test("a plain response streams too, to its end")
    func plainResponse() async throws {
        let body = randomBytes(200_000)
        let server = try await TestHTTPServer.start(files: ["/file": body])
        defer { Task { await server.stop() } }

        let received = try await within(10) {
            var received: [UInt8] = []
            for try await chunk in try await downloader.openStream(server.url("/file")) {
                received += chunk
            }
            return received
        }
        #expect(received == body)
    }

    @Test("a slow reader gets every byte, in order, through a small buffer")
    func backpressure() async throws {
        let events = TestHTTPStream(contentType: "application/octet-stream")
        let server = try await TestHTTPServer.start(files: [:], streams: ["/bulk": events])
        defer { Task { await server.stop() } }
        let body = randomBytes(512 * 1024)

        let stream = try await downloader.openStream(server.url("/bulk"), bufferLimit: 4096)
        for offset in stride(from: 0, to: body.count, by: 16 * 1024) {
            events.send(Array(body[offset..<min(offset + 16 * 1024, body.count)]))
        }
        events.finish()
        let received = try await within(30) {
            var received: [UInt8] = []
            var count = 0
            for try await chunk in stream {
                received += chunk
                count += 1
                if count % 8 == 0 { try await Task.sleep(for: .milliseconds(2)) }
            }
            return received
        }
        #expect(received == body)
    }

    @Test("cancelling the reading task ends the stream and closes the connection")
    func cancellation() async throws {
        let events = TestHTTPStream()
        let server = try await TestHTTPServer.start(files: [:], streams: ["/events": events])
        defer { Task { await server.stop() } }
        let stream = try await downloader.openStream(server.url("/events"))

        let reader = Task {
            var chunks = 0
            do {
                for try await _ in stream { chunks += 1 }
                return "ended after \(chunks)"
            } catch {
                return "\(error)"
            }
        }
        events.send("one")
        #expect(await events.waitForClients(1))
        try await Task.sleep(for: .milliseconds(100))
        reader.cancel()

        let outcome = try await within(5) { await reader.value }
        #expect(outcome == DownloadError.cancelled(url: stream.url).description)
        #expect(await events.waitForDepartures(1), "the server sees the connection close")
    }

    @Test("dropping the stream closes the connection")
    func droppingCloses() async throws {
        let events = TestHTTPStream()
        let server = try await TestHTTPServer.start(files: [:], streams: ["/events": events])
        defer { Task { await server.stop() } }

        do {
            let stream = try await downloader.openStream(server.url("/events"))
            #expect(stream.status == 200)
        }
        #expect(await events.waitForDepartures(1))
    }

    @Test("an error status is thrown by openStream")
    func errorStatus() async throws {
        let failing = TestHTTPStream(status: .internalServerError)
        let server = try await TestHTTPServer.start(files: [:], streams: ["/events": failing])
        defer { Task { await server.stop() } }

        await #expect(throws: DownloadError.httpStatus(url: server.url("/events").absoluteString, status: 500)) {
            try await within(10) { try await downloader.openStream(server.url("/events")) }
        }
        await #expect(throws: DownloadError.httpStatus(url: server.url("/nothing").absoluteString, status: 404)) {
            try await within(10) { try await downloader.openStream(server.url("/nothing")) }
        }
    }

    @Test("a connection that breaks mid-body throws after the chunks that arrived")
    func interrupted() async throws {
        var behaviour = TestHTTPServer.Behaviour()
        behaviour.dropFirstResponseAfter = 1000
        let server = try await TestHTTPServer.start(files: ["/file": randomBytes(100_000)], behaviour: behaviour)
        defer { Task { await server.stop() } }

        let (received, error) = try await within(10) { () async -> (Int, DownloadError?) in
            var received = 0
            do throws(DownloadError) {
                let stream = try await downloader.openStream(server.url("/file"))
                var iterator = stream.makeAsyncIterator()
                while let chunk = try await iterator.next() {
                    received += chunk.count
                }
                return (received, nil)
            } catch {
                return (received, error)
            }
        }
        #expect(received == 1000)
        guard case .interrupted = error else {
            Issue.record("expected an interrupted transfer, got \(String(describing: error))")
            return
        }
    }

    @Test("a refused connection is a connection error")
    func refused() async throws {
        let server = try await TestHTTPServer.start(files: [:])
        let url = server.url("/events")
        await server.stop()

        await #expect(throws: DownloadError.self) {
            try await within(10) { try await downloader.openStream(url) }
        }
        do {
            _ = try await downloader.openStream(url)
        } catch {
            guard case .connectionFailed = error else {
                Issue.record("expected connectionFailed, got \(error)")
                return
            }
        }
    }

    @Test("only http and https")
    func scheme() async {
        await #expect(throws: DownloadError.self) {
            try await downloader.openStream(URL(fileURLWithPath: "/etc/hostname"))
        }
    }
}
