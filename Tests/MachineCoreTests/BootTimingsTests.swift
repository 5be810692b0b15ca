import Foundation
import Testing
@testable import MachineCore

@Suite("boot timings: the guest's report and one time line")
struct BootTimingsTests {
    static let report = """
        UserspaceTimestampMonotonic=4200000
        FinishTimestampMonotonic=0

        Id=berth-init.service
        InactiveExitTimestampMonotonic=6000000
        ActiveEnterTimestampMonotonic=6400000

        Id=systemd-networkd.service
        InactiveExitTimestampMonotonic=5000000
        ActiveEnterTimestampMonotonic=5500000

        Id=cloud-init-main.service
        InactiveExitTimestampMonotonic=0
        ActiveEnterTimestampMonotonic=0

        Id=docker.service
        InactiveExitTimestampMonotonic=9000000
        ActiveEnterTimestampMonotonic=12500000

        --- kernel
        [    1.234567] Run /init as init process
        --- networkd
        [    7.750000] dev systemd-networkd[201]: enp1s0: DHCPv4 address 192.168.124.10/24, gateway 192.168.124.1 acquired from 192.168.124.1
        --- uptime
        14.00 20.00
        """

    @Test func parsesKernelInitrdUnitsAndTheLease() throws {
        let parsed = GuestBootReport.parse(Self.report)
        #expect(parsed.uptime == 14.0)
        let byName = Dictionary(uniqueKeysWithValues: parsed.phases.map { ($0.name, $0) })
        #expect(byName["kernel"]?.end == 1.234567)
        #expect(byName["initrd"]?.start == 1.234567)
        #expect(byName["initrd"]?.end == 4.2)
        #expect(byName["berth-init"].map { ($0.start, $0.end) } ?? (0, 0) == (6.0, 6.4))
        #expect(byName["docker"]?.end == 12.5)
        #expect(byName["cloud-init-main"] == nil, "units that never ran are left out")
        #expect(byName["DHCP lease"].map { ($0.start, $0.end) } ?? (0, 0) == (5.5, 7.75))
        #expect(byName["systemd: boot finished"] == nil, "boot not finished yet")
    }

    @Test func placesTheGuestOnBerthsTimeLineByItsUptime() throws {
        let placed = try #require(GuestBootReport.place(GuestBootReport.parse(Self.report), answeredAt: 30))
        // The uptime (14 s) was read at 30 s: the kernel started at 16 s.
        #expect(placed.first { $0.name == "kernel" }?.start == 16)
        #expect(placed.first { $0.name == "docker" }?.end == 28.5)
        #expect(placed.allSatisfy { $0.source == .guest })
        #expect(GuestBootReport.place(GuestBootReport.parse("nothing"), answeredAt: 3) == nil)
    }

    @Test func rendersInStartOrderAndRoundTripsThroughJSON() throws {
        let timings = BootTimings(operation: "create", recordedAt: Date(timeIntervalSince1970: 0), phases: [
            .init(name: "waiting for Docker", source: .berth, start: 5, end: 30),
            .init(name: "preflight", source: .berth, start: 0, end: 0.05),
            .init(name: "kernel", source: .guest, start: 6, end: 7),
        ], guestNote: "placed by uptime")
        let lines = timings.rendered().split(separator: "\n").map(String.init)
        #expect(lines.count == 6)
        #expect(lines[2].hasSuffix("preflight"))
        #expect(lines[3].hasSuffix("waiting for Docker"))
        #expect(lines[4].contains("guest") && lines[4].hasSuffix("kernel"))
        #expect(lines[5] == "placed by uptime")
        let decoded = try JSONDecoder().decode(BootTimings.self, from: try JSONEncoder().encode(timings))
        #expect(decoded == timings)
    }

    @Test func stageTimelineRecordsStagesAndForwardsThem() async throws {
        let timeline = StageTimeline(forwardingTo: nil)
        let operation = StagedOperation(reporter: timeline)
        try await operation.stage("disk") { try await Task.sleep(for: .milliseconds(20)) }
        let phases = timeline.recorded
        #expect(phases.map(\.name) == ["disk"])
        #expect(phases[0].duration >= 0.02)
        #expect(phases[0].start >= 0)
    }
}
