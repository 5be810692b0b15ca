import Foundation
import Guestfs
import Testing

/// A handle must be closed, and its appliance stopped, by the time the call that used it returns,
/// so the process can exit at once: libguestfs closes every handle still open in its own exit
/// handler, and a second close of the same handle on another thread crashes.
@Suite("GuestfsHandle lifetime")
struct HandleLifetimeTests {
    /// The ids of processes that hold `path` open, found through /proc.
    static func processes(holding path: String) -> [Int32] {
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
            return fds.contains { fd in
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)")) == target
            }
        }
    }

    @Test("a failed inspection has stopped the appliance and closed the handle before its error is thrown")
    func failedInspectionClosesFirst() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        // Text, attached as raw: the appliance starts, then finds no operating system.
        let garbage = folder.file("garbage-\(UUID().uuidString).raw")
        try Data(String(repeating: "root:x:0:0:root:/root:/bin/bash\n", count: 32 * 1024).utf8).write(to: garbage)

        let error = await #expect(throws: GuestfsError.self) {
            _ = try await ImageInspector().inspect(imageAt: garbage, format: "raw", extractBootFilesTo: nil, forceTCG: forceTCG)
        }
        #expect(error?.code == .noOperatingSystem)
        // The appliance (QEMU) held the image open; it must be gone already, not closing in the background.
        #expect(Self.processes(holding: garbage.path).isEmpty)
    }

    @Test("a closed handle refuses further calls, and closing twice is harmless")
    func closedHandleRefusesCalls() async throws {
        let g = try GuestfsHandle(forceTCG: forceTCG)
        await g.close()
        await g.close()
        let error = await #expect(throws: GuestfsError.self) { _ = try await g.backendSettings() }
        #expect(error?.code == .handleClosed)
    }
}
