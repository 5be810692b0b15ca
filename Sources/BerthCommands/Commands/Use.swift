import ArgumentParser
import Foundation
import MachineCore

struct Use: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a machine the docker CLI's current context, so plain `docker` talks to it.",
        discussion: """
            Writes a Docker context named berth-NAME (the machine's URL and TLS files) into $DOCKER_CONFIG \
            (default ~/.docker) and makes it current, like `docker context use`; it stays in force in every \
            shell until changed. --unset goes back to Docker's default context. Unlike `berth env`, nothing \
            needs to be evaluated; DOCKER_HOST and DOCKER_CONTEXT, when set, still win over it.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var machine: MachineNameArgument
    @Flag(help: "Go back to Docker's default context.") var unset = false

    func run() async throws {
        try apply(contexts: DockerContextStore.resolve(), environment: ProcessInfo.processInfo.environment)
    }

    /// Writes the context and switches to it (or back to the default) in `contexts`.
    func apply(contexts: DockerContextStore, environment: [String: String]) throws {
        if unset {
            try contexts.setCurrentContext(nil)
            Terminal.status("Docker uses its default context again.")
            return
        }
        let config = try global.machines.config(machine.name)
        let context = try DockerContext.forMachine(config, store: global.store)
        try contexts.write(context)
        try contexts.setCurrentContext(context.name)
        Terminal.status("Docker now uses \"\(config.name)\" (context \(context.name)).")
        if !(environment["DOCKER_HOST"] ?? "").isEmpty {
            Terminal.warning("DOCKER_HOST is set in this shell and wins over the context; clear it with `eval $(berth env --unset)`")
        }
        if !(environment["DOCKER_CONTEXT"] ?? "").isEmpty {
            Terminal.warning("DOCKER_CONTEXT is set in this shell and wins over the current context; clear it with `unset DOCKER_CONTEXT`")
        }
    }
}
