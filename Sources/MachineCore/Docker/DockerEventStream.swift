import Download
import Foundation

/// Docker Engine's events, decoded as they arrive. Made by `DockerAPI.events`; iterate it once.
/// It ends when Docker ends the response (the daemon stopped) and throws when the connection
/// breaks; either way the caller subscribes again and re-reads the containers, since events
/// may have been missed in between. Cancelling the task or calling `cancel()` closes it.
public struct DockerEventStream: AsyncSequence, Sendable {
    public typealias Element = DockerEvent
    public typealias Failure = DockerAPIError

    let response: ResponseStream
    let path: String

    public func cancel() {
        response.cancel()
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(chunks: response.makeAsyncIterator(), path: path)
    }

    public struct Iterator: AsyncIteratorProtocol, Sendable {
        public typealias Element = DockerEvent
        public typealias Failure = DockerAPIError

        private var chunks: ResponseStream.Iterator
        private let path: String
        private var lines = JSONLineSplitter()
        private var decoded: [DockerEvent] = []
        private var ended = false

        init(chunks: ResponseStream.Iterator, path: String) {
            self.chunks = chunks
            self.path = path
        }

        public mutating func next() async throws(DockerAPIError) -> DockerEvent? {
            while decoded.isEmpty {
                guard !ended else { return nil }
                let chunk: [UInt8]?
                do {
                    chunk = try await chunks.next()
                } catch {
                    throw .request(path: path, error)
                }
                var complete: [[UInt8]]
                if let chunk {
                    do {
                        complete = try lines.append(chunk)
                    } catch {
                        throw .invalidResponse(path: path, detail: "an event line of over \(error.length) bytes")
                    }
                } else {
                    ended = true
                    complete = lines.finish().map { [$0] } ?? []
                }
                for line in complete {
                    decoded.append(try decode(line))
                }
            }
            return decoded.removeFirst()
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async throws(DockerAPIError) -> DockerEvent? {
            try await next()
        }

        private func decode(_ line: [UInt8]) throws(DockerAPIError) -> DockerEvent {
            do {
                return try JSONDecoder().decode(DockerEvent.self, from: Data(line))
            } catch {
                let text = String(decoding: line.prefix(200), as: UTF8.self)
                throw .invalidResponse(path: path, detail: "not an event: \(text)")
            }
        }
    }
}
