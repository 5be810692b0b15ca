import Foundation

/// The phases of a machine's last create or start on one time line, in seconds from the moment
/// berth began: berth's own stages, and what the guest did (kernel, initrd, systemd units, the
/// DHCP lease, cloud-init's stages, containerd, dockerd), read after the fact from the kernel's log
/// and systemd. Kept in the machine's config, so `inspect` shows the last ones.
public struct BootTimings: Codable, Sendable, Equatable {
    public struct Phase: Codable, Sendable, Equatable {
        public enum Source: String, Codable, Sendable { case berth, guest }
        public var name: String
        public var source: Source
        /// Seconds from the start of the operation.
        public var start: Double
        public var end: Double
        public var duration: Double { end - start }

        public init(name: String, source: Source, start: Double, end: Double) {
            self.name = name
            self.source = source
            self.start = start
            self.end = end
        }
    }

    /// "create" or "start".
    public var operation: String
    public var recordedAt: Date
    public var phases: [Phase]
    /// How the guest's clock was placed on berth's time line, or why the guest's side is missing.
    public var guestNote: String?

    public init(operation: String, recordedAt: Date = Date(), phases: [Phase] = [], guestNote: String? = nil) {
        self.operation = operation
        self.recordedAt = recordedAt
        self.phases = phases
        self.guestNote = guestNote
    }

    /// The phases in the order they began.
    public var ordered: [Phase] {
        phases.enumerated().sorted { ($0.element.start, $0.offset) < ($1.element.start, $1.offset) }.map(\.element)
    }

    /// A table for people: start, end, duration, where, what.
    public func rendered() -> String {
        var lines = ["Timings of \(operation) (seconds since berth began):", "   start     end    took  where  phase"]
        for phase in ordered {
            lines.append(String(format: "%8.2f %7.2f %7.2f  %@  %@", phase.start, phase.end, phase.duration,
                                phase.source.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0), phase.name))
        }
        if let guestNote { lines.append(guestNote) }
        return lines.joined(separator: "\n")
    }
}

/// Records the stages of an operation with their times while passing them on to another reporter.
public final class StageTimeline: StageReporter, @unchecked Sendable {
    private let forward: StageReporter?
    private let lock = NSLock()
    private var starts: [String: ContinuousClock.Instant] = [:]
    private var phases: [BootTimings.Phase] = []
    public let origin: ContinuousClock.Instant

    public init(forwardingTo forward: StageReporter?, origin: ContinuousClock.Instant = .now) {
        self.forward = forward
        self.origin = origin
    }

    /// Seconds from the origin to `instant`.
    public func offset(_ instant: ContinuousClock.Instant = .now) -> Double {
        Self.seconds(instant - origin)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    public func stageStarted(_ stage: String) {
        lock.withLock { starts[stage] = .now }
        forward?.stageStarted(stage)
    }

    public func stageFinished(_ stage: String, after: Duration) {
        record(stage, after: after)
        forward?.stageFinished(stage, after: after)
    }

    public func stageFailed(_ stage: String, after: Duration) {
        record(stage + " (failed)", after: after)
        forward?.stageFailed(stage, after: after)
    }

    public func note(_ message: String) { forward?.note(message) }

    /// Adds a phase measured by the caller.
    public func add(_ name: String, from start: ContinuousClock.Instant, to end: ContinuousClock.Instant = .now) {
        lock.withLock { phases.append(.init(name: name, source: .berth, start: offset(start), end: offset(end))) }
    }

    private func record(_ stage: String, after: Duration) {
        let end = ContinuousClock.now
        lock.withLock {
            let start = starts[stage.replacingOccurrences(of: " (failed)", with: "")] ?? (end - after)
            phases.append(.init(name: stage, source: .berth, start: offset(start), end: offset(end)))
        }
    }

    public var recorded: [BootTimings.Phase] { lock.withLock { phases } }
}

/// What the guest says about its boot, read over SSH after Docker answered: the kernel's log for
/// the hand-over to the initrd, systemd's own timestamps for userspace and each unit, the DHCP
/// lease from systemd-networkd's journal, and the guest's uptime, which places the guest's clock
/// (seconds since its kernel started) on berth's time line.
public enum GuestBootReport {
    /// Units worth showing, in boot order; those a machine does not have are left out.
    public static let units = [
        "berth-init.service", "systemd-networkd.service", "dbus.service",
        "cloud-init-main.service", "cloud-init-local.service", "cloud-init-network.service",
        "cloud-config.service", "cloud-final.service",
        "containerd.service", "docker.service", "ssh.service", "berth-cloud-init.service", "berth-growfs.service",
    ]

    /// The shell script run as root in the guest. The uptime comes last, so it is read as close
    /// as possible to the moment the answer reaches the host.
    public static var script: String {
        """
        systemctl show -p UserspaceTimestampMonotonic -p FinishTimestampMonotonic
        echo
        systemctl show -p Id -p InactiveExitTimestampMonotonic -p ActiveEnterTimestampMonotonic \(units.joined(separator: " "))
        echo
        echo '--- kernel'
        dmesg 2>/dev/null | grep -m1 -E 'Run /init as init process|Freeing unused kernel'
        echo '--- networkd'
        journalctl -b -o short-monotonic --no-pager -q -u systemd-networkd.service 2>/dev/null | grep -m1 'DHCPv4 address'
        echo '--- uptime'
        cat /proc/uptime
        """
    }

    /// Guest phases, in seconds since the guest's kernel started, from the script's output.
    public struct Parsed: Equatable, Sendable {
        public var phases: [BootTimings.Phase]
        /// The guest's uptime when it answered, in seconds.
        public var uptime: Double?
    }

    public static func parse(_ output: String) -> Parsed {
        var phases: [BootTimings.Phase] = []
        var uptime: Double?
        var section = "systemd"
        var manager: [String: Double] = [:]
        var current: [String: String] = [:]
        var kernelEnd: Double?
        var lease: Double?

        func microseconds(_ value: String?) -> Double? {
            guard let value, let number = Double(value), number > 0 else { return nil }
            return number / 1e6
        }
        func flushUnit() {
            defer { current = [:] }
            guard let id = current["Id"], let ready = microseconds(current["ActiveEnterTimestampMonotonic"]) else { return }
            let started = microseconds(current["InactiveExitTimestampMonotonic"]) ?? ready
            let name = id.hasSuffix(".service") ? String(id.dropLast(".service".count)) : id
            phases.append(.init(name: name, source: .guest, start: started, end: ready))
        }

        for rawLine in output.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(rawLine)
            if line.hasPrefix("--- ") {
                flushUnit()
                section = String(line.dropFirst(4))
                continue
            }
            switch section {
            case "systemd":
                if line.isEmpty { flushUnit(); continue }
                let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { continue }
                if parts[0] == "UserspaceTimestampMonotonic" || parts[0] == "FinishTimestampMonotonic" {
                    manager[parts[0]] = microseconds(parts[1])
                } else {
                    current[parts[0]] = parts[1]
                }
            case "kernel":
                kernelEnd = kernelTimestamp(line) ?? kernelEnd
            case "networkd":
                lease = bracketedSeconds(line) ?? lease
            case "uptime":
                uptime = line.split(separator: " ").first.flatMap { Double($0) } ?? uptime
            default:
                break
            }
        }
        flushUnit()

        var result: [BootTimings.Phase] = []
        let userspace = manager["UserspaceTimestampMonotonic"]
        if let userspace {
            if let kernelEnd, kernelEnd < userspace {
                result.append(.init(name: "kernel", source: .guest, start: 0, end: kernelEnd))
                result.append(.init(name: "initrd", source: .guest, start: kernelEnd, end: userspace))
            } else {
                result.append(.init(name: "kernel and initrd", source: .guest, start: 0, end: userspace))
            }
        }
        result += phases
        if let lease, let networkd = phases.first(where: { $0.name == "systemd-networkd" }) {
            result.append(.init(name: "DHCP lease", source: .guest, start: networkd.end, end: max(lease, networkd.end)))
        }
        if let finish = manager["FinishTimestampMonotonic"], let userspace {
            result.append(.init(name: "systemd: boot finished", source: .guest, start: userspace, end: finish))
        }
        return Parsed(phases: result, uptime: uptime)
    }

    /// `[   3.141593] …` → 3.141593.
    static func kernelTimestamp(_ line: String) -> Double? {
        guard line.hasPrefix("["), let close = line.firstIndex(of: "]") else { return nil }
        return Double(line[line.index(after: line.startIndex)..<close].trimmingCharacters(in: .whitespaces))
    }

    /// journalctl's short-monotonic lines: `[   12.345678] host systemd-networkd[…]: …` → 12.345678.
    static func bracketedSeconds(_ line: String) -> Double? { kernelTimestamp(line) }

    /// Places guest phases on berth's time line: the guest's uptime `uptime` was read at
    /// `answeredAt` (seconds since berth began), so its kernel started at `answeredAt - uptime`.
    public static func place(_ parsed: Parsed, answeredAt: Double) -> [BootTimings.Phase]? {
        guard let uptime = parsed.uptime else { return nil }
        let kernelStart = answeredAt - uptime
        return parsed.phases.map {
            .init(name: $0.name, source: .guest, start: $0.start + kernelStart, end: $0.end + kernelStart)
        }
    }
}
