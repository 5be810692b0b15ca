import Crypto
import Foundation

/// A hash algorithm a download can be verified with.
public enum ChecksumAlgorithm: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case sha256
    case sha512

    /// The length of a digest written in hexadecimal.
    public var hexLength: Int {
        switch self {
        case .sha256: 64
        case .sha512: 128
        }
    }

    public var description: String { rawValue }
}

/// An expected digest: an algorithm and its value in hexadecimal.
public struct Checksum: Sendable, Hashable, CustomStringConvertible {
    public let algorithm: ChecksumAlgorithm
    /// The digest in lower-case hexadecimal.
    public let hex: String

    /// Fails unless `hex` is a hexadecimal digest of the algorithm's length.
    public init?(_ algorithm: ChecksumAlgorithm, hex: String) {
        let hex = hex.lowercased()
        guard hex.count == algorithm.hexLength, hex.allSatisfy(\.isHexDigit) else { return nil }
        self.algorithm = algorithm
        self.hex = hex
    }

    /// A checksum from a bare hexadecimal digest, the algorithm told by its length
    /// (64 digits for sha256, 128 for sha512).
    public init?(hex: String) {
        guard let algorithm = ChecksumAlgorithm.allCases.first(where: { $0.hexLength == hex.count }) else {
            return nil
        }
        self.init(algorithm, hex: hex)
    }

    /// A checksum written as `sha256:HEX` or `sha512:HEX`.
    public init?(parsing text: String) {
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let algorithm = ChecksumAlgorithm(rawValue: parts[0].lowercased()) else {
            return nil
        }
        self.init(algorithm, hex: String(parts[1]))
    }

    public static func sha256(_ hex: String) -> Checksum? { Checksum(.sha256, hex: hex) }
    public static func sha512(_ hex: String) -> Checksum? { Checksum(.sha512, hex: hex) }

    public var description: String { "\(algorithm):\(hex)" }
}

/// A streaming hash of one of the supported algorithms.
struct StreamingHash {
    private enum State {
        case sha256(SHA256)
        case sha512(SHA512)
    }

    let algorithm: ChecksumAlgorithm
    private var state: State

    init(_ algorithm: ChecksumAlgorithm) {
        self.algorithm = algorithm
        switch algorithm {
        case .sha256: state = .sha256(SHA256())
        case .sha512: state = .sha512(SHA512())
        }
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        switch state {
        case .sha256(var hash):
            hash.update(bufferPointer: bytes)
            state = .sha256(hash)
        case .sha512(var hash):
            hash.update(bufferPointer: bytes)
            state = .sha512(hash)
        }
    }

    /// The digest in lower-case hexadecimal.
    func finalize() -> String {
        switch state {
        case .sha256(let hash): hash.finalize().hexString
        case .sha512(let hash): hash.finalize().hexString
        }
    }
}

extension Digest {
    var hexString: String {
        var text = ""
        text.reserveCapacity(Self.byteCount * 2)
        for byte in self {
            text += String(byte, radix: 16).leftPadded(to: 2)
        }
        return text
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}
