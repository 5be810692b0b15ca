import Foundation
import PortForwarding

/// What a machine's port forwarder is doing, written by the forwarder process after every change
/// (`machines/NAME/forwards.json`) and read by `port ls`, `ls` and the commands that wait for a
/// change to take effect.
public struct ForwardState: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public enum Source: Codable, Sendable, Equatable {
            /// A forward the user asked for (`create -p`, `port add`), as they wrote it.
            case spec(String)
            /// A port a running container publishes (auto-publish).
            case container(String)
        }

        public var rule: ForwardRule
        public var source: Source
        public var listening: Bool
        /// Why the forward is not listening, in one line.
        public var error: String?
        public var route: Route

        public init(rule: ForwardRule, source: Source, listening: Bool, error: String? = nil, route: Route = .direct) {
            self.rule = rule
            self.source = source
            self.listening = listening
            self.error = error
            self.route = route
        }
    }

    /// How a forward reaches the machine.
    public enum Route: String, Codable, Sendable {
        /// Straight to the machine's address on its network.
        case direct
        /// Through SSH to the machine (its own loopback, or a machine on QEMU's user-mode network).
        case guestSSH
        /// Through SSH to the machine's hypervisor host (a machine on another host).
        case hostSSH
    }

    public var pid: Int32
    /// Counts the forwarder's reloads, so a command that asked for one can wait for it.
    public var generation: Int
    public var updatedAt: Date
    public var entries: [Entry]
    /// Docker Engine as the forwarder sees it: its version, while the forwarder's event stream from it
    /// is open (nil when Docker does not answer). `ls` reads it instead of asking Docker itself.
    public var engineVersion: String?

    public init(pid: Int32, generation: Int, updatedAt: Date = Date(), entries: [Entry], engineVersion: String? = nil) {
        self.pid = pid
        self.generation = generation
        self.updatedAt = updatedAt
        self.entries = entries
        self.engineVersion = engineVersion
    }
}
