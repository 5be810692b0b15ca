import Foundation
import MachineCore
import Testing

extension RealMachines {
    /// A Docker Machine user's shell script (Scripts/docker-machine-user.sh) runs unchanged against
    /// one small machine, with berth on PATH as docker-machine; beside it, what berth adds: the
    /// machine's Docker context, a --tls-san name, and mount over SSHFS.
    @Suite(.serialized) struct DockerMachineUser {
        static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Scripts/docker-machine-user.sh").path

        @Test func aDockerMachineScriptWorksUnchanged() async throws {
            _ = try await TestImages.ensure(.docker)
            let name = "berth-it-dm"
            try await CLI.berth("rm", "-f", name, expectSuccess: false)
            try await CLI.berth("create", "--memory", "512", "--tls-san", "docker.berth.test", name)

            // The context create wrote answers, through the name the server certificate now carries too.
            let docker = try #require(HelperProgram.which("docker"))
            let context = try await HelperProgram.capture(docker, ["--context", "berth-\(name)", "info", "--format", "{{.Name}}"],
                                                       environment: CLI.environment, timeout: .seconds(120))
            #expect(context.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == name, "\(context.standardError)")
            let contexts = DockerContextStore(configDirectory: URL(fileURLWithPath: CLI.dockerConfig))
            #expect(contexts.contains("berth-\(name)"))
            let inspect = try await CLI.berth("inspect", "--format", "{{json .HostOptions.AuthOptions.ServerCertSANs}}", name)
            #expect(inspect.output == "[\"docker.berth.test\"]\n")

            // mount and mount -u: the machine's /etc on the host over SSHFS.
            let mountPoint = FileManager.default.temporaryDirectory.appendingPathComponent("berth-it-dm-mount-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: mountPoint) }
            try await CLI.berth("mount", "\(name):/etc", mountPoint.path)
            let hostname = try? String(contentsOf: mountPoint.appendingPathComponent("hostname"), encoding: .utf8)
            try await CLI.berth("mount", "-u", "\(name):/etc", mountPoint.path)
            #expect(hostname?.trimmingCharacters(in: .whitespacesAndNewlines) == name)
            #expect(!FileManager.default.fileExists(atPath: mountPoint.appendingPathComponent("hostname").path), "unmounted")

            // berth on PATH as docker-machine, in a folder of the test's own.
            let bin = FileManager.default.temporaryDirectory.appendingPathComponent("berth-it-dm-bin-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: bin) }
            try FileManager.default.createSymbolicLink(atPath: bin.appendingPathComponent("docker-machine").path,
                                                       withDestinationPath: CLI.berthBinary)
            var environment = CLI.environment
            environment["PATH"] = bin.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
            let run = try await HelperProgram.capture("/bin/sh", [Self.script, name], environment: environment, timeout: .seconds(900))
            #expect(run.status == 0, "the script stopped (its last step is the one that failed):\n\(run.standardError)")
            #expect(run.standardOutput.contains("docker-machine script: all good"))

            #expect(try await Witness.leftovers(of: name) == [])
            #expect(!contexts.contains("berth-\(name)"), "rm removed the context")
        }
    }
}
