import Foundation

/// Turns Ctrl-C (SIGINT), SIGTERM and a closed terminal (SIGHUP) into cancellation of the running work, so staged operations
/// roll back instead of leaving half-made machines.
enum Interrupts {
    static func cancellingOnSignal<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task { try await body() }
        var sources: [DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM, SIGHUP] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                FileHandle.standardError.write(Data("\ninterrupted: cleaning up…\n".utf8))
                task.cancel()
            }
            source.resume()
            sources.append(source)
        }
        defer {
            sources.forEach { $0.cancel() }
            [SIGINT, SIGTERM, SIGHUP].forEach { signal($0, SIG_DFL) }
        }
        return try await task.value
    }
}
