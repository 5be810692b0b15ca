import Foundation
import Yams

/// cloud-init user-data (`#cloud-config`) as a typed value. Only the keys berth uses are modelled;
/// a user's own cloud-config is merged in as YAML when rendering (see `render(mergingUserData:)`).
public struct CloudConfig: Codable, Sendable, Equatable {
    public var hostname: String?
    public var preserveHostname: Bool?
    public var manageEtcHosts: Bool?
    /// Groups created before users, so a user's `primary_group` always exists.
    public var groups: [String]?
    public var users: [User]?
    public var sshPasswordAuthentication: Bool?
    /// Host keys for sshd, made by berth on the host so it can pin them (`ed25519_private`, …).
    public var sshKeys: [String: String]?
    /// Whether cloud-init removes the host keys it finds (false once berth-init installed berth's).
    public var sshDeleteKeys: Bool?
    /// Host key types cloud-init generates itself; empty when berth brings the keys.
    public var sshGenerateKeyTypes: [String]?
    public var writeFiles: [WriteFile]?
    public var bootcmd: [Command]?
    public var runcmd: [Command]?
    public var growpart: Growpart?
    public var resizeRootfs: Bool?
    public var packageUpdate: Bool?
    public var packageUpgrade: Bool?
    public var packageRebootIfRequired: Bool?
    public var packages: [String]?

    // Declaration order is the order keys are written in.
    enum CodingKeys: String, CodingKey {
        case hostname
        case preserveHostname = "preserve_hostname"
        case manageEtcHosts = "manage_etc_hosts"
        case groups
        case users
        case sshPasswordAuthentication = "ssh_pwauth"
        case sshKeys = "ssh_keys"
        case sshDeleteKeys = "ssh_deletekeys"
        case sshGenerateKeyTypes = "ssh_genkeytypes"
        case writeFiles = "write_files"
        case bootcmd
        case runcmd
        case growpart
        case resizeRootfs = "resize_rootfs"
        case packageUpdate = "package_update"
        case packageUpgrade = "package_upgrade"
        case packageRebootIfRequired = "package_reboot_if_required"
        case packages
    }

    public init(
        hostname: String? = nil,
        preserveHostname: Bool? = nil,
        manageEtcHosts: Bool? = nil,
        groups: [String]? = nil,
        users: [User]? = nil,
        sshPasswordAuthentication: Bool? = nil,
        sshKeys: [String: String]? = nil,
        sshDeleteKeys: Bool? = nil,
        sshGenerateKeyTypes: [String]? = nil,
        writeFiles: [WriteFile]? = nil,
        bootcmd: [Command]? = nil,
        runcmd: [Command]? = nil,
        growpart: Growpart? = nil,
        resizeRootfs: Bool? = nil,
        packageUpdate: Bool? = nil,
        packageUpgrade: Bool? = nil,
        packageRebootIfRequired: Bool? = nil,
        packages: [String]? = nil
    ) {
        self.hostname = hostname
        self.preserveHostname = preserveHostname
        self.manageEtcHosts = manageEtcHosts
        self.groups = groups
        self.users = users
        self.sshPasswordAuthentication = sshPasswordAuthentication
        self.sshKeys = sshKeys
        self.sshDeleteKeys = sshDeleteKeys
        self.sshGenerateKeyTypes = sshGenerateKeyTypes
        self.writeFiles = writeFiles
        self.bootcmd = bootcmd
        self.runcmd = runcmd
        self.growpart = growpart
        self.resizeRootfs = resizeRootfs
        self.packageUpdate = packageUpdate
        self.packageUpgrade = packageUpgrade
        self.packageRebootIfRequired = packageRebootIfRequired
        self.packages = packages
    }

    /// An entry of `users`.
    public struct User: Codable, Sendable, Equatable {
        public var name: String
        public var primaryGroup: String?
        public var groups: [String]?
        public var shell: String?
        public var sudo: String?
        public var lockPassword: Bool?
        public var sshAuthorizedKeys: [String]?

        enum CodingKeys: String, CodingKey {
            case name
            case primaryGroup = "primary_group"
            case groups, shell, sudo
            case lockPassword = "lock_passwd"
            case sshAuthorizedKeys = "ssh_authorized_keys"
        }

        public init(
            name: String, primaryGroup: String? = nil, groups: [String]? = nil, shell: String? = nil,
            sudo: String? = nil, lockPassword: Bool? = nil, sshAuthorizedKeys: [String]? = nil
        ) {
            self.name = name
            self.primaryGroup = primaryGroup
            self.groups = groups
            self.shell = shell
            self.sudo = sudo
            self.lockPassword = lockPassword
            self.sshAuthorizedKeys = sshAuthorizedKeys
        }
    }

    /// An entry of `write_files`. `permissions` is an octal string such as "0600".
    public struct WriteFile: Codable, Sendable, Equatable {
        public var path: String
        public var content: String
        public var permissions: String?
        public var owner: String?

        public init(path: String, content: String, permissions: String? = nil, owner: String? = "root:root") {
            self.path = path
            self.content = content
            self.permissions = permissions
            self.owner = owner
        }
    }

    /// A `bootcmd`/`runcmd` entry: a string run by `sh -c`, or an argument vector run directly.
    public enum Command: Codable, Sendable, Equatable {
        case shell(String)
        case exec([String])

        public init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let arguments = try? container.decode([String].self) {
                self = .exec(arguments)
            } else {
                self = .shell(try container.decode(String.self))
            }
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .shell(let line): try container.encode(line)
            case .exec(let arguments): try container.encode(arguments)
            }
        }
    }

    /// The `growpart` module's settings.
    public struct Growpart: Codable, Sendable, Equatable {
        public var mode: String
        public var devices: [String]
        public var ignoreGrowrootDisabled: Bool?

        enum CodingKeys: String, CodingKey {
            case mode, devices
            case ignoreGrowrootDisabled = "ignore_growroot_disabled"
        }

        public init(mode: String = "auto", devices: [String] = ["/"], ignoreGrowrootDisabled: Bool? = false) {
            self.mode = mode
            self.devices = devices
            self.ignoreGrowrootDisabled = ignoreGrowrootDisabled
        }
    }
}

extension CloudConfig {
    /// The first line cloud-init needs to treat user-data as cloud-config.
    public static let header = "#cloud-config"

    /// This document as a YAML node tree.
    public func node() throws -> Node {
        let encoder = YAMLEncoder()
        encoder.options.newLineScalarStyle = .literal
        do {
            let yaml = try encoder.encode(self)
            guard let node = try Yams.compose(yaml: yaml) else {
                throw ProvisioningError.rendering(reason: "cloud-config encoded to an empty document")
            }
            return node
        } catch let error as ProvisioningError {
            throw error
        } catch {
            throw ProvisioningError.rendering(reason: "cloud-config: \(error)")
        }
    }

    /// The user-data text: `#cloud-config`, then this document with `userData` (the text of a user's
    /// own cloud-config file, if any) merged in by `CloudConfigMerge`: their scalars win, lists are concatenated.
    public func render(mergingUserData userData: String? = nil) throws -> String {
        var document = try node()
        if let userData {
            document = CloudConfigMerge.merge(document, try CloudConfigMerge.parseUserData(userData))
        }
        do {
            let body = try Yams.serialize(node: document, width: -1, allowUnicode: true)
            return Self.header + "\n" + body
        } catch {
            throw ProvisioningError.rendering(reason: "cloud-config: \(error)")
        }
    }
}
