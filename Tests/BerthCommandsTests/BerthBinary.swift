import Foundation
import MachineCore

/// The real `berth` binary that `swift build` made, run as a script would run it: its standard
/// output, standard error and exit status, with input given on standard input when asked.
enum BerthBinary {
    static var path: String {
        if let binary = ProcessInfo.processInfo.environment["BERTH_BINARY"] { return binary }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return packageRoot.appendingPathComponent(".build/debug/berth").path
    }

    struct Result {
        let status: Int32
        let output: String
        let error: String
    }

    /// Runs berth against `store` with NO_COLOR set, DOCKER_HOST unset and the docker CLI's files in
    /// a folder of the store's own, so nothing of the host's docker set-up is touched.
    static func run(_ arguments: [String], store: TemporaryStore, input: String? = nil,
                    environment extra: [String: String] = [:]) async throws -> Result {
        var environment = ProcessInfo.processInfo.environment
        environment["BERTH_STORAGE_PATH"] = store.path
        environment["DOCKER_CONFIG"] = store.root.appendingPathComponent("docker-config").path
        environment["NO_COLOR"] = "1"
        for name in ["DOCKER_HOST", "DOCKER_CONTEXT", "BERTH_VIRT_TYPE", "BERTH_LIBVIRT_URI", "MACHINE_DEBUG"] { environment[name] = nil }
        environment.merge(extra) { _, new in new }
        let output = try await HelperProgram.capture(path, arguments, input: input.map { Data($0.utf8) } ?? Data(),
                                                  environment: environment, timeout: .seconds(120))
        return Result(status: output.status, output: output.standardOutput, error: output.standardError)
    }
}
