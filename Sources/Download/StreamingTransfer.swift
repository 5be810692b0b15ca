import CCurl
import Foundation

/// One long-lived response, read on a thread of its own and handed to Swift tasks chunk by chunk.
///
/// The transfer thread drives a libcurl multi handle, so `cancel()` can wake it at once with
/// `curl_multi_wakeup` instead of waiting for libcurl's next progress callback. Chunks wait in a
/// bounded buffer: when the reader falls behind, the transfer thread blocks in the write callback,
/// which stops reading from the socket and lets TCP slow the server down.
final class StreamingTransfer: @unchecked Sendable {
    let url: String
    private let capacity: Int

    // Everything below is guarded by `condition`.
    private let condition = NSCondition()
    private var chunks: [[UInt8]] = []
    private var bufferedBytes = 0
    private var status: Result<Int, DownloadError>?
    private var statusWaiter: CheckedContinuation<Result<Int, DownloadError>, Never>?
    private var chunkWaiter: CheckedContinuation<Result<[UInt8]?, DownloadError>, Never>?
    /// Set when the transfer ended: nil for a clean end of the body.
    private var ending: DownloadError??
    private var endingDelivered = false
    private var cancelled = false
    private var multi: UnsafeMutableRawPointer?

    init(url: String, capacity: Int) {
        self.url = url
        self.capacity = max(1, capacity)
    }

    // MARK: Consumer side (Swift tasks)

    /// Waits for the response's status line, or for the error that came instead.
    func waitForStatus() async -> Result<Int, DownloadError> {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                condition.lock()
                if let status {
                    condition.unlock()
                    continuation.resume(returning: status)
                } else {
                    statusWaiter = continuation
                    condition.unlock()
                }
            }
        } onCancel: {
            cancel()
        }
    }

    /// The next chunk of the body; nil at its end. Chunks that arrived before an error are
    /// delivered before it.
    func next() async throws(DownloadError) -> [UInt8]? {
        let result: Result<[UInt8]?, DownloadError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                condition.lock()
                if let immediate = takeNext() {
                    condition.unlock()
                    continuation.resume(returning: immediate)
                } else {
                    chunkWaiter = continuation
                    condition.unlock()
                }
            }
        } onCancel: {
            cancel()
        }
        return try result.get()
    }

    /// Stops the transfer: the thread wakes, the connection closes, and waiting readers get
    /// `DownloadError.cancelled`.
    func cancel() {
        condition.lock()
        guard !cancelled else {
            condition.unlock()
            return
        }
        cancelled = true
        chunks.removeAll()
        bufferedBytes = 0
        let error = DownloadError.cancelled(url: url)
        let statusWaiter = takeStatusWaiter(.failure(error))
        let chunkWaiter = self.chunkWaiter
        self.chunkWaiter = nil
        if chunkWaiter != nil { endingDelivered = true }
        if let multi {
            // Safe from any thread while the handle lives; `detach` clears it under this lock.
            curl_multi_wakeup(multi)
        }
        condition.broadcast()
        condition.unlock()
        statusWaiter?.resume(returning: .failure(error))
        chunkWaiter?.resume(returning: .failure(error))
    }

    /// Under the lock: a chunk, the end, or nil when the caller must wait.
    private func takeNext() -> Result<[UInt8]?, DownloadError>? {
        if cancelled {
            if endingDelivered { return .success(nil) }
            endingDelivered = true
            return .failure(.cancelled(url: url))
        }
        if !chunks.isEmpty {
            let chunk = chunks.removeFirst()
            bufferedBytes -= chunk.count
            condition.broadcast()  // room for the transfer thread
            return .success(chunk)
        }
        if let ending {
            if endingDelivered { return .success(nil) }
            endingDelivered = true
            return ending.map { .failure($0) } ?? .success(nil)
        }
        return nil
    }

    private func takeStatusWaiter(
        _ result: Result<Int, DownloadError>
    ) -> CheckedContinuation<Result<Int, DownloadError>, Never>? {
        guard status == nil else { return nil }
        status = result
        let waiter = statusWaiter
        statusWaiter = nil
        return waiter
    }

    // MARK: Transfer thread side

    var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }

    /// Publishes the multi handle for `cancel()` to wake; false when already cancelled.
    func attach(_ handle: UnsafeMutableRawPointer) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !cancelled else { return false }
        multi = handle
        return true
    }

    func detach() {
        condition.lock()
        multi = nil
        condition.unlock()
    }

    func deliverStatus(_ result: Result<Int, DownloadError>) {
        condition.lock()
        let waiter = takeStatusWaiter(result)
        condition.unlock()
        waiter?.resume(returning: result)
    }

    /// Called from the write callback: waits for room, then queues the chunk or hands it to a
    /// waiting reader. Returns false when the transfer was cancelled meanwhile.
    func push(_ bytes: [UInt8]) -> Bool {
        condition.lock()
        while !cancelled, bufferedBytes > 0, bufferedBytes + bytes.count > capacity {
            condition.wait()
        }
        guard !cancelled else {
            condition.unlock()
            return false
        }
        let waiter = chunkWaiter
        if waiter != nil {
            chunkWaiter = nil
        } else {
            chunks.append(bytes)
            bufferedBytes += bytes.count
        }
        condition.unlock()
        waiter?.resume(returning: .success(bytes))
        return true
    }

    /// The transfer is over, with an error or (nil) at the end of the body.
    func finish(_ error: DownloadError?) {
        let statusResult = Result<Int, DownloadError>.failure(
            error ?? .curl(url: url, code: 0, message: "the response ended before its status line"))
        condition.lock()
        let statusWaiter = takeStatusWaiter(statusResult)
        ending = .some(error)
        var chunkWaiter: CheckedContinuation<Result<[UInt8]?, DownloadError>, Never>?
        var chunkResult: Result<[UInt8]?, DownloadError>?
        if let waiter = self.chunkWaiter, let next = takeNext() {
            self.chunkWaiter = nil
            chunkWaiter = waiter
            chunkResult = next
        }
        condition.unlock()
        statusWaiter?.resume(returning: statusResult)
        if let chunkWaiter, let chunkResult {
            chunkWaiter.resume(returning: chunkResult)
        }
    }
}

/// What libcurl's write callback reaches through its context pointer.
final class StreamContext {
    let easy: CurlEasy
    let transfer: StreamingTransfer
    let errorBuffer: UnsafeMutablePointer<CChar>
    var statusDelivered = false
    /// The server answered an error status, which the opener has been given.
    var refused = false

    init(easy: CurlEasy, transfer: StreamingTransfer) {
        self.easy = easy
        self.transfer = transfer
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
    }

    deinit {
        errorBuffer.deallocate()
    }

    var errorMessage: String {
        String(cString: errorBuffer).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Hands the status to the opener once libcurl has parsed the status line. An error status
    /// ends the transfer: its body is an error message, not the stream asked for.
    /// - Returns: false to stop the transfer.
    func checkStatus() -> Bool {
        guard !statusDelivered else { return true }
        let status = easy.responseCode
        guard status >= 200 else { return true }  // not yet, or an interim 1xx
        statusDelivered = true
        if status >= 300 {
            refused = true
            transfer.deliverStatus(.failure(.httpStatus(url: easy.url, status: status)))
            return false
        }
        transfer.deliverStatus(.success(status))
        return true
    }

    func receive(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard checkStatus() else { return 0 }
        guard !bytes.isEmpty else { return 0 }
        return transfer.push(Array(bytes)) ? bytes.count : 0
    }
}

extension StreamingTransfer {
    /// Runs the whole transfer on the calling thread, which must not be one of Swift's
    /// cooperative threads, and reports its end through `finish`.
    static func run(_ transfer: StreamingTransfer, configuration: Downloader.Configuration) {
        let url = transfer.url
        let easy: CurlEasy
        do {
            easy = try CurlEasy(url: url)
        } catch {
            transfer.finish(error)
            return
        }
        let context = StreamContext(easy: easy, transfer: transfer)
        withExtendedLifetime(context) {
            transfer.finish(perform(context, configuration: configuration))
        }
    }

    private static func perform(_ context: StreamContext, configuration: Downloader.Configuration) -> DownloadError? {
        let easy = context.easy
        let url = easy.url
        do {
            try configure(context, configuration: configuration)
        } catch {
            return error
        }
        guard let multi = curl_multi_init() else {
            return .curl(url: url, code: Int(CURLE_FAILED_INIT.rawValue), message: "curl_multi_init failed")
        }
        defer { curl_multi_cleanup(multi) }
        guard curl_multi_add_handle(multi, easy.handle) == CURLM_OK else {
            return .curl(url: url, code: Int(CURLE_FAILED_INIT.rawValue), message: "curl_multi_add_handle failed")
        }
        defer { curl_multi_remove_handle(multi, easy.handle) }
        guard context.transfer.attach(multi) else { return .cancelled(url: url) }
        defer { context.transfer.detach() }

        var running: Int32 = 1
        while running > 0 {
            let performed = curl_multi_perform(multi, &running)
            guard performed == CURLM_OK else {
                return .curl(url: url, code: Int(performed.rawValue), message: String(cString: curl_multi_strerror(performed)))
            }
            if context.transfer.isCancelled { return .cancelled(url: url) }
            // The status may be known before any body arrives (an event stream that is quiet).
            guard context.checkStatus() else { return nil }  // the opener has the error status
            guard running > 0 else { break }
            // Waits for the socket, a wakeup from cancel(), or a second, whichever is first.
            curl_multi_poll(multi, nil, 0, 1000, nil)
        }
        var remaining: Int32 = 0
        var code = CURLE_OK
        while let message = curl_multi_info_read(multi, &remaining) {
            if message.pointee.msg == CURLMSG_DONE {
                code = message.pointee.data.result
            }
        }
        try? easy.set(CURLOPT_ERRORBUFFER, pointer: nil)
        if context.transfer.isCancelled || code == CURLE_ABORTED_BY_CALLBACK {
            return .cancelled(url: url)
        }
        if context.refused { return nil }
        guard code == CURLE_OK else {
            return .from(
                code: code, url: url, message: context.errorMessage, httpStatus: easy.responseCode,
                partialPath: nil, bytesReceived: 0)
        }
        _ = context.checkStatus()
        return nil
    }

    private static func configure(_ context: StreamContext, configuration: Downloader.Configuration) throws(DownloadError) {
        let easy = context.easy
        let opaque = Unmanaged.passUnretained(context).toOpaque()
        try easy.set(CURLOPT_URL, easy.url)
        try easy.set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(context.errorBuffer))
        try easy.set(CURLOPT_NOSIGNAL, true)
        try easy.set(CURLOPT_PROTOCOLS_STR, "http,https")
        // A stream is one request to one endpoint; a redirect would be a surprise.
        try easy.set(CURLOPT_FOLLOWLOCATION, false)
        try easy.set(CURLOPT_USERAGENT, configuration.userAgent)
        try easy.set(CURLOPT_CONNECTTIMEOUT_MS, configuration.connectTimeout.milliseconds)
        // No overall or low-speed timeout: a stream may be quiet for hours. Keepalive probes find
        // a peer that vanished (a machine switched off) within about a minute instead.
        try easy.set(CURLOPT_TCP_KEEPALIVE, true)
        try easy.set(CURLOPT_TCP_KEEPIDLE, 30)
        try easy.set(CURLOPT_TCP_KEEPINTVL, 10)
        try easy.applyPeerSettings(configuration)
        try easy.setWriteFunction { buffer, size, count, userData in
            guard let userData else { return 0 }
            let context = Unmanaged<StreamContext>.fromOpaque(userData).takeUnretainedValue()
            return context.receive(UnsafeRawBufferPointer(start: buffer, count: size * count))
        }
        try easy.set(CURLOPT_WRITEDATA, pointer: opaque)
    }
}
