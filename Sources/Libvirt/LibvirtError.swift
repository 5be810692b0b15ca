import CLibvirt

/// An error reported by libvirt: its error code, the part of libvirt that raised it, and its message.
///
/// libvirt keeps the last error per thread, so `LibvirtError.last(...)` must be called on the same
/// thread, right after the failing call. The wrapper does that inside `Connection.perform`.
public struct LibvirtError: Error, Sendable, CustomStringConvertible, Equatable {
    /// libvirt's `virErrorNumber` (for example `VIR_ERR_NO_DOMAIN` = 42).
    public let code: Int32
    /// libvirt's `virErrorDomain`: which part of libvirt raised it.
    public let domain: Int32
    /// libvirt's human-readable message.
    public let message: String
    /// What the wrapper was doing when it failed (for example "define domain").
    public let operation: String

    public init(code: Int32, domain: Int32, message: String, operation: String) {
        self.code = code
        self.domain = domain
        self.message = message
        self.operation = operation
    }

    public var description: String { "\(operation): \(message)" }

    /// Copies this thread's last libvirt error. Call it synchronously after the failing call.
    static func last(_ operation: String) -> LibvirtError {
        var error = virError()
        defer { virResetError(&error) }
        guard virCopyLastError(&error) >= 0, error.code != 0 else {
            return LibvirtError(code: -1, domain: 0, message: "unknown libvirt error", operation: operation)
        }
        let message = error.message.map { String(cString: $0) } ?? "unknown libvirt error"
        return LibvirtError(code: error.code, domain: error.domain, message: message, operation: operation)
    }

    // The codes callers most often branch on.
    public var isNoDomain: Bool { code == Int32(VIR_ERR_NO_DOMAIN.rawValue) }
    public var isNoNetwork: Bool { code == Int32(VIR_ERR_NO_NETWORK.rawValue) }
    public var isNoStoragePool: Bool { code == Int32(VIR_ERR_NO_STORAGE_POOL.rawValue) }
    public var isNoStorageVolume: Bool { code == Int32(VIR_ERR_NO_STORAGE_VOL.rawValue) }
    public var isOperationInvalid: Bool { code == Int32(VIR_ERR_OPERATION_INVALID.rawValue) }
    public var isXMLError: Bool {
        code == Int32(VIR_ERR_XML_ERROR.rawValue) || code == Int32(VIR_ERR_XML_DETAIL.rawValue)
            || code == Int32(VIR_ERR_XML_INVALID_SCHEMA.rawValue)
    }
    public var isAuthFailure: Bool {
        code == Int32(VIR_ERR_AUTH_FAILED.rawValue) || code == Int32(VIR_ERR_AUTH_CANCELLED.rawValue)
            || code == Int32(VIR_ERR_ACCESS_DENIED.rawValue)
    }
}
