import ArgumentParser
import Foundation
import MachineCore

struct RegenerateCerts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regenerate-certs",
        abstract: "Issue new TLS certificates for machines and install them.",
        discussion: """
            Issues a new server certificate for each machine (with its --tls-san names) and, when it is running, installs it \
            and restarts Docker; the machine's Docker context is rewritten. With --client-certs, the CA and the client \
            certificate are made again too; other machines then get a new server certificate on their next start, env or config. \
            Asks first, reading the answer from standard input even when it is not a terminal; -f skips the question.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var machines: MachineNames
    @Flag(name: .shortAndLong, help: "Do not ask for confirmation.") var force = false
    @Flag(name: .customLong("client-certs"), help: "Also make a new CA and client certificate.") var clientCerts = false

    func run() async throws {
        let names = machines.resolved
        if !force {
            let what = clientCerts ? "the CA, the client certificate and the certificates of" : "the TLS certificates of"
            guard try Confirmation.ask("Regenerate \(what) \(names.joined(separator: ", "))? This cannot be undone.", skipFlag: "-f") else {
                Terminal.status("Nothing regenerated.")
                return
            }
        }
        let all = global.machines
        var remaining = names
        if clientCerts {
            // The CA is shared by the whole store: make it once, with the first machine, then the others follow it.
            let first = remaining.removeFirst()
            try await all.forEach([first]) { config in
                try await all.regenerateCertificates(config, clientCertificates: true)
                Terminal.status("Regenerated the CA, the client certificate and the certificates of \"\(config.name)\".")
            }
        }
        try await all.forEach(remaining) { config in
            try await all.regenerateCertificates(config, clientCertificates: false)
            Terminal.status("Regenerated the certificates of \"\(config.name)\".")
        }
    }
}
