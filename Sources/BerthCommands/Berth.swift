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
            Every command takes these, before or after its name (berth -s DIR ls, berth ls -s DIR):
              -s, --storage-path DIR   berth's storage folder (also $BERTH_STORAGE_PATH, $MACHINE_STORAGE_PATH)
              -D, --debug              debug logs and the whole chain of causes of a failure (also $MACHINE_DEBUG)
            Docker Machine's MACHINE_NATIVE_SSH and --native-ssh are accepted and ignored: berth always runs OpenSSH.
            """,
        version: version,
        subcommands: [
            Create.self, Ls.self, Env.self, Start.self, Stop.self, Restart.self, Kill.self, Rm.self,
            Active.self, ConfigCommand.self, Inspect.self, IP.self, Status.self, URLCommand.self, SSH.self, Scp.self,
            Provision.self, RegenerateCerts.self, Upgrade.self, Use.self, Mount.self, Port.self, NetworkCommand.self, Hosts.self,
            SwarmCommand.self,
            Doctor.self, Image.self, VersionCommand.self, GenerateManual.self, ForwarderCommand.self,
        ])

    public init() {}

    /// Parses a command line, global options before the command's name included.
    public static func parseCommand(_ arguments: [String]) throws -> any ParsableCommand {
        try parseAsRoot(GlobalArguments.movedAfterCommand(arguments))
    }
}

/// Global options written before the command's name (`berth -s DIR ls`, as Docker Machine took
/// them), moved to just after it, where each command's `GlobalOptions` reads them. Declaring the
/// options on the root command instead would let ArgumentParser take them there, but then `ssh`,
/// which passes the rest of its line through, no longer accepts them after its own name.
enum GlobalArguments {
    static func movedAfterCommand(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if ["--debug", "-D", "--native-ssh"].contains(argument) || argument.hasPrefix("--storage-path=") {
                leading.append(argument)
                index += 1
            } else if argument == "-s" || argument == "--storage-path", index + 1 < arguments.count {
                leading += [argument, arguments[index + 1]]
                index += 2
            } else {
                break
            }
        }
        guard !leading.isEmpty else { return arguments }
        var rest = Array(arguments[index...])
        var path: [String] = []
        var command: any ParsableCommand.Type = Berth.self
        while let word = rest.first, let next = command.configuration.subcommands.first(where: {
            $0._commandName == word || $0.configuration.aliases.contains(word)
        }) {
            path.append(word)
            rest.removeFirst()
            command = next
        }
        // Without a command to take them (`berth -s DIR --help`, `berth -D image`), they change nothing.
        guard !path.isEmpty, command.configuration.subcommands.isEmpty else { return path + rest }
        return path + leading + rest
    }
}

/// Options every command takes, before or after its name.
public struct GlobalOptions: ParsableArguments {
    @Option(name: [.short, .customLong("storage-path")],
            help: ArgumentHelp("berth's storage folder (default: $BERTH_STORAGE_PATH, $MACHINE_STORAGE_PATH, else $XDG_DATA_HOME/berth).",
                               valueName: "dir"),
            completion: .directory)
    public var storagePath: String?

    @Flag(name: [.customShort("D"), .long], help: "Print debug logs and the whole chain of causes when something fails (also $MACHINE_DEBUG).")
    public var debug = false

    /// Docker Machine's switch for its built-in SSH client; berth always runs OpenSSH.
    @Flag(name: .customLong("native-ssh"), help: .hidden)
    public var nativeSSH = false

    public init() {}

    public var store: Store { Store.resolve(explicit: storagePath) }

    /// Whether to log at debug level: `--debug`/`-D` (`flag`), or MACHINE_DEBUG set to a true value
    /// as Go's strconv.ParseBool reads it (1, t, true, …); any other non-empty value is refused.
    public static func debugRequested(flag: Bool,
                                      environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Bool {
        guard let value = environment["MACHINE_DEBUG"], !value.isEmpty else { return flag }
        switch value {
        case "1", "t", "T", "true", "TRUE", "True": return true
        case "0", "f", "F", "false", "FALSE", "False": return flag
        default:
            throw BerthError(.invalidArgument, "MACHINE_DEBUG must be true or false (or 1 or 0), not \"\(value)\"")
        }
    }

    /// The global options of a parsed command (every command has them as `global`).
    static func of(_ command: any ParsableCommand) -> GlobalOptions? {
        Mirror(reflecting: command).children.lazy.compactMap { ($0.value as? OptionGroup<GlobalOptions>)?.wrappedValue }.first
    }
}

/// The name of the machine a command acts on; "default" when none is given.
struct MachineNameArgument: ParsableArguments {
    @Argument(help: "The machine's name.", completion: StoreCompletion.machines)
    var name: String = "default"
}
