import Foundation

/// An existing server taken over with `--driver generic`: berth manages its Docker Engine over SSH
/// but neither made nor powers it. Its state is whether its SSH port answers, as Docker Machine's
/// generic driver decided it: Running when it does, Stopped when it does not (a server that is down
/// and one that is unreachable look the same from here). `ls` then asks its Docker as for any
/// running machine, so a server whose Docker is down shows Running with the error beside it.
public struct GenericDriver: Sendable {
    public static let name = MachineConfig.genericDriver
    /// How long `ls` and `status` wait for the SSH port.
    public var probeTimeout: Duration

    public init(probeTimeout: Duration = .seconds(2)) { self.probeTimeout = probeTimeout }

    public func state(_ config: MachineConfig) async -> MachineState {
        await TCPProbe.isOpen(host: config.network.ip, port: config.ssh.port, timeout: probeTimeout) ? .running : .stopped
    }

    /// The one line `start`, `stop`, `restart` and `kill` answer for a generic machine.
    public static func powerRefused(_ config: MachineConfig, _ action: String) -> BerthError {
        BerthError(.invalidArgument, "machine \"\(config.name)\" is the existing server at \(config.network.ip) (driver generic), and berth does not power generic machines; \(action) it yourself")
    }
}
