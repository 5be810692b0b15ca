import Foundation

/// Docker's own swarm-mode commands, as berth runs them in a machine over SSH. Every value that
/// comes from outside (addresses, node IDs, labels) is quoted for the machine's shell; the join
/// token never appears on a command line (it is read from standard input).
public enum SwarmCommands {
    /// Docker's port for swarm management traffic.
    public static let managementPort = 2377

    /// This node's swarm state: inactive, pending, active, error or locked.
    public static let localState = "docker info --format '{{.Swarm.LocalNodeState}}'"
    public static let nodeID = "docker info --format '{{.Swarm.NodeID}}'"

    public static func initialise(advertiseAddress: String) -> String {
        "docker swarm init --advertise-addr \(quote(advertiseAddress))"
    }

    public static func joinToken(for role: MachineConfig.SwarmMembership.Role) -> String {
        "docker swarm join-token -q \(role.rawValue)"
    }

    /// Joins the swarm whose manager listens at `managerAddress`, the token coming on standard input.
    public static func join(managerAddress: String, advertiseAddress: String) -> String {
        let script = "read -r token && exec docker swarm join --token \"$token\" --advertise-addr \(quote(advertiseAddress)) "
            + quote("\(managerAddress):\(managementPort)")
        return "sh -c \(quote(script))"
    }

    /// Whether this machine opens a TCP connection to the manager's swarm port within 5 seconds
    /// (bash's /dev/tcp; exit 0 when it does).
    public static func reaches(_ address: String) -> String {
        "timeout 5 bash -c \(quote("</dev/tcp/\(address)/\(managementPort)")) 2>/dev/null"
    }

    public static func addLabels(_ labels: [String], node: String) -> String {
        (["docker node update"] + labels.map { "--label-add \(quote($0))" } + [quote(node)]).joined(separator: " ")
    }

    public static func drain(node: String) -> String { "docker node update --availability drain \(quote(node))" }
    public static func demote(node: String) -> String { "docker node demote \(quote(node))" }
    public static func removeNode(_ node: String) -> String { "docker node rm --force \(quote(node))" }

    /// The states of the tasks on a node, one a line ("Running 5 seconds ago", "Shutdown …").
    public static func taskStates(node: String) -> String { "docker node ps --format '{{.CurrentState}}' \(quote(node))" }

    /// Leaves the swarm; `force` is what the last manager needs (it dissolves the cluster).
    public static func leave(force: Bool) -> String { force ? "docker swarm leave --force" : "docker swarm leave" }

    /// Every node a manager knows: ID, host name and manager status (empty for workers), tab-separated.
    public static let nodes = "docker node ls --format '{{.ID}}\t{{.Hostname}}\t{{.ManagerStatus}}'"

    /// One line of `nodes`.
    public struct Node: Sendable, Equatable {
        public var id: String
        public var hostname: String
        public var isManager: Bool

        public static func parse(_ output: String) -> [Node] {
            output.split(separator: "\n").compactMap { line in
                let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map {
                    $0.trimmingCharacters(in: .whitespaces)
                }
                guard fields.count >= 2, !fields[0].isEmpty else { return nil }
                return Node(id: fields[0], hostname: fields[1], isManager: fields.count > 2 && !fields[2].isEmpty)
            }
        }
    }

    /// `--swarm-label` values: `key=value` (or a bare key), as `docker node update --label-add` takes them.
    public static func validate(label: String) throws {
        let key = label.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]
        guard key.range(of: "^[A-Za-z0-9][A-Za-z0-9._/-]*$", options: .regularExpression) != nil,
              !label.contains("\n"), !label.contains("\r") else {
            throw BerthError(.invalidArgument, "--swarm-label takes key=value with a key of letters, digits, '.', '_', '/' and '-', not \"\(label)\"")
        }
    }

    static func quote(_ word: String) -> String { SSHCommand.quote(word) }
}
