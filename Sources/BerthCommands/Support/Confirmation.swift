import Foundation
import MachineCore

/// A yes/no question before something that cannot be undone (rm, regenerate-certs). As in Docker
/// Machine, the answer is read from standard input whether or not it is a terminal, so
/// `echo y | berth rm dev` works in a script; an answer starting with y or Y means yes, anything
/// else no. The question goes to standard error, so standard output stays clean.
enum Confirmation {
    /// Asks `question` and reads one line. No line at all (standard input at its end) is an error
    /// that names `skipFlag`: a script that gives no answer must not look as if it succeeded.
    static func ask(_ question: String, skipFlag: String, readAnswer: () -> String? = { readLine() }) throws -> Bool {
        FileHandle.standardError.write(Data("\(question) (y/n): ".utf8))
        guard let answer = readAnswer() else {
            FileHandle.standardError.write(Data("\n".utf8))
            throw BerthError(.invalidArgument, "no answer on standard input; answer y, or pass \(skipFlag) to go ahead without asking")
        }
        return isYes(answer)
    }

    /// Docker Machine's rule: the answer starts with "y", in either case.
    static func isYes(_ answer: String) -> Bool {
        answer.trimmingCharacters(in: .whitespaces).lowercased().hasPrefix("y")
    }
}

/// A failure that ends berth with an exit status of its own (such as create's 3 for a host that
/// fails the checks before anything is made, Docker Machine's status for a failed pre-create check).
struct CommandFailure: Error {
    let error: BerthError
    let status: Int32
}
