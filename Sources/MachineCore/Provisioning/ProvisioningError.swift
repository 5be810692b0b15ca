import Foundation

/// Errors raised while preparing what a machine needs before it boots:
/// certificates, SSH keys and cloud-init documents.
public enum ProvisioningError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Reading, writing or moving a file failed.
    case fileAccess(path: String, reason: String)
    /// A PEM file could not be parsed as the expected certificate or key.
    case invalidPEM(path: String, reason: String)
    /// A certificate could not be built or signed.
    case certificateCreation(reason: String)
    /// A string given as an IP address is not one.
    case invalidIPAddress(String)
    /// `ssh-keygen` failed or could not be started.
    case sshKeygen(status: Int32, output: String)
    /// An SSH key given by path does not exist or has no readable public half.
    case sshKey(path: String, reason: String)
    /// The user's cloud-config file is not a YAML mapping that can be merged.
    case invalidUserCloudConfig(reason: String)
    /// A document could not be rendered.
    case rendering(reason: String)
    /// A resource file that ships with berth is missing.
    case missingResource(String)

    public var description: String {
        switch self {
        case .fileAccess(let path, let reason):
            return "cannot access \(path): \(reason)"
        case .invalidPEM(let path, let reason):
            return "\(path) is not a usable PEM file (\(reason)); remove it to have berth create a new one"
        case .certificateCreation(let reason):
            return "cannot create a certificate: \(reason)"
        case .invalidIPAddress(let value):
            return "\(value) is not an IPv4 or IPv6 address"
        case .sshKeygen(let status, let output):
            return "ssh-keygen failed with status \(status): \(output); is openssh-client installed?"
        case .sshKey(let path, let reason):
            return "cannot use the SSH key \(path): \(reason)"
        case .invalidUserCloudConfig(let reason):
            return "cannot merge the cloud-config file: \(reason); it must be a YAML mapping (#cloud-config)"
        case .rendering(let reason):
            return "cannot render a provisioning document: \(reason)"
        case .missingResource(let name):
            return "the resource \(name) is missing from berth's installation"
        }
    }
}
