import Foundation
import Logging

/// Where a machine's forwarder keeps its files, in the machine's folder: the lock it holds while it
/// runs (so "is it running" never depends on a stale process ID), its state and its log.
struct ForwarderFiles {
    let lock: URL
    let state: URL
    let log: URL

    init(store: Store, machine: String) throws {
        let folder = try store.machineDirectory(machine)
        lock = folder.appendingPathComponent("forwarder.lock")
        state = folder.appendingPathComponent("forwards.json")
        log = folder.appendingPathComponent("forwarder.log")
    }
}

/// Starts, reloads and stops a machine's forwarder process, which outlives the berth command that
/// started it. The process is berth itself (`berth forwarder NAME`), in a session of its own.
public struct ForwarderProcess: Sendable {
    let store: Store
    let machine: String
    /// The berth executable to run; nil where berth runs as a library (tests), which starts none.
    let executable: URL?

    /// Whether a forwarder serves the machine now.
    public var isRunning: Bool {
        guard let files = try? ForwarderFiles(store: store, machine: machine) else { return false }
        return StoreLock.isHeld(at: files.lock)
    }

    /// What the forwarder last reported, if it runs.
    public func state() -> ForwardState? {
        guard isRunning, let files = try? ForwarderFiles(store: store, machine: machine),
              let data = FileManager.default.contents(atPath: files.state.path) else { return nil }
        return try? Store.decoder.decode(ForwardState.self, from: data)
    }

    /// Makes sure a forwarder runs with the machine's current configuration: starts one, or asks
    /// the running one to reload, and waits until it has. Returns what it then reports.
    @discardableResult
    public func ensureRunning(timeout: Duration = .seconds(20)) async throws -> ForwardState? {
        guard let executable else { return nil }
        let files = try ForwarderFiles(store: store, machine: machine)
        let deadline = ContinuousClock.now + timeout
        if let running = state() {
            kill(running.pid, SIGHUP)
            while ContinuousClock.now < deadline {
                if let now = state(), now.generation > running.generation { return now }
                try await Task.sleep(for: .milliseconds(50))
            }
            throw BerthError(.command, "the port forwarder of \"\(machine)\" did not take the new configuration; see \(files.log.path)")
        }
        try? FileManager.default.removeItem(at: files.state)
        try spawn(executable, log: files.log)
        while ContinuousClock.now < deadline {
            if let now = state() { return now }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BerthError(.command, "the port forwarder of \"\(machine)\" did not start; see \(files.log.path)")
    }

    /// Stops the forwarder (its ports are free when this returns) and forgets its state.
    public func stop() async {
        guard let files = try? ForwarderFiles(store: store, machine: machine) else { return }
        if let running = state() {
            kill(running.pid, SIGTERM)
            for _ in 0..<100 where StoreLock.isHeld(at: files.lock) { try? await Task.sleep(for: .milliseconds(50)) }
            if StoreLock.isHeld(at: files.lock) { kill(running.pid, SIGKILL) }
        }
        try? FileManager.default.removeItem(at: files.state)
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np`, which Swift does not import (it is a GNU
    /// extension), found at run time.
    private static func closeDescriptors(from first: Int32, in actions: inout posix_spawn_file_actions_t) {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return }
        _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, first)
    }

    /// Starts `berth forwarder NAME` detached: its own session, no terminal, output to its log.
    private func spawn(_ executable: URL, log: URL) throws {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // glibc's POSIX_SPAWN_SETSID (0x80), which Swift does not import: a session of its own, so a
        // closed terminal or Ctrl-C in the shell that ran berth does not reach the forwarder.
        let setSession: Int32 = 0x80
        posix_spawnattr_setflags(&attributes, Int16(setSession | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, log.path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        // Nothing else of this process may live on in the forwarder: a pipe or socket it kept open
        // would make whoever waits for this berth command's output wait as long as the forwarder runs.
        Self.closeDescriptors(from: 3, in: &actions)
        let arguments = [executable.path, "forwarder", machine, "--storage-path", store.root.path]
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable.path, &actions, &attributes, argv, environ)
        guard result == 0 else {
            throw BerthError(.command, "cannot start the port forwarder of \"\(machine)\": \(String(cString: strerror(result)))")
        }
    }
}
