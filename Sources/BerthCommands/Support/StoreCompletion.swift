import ArgumentParser
import Foundation
import MachineCore

/// Shell completion of machine and image names, read from the store when the shell asks.
enum StoreCompletion {
    static let machines = CompletionKind.custom { words, _, prefix in
        store(for: words).machineNames().filter { $0.hasPrefix(prefix) }
    }

    static let images = CompletionKind.custom { words, _, prefix in
        ImageCache(store: store(for: words)).entries().map(\.name).filter { $0.hasPrefix(prefix) }.sorted()
    }

    /// The store the command line being completed names with -s/--storage-path, else the usual one.
    static func store(for words: [String], environment: [String: String] = ProcessInfo.processInfo.environment) -> Store {
        var explicit: String?
        for (index, word) in words.enumerated() {
            if word == "-s" || word == "--storage-path", index + 1 < words.count {
                explicit = words[index + 1]
            } else if word.hasPrefix("--storage-path=") {
                explicit = String(word.dropFirst("--storage-path=".count))
            }
        }
        return Store.resolve(explicit: explicit, environment: environment)
    }
}
