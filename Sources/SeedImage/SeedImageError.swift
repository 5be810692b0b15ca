/// An error while writing an ISO 9660 image.
public struct SeedImageError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable, Codable {
        /// A libisofs call failed; `message` is libisofs's text for its error code.
        case libisofs
        /// The volume id or a file name cannot go into the image.
        case invalidArgument
        /// Writing the output file failed; `message` says why.
        case io
    }

    public let code: Code
    /// What was being done, e.g. `"iso_image_add_new_file(user-data)"` or `"rename"`.
    public let operation: String
    public let message: String
    /// libisofs's (negative) error code, or the `errno` of a failed system call, or 0.
    public let errorCode: Int32

    public init(code: Code, operation: String, message: String, errorCode: Int32 = 0) {
        self.code = code
        self.operation = operation
        self.message = message
        self.errorCode = errorCode
    }

    public var description: String {
        "\(operation): \(message)"
    }
}
