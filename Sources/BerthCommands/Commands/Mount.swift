import ArgumentParser
import Foundation
import MachineCore

struct Mount: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Mount a folder of a machine on the host with SSHFS, or unmount it (-u).",
        discussion: """
            Write the machine's folder as NAME:PATH (a PATH alone is on machine "default"):
              berth mount dev:/home/docker/app ./app
              berth mount -u dev:/home/docker/app ./app
            Without MOUNTPOINT the folder is mounted at the same path on the host, as in Docker Machine. Mounting needs \
            sshfs (sudo apt-get install sshfs) and a running machine, and uses the machine's key and pinned host key; \
            unmounting uses fusermount and needs neither the machine nor sshfs.
            """)

    @OptionGroup var global: GlobalOptions
    @Flag(name: [.short, .customLong("unmount")], help: "Unmount instead of mount.") var unmount = false
    @Argument(help: "The machine's folder: NAME:PATH.") var source: String
    @Argument(help: "Where on the host (default: the same path).", completion: .directory) var mountPoint: String?

    func validate() throws {
        let location = MountArguments.source(source)
        guard !(mountPoint ?? location.path).isEmpty else {
            throw ValidationError("name the folder to mount: NAME:PATH, or give a MOUNTPOINT")
        }
    }

    func run() async throws {
        let location = MountArguments.source(source)
        let target = mountPoint ?? location.path
        if unmount {
            guard let (program, arguments) = MountArguments.unmountCommand(target, which: HelperProgram.which) else {
                throw BerthError(.command, "You must have a copy of the fusermount binary locally to use the unmount option; install it with `sudo apt-get install fuse3`")
            }
            try ProgramReplacement.exec(program, arguments)
        }
        guard HelperProgram.which("sshfs") != nil else {
            throw BerthError(.command, "\(DockerMachineWording.sshfsMissing); install it with `sudo apt-get install sshfs`")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: target, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw BerthError(.invalidArgument, "the mount point \(target) is not a folder on this host; make it with `mkdir -p \(target)`")
        }
        let config = try await global.machines.runningConfig(location.machine)
        let ssh = try SSHCommand(config: config, store: global.store)
        let (status, errors) = try await SSHFSRun.mount(MountArguments.sshfs(location, mountPoint: target, ssh: ssh))
        guard status == 0 else {
            let reason = errors.split(separator: "\n").last.map(String.init) ?? "exit status \(status)"
            throw BerthError(.command, "sshfs could not mount \(source) at \(target): \(reason)")
        }
        Terminal.status("Mounted \(config.name):\(location.path) at \(target); unmount it with `berth mount -u \(source) \(target)`.")
    }
}

/// Turns `berth mount` operands into sshfs and fusermount arguments.
enum MountArguments {
    struct Location: Equatable {
        var machine: String
        /// Another user in the machine (`user@NAME:PATH`), as Docker Machine allowed.
        var user: String?
        var path: String
    }

    /// `dev:/srv` is /srv on machine dev, `docker@dev:/srv` the same as user docker, `/srv` alone on "default".
    static func source(_ operand: String) -> Location {
        guard let colon = operand.firstIndex(of: ":") else { return Location(machine: "default", user: nil, path: operand) }
        var machine = String(operand[..<colon])
        var user: String?
        if let at = machine.firstIndex(of: "@") {
            user = String(machine[..<at])
            machine = String(machine[machine.index(after: at)...])
        }
        return Location(machine: machine, user: user, path: String(operand[operand.index(after: colon)...]))
    }

    /// sshfs's arguments: berth's SSH options (key, pinned host key, time-outs) as `-o` options, the
    /// port, then `USER@IP:PATH` and the mount point after `--`.
    static func sshfs(_ location: Location, mountPoint: String, ssh: SSHCommand) -> [String] {
        var options: [String] = []
        var words = ssh.commonOptions[...]
        while let flag = words.popFirst() {
            guard let value = words.popFirst() else { break }
            switch flag {
            case "-i": options += ["-o", "IdentityFile=" + escape(value)]
            case "-o": options += ["-o", escape(value)]
            default: options += [flag, value]
            }
        }
        let user = location.user ?? ssh.config.ssh.user
        return options + ["-p", String(ssh.config.ssh.port), "--", "\(user)@\(ssh.config.network.ip):\(location.path)", mountPoint]
    }

    /// sshfs reads `-o` values as comma-separated lists: a comma or backslash in a path is escaped.
    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: ",", with: "\\,")
    }

    /// The program that unmounts a FUSE mount without root (fusermount3, or fusermount), or, for
    /// root when neither is there, umount.
    static func unmountCommand(_ mountPoint: String, isRoot: Bool = getuid() == 0,
                               which: (String) -> String?) -> (String, [String])? {
        for program in ["fusermount3", "fusermount"] where which(program) != nil {
            return (program, ["-u", "--", mountPoint])
        }
        if isRoot, which("umount") != nil { return ("umount", ["--", mountPoint]) }
        return nil
    }
}

/// Runs sshfs until it has mounted the folder and gone into the background. The daemon it leaves,
/// and the ssh under it, keep open whatever they inherited: given berth's own output, a script
/// reading it (`out=$(berth mount …)`) would wait for them forever, and so would Foundation's
/// Process, which learns of its child's end through a descriptor the child inherits. So sshfs is
/// started with posix_spawn, its output goes to a temporary file (shown if the mount fails), and
/// berth waits for sshfs itself with waitpid.
enum SSHFSRun {
    static func mount(_ arguments: [String], program: String? = HelperProgram.which("sshfs")) async throws -> (status: Int32, errors: String) {
        guard let program else {
            throw BerthError(.command, "\(DockerMachineWording.sshfsMissing); install it with `sudo apt-get install sshfs`")
        }
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("berth-sshfs-\(UUID().uuidString).log")
        let fd = open(log.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw BerthError(.command, "cannot make a temporary file for sshfs's messages in \(log.deletingLastPathComponent().path): \(String(cString: strerror(errno)))")
        }
        defer {
            close(fd)
            unlink(log.path)
        }
        let pid = try spawn(program, arguments, output: fd)
        let status = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0, errno == EINTR {}
                continuation.resume(returning: status)
            }
        }
        let errors = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        // Exited normally: its exit status; killed by a signal: 128 + the signal, as shells report it.
        let exit = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exit, errors.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The open descriptors a spawned program would inherit (those without close-on-exec).
    private static func inheritableDescriptors() -> [Int32] {
        let listed = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return listed.compactMap(Int32.init).filter { descriptor in
            let flags = fcntl(descriptor, F_GETFD)
            return flags >= 0 && flags & FD_CLOEXEC == 0
        }
    }

    /// Starts `program` with standard input from /dev/null and standard output and error into `output`.
    private static func spawn(_ program: String, _ arguments: [String], output: Int32) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, output, 2)
        // Nothing else berth holds (or inherited) goes to the daemon, which would keep it open.
        for descriptor in inheritableDescriptors() where descriptor > 2 {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }
        let argv: [UnsafeMutablePointer<CChar>?] = ([program] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, program, &actions, nil, argv, environ)
        guard result == 0 else {
            throw BerthError(.command, "cannot run \(program): \(String(cString: strerror(result)))")
        }
        return pid
    }
}
