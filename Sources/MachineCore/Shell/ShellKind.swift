import Foundation

/// The shells whose syntax `berth env` can print.
public enum ShellKind: String, CaseIterable, Sendable, Equatable {
    case bash, zsh, fish, powershell, cmd, tcsh, emacs

    /// A shell named by `--shell` or by the basename of $SHELL. POSIX-like shells (sh, dash, ksh, …)
    /// use bash's syntax, csh uses tcsh's and pwsh PowerShell's; nil for anything unknown.
    public init?(name: String) {
        let base = (name as NSString).lastPathComponent.lowercased()
        let trimmed = base.hasSuffix(".exe") ? String(base.dropLast(4)) : base
        if let kind = ShellKind(rawValue: trimmed) {
            self = kind
            return
        }
        switch trimmed {
        case "sh", "dash", "ash", "ksh", "mksh", "busybox": self = .bash
        case "csh": self = .tcsh
        case "pwsh": self = .powershell
        default: return nil
        }
    }

    /// The shell from $SHELL's basename; bash when $SHELL is unset or unknown.
    public static func detect(environment: [String: String] = ProcessInfo.processInfo.environment) -> ShellKind {
        guard let shell = environment["SHELL"], !shell.isEmpty else { return .bash }
        return ShellKind(name: shell) ?? .bash
    }

    /// The statement that sets a variable, with its line ending. Values are quoted for the shell,
    /// so a path with quotes, `$(…)` or backticks is taken as text when the output is evaluated;
    /// ordinary values come out exactly as Docker Machine printed them.
    public func setLine(_ name: String, _ value: String) -> String {
        switch self {
        case .bash, .zsh: return "export \(name)=\"\(Self.escape(value, "\\\"$`"))\"\n"
        case .fish: return "set -gx \(name) \"\(Self.escape(value, "\\\"$"))\";\n"
        case .powershell: return "$Env:\(name) = \"\(Self.escape(value, "`\"$", with: "`"))\"\n"
        case .cmd: return "SET \(name)=\(Self.escape(value, "^&|<>()\"", with: "^"))\n"
        case .tcsh:
            // csh cannot escape `$`, backticks or `!` inside double quotes: such values go in single quotes.
            guard value.contains(where: { "$`\"!\\'\n".contains($0) }) else { return "setenv \(name) \"\(value)\";\n" }
            let quoted = value.replacingOccurrences(of: "'", with: "'\\''").replacingOccurrences(of: "!", with: "\\!")
            return "setenv \(name) '\(quoted)';\n"
        case .emacs: return "(setenv \"\(name)\" \"\(Self.escape(value, "\\\""))\")\n"
        }
    }

    /// `value` with each of `special` preceded by `escape`.
    static func escape(_ value: String, _ special: String, with escape: Character = "\\") -> String {
        var result = ""
        for character in value {
            if special.contains(character) { result.append(escape) }
            result.append(character)
        }
        return result
    }

    /// The statement that removes a variable, with its line ending.
    public func unsetLine(_ name: String) -> String {
        switch self {
        case .bash, .zsh: return "unset \(name)\n"
        case .fish: return "set -e \(name);\n"
        case .powershell: return "Remove-Item Env:\\\\\(name)\n"
        case .cmd: return "SET \(name)=\n"
        case .tcsh: return "unsetenv \(name);\n"
        case .emacs: return "(setenv \"\(name)\" nil)\n"
        }
    }

    /// The comment marker.
    public var comment: String {
        switch self {
        case .cmd: return "REM"
        case .emacs: return ";;"
        case .tcsh: return ":"
        default: return "#"
        }
    }

    /// How to evaluate the output of `command` in this shell.
    public func evalCommand(_ command: String) -> String {
        switch self {
        case .bash, .zsh: return "eval $(\(command))"
        case .fish: return "eval (\(command))"
        case .powershell: return "& \(command) | Invoke-Expression"
        case .cmd: return "\t@FOR /f \"tokens=*\" %i IN ('\(command)') DO @%i"
        case .tcsh: return "eval `\(command)`"
        case .emacs: return "(with-temp-buffer (shell-command \"\(command)\" (current-buffer)) (eval-buffer))"
        }
    }

    /// The two closing comment lines that tell the user how to apply the output.
    public func usageHint(command: String) -> String {
        "\(comment) Run this command to configure your shell: \n\(comment) \(evalCommand(command))\n"
    }
}
