import ArgumentParser
import Foundation
import MachineCore

struct Active: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the name of the running machine that $DOCKER_HOST points at.",
        discussion: """
            Fails with "No active host found" when $DOCKER_HOST names no running machine, and with \
            "Error getting active host: timeout" when none was found and some machine's Docker did not answer within --timeout.
            """)

    @OptionGroup var global: GlobalOptions
    @Option(name: [.short, .long], help: "Seconds to wait for each machine's Docker to answer.") var timeout = 10

    func validate() throws {
        guard (1...600).contains(timeout) else { throw ValidationError("--timeout must be between 1 and 600 seconds, not \(timeout)") }
    }

    func run() async throws {
        // Without $DOCKER_HOST nothing can be active: no machine's Docker needs asking.
        let dockerHost = ProcessInfo.processInfo.environment["DOCKER_HOST"] ?? ""
        let rows = await global.machines.list(timeout: .seconds(timeout), askDocker: !dockerHost.isEmpty, activeHost: dockerHost)
        print(try Self.activeName(in: rows))
    }

    /// The active machine's name, or Docker Machine's error for none.
    static func activeName(in rows: [MachineListing]) throws -> String {
        if let active = rows.first(where: \.active) { return active.name }
        if rows.contains(where: { $0.state == .timeout }) {
            throw BerthError(.timeout, DockerMachineWording.activeTimeout)
        }
        throw BerthError(.machineNotFound, DockerMachineWording.noActiveHost)
    }
}
