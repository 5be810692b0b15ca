import ArgumentParser
import Download
import Foundation
import MachineCore

struct Image: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage the cache of base images machines are made from.",
        discussion: """
            Images are inspected once, when they enter the cache, so create never waits for it. berth's own image (berth-docker, Docker Engine preinstalled) is what create uses by default.
            """,
        subcommands: [ImageBuild.self, ImagePull.self, ImageImport.self, ImageLs.self, ImageInspect.self, ImageRm.self])
}

/// Whether libguestfs must run under TCG, as the host's last KVM probe (or $BERTH_VIRT_TYPE) says.
private func forceTCG(_ machines: Machines) async throws -> Bool {
    try await machines.libguestfsNeedsTCG(requested: VirtTypeOption.resolve(nil))
}

/// Image names are folder names in the cache; the cache's own rule decides.
private func validateImageName(_ name: String?) throws {
    guard let name else { return }
    guard ImageCache.isValidName(name) else {
        throw ValidationError("--name must be letters, digits, '.', '_' and '-', starting with a letter or digit, not \"\(name)\"")
    }
}

private func reportAdded(_ image: CachedImage) {
    let docker = image.facts.dockerVersion.map { "Docker \(ImageLs.shortDockerVersion($0))" } ?? "no Docker"
    Terminal.status("Added image \"\(image.name)\": \(image.operatingSystem), \(docker), \(ImageLs.formatSize(image.totalSize)).")
}

struct ImageBuild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build berth's own Debian image from packages and add it to the cache.",
        discussion: """
            Needs root and Debian's package mirror. The docker flavour is named berth-docker, the plain one berth-plain. \
            With --system the image goes to the host's system cache (/var/lib/berth/images), where every user's berth \
            finds it: users who are not root cannot build it themselves.
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: "docker (Docker Engine preinstalled) or plain (cloud-init installs it on first boot).")
    var flavor = "docker"
    @Option(help: "The Debian mirror to build from (default: deb.debian.org).") var mirror: String?
    @Flag(help: "Build into the host's system cache, for every user (as root).") var system = false

    func validate() throws {
        guard ImageCache.Flavor(rawValue: flavor) != nil else {
            throw ValidationError("--flavor must be docker or plain, not \"\(flavor)\"")
        }
    }

    func run() async throws {
        guard getuid() == 0 else {
            throw BerthError(.invalidArgument, "building berth's image needs root: run `sudo berth image build --system\(flavor == "docker" ? "" : " --flavor \(flavor)")`, which serves every user of this host")
        }
        let machines = global.machines
        let flavor = ImageCache.Flavor(rawValue: flavor) ?? .docker
        let tcg = try await forceTCG(machines)
        let mirror = self.mirror
        let cache = system ? ImageCache.system : machines.images
        let image = try await Interrupts.cancellingOnSignal {
            try await cache.buildLocked(flavor: flavor, mirror: mirror, forceTCG: tcg)
        }
        reportAdded(image)
    }
}

struct ImagePull: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Download a disk image into the cache, verified against a checksum when given.",
        discussion: """
            An interrupted pull resumes where it stopped. For example:
              berth image pull https://cloud.debian.org/images/cloud/trixie/latest/debian-13-genericcloud-amd64.qcow2 \\
                --checksum-url https://cloud.debian.org/images/cloud/trixie/latest/SHA512SUMS
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The image's http(s) URL.") var url: String
    @Option(help: "The image's expected SHA-256 digest, in hexadecimal.") var sha256: String?
    @Option(name: .customLong("checksum-url"), help: "A SHA256SUMS or SHA512SUMS file that lists the image.")
    var checksumURL: String?
    @Option(help: "The name in the cache (default: from the file name).") var name: String?

    func validate() throws {
        guard Self.webURL(url) != nil else { throw ValidationError("the image URL must start with http:// or https://, not \"\(url)\"; use `berth image import` for a local file") }
        if sha256 != nil, checksumURL != nil { throw ValidationError("give --sha256 or --checksum-url, not both") }
        if let sha256, Checksum.sha256(sha256) == nil {
            throw ValidationError("--sha256 takes 64 hexadecimal digits, not \"\(sha256)\"")
        }
        if let checksumURL, Self.webURL(checksumURL) == nil {
            throw ValidationError("--checksum-url must start with http:// or https://, not \"\(checksumURL)\"")
        }
        try validateImageName(name)
    }

    static func webURL(_ text: String) -> URL? {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              url.host != nil else { return nil }
        return url
    }

    func run() async throws {
        guard let url = Self.webURL(url) else { throw BerthError(.invalidArgument, "invalid image URL \"\(self.url)\"") }
        var checksum = sha256.flatMap(Checksum.sha256)
        if let checksumURL, let list = Self.webURL(checksumURL) {
            do {
                checksum = try await Downloader().checksum(of: url.lastPathComponent, listedAt: list)
            } catch {
                throw BerthError(.download, "cannot read the checksum list: \(error.description)", cause: error)
            }
            guard checksum != nil else {
                throw BerthError(.download, "the checksum list \(checksumURL) does not list \(url.lastPathComponent); check both URLs")
            }
        }
        let machines = global.machines
        let tcg = try await forceTCG(machines)
        let bar = TerminalProgress(label: url.lastPathComponent)
        let progress = bar.isEnabled ? bar.handler : nil
        let (name, expected) = (self.name, checksum)
        let image: CachedImage
        do {
            image = try await Interrupts.cancellingOnSignal {
                try await machines.images.pull(url, checksum: expected, name: name, forceTCG: tcg, progress: progress)
            }
            bar.finish()
        } catch {
            bar.finish()
            throw error
        }
        reportAdded(image)
    }
}

struct ImageImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Copy a local disk image (qcow2 or raw) into the cache.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The disk image file.") var file: String
    @Option(help: "The name in the cache (default: from the file name).") var name: String?

    func validate() throws { try validateImageName(name) }

    func run() async throws {
        let machines = global.machines
        let tcg = try await forceTCG(machines)
        let (file, name) = (URL(fileURLWithPath: self.file), self.name)
        let image = try await Interrupts.cancellingOnSignal {
            try await machines.images.importFile(file, name: name, forceTCG: tcg)
        }
        reportAdded(image)
    }
}
