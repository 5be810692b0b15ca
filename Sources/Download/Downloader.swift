import Foundation
import Logging

/// What a call to `Downloader.download` did.
public struct DownloadResult: Sendable, Hashable {
    /// The downloaded file, at the destination asked for.
    public let file: URL
    /// False when the file was already there (and matched the checksum, when one was given).
    public let downloaded: Bool
    /// Bytes received over the network by this call.
    public let bytesTransferred: Int64
    /// Bytes kept from an earlier, interrupted attempt; zero when the download started afresh.
    public let resumedFrom: Int64
}

/// Downloads files and small resources with libcurl.
///
/// A download goes to `<destination>.partial`, resumes one left by an interrupted attempt, follows
/// redirects, honours the usual proxy environment variables (`https_proxy`, `http_proxy`,
/// `all_proxy`, `no_proxy`), verifies TLS peers against the system's CA store, checks an expected
/// checksum, and only then renames the file to its destination. Downloads to the same destination,
/// from other processes or tasks, are serialised by an exclusive lock on `<destination>.lock`, so
/// the file is downloaded once.
///
/// Transfers run on a thread of their own, never on Swift's cooperative pool; cancelling the task
/// aborts the transfer.
public struct Downloader: Sendable {
    public struct Configuration: Sendable {
        /// Sent as the `User-Agent` header.
        public var userAgent: String
        /// How long connecting to a server may take.
        public var connectTimeout: Duration
        /// A transfer that moves no bytes for this long is abandoned; zero waits for ever.
        public var stallTimeout: Duration
        public var maxRedirects: Int
        /// A CA bundle to use instead of the system's.
        public var caBundlePath: String?
        /// A client certificate and its key (PEM files) for servers that ask for mutual TLS.
        public var clientCertificatePath: String?
        public var clientKeyPath: String?
        /// A proxy to use instead of the one the environment names.
        public var proxy: String?
        /// Hosts to reach without a proxy, instead of those `no_proxy` names (`*` for all).
        public var noProxy: String?
        /// The least time between two calls of a progress handler.
        public var progressInterval: Duration

        public init(
            userAgent: String = Downloader.defaultUserAgent,
            connectTimeout: Duration = .seconds(30),
            stallTimeout: Duration = .seconds(60),
            maxRedirects: Int = 10,
            caBundlePath: String? = nil,
            clientCertificatePath: String? = nil,
            clientKeyPath: String? = nil,
            proxy: String? = nil,
            noProxy: String? = nil,
            progressInterval: Duration = .milliseconds(100)
        ) {
            self.userAgent = userAgent
            self.connectTimeout = connectTimeout
            self.stallTimeout = stallTimeout
            self.maxRedirects = maxRedirects
            self.caBundlePath = caBundlePath
            self.clientCertificatePath = clientCertificatePath
            self.clientKeyPath = clientKeyPath
            self.proxy = proxy
            self.noProxy = noProxy
            self.progressInterval = progressInterval
        }
    }

    /// `Download/1 libcurl/<version>`.
    public static var defaultUserAgent: String { "Download/1 \(Curl.versionToken)" }

    public let configuration: Configuration
    public let logger: Logger

    public init(configuration: Configuration = Configuration(), logger: Logger = Logger(label: "download")) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Downloads `url` to the file `destination`, unless it is already there.
    ///
    /// - Parameters:
    ///   - checksum: when given, the file must have this digest: an existing file that does not is
    ///     downloaded again, and a download that does not is deleted and reported.
    ///   - progress: called from the transfer's thread as bytes arrive.
    /// - Returns: the file, and whether it was downloaded.
    @discardableResult
    public func download(
        from url: URL, to destination: URL, checksum: Checksum? = nil,
        progress: DownloadProgressHandler? = nil
    ) async throws(DownloadError) -> DownloadResult {
        let source = url.absoluteString
        guard destination.isFileURL else {
            throw .invalidURL(url: destination.absoluteString, detail: "the destination must be a file")
        }
        let path = destination.path
        let logger = logger
        let lock = try await FileLock.acquire(path: path + ".lock", url: source) {
            logger.info("waiting for another download of the same file", metadata: ["file": "\(path)"])
        }
        defer { lock.release() }
        let downloader = self
        return try await onTransferThread { cancellation throws(DownloadError) in
            try downloader.downloadLocked(
                from: source, to: destination, checksum: checksum, progress: progress, cancellation: cancellation)
        }
    }

    /// Fetches a small resource, such as a checksum list, into memory.
    /// - Parameter limit: the most bytes accepted.
    public func fetch(_ url: URL, limit: Int = 4 << 20) async throws(DownloadError) -> Data {
        let source = url.absoluteString
        let configuration = configuration
        logger.debug("fetching", metadata: ["url": "\(source)"])
        return try await onTransferThread { cancellation throws(DownloadError) in
            let report = Transfer.run(
                url: source, configuration: configuration, sink: .memory(limit: limit), resumeFrom: 0,
                hash: nil, cancellation: cancellation, progress: nil)
            switch report.outcome {
            case .completed: return Data(report.body)
            case .failed(let error): throw error
            case .restart: throw .curl(url: source, code: 0, message: "unexpected restart of a fetch")
            }
        }
    }

    /// Fetches a small text resource into memory, decoded as UTF-8.
    public func fetchText(_ url: URL, limit: Int = 4 << 20) async throws(DownloadError) -> String {
        String(decoding: try await fetch(url, limit: limit), as: UTF8.self)
    }

    /// Fetches a checksum list (`SHA256SUMS`, `SHA512SUMS`, …) and finds `fileName` in it.
    /// - Returns: nil when the list does not name the file.
    public func checksum(of fileName: String, listedAt checksumList: URL) async throws(DownloadError) -> Checksum? {
        ChecksumFile.checksum(for: fileName, in: try await fetchText(checksumList))
    }

    // MARK: - On the transfer thread

    /// Runs `body` on a new thread and waits for it; cancelling the task sets the flag `body` watches.
    private func onTransferThread<T: Sendable>(
        _ body: @escaping @Sendable (CancellationFlag) throws(DownloadError) -> T
    ) async throws(DownloadError) -> T {
        let cancellation = CancellationFlag()
        let result: Result<T, DownloadError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let thread = Thread {
                    continuation.resume(returning: Result { () throws(DownloadError) -> T in try body(cancellation) })
                }
                thread.name = "download"
                thread.stackSize = 1 << 20
                thread.start()
            }
        } onCancel: {
            cancellation.cancel()
        }
        return try result.get()
    }

    private func downloadLocked(
        from url: String, to destination: URL, checksum: Checksum?, progress: DownloadProgressHandler?,
        cancellation: CancellationFlag
    ) throws(DownloadError) -> DownloadResult {
        let path = destination.path
        let partialPath = path + ".partial"
        var metadata: Logger.Metadata = ["url": "\(url)", "file": "\(path)"]

        if access(path, F_OK) == 0 {
            guard let checksum else {
                logger.debug("already downloaded", metadata: metadata)
                return DownloadResult(file: destination, downloaded: false, bytesTransferred: 0, resumedFrom: 0)
            }
            var hash = StreamingHash(checksum.algorithm)
            try Self.hashFile(at: path, length: nil, into: &hash, cancellation: cancellation, url: url)
            if hash.finalize() == checksum.hex {
                logger.debug("already downloaded and verified", metadata: metadata)
                return DownloadResult(file: destination, downloaded: false, bytesTransferred: 0, resumedFrom: 0)
            }
            logger.notice("the file present does not match its checksum; downloading it again", metadata: metadata)
        }

        let descriptor = open(partialPath, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw .fileError(path: partialPath, operation: "create", errno: errno)
        }
        defer { close(descriptor) }
        var offset = Int64(lseek(descriptor, 0, SEEK_END))
        guard offset >= 0 else {
            throw .fileError(path: partialPath, operation: "seek in", errno: errno)
        }
        var hash = checksum.map { StreamingHash($0.algorithm) }
        if offset > 0, var resumedHash = hash {
            try Self.hashFile(at: partialPath, length: offset, into: &resumedHash, cancellation: cancellation, url: url)
            hash = resumedHash
        }
        let resumedFrom = offset
        var restarted = false
        var transferred: Int64 = 0

        while true {
            metadata["offset"] = "\(offset)"
            logger.debug(offset > 0 ? "resuming download" : "downloading", metadata: metadata)
            let report = Transfer.run(
                url: url, configuration: configuration, sink: .file(descriptor: descriptor, path: partialPath),
                resumeFrom: offset, hash: hash, cancellation: cancellation, progress: progress)
            transferred += report.received
            switch report.outcome {
            case .completed:
                hash = report.hash
            case .restart where !restarted:
                logger.info("the server did not resume the download; starting again", metadata: metadata)
                restarted = true
                guard ftruncate(descriptor, 0) == 0, lseek(descriptor, 0, SEEK_SET) == 0 else {
                    throw .fileError(path: partialPath, operation: "truncate", errno: errno)
                }
                offset = 0
                hash = checksum.map { StreamingHash($0.algorithm) }
                continue
            case .restart:
                Self.removeIfEmpty(descriptor: descriptor, path: partialPath)
                throw .curl(url: url, code: 0, message: "the server did not honour the range request")
            case .failed(let error):
                guard Self.removeIfEmpty(descriptor: descriptor, path: partialPath) else { throw error }
                if case .interrupted(let url, _, let bytes, let detail) = error {
                    throw .interrupted(url: url, partialPath: nil, bytesReceived: bytes, detail: detail)
                }
                throw error
            }
            break
        }

        guard fsync(descriptor) == 0 else {
            let code = errno
            if code == ENOSPC || code == EDQUOT { throw .noSpace(path: partialPath) }
            throw .fileError(path: partialPath, operation: "write to", errno: code)
        }
        if let checksum, let hash {
            let actual = hash.finalize()
            guard actual == checksum.hex else {
                unlink(partialPath)
                logger.warning("checksum mismatch; deleted the download", metadata: metadata)
                throw .checksumMismatch(url: url, algorithm: checksum.algorithm, expected: checksum.hex, actual: actual)
            }
        }
        guard rename(partialPath, path) == 0 else {
            throw .fileError(path: path, operation: "rename \(partialPath) to", errno: errno)
        }
        Self.syncDirectory(of: path)
        logger.debug("downloaded", metadata: metadata)
        return DownloadResult(
            file: destination, downloaded: true, bytesTransferred: transferred,
            resumedFrom: restarted ? 0 : resumedFrom)
    }

    /// Feeds the first `length` bytes of a file (all of it when nil) to `hash`.
    private static func hashFile(
        at path: String, length: Int64?, into hash: inout StreamingHash, cancellation: CancellationFlag, url: String
    ) throws(DownloadError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .fileError(path: path, operation: "open", errno: errno) }
        defer { close(descriptor) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var remaining = length ?? .max
        while remaining > 0 {
            if cancellation.isCancelled { throw .cancelled(url: url) }
            let count = read(descriptor, buffer.baseAddress, Int(min(Int64(buffer.count), remaining)))
            if count < 0 {
                if errno == EINTR { continue }
                throw .fileError(path: path, operation: "read", errno: errno)
            }
            if count == 0 { break }
            hash.update(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            remaining -= Int64(count)
        }
    }

    /// Removes a partial file that holds nothing; returns whether it did.
    @discardableResult
    private static func removeIfEmpty(descriptor: Int32, path: String) -> Bool {
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_size == 0 else { return false }
        return unlink(path) == 0
    }

    private static func syncDirectory(of path: String) {
        let directory = (path as NSString).deletingLastPathComponent
        let descriptor = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }
}
