import Libvirt

/// A machine's state, as Docker Machine named them. Always derived from the hypervisor.
public enum MachineState: String, Codable, Sendable, CaseIterable {
    case running = "Running"
    case paused = "Paused"
    case stopping = "Stopping"
    case stopped = "Stopped"
    case error = "Error"
    /// A create is still running for the machine (berth's own state, not libvirt's).
    case creating = "Creating"
    /// The machine runs, but its Docker did not answer within `ls --timeout` (Docker Machine's state
    /// for a host that did not answer in time; only `ls` and `active` report it).
    case timeout = "Timeout"

    init(_ domain: DomainState) {
        switch domain {
        case .running, .blocked: self = .running
        case .paused, .suspended: self = .paused
        case .shuttingDown: self = .stopping
        case .shutOff: self = .stopped
        case .crashed, .noState: self = .error
        }
    }
}
