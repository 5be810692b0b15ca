import Foundation

/// One thing `berth doctor` checked about the host: a stable code scripts can test, how it went,
/// what was found, and what to do about it.
public struct HostCheck: Sendable, Codable, Equatable {
    /// The checks' stable names.
    public enum Code: String, Sendable, Codable, CaseIterable {
        case libvirtSocket = "libvirt-socket"
        case libvirtGroup = "libvirt-group"
        case virtlogd
        case qemu
        case firmware
        case kvm
        case networkSubnet = "network-subnet"
        case poolAccess = "pool-access"
        case poolSpace = "pool-space"
        case storePermissions = "store-permissions"
        case storeSpace = "store-space"
        case libguestfsAppliance = "libguestfs-appliance"
    }

    public enum Status: String, Sendable, Codable {
        case ok
        /// Works, but slower or less safe than it should be; create still works.
        case warning
        /// create cannot work until this is fixed.
        case failed
        /// Could not be checked (it needs something that failed, or it is on a remote host).
        case skipped
    }

    public var code: Code
    public var status: Status
    /// What was found, in one line.
    public var message: String
    /// What to do, in one line; nil when nothing needs doing.
    public var fix: String?

    public init(_ code: Code, _ status: Status, _ message: String, fix: String? = nil) {
        self.code = code
        self.status = status
        self.message = message
        self.fix = fix
    }
}

/// Everything `berth doctor` found.
public struct HostReport: Sendable, Codable, Equatable {
    public var checks: [HostCheck]

    public init(checks: [HostCheck]) { self.checks = checks }

    /// Whether nothing found stops `create`.
    public var readyToCreate: Bool { !checks.contains { $0.status == .failed } }

    public func check(_ code: HostCheck.Code) -> HostCheck? { checks.first { $0.code == code } }

    private enum CodingKeys: String, CodingKey { case checks, readyToCreate }

    public init(from decoder: any Decoder) throws {
        checks = try decoder.container(keyedBy: CodingKeys.self).decode([HostCheck].self, forKey: .checks)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(checks, forKey: .checks)
        try container.encode(readyToCreate, forKey: .readyToCreate)
    }
}
