import CCurl
import Foundation

/// Where the bytes of a transfer go.
enum TransferSink {
    /// Appended to an open file.
    case file(descriptor: Int32, path: String)
    /// Kept in memory, up to a limit.
    case memory(limit: Int)
}

/// How one run of `curl_easy_perform` ended.
enum TransferOutcome {
    case completed
    /// The server ignored the range request: truncate and start from the beginning.
    case restart
    case failed(DownloadError)
}

struct TransferReport {
    var outcome: TransferOutcome
    /// The hash, updated with every byte written.
    var hash: StreamingHash?
    /// Bytes received in this run.
    var received: Int64
    /// The body, for a memory sink.
    var body: [UInt8]
}

/// The state libcurl's callbacks reach through their context pointer. Lives on the transfer
/// thread for the length of one `curl_easy_perform`.
final class TransferContext {
    let easy: CurlEasy
    let sink: TransferSink
    let resumeOffset: Int64
    let cancellation: CancellationFlag
    let progress: DownloadProgressHandler?
    let progressInterval: Double

    var hash: StreamingHash?
    var received: Int64 = 0
    var body: [UInt8] = []
    var writeErrno: Int32 = 0
    var exceededLimit = false
    var restartRequested = false
    private var statusChecked = false
    private var total: Int64?
    private var meter = RateMeter()
    private var lastEmitTime = -Double.infinity
    private var lastEmittedBytes: Int64 = -1

    let errorBuffer: UnsafeMutablePointer<CChar>

    init(
        easy: CurlEasy, sink: TransferSink, resumeOffset: Int64, hash: StreamingHash?,
        cancellation: CancellationFlag, progress: DownloadProgressHandler?, progressInterval: Double
    ) {
        self.easy = easy
        self.sink = sink
        self.resumeOffset = resumeOffset
        self.hash = hash
        self.cancellation = cancellation
        self.progress = progress
        self.progressInterval = progressInterval
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        _ = meter.rate(at: monotonicSeconds(), bytes: resumeOffset)
    }

    deinit {
        errorBuffer.deallocate()
    }

    var errorMessage: String {
        String(cString: errorBuffer).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The write callback: returns the count consumed; anything else makes libcurl stop.
    func receive(_ bytes: UnsafeRawBufferPointer) -> Int {
        if !statusChecked {
            statusChecked = true
            // A resumed transfer must get 206 Partial Content; anything else is not our range.
            if resumeOffset > 0, easy.isHTTP, easy.responseCode != 206 {
                restartRequested = true
                return 0
            }
        }
        guard !bytes.isEmpty, let base = bytes.baseAddress else { return 0 }
        switch sink {
        case .file(let descriptor, _):
            var offset = 0
            while offset < bytes.count {
                let written = write(descriptor, base + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    writeErrno = errno
                    return 0
                }
                offset += written
            }
        case .memory(let limit):
            guard body.count + bytes.count <= limit else {
                exceededLimit = true
                return 0
            }
            body.append(contentsOf: bytes)
        }
        hash?.update(bytes)
        received += Int64(bytes.count)
        return bytes.count
    }

    /// The transfer-info callback: returns non-zero to abort.
    func transferInfo(downloadTotal: Int64) -> Int32 {
        if cancellation.isCancelled { return 1 }
        if downloadTotal > 0 { total = resumeOffset + downloadTotal }
        report(force: false)
        return 0
    }

    /// Calls the progress handler if the byte count moved and the interval has passed.
    func report(force: Bool) {
        guard let progress else { return }
        let bytes = resumeOffset + received
        guard bytes != lastEmittedBytes else { return }
        let now = monotonicSeconds()
        guard force || now - lastEmitTime >= progressInterval else { return }
        lastEmitTime = now
        lastEmittedBytes = bytes
        let rate = meter.rate(at: now, bytes: bytes)
        progress(DownloadProgress(bytes: bytes, total: force ? (total ?? bytes) : total, bytesPerSecond: rate))
    }
}

enum Transfer {
    /// Runs one blocking transfer on the calling thread, which must not be one of Swift's
    /// cooperative threads.
    static func run(
        url: String, configuration: Downloader.Configuration, sink: TransferSink, resumeFrom: Int64,
        hash: StreamingHash?, cancellation: CancellationFlag, progress: DownloadProgressHandler?
    ) -> TransferReport {
        let easy: CurlEasy
        do {
            easy = try CurlEasy(url: url)
        } catch {
            return TransferReport(outcome: .failed(error), hash: hash, received: 0, body: [])
        }
        let context = TransferContext(
            easy: easy, sink: sink, resumeOffset: resumeFrom, hash: hash, cancellation: cancellation,
            progress: progress, progressInterval: configuration.progressInterval.seconds)
        let outcome = withExtendedLifetime(context) { perform(context, configuration: configuration) }
        return TransferReport(outcome: outcome, hash: context.hash, received: context.received, body: context.body)
    }

    private static func perform(_ context: TransferContext, configuration: Downloader.Configuration) -> TransferOutcome {
        let easy = context.easy
        let url = easy.url
        if cancellation(context) { return .failed(.cancelled(url: url)) }
        do {
            try configure(easy, context: context, configuration: configuration)
        } catch {
            return .failed(error)
        }
        let code = curl_easy_perform(easy.handle)
        try? easy.set(CURLOPT_ERRORBUFFER, pointer: nil)
        let status = easy.responseCode
        let resumed = context.resumeOffset > 0

        if resumed, context.restartRequested || code == CURLE_RANGE_ERROR
            || (status == 416 && (code == CURLE_OK || code == CURLE_HTTP_RETURNED_ERROR)) {
            return .restart
        }
        if code == CURLE_OK {
            if easy.isHTTP, status >= 400 {
                return .failed(.httpStatus(url: url, status: status))
            }
            context.report(force: true)
            return .completed
        }
        if cancellation(context) || code == CURLE_ABORTED_BY_CALLBACK {
            return .failed(.cancelled(url: url))
        }
        var partialPath: String?
        if case .file(_, let path) = context.sink { partialPath = path }
        if code == CURLE_WRITE_ERROR {
            if context.exceededLimit, case .memory(let limit) = context.sink {
                return .failed(.responseTooLarge(url: url, limit: limit))
            }
            if context.writeErrno != 0, let path = partialPath {
                if context.writeErrno == ENOSPC || context.writeErrno == EDQUOT {
                    return .failed(.noSpace(path: path))
                }
                return .failed(.fileError(path: path, operation: "write to", errno: context.writeErrno))
            }
        }
        return .failed(.from(
            code: code, url: url, message: context.errorMessage, httpStatus: status,
            partialPath: partialPath, bytesReceived: context.resumeOffset + context.received))
    }

    private static func cancellation(_ context: TransferContext) -> Bool {
        context.cancellation.isCancelled
    }

    private static func configure(
        _ easy: CurlEasy, context: TransferContext, configuration: Downloader.Configuration
    ) throws(DownloadError) {
        let opaque = Unmanaged.passUnretained(context).toOpaque()
        try easy.set(CURLOPT_URL, easy.url)
        try easy.set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(context.errorBuffer))
        try easy.set(CURLOPT_NOSIGNAL, true)
        try easy.set(CURLOPT_PROTOCOLS_STR, "http,https,file")
        try easy.set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        try easy.set(CURLOPT_FOLLOWLOCATION, true)
        try easy.set(CURLOPT_MAXREDIRS, configuration.maxRedirects)
        try easy.set(CURLOPT_FAILONERROR, true)
        try easy.set(CURLOPT_TCP_KEEPALIVE, true)
        try easy.set(CURLOPT_USERAGENT, configuration.userAgent)
        try easy.set(CURLOPT_CONNECTTIMEOUT_MS, configuration.connectTimeout.milliseconds)
        if configuration.stallTimeout > .zero {
            // Abort when under one byte a second for the whole stall timeout.
            try easy.set(CURLOPT_LOW_SPEED_LIMIT, 1)
            try easy.set(CURLOPT_LOW_SPEED_TIME, max(1, Int(configuration.stallTimeout.seconds.rounded(.up))))
        }
        if let certificate = configuration.clientCertificatePath {
            try easy.set(CURLOPT_SSLCERT, certificate)
        }
        if let key = configuration.clientKeyPath {
            try easy.set(CURLOPT_SSLKEY, key)
        }
        if let caBundle = configuration.caBundlePath {
            try easy.set(CURLOPT_CAINFO, caBundle)
        }
        if let proxy = configuration.proxy {
            try easy.set(CURLOPT_PROXY, proxy)
        }
        if let noProxy = configuration.noProxy {
            try easy.set(CURLOPT_NOPROXY, noProxy)
        }
        if context.resumeOffset > 0 {
            try easy.set(CURLOPT_RESUME_FROM_LARGE, offset: context.resumeOffset)
        }
        try easy.setWriteFunction { buffer, size, count, userData in
            guard let userData else { return 0 }
            let context = Unmanaged<TransferContext>.fromOpaque(userData).takeUnretainedValue()
            return context.receive(UnsafeRawBufferPointer(start: buffer, count: size * count))
        }
        try easy.set(CURLOPT_WRITEDATA, pointer: opaque)
        try easy.setTransferInfoFunction { userData, downloadTotal, _, _, _ in
            guard let userData else { return 0 }
            let context = Unmanaged<TransferContext>.fromOpaque(userData).takeUnretainedValue()
            return context.transferInfo(downloadTotal: Int64(downloadTotal))
        }
        try easy.set(CURLOPT_XFERINFODATA, pointer: opaque)
        try easy.set(CURLOPT_NOPROGRESS, false)
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    var milliseconds: Int {
        Int((seconds * 1000).rounded(.up))
    }
}
