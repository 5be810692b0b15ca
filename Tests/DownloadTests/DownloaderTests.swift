import Crypto
import Foundation
import Testing
import TestSupport

@testable import Download

/// A fresh folder, removed when the test ends.
struct TemporaryFolder: ~Copyable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("download-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    var contents: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).sorted()
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }
}

func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
}

func sha256(_ bytes: [UInt8]) -> Checksum {
    Checksum.sha256(SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined())!
}

func contents(of url: URL) -> [UInt8] {
    (try? [UInt8](Data(contentsOf: url))) ?? []
}

/// Loopback servers are reached directly, whatever proxy the environment names.
let downloader = Downloader(configuration: .init(connectTimeout: .seconds(5), noProxy: "*"))

@Suite("Downloader")
struct DownloaderTests {
    @Test("downloads a file and verifies its sha256")
    func fullDownload() async throws {
        let body = randomBytes(300_000)
        let server = try await TestHTTPServer.start(files: ["/image.qcow2": body])
        defer { Task { await server.stop() } }
        let folder = try TemporaryFolder()
        let destination = folder.url.appendingPathComponent("image.qcow2")

        let result = try await downloader.download(
            from: server.url("/image.qcow2"), to: destination, checksum: sha256(body))

        #expect(result.downloaded)
        #expect(result.bytesTransferred == Int64(body.count))
        #expect(result.resumedFrom == 0)
        #expect(contents(of: destination) == body)
        #expect(folder.contents == ["image.qcow2"])
        #expect(server.requests.count == 1)
        #expect(server.requests.first?.range == nil)
    }

    @Test("resumes with a range request after the server drops the connection")
    func resumeAfterDrop() async throws {
        let body = randomBytes(256 * 1024)
        var behaviour = TestHTTPServer.Behaviour()
        behaviour.dropFirstResponseAfter = 100_000
        let server = try await TestHTTPServer.start(files: ["/image.raw": body], behaviour: behaviour)
        defer { Task { await server.stop() } }
        let folder = try TemporaryFolder()
        let destination = folder.url.appendingPathComponent("image.raw")
        let partial = folder.url.appendingPathComponent("image.raw.partial")

        do {
            try await downloader.download(from: server.url("/image.raw"), to: destination, checksum: sha256(body))
            Issue.record("the first download should have broken off")
        } catch {
            guard case .interrupted(_, let partialPath, let received, _) = error else {
                Issue.record("unexpected error: \(error)")
                return
            }
            #expect(partialPath == partial.path)
            #expect(received == 100_000)
        }
        #expect(folder.contents == ["image.raw.partial"])
        let kept = contents(of: partial)
        #expect(kept == Array(body.prefix(kept.count)))
        #expect(kept.count == 100_000)

        let result = try await downloader.download(
            from: server.url("/image.raw"), to: destination, checksum: sha256(body))

        #expect(result.downloaded)
        #expect(result.resumedFrom == Int64(kept.count))
        #expect(result.bytesTransferred == Int64(body.count - kept.count))
        #expect(contents(of: destination) == body)
        #expect(folder.contents == ["image.raw"])
        #expect(server.requests.count == 2)
        #expect(server.requests.last?.range == "bytes=\(kept.count)-")
    }

    @Test("starts again when the server ignores the range request")
    func serverWithoutRanges() async throws {
        let body = randomBytes(64 * 1024)
        var behaviour = TestHTTPServer.Behaviour()
        behaviour.honoursRanges = false
        let server = try await TestHTTPServer.start(files: ["/file": body], behaviour: behaviour)
        defer { Task { await server.stop() } }
        let folder = try TemporaryFolder()
        let destination = folder.url.appendingPathComponent("file")
        // A partial file whose bytes are not the start of the real one.
        try Data(repeating: 0xAA, count: 1000).write(to: folder.url.appendingPathComponent("file.partial"))

        let result = try await downloader.download(from: server.url("/file"), to: destination, checksum: sha256(body))

        #expect(result.resumedFrom == 0)
        #expect(contents(of: destination) == body)
        #expect(folder.contents == ["file"])
        #expect(server.requests.map(\.range) == ["bytes=1000-", nil])
    }

    @Test("a 404 is an HTTP status error and leaves no file")
    func notFound() async throws {
        let server = try await TestHTTPServer.start(files: [:])
        defer { Task { await server.stop() } }
        let folder = try TemporaryFolder()
        let url = server.url("/missing.img")

        do {
            try await downloader.download(from: url, to: folder.url.appendingPathComponent("missing.img"))
            Issue.record("expected a 404")
        } catch {
            #expect(error == .httpStatus(url: url.absoluteString, status: 404))
            #expect(error.description.contains("404"))
            #expect(error.description.contains(url.absoluteString))
        }
        #expect(folder.contents.isEmpty)
    }

    @Test("a checksum mismatch deletes the download and leaves the folder clean")
    func checksumMismatch() async throws {
        let body = randomBytes(50_000)
        let server = try await TestHTTPServer.start(files: ["/file": body])
        defer { Task { await server.stop() } }
        let folder = try TemporaryFolder()
        let wrong = sha256(Array("something else".utf8))

        do {
            try await downloader.download(from: server.url("/file"), to: folder.url.appendingPathComponent("file"), checksum: wrong)
            Issue.record("expected a checksum mismatch")
        } catch {
            guard case .checksumMismatch(_, let algorithm, let expected, let actual) = error else {
                Issue.record("unexpected error: \(error)")
                return
            }
            #expect(algorithm == .sha256)
            #expect(expected == wrong.hex)
            #expect(actual == sha256(body).hex)
        }
        #expect(folder.contents.isEmpty)
    }

    @Test("a slow transfer reports growing progress, rendered with a rate")
    func progress() async throws {
        let body = randomBytes(64 * 1024)
        var behaviour = TestHTTPServer.Behaviour()
        behaviour.chunkSize = 4096
        behaviour.chunkDelay = .milliseconds(25)
        let server = try await TestHTTPServer.start(files: ["/slow": body], behaviour: behaviour)
        defer { Task { await server.stop() } }
        let folder = try TemporaryFolder()
        let seen = Shared<[DownloadProgress]>([])
        let quick = Downloader(configuration: .init(noProxy: "*", progressInterval: .milliseconds(20)))

        try await quick.download(from: server.url("/slow"), to: folder.url.appendingPathComponent("slow")) { progress in
            seen.withLock { $0.append(progress) }
        }

        let reports = seen.current
        #expect(reports.count >= 3)
        #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.bytes < $1.bytes })
        #expect(reports.last?.bytes == Int64(body.count))
        #expect(reports.last?.total == Int64(body.count))
        #expect(reports.contains { $0.bytesPerSecond > 0 })

        let middle = try #require(reports.first { $0.bytesPerSecond > 0 && $0.bytes < Int64(body.count) })
        let line = TerminalProgress.render(middle, label: "slow", width: 100)
        #expect(line.hasPrefix("slow ["))
        #expect(line.contains("B/s"))
        #expect(line.contains("ETA"))
        #expect(line.contains("/ 64.0 KiB"))
        #expect(line.count < 100)
    }

    @Test("a name under .invalid is a DNS error")
    func dnsFailure() async throws {
        let folder = try TemporaryFolder()
        do {
            try await downloader.download(
                from: URL(string: "http://no-such-host.invalid/image.qcow2")!,
                to: folder.url.appendingPathComponent("image.qcow2"))
            Issue.record("expected a DNS failure")
        } catch {
            guard case .hostNotFound(_, let host, let isProxy, _) = error else {
                Issue.record("unexpected error: \(error)")
                return
            }
            #expect(host == "no-such-host.invalid")
            #expect(!isProxy)
            #expect(error.description.contains("no-such-host.invalid"))
        }
        #expect(folder.contents.isEmpty)
    }

    @Test("a refused connection is a connection error")
    func connectionRefused() async throws {
        // Bind and close a server to find a port nobody listens on.
        let server = try await TestHTTPServer.start(files: [:])
        let url = server.url("/file")
        await server.stop()
        let folder = try TemporaryFolder()
        do {
            try await downloader.download(from: url, to: folder.url.appendingPathComponent("file"))
            Issue.record("expected a connection failure")
        } catch {
            guard case .connectionFailed = error else {
                Issue.record("unexpected error: \(error)")
                return
            }
        }
        #expect(folder.contents.isEmpty)
    }

    @Test("a full disk is reported as no space left on device")
    func diskFull() async throws {
        let server = try await TestHTTPServer.start(files: ["/file": randomBytes(20_000)])
        defer { Task { await server.stop() } }
        let folder = try TemporaryFolder()
        let partial = folder.url.appendingPathComponent("file.partial")
        // Writes to /dev/full fail with ENOSPC, as on a full disk.
        try FileManager.default.createSymbolicLink(atPath: partial.path, withDestinationPath: "/dev/full")

        do {
            try await downloader.download(from: server.url("/file"), to: folder.url.appendingPathComponent("file"))
            Issue.record("expected the write to fail")
        } catch {
            #expect(error == .noSpace(path: partial.path))
            #expect(error.description.hasPrefix("no space left on device at \(partial.path)"))
        }
        #expect(!FileManager.default.fileExists(atPath: folder.url.appendingPathComponent("file").path))
    }

    @Test("a server that does not speak TLS is a TLS error")
    func tlsFailure() async throws {
        let server = try await TestHTTPServer.start(files: ["/file": randomBytes(100)])
        defer { Task { await server.stop() } }
        let folder = try TemporaryFolder()
        let url = URL(string: "https://127.0.0.1:\(server.port)/file")!

        do {
            try await downloader.download(from: url, to: folder.url.appendingPathComponent("file"))
            Issue.record("expected a TLS failure")
        } catch {
            guard case .tls = error else {
                Issue.record("unexpected error: \(error)")
                return
            }
        }
        #expect(folder.contents.isEmpty)
    }

    @Test("two concurrent downloads to one destination transfer the file once")
    func concurrentDownloads() async throws {
        let body = randomBytes(64 * 1024)
        var behaviour = TestHTTPServer.Behaviour()
        behaviour.chunkSize = 8192
        behaviour.chunkDelay = .milliseconds(10)
        let server = try await TestHTTPServer.start(files: ["/shared": body], behaviour: behaviour)
        defer { Task { await server.stop() } }
        let folder = try TemporaryFolder()
        let destination = folder.url.appendingPathComponent("shared")
        let url = server.url("/shared")
        let checksum = sha256(body)

        async let first = downloader.download(from: url, to: destination, checksum: checksum)
        async let second = downloader.download(from: url, to: destination, checksum: checksum)
        let results = try await [first, second]

        #expect(results.filter(\.downloaded).count == 1)
        #expect(server.requests.count == 1)
        #expect(contents(of: destination) == body)
        #expect(folder.contents == ["shared"])
    }

    @Test("a file already present with the right checksum is not downloaded again")
    func alreadyPresent() async throws {
        let body = randomBytes(10_000)
        let server = try await TestHTTPServer.start(files: ["/file": body])
        defer { Task { await server.stop() } }
        let folder = try TemporaryFolder()
        let destination = folder.url.appendingPathComponent("file")
        try Data(body).write(to: destination)

        let result = try await downloader.download(from: server.url("/file"), to: destination, checksum: sha256(body))

        #expect(!result.downloaded)
        #expect(server.requests.isEmpty)

        // A stale file is replaced.
        try Data(repeating: 1, count: 10).write(to: destination)
        let again = try await downloader.download(from: server.url("/file"), to: destination, checksum: sha256(body))
        #expect(again.downloaded)
        #expect(contents(of: destination) == body)
        #expect(server.requests.count == 1)
    }

    @Test("cancelling the task aborts the transfer and keeps the partial file")
    func cancellation() async throws {
        let body = randomBytes(256 * 1024)
        var behaviour = TestHTTPServer.Behaviour()
        behaviour.chunkSize = 4096
        behaviour.chunkDelay = .milliseconds(20)
        let server = try await TestHTTPServer.start(files: ["/big": body], behaviour: behaviour)
        defer { Task { await server.stop() } }
        let folder = try TemporaryFolder()
        let destination = folder.url.appendingPathComponent("big")
        let started = AsyncStream<Void>.makeStream()

        let task = Task {
            try await downloader.download(from: server.url("/big"), to: destination) { progress in
                if progress.bytes > 0 { started.continuation.yield() }
            }
        }
        for await _ in started.stream { break }
        task.cancel()
        let outcome = await task.result

        guard case .failure(let error) = outcome, let downloadError = error as? DownloadError else {
            Issue.record("expected the download to be cancelled, got \(outcome)")
            return
        }
        #expect(downloadError == .cancelled(url: server.url("/big").absoluteString))
        #expect(folder.contents == ["big.partial"])
    }

    @Test("fetches a checksum list and finds a file in it")
    func fetchChecksumList() async throws {
        let image = randomBytes(1000)
        let list = "\(sha256(Array("other".utf8)).hex)  other.img\n\(sha256(image).hex)  image.img\n"
        let server = try await TestHTTPServer.start(files: ["/SHA256SUMS": Array(list.utf8)])
        defer { Task { await server.stop() } }

        #expect(try await downloader.fetchText(server.url("/SHA256SUMS")) == list)
        #expect(try await downloader.checksum(of: "image.img", listedAt: server.url("/SHA256SUMS")) == sha256(image))
        do {
            _ = try await downloader.fetch(server.url("/SHA256SUMS"), limit: 10)
            Issue.record("expected the limit to be enforced")
        } catch {
            #expect(error == .responseTooLarge(url: server.url("/SHA256SUMS").absoluteString, limit: 10))
        }
    }
}
