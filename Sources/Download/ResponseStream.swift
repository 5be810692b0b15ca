/// The body of a long-lived HTTP response, chunk by chunk as the server sends it.
///
/// Made by `Downloader.openStream`, which returns once the status is known, so a caller can
/// tell "subscribed" from "nothing happened yet". Iterate it once. It ends (nil) when the server
/// ends the response, and throws `DownloadError` when the connection breaks. Cancelling the
/// iterating task, calling `cancel()`, or dropping the stream and its iterators closes the
/// connection at once.
public struct ResponseStream: AsyncSequence, Sendable {
    public typealias Element = [UInt8]
    public typealias Failure = DownloadError

    public let url: String
    /// The HTTP status, always 2xx: other statuses are thrown by `openStream`.
    public let status: Int
    let owner: Owner

    init(status: Int, transfer: StreamingTransfer) {
        self.url = transfer.url
        self.status = status
        self.owner = Owner(transfer)
    }

    /// Closes the connection; iteration then throws `DownloadError.cancelled`.
    public func cancel() {
        owner.transfer.cancel()
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(owner: owner)
    }

    public struct Iterator: AsyncIteratorProtocol, Sendable {
        public typealias Element = [UInt8]
        public typealias Failure = DownloadError

        let owner: Owner

        public mutating func next() async throws(DownloadError) -> [UInt8]? {
            try await owner.transfer.next()
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async throws(DownloadError) -> [UInt8]? {
            try await owner.transfer.next()
        }
    }

    /// Cancels the transfer when the last stream or iterator that shares it goes away.
    final class Owner: Sendable {
        let transfer: StreamingTransfer

        init(_ transfer: StreamingTransfer) {
            self.transfer = transfer
        }

        deinit {
            transfer.cancel()
        }
    }
}
