import ArgumentParser
import Foundation
import MachineCore

struct VersionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print berth's version, or with a NAME, the machine's Docker Engine version.",
        discussion: "--format json prints {\"version\": …}, or with a NAME {\"name\": …, \"dockerVersion\": …}.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "A machine whose Docker Engine version to print.", completion: StoreCompletion.machines) var name: String?
    @OptionGroup var output: FormatOption

    /// What `version --format json` prints.
    struct Report: Encodable, Equatable {
        /// berth's version, when no machine was named.
        var version: String?
        var name: String?
        var dockerVersion: String?
    }

    func run() async throws {
        guard let name else {
            let version = Berth.version
            try output.print(Report(version: version)) { "berth version \(version)\n" }
            return
        }
        let machines = global.machines
        let config = try await machines.runningConfig(name)
        guard let version = await (try machines.endpoint(config)).engineVersion() else {
            throw BerthError(.timeout, "Docker in \"\(name)\" does not answer at \(config.dockerURL); check it with `berth ssh \(name) systemctl status docker`")
        }
        try output.print(Report(name: config.name, dockerVersion: version)) { version + "\n" }
    }
}
