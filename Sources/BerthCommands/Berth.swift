import ArgumentParser
import Foundation
import MachineCore

/// The `berth` command: Docker Machine's command set on libvirt.
public struct Berth: AsyncParsableCommand {
    public static let version = "0.1.0"

    public static let configuration = CommandConfiguration(
        commandName: "berth",
        abstract: "Create and manage Docker hosts in local KVM/QEMU virtual machines.",
        discussion: """
            Typical use:
              berth create dev
              eval $(berth env dev)
              docker run --rm hello-world
            A missing machine NAME means "default", as in Docker Machine.
            """,
        version: version,
        subcommands: [
            Create.self, Ls.self, Env.self, Start.self, Stop.self, Restart.self, Kill.self, Rm.self,
            Active.self, ConfigCommand.self, Inspect.self, IP.self, Status.self, URLCommand.self, SSH.self, Scp.self,
            Provision.self, RegenerateCerts.self, Upgrade.self, Image.self, VersionCommand.self,
        ])

    public init() {}
}

/// Options every machine command takes.
public struct GlobalOptions: ParsableArguments {
    @Option(name: [.short, .customLong("storage-path")],
            help: "berth's storage folder (default: $BERTH_STORAGE_PATH, else $XDG_DATA_HOME/berth).")
    public var storagePath: String?

    @Flag(name: .long, help: "Print the whole chain of causes when something fails.")
    public var debug = false

    public init() {}

    public var store: Store { Store.resolve(explicit: storagePath) }
}

/// The name of the machine a command acts on; "default" when none is given.
struct MachineNameArgument: ParsableArguments {
    @Argument(help: "The machine's name.")
    var name: String = "default"
}
