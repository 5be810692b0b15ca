import ArgumentParser
import Foundation
import MachineCore

struct ImageLs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List cached images.",
        discussion: "Columns: NAME SIZE OS DOCKER SOURCE AGE. DOCKER is the Docker Engine preinstalled in the image, if any.")

    @OptionGroup var global: GlobalOptions
    @Flag(name: .shortAndLong, help: "Print only image names.") var quiet = false
    @OptionGroup var output: FormatOption

    func run() async throws {
        // The user's own images, then those of the host's system cache that the user's do not shadow.
        let own = global.machines.images.entries()
        let images = own + ImageCache.system.entries().filter { shared in !own.contains { $0.name == shared.name } }
        if quiet {
            images.forEach { print($0.name) }
            return
        }
        try output.print(images) { Self.table(images) }
    }

    static func table(_ images: [CachedImage], now: Date = Date()) -> String {
        let header = ["NAME", "SIZE", "OS", "DOCKER", "SOURCE", "AGE"]
        let rows = images.map { image in
            [image.name, formatSize(image.totalSize), image.operatingSystem,
             image.facts.dockerVersion.map(shortDockerVersion) ?? "-", image.origin, age(of: image.addedAt, now: now)]
        }
        return TextTable.render(header: header, rows: rows)
    }

    /// `512 B`, `1.5 KiB`, `300.0 MiB`, `1.2 GiB`.
    static func formatSize(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(max(0, bytes))
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(Int(value)) B" : String(format: "%.1f", value) + " " + units[unit]
    }

    /// The upstream part of a Debian package version: `5:27.3.1-1~debian.12` → `27.3.1`, `26.1.5+dfsg1-9+b2` → `26.1.5`.
    static func shortDockerVersion(_ version: String) -> String {
        var text = Substring(version)
        if let colon = text.firstIndex(of: ":") { text = text[text.index(after: colon)...] }
        if let end = text.firstIndex(where: { $0 == "+" || $0 == "-" || $0 == "~" }) { text = text[..<end] }
        return text.isEmpty ? version : String(text)
    }

    /// `45s`, `12m`, `3h`, `4d`.
    static func age(of date: Date, now: Date) -> String {
        let seconds = max(0, Int(now.timeIntervalSince(date)))
        switch seconds {
        case ..<60: return "\(seconds)s"
        case ..<3600: return "\(seconds / 60)m"
        case ..<86_400: return "\(seconds / 3600)h"
        default: return "\(seconds / 86_400)d"
        }
    }
}

struct ImageInspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print what berth knows about a cached image, as JSON.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The image's name (see `berth image ls`).", completion: StoreCompletion.images) var name: String
    @Option(name: [.short, .long], help: "Output format: json (the only one; accepted for scripts that ask).") var format = "json"

    func validate() throws {
        guard format == "json" else { throw ValidationError("--format must be json, not \"\(format)\"") }
    }

    func run() async throws {
        guard let image = global.machines.images.entry(named: name) else {
            throw BerthError(.image, "no image named \"\(name)\" in the cache; `berth image ls` lists them")
        }
        print(try JSONOutput.string(image))
    }
}

struct ImageRm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Remove images from the cache.",
        discussion: "Machines made from an image keep working: the image's volumes in libvirt's storage pool stay while any libvirt domain (a machine of any store, or one berth did not make) uses them.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The images' names.", completion: StoreCompletion.images) var names: [String]

    func validate() throws {
        guard !names.isEmpty else { throw ValidationError("name the images to remove (see `berth image ls`)") }
    }

    func run() async throws {
        let machines = global.machines
        var failures: [String] = []
        for name in names {
            do {
                try await machines.removeImage(named: name)
                Terminal.status("Removed image \"\(name)\".")
            } catch let error as BerthError {
                failures.append(error.message)
            } catch {
                failures.append("cannot remove image \"\(name)\": \(error.localizedDescription)")
            }
        }
        if !failures.isEmpty { throw BerthError(.image, failures.joined(separator: "; ")) }
    }
}

extension CachedImage {
    /// The disk, kernel and initrd together.
    var totalSize: Int64 { disk.size + (kernel?.size ?? 0) + (initrd?.size ?? 0) }
}
