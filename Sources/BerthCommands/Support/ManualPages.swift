import ArgumentParser
import Foundation

/// Man pages for berth and each of its commands, made from the command definitions themselves
/// (ArgumentParser's description of the command tree, the same one its help text comes from), so
/// they cannot drift from `--help`.
enum ManualPages {
    /// The pages as file name and roff text: berth.1, berth-ls.1, berth-image-ls.1, …
    static func pages(version: String = Berth.version) throws -> [(file: String, text: String)] {
        let root = try commandTree()
        var pages: [(String, String)] = []
        func visit(_ command: Command, path: [String]) {
            let path = path + [command.commandName]
            pages.append((path.joined(separator: "-") + ".1", page(for: command, path: path, root: root, version: version)))
            for child in command.visibleSubcommands { visit(child, path: path) }
        }
        visit(root, path: [])
        return pages
    }

    /// Writes every page into `directory`, creating it if needed.
    static func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (file, text) in try pages() {
            try Data(text.utf8).write(to: directory.appendingPathComponent(file), options: .atomic)
        }
    }

    /// ArgumentParser's JSON description of the tree (what `--experimental-dump-help` prints).
    static func commandTree() throws -> Command {
        let json: String
        do {
            _ = try Berth.parseAsRoot(["--experimental-dump-help"])
            throw ManualError("berth's command description is missing")
        } catch let error as ManualError {
            throw error
        } catch {
            json = Berth.fullMessage(for: error)
        }
        return try JSONDecoder().decode(ToolInfo.self, from: Data(json.utf8)).command
    }

    // MARK: - Rendering

    static func page(for command: Command, path: [String], root: Command, version: String) -> String {
        let title = path.joined(separator: "-")
        var lines = [
            ".TH \(title.uppercased()) 1 \"\" \"berth \(version)\" \"berth manual\"",
            ".SH NAME",
            "\(escape(title)) \\- \(escape(command.abstract ?? ""))",
            ".SH SYNOPSIS",
            synopsis(for: command, path: path),
        ]
        if let discussion = command.discussion, !discussion.isEmpty {
            lines.append(".SH DESCRIPTION")
            lines += paragraphs(discussion)
        }
        let subcommands = command.visibleSubcommands
        if !subcommands.isEmpty {
            lines.append(".SH COMMANDS")
            for child in subcommands {
                lines += [".TP", "\\fB\(escape(child.commandName))\\fR", escape(child.abstract ?? "")]
                lines.append("See \\fB\(escape((path + [child.commandName]).joined(separator: "-")))\\fR(1).")
            }
        }
        // --version is only berth's own; ArgumentParser lists it on every command.
        let arguments = command.visibleArguments.filter { path.count == 1 || !$0.isNamed("version") }
        let positionals = arguments.filter { $0.kind == "positional" }
        if !positionals.isEmpty {
            lines.append(".SH ARGUMENTS")
            for argument in positionals {
                lines += [".TP", "\\fI\(escape(argument.valueName ?? "value"))\\fR"] + help(for: argument)
            }
        }
        let options = arguments.filter { $0.kind != "positional" }
        if !options.isEmpty {
            lines.append(".SH OPTIONS")
            for option in options {
                var names = (option.names ?? []).sorted { $0.kind == "short" && $1.kind != "short" }.map { name in "\\fB\(escape(name.kind == "short" ? "-" + name.name : "--" + name.name))\\fR" }
                    .joined(separator: ", ")
                if option.kind == "option" { names += " \\fI\(escape(option.valueName ?? "value"))\\fR" }
                lines += [".TP", names] + help(for: option)
            }
        }
        lines.append(".SH SEE ALSO")
        if path.count == 1 {
            var all: [String] = []
            func collect(_ command: Command, _ path: [String]) {
                for child in command.visibleSubcommands {
                    all.append("\\fB\(escape((path + [child.commandName]).joined(separator: "-")))\\fR(1)")
                    collect(child, path + [child.commandName])
                }
            }
            collect(root, [root.commandName])
            lines.append((all + ["\\fBdocker\\fR(1)"]).joined(separator: ", "))
        } else {
            lines.append("\\fB\(escape(path.dropLast().joined(separator: "-")))\\fR(1), \\fBberth\\fR(1)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func synopsis(for command: Command, path: [String]) -> String {
        var parts = [".B \(escape(path.joined(separator: " ")))"]
        var words: [String] = []
        for argument in command.visibleArguments where !argument.isNamed("help") && !argument.isNamed("version") {
            let name = argument.preferredName.map { $0.kind == "short" ? "-" + $0.name : "--" + $0.name }
            var word: String
            switch argument.kind {
            case "positional": word = "<\(argument.valueName ?? "value")>"
            case "option": word = "\(name ?? "") <\(argument.valueName ?? "value")>"
            default: word = name ?? ""
            }
            if argument.isRepeating { word += " ..." }
            if argument.isOptional { word = "[\(word)]" }
            words.append(word)
        }
        if !command.visibleSubcommands.isEmpty { words.append("<command>") }
        if !words.isEmpty { parts.append(escape(words.joined(separator: " "))) }
        return parts.joined(separator: "\n")
    }

    static func help(for argument: Argument) -> [String] {
        var text = argument.abstract ?? ""
        if let discussion = argument.discussion, !discussion.isEmpty { text += " " + discussion }
        if let defaultValue = argument.defaultValue, !defaultValue.isEmpty, argument.kind != "flag" {
            text += " (default: \(defaultValue))"
        }
        return [escape(text)]
    }

    /// Text paragraphs; lines indented by two spaces (examples) are kept as they are.
    static func paragraphs(_ text: String) -> [String] {
        var lines: [String] = []
        var inExample = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            let example = line.hasPrefix("  ")
            if example && !inExample { lines += [".PP", ".nf", ".RS 4"] }
            if !example && inExample { lines += [".RE", ".fi"] }
            if !example { lines.append(".PP") }
            lines.append(escape(example ? String(line.dropFirst(2)) : line))
            inExample = example
        }
        if inExample { lines += [".RE", ".fi"] }
        return lines
    }

    /// roff escapes: backslashes, hyphens (so they print as ASCII minus), and a leading dot or quote.
    static func escape(_ text: String) -> String {
        var escaped = text.replacingOccurrences(of: "\\", with: "\\e").replacingOccurrences(of: "-", with: "\\-")
        if escaped.hasPrefix(".") || escaped.hasPrefix("'") { escaped = "\\&" + escaped }
        return escaped
    }

    // MARK: - The parts of ArgumentParser's description the pages use

    struct ToolInfo: Decodable {
        var command: Command
    }

    struct Command: Decodable {
        var commandName: String
        var abstract: String?
        var discussion: String?
        var shouldDisplay: Bool?
        var subcommands: [Command]?
        var arguments: [Argument]?

        /// ArgumentParser's own `help` command is left out: `--help` covers it.
        var visibleSubcommands: [Command] {
            (subcommands ?? []).filter { ($0.shouldDisplay ?? true) && $0.commandName != "help" }
        }
        var visibleArguments: [Argument] { (arguments ?? []).filter(\.shouldDisplay) }
    }

    struct Argument: Decodable {
        var kind: String
        var shouldDisplay: Bool
        var isOptional: Bool
        var isRepeating: Bool
        var names: [Name]?
        var preferredName: Name?
        var valueName: String?
        var defaultValue: String?
        var abstract: String?
        var discussion: String?

        func isNamed(_ long: String) -> Bool { kind == "flag" && (names ?? []).contains { $0.kind == "long" && $0.name == long } }
    }

    struct Name: Decodable {
        var kind: String
        var name: String
    }

    struct ManualError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

/// Writes the man pages; scripts/install-docs.sh runs it. Hidden from help and completions.
struct GenerateManual: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate-manual",
        abstract: "Write man pages for berth and each of its commands into a folder.",
        shouldDisplay: false)

    @Argument(help: "The folder for berth.1, berth-COMMAND.1, ….", completion: .directory) var directory: String

    func run() throws {
        try ManualPages.write(to: URL(fileURLWithPath: directory))
    }
}
