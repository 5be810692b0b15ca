import ArgumentParser
import Foundation
import Logging
import MachineCore

/// The executable's entry point: set up logging, run the command, and turn failures into one
/// line on standard error and a non-zero exit status.
public enum BerthMain {
    public static func run(arguments: [String] = Array(CommandLine.arguments.dropFirst())) async {
        // Until the arguments are parsed, a failure shows its chain if debugging was asked for at all.
        var debug = arguments.contains("--debug") || arguments.contains("-D")
        // A reader that goes away (a closed pipe) must not kill berth halfway through its work.
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try Berth.parseCommand(arguments)
            debug = try GlobalOptions.debugRequested(flag: GlobalOptions.of(command)?.debug ?? false)
            let level: Logger.Level = debug ? .debug : .warning
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as BerthError {
            report(error, debug: debug)
            exit(ExitStatus.of(error))
        } catch let failure as CommandFailure {
            report(failure.error, debug: debug)
            exit(failure.status)
        } catch let error as ExitCode {
            exit(error.rawValue)
        } catch {
            // --help, --version and completion scripts are "errors" that exit 0: let the parser print them.
            guard Berth.exitCode(for: error) != .success else { Berth.exit(withError: error) }
            let message = Berth.message(for: error)
            // Bad input is one line (the usage is one `--help` away), never a trap or a page of text.
            let line = message.split(separator: "\n").first.map(String.init) ?? message
            Terminal.error("\(line.hasPrefix("Error: ") ? String(line.dropFirst(7)) : line) (see `berth \(arguments.first.map { $0.hasPrefix("-") ? "" : $0 + " " } ?? "")--help`)")
            exit(Berth.exitCode(for: error).rawValue)
        }
    }

    private static func report(_ error: BerthError, debug: Bool) {
        Terminal.error(error.message)
        if debug { error.chain.dropFirst().forEach { Terminal.error($0) } }
    }
}

/// berth's exit statuses, for scripts (the README lists them):
/// 0 success; 1 a failure (its one-line message on standard error); 3 create found the host unable
/// to make a machine before making anything (Docker Machine's status for a failed pre-create check);
/// 64 a command line berth cannot read (unknown flag, bad value); 130 interrupted (Ctrl-C).
/// `ssh` and `scp` exit with the status of the program they run.
enum ExitStatus {
    static let failure: Int32 = 1
    static let preCreateCheck: Int32 = 3
    static let usage: Int32 = 64
    static let interrupted: Int32 = 130

    static func of(_ error: BerthError) -> Int32 { error.code == .interrupted ? interrupted : failure }
}

/// Writing to the terminal: colour only on a terminal and never with NO_COLOR.
public enum Terminal {
    public static var standardErrorIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }
    public static var standardInputIsTerminal: Bool { isatty(STDIN_FILENO) == 1 }
    static var colourAllowed: Bool {
        ProcessInfo.processInfo.environment["NO_COLOR"].map(\.isEmpty) ?? true
    }

    public static func error(_ message: String) {
        let prefix = colourAllowed && standardErrorIsTerminal ? "\u{1B}[31mberth:\u{1B}[0m" : "berth:"
        FileHandle.standardError.write(Data("\(prefix) \(message)\n".utf8))
    }

    public static func warning(_ message: String) {
        let prefix = colourAllowed && standardErrorIsTerminal ? "\u{1B}[33mwarning:\u{1B}[0m" : "warning:"
        FileHandle.standardError.write(Data("\(prefix) \(message)\n".utf8))
    }

    /// Progress and status lines go to standard error, so standard output stays clean for scripts.
    public static func status(_ message: String) {
        FileHandle.standardError.write(Data("\(message)\n".utf8))
    }
}
