import Foundation

extension Downloader {
    /// Opens a long-lived GET, such as an event stream, and returns once the server has answered
    /// its status; the body then arrives through the returned stream as the server sends it.
    ///
    /// Uses the configuration's connect timeout, TLS files (CA bundle, client certificate and
    /// key) and proxy settings, but no overall or stall timeout: a stream may stay quiet for
    /// hours. TCP keepalive notices a peer that went away. Redirects are not followed.
    ///
    /// - Parameter bufferLimit: bytes held for a slow reader before the transfer stops reading
    ///   from the socket.
    /// - Throws: `DownloadError.httpStatus` for a status other than 2xx, and the usual connection
    ///   and TLS errors; `.cancelled` when the task is cancelled while waiting.
    public func openStream(_ url: URL, bufferLimit: Int = 1 << 20) async throws(DownloadError) -> ResponseStream {
        let source = url.absoluteString
        guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw .invalidURL(url: source, detail: "a stream needs an http or https URL")
        }
        logger.debug("opening stream", metadata: ["url": "\(source)"])
        let transfer = StreamingTransfer(url: source, capacity: bufferLimit)
        let configuration = configuration
        let thread = Thread {
            StreamingTransfer.run(transfer, configuration: configuration)
        }
        thread.name = "download-stream"
        thread.stackSize = 1 << 20
        thread.start()
        switch await transfer.waitForStatus() {
        case .success(let status):
            return ResponseStream(status: status, transfer: transfer)
        case .failure(let error):
            transfer.cancel()
            throw error
        }
    }
}
