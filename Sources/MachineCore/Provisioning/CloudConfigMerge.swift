import Foundation
import Yams

/// Merges a user's cloud-config into berth's, on YAML nodes: for keys in both documents, mappings
/// merge recursively, lists are concatenated (berth's entries first, so `write_files`, `runcmd`,
/// `packages`, `users` and `ssh_authorized_keys` keep both), and anything else takes the user's value.
public enum CloudConfigMerge {
    /// Parses the text of a user's cloud-config file. Empty text gives an empty mapping; anything
    /// other than a YAML mapping (a shell script, a MIME archive, a list) is refused.
    public static func parseUserData(_ text: String) throws -> Node {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw ProvisioningError.invalidUserCloudConfig(reason: "not valid YAML: \(error)")
        }
        guard let node else { return Node([(Node, Node)]()) }
        guard case .mapping = node else {
            throw ProvisioningError.invalidUserCloudConfig(reason: "the top level is not a mapping")
        }
        return node
    }

    /// `base` with `overlay` merged in.
    public static func merge(_ base: Node, _ overlay: Node) -> Node {
        switch (base, overlay) {
        case (.mapping(let baseMapping), .mapping(let overlayMapping)):
            var pairs: [(Node, Node)] = baseMapping.map { ($0.key, $0.value) }
            for (key, value) in overlayMapping {
                if let index = pairs.firstIndex(where: { $0.0 == key }) {
                    pairs[index].1 = merge(pairs[index].1, value)
                } else {
                    pairs.append((key, value))
                }
            }
            return .mapping(Node.Mapping(pairs, baseMapping.tag, baseMapping.style))
        case (.sequence(let baseSequence), .sequence(let overlaySequence)):
            return .sequence(Node.Sequence(Array(baseSequence) + Array(overlaySequence), baseSequence.tag, baseSequence.style))
        default:
            return overlay
        }
    }
}
