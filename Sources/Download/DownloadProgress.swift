import Foundation

/// Where a transfer stands.
public struct DownloadProgress: Sendable, Hashable {
    /// Bytes of the file present so far, counting those kept from an earlier, resumed attempt.
    public let bytes: Int64
    /// The size of the whole file, when the server told it.
    public let total: Int64?
    /// The recent transfer rate.
    public let bytesPerSecond: Double

    public init(bytes: Int64, total: Int64?, bytesPerSecond: Double) {
        self.bytes = bytes
        self.total = total
        self.bytesPerSecond = bytesPerSecond
    }

    /// From 0 to 1, when the total is known.
    public var fraction: Double? {
        guard let total, total > 0 else { return nil }
        return min(1, Double(bytes) / Double(total))
    }

    /// Seconds left at the current rate, when the total is known and the rate is not zero.
    public var secondsRemaining: Double? {
        guard let total, bytesPerSecond > 0 else { return nil }
        return Double(max(0, total - bytes)) / bytesPerSecond
    }
}

/// Called with the progress of a transfer, from the thread that runs it, at most a few times a second.
public typealias DownloadProgressHandler = @Sendable (DownloadProgress) -> Void

/// Measures the rate over the last few seconds.
struct RateMeter {
    private var samples: [(time: Double, bytes: Int64)] = []
    private let window: Double = 5

    mutating func rate(at time: Double, bytes: Int64) -> Double {
        samples.append((time, bytes))
        while samples.count > 2, time - samples[1].time >= window {
            samples.removeFirst()
        }
        guard let first = samples.first, time > first.time else { return 0 }
        return Double(bytes - first.bytes) / (time - first.time)
    }
}

/// A monotonic clock in seconds.
func monotonicSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1_000_000_000
}
