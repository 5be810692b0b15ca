/// An error from libguestfs, or from this module's own checks around it.
///
/// For failures of a libguestfs call, `message` is libguestfs's own text
/// (`guestfs_last_error`) and `errno` its `guestfs_last_errno`, both read on the
/// handle's thread right after the failing call.
public struct GuestfsError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable, Codable {
        /// `guestfs_create` returned no handle.
        case handleCreationFailed
        /// A libguestfs call failed; `message` is libguestfs's error text.
        case callFailed
        /// Inspection found no operating system in the image.
        case noOperatingSystem
        /// An argument was rejected before libguestfs was called.
        case invalidArgument
        /// A file or folder on the host could not be read or written.
        case hostFile
        /// The handle was used after `close()`.
        case handleClosed
    }

    public let code: Code
    /// The libguestfs call that failed, e.g. `"launch"` (without the `guestfs_` prefix).
    public let call: String
    public let message: String
    /// libguestfs's `errno` for the failure, or 0 when it did not set one.
    public let errno: Int32

    public init(code: Code, call: String, message: String, errno: Int32 = 0) {
        self.code = code
        self.call = call
        self.message = message
        self.errno = errno
    }

    /// The first line of `message`. libguestfs often appends advice on enabling
    /// `LIBGUESTFS_DEBUG=1 LIBGUESTFS_TRACE=1` on further lines.
    public var summary: String {
        String(message.prefix { $0 != "\n" })
    }

    public var description: String {
        "guestfs_\(call): \(message)"
    }
}
