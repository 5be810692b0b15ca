/// The words Docker Machine printed in the cases its users' scripts test for (`grep "does not
/// exist"`, `grep "is not running"`). berth's message for such a case starts with them; berth's own
/// advice may follow on the same line, after "; ". Docker Machine's "Error: " prefix is left out:
/// berth prefixes every failure with "berth: ".
public enum DockerMachineWording {
    /// A command names a machine that is not in the store.
    public static func doesNotExist(_ name: String) -> String { "Docker machine \"\(name)\" does not exist" }

    /// `create` names a machine that is already in the store.
    public static func alreadyExists(_ name: String) -> String { "Docker machine \"\(name)\" already exists" }

    /// env, config, url, scp, mount and version need a running machine.
    public static let hostNotRunning = "Host is not running"

    /// ssh needs a running machine (Docker Machine's ssh said so in its own words).
    public static func sshHostNotRunning(_ name: String) -> String { "Cannot run SSH command: Host \"\(name)\" is not running" }

    /// `env --unset` (`-u`) undoes the variables of whichever machine they named.
    public static let unsetTakesNoName = "Expected no machine name when the -u flag is present"

    /// `rm` removes only machines named on its command line.
    public static let noMachineNamed = "Expected to get one or more machine names as arguments"

    /// `active` found no running machine at $DOCKER_HOST.
    public static let noActiveHost = "No active host found"

    /// `active` found none, and some machine's Docker did not answer in time.
    public static let activeTimeout = "Error getting active host: timeout"

    /// `mount` needs the sshfs program on the host.
    public static let sshfsMissing = "You must have a copy of the sshfs binary locally to use the mount feature"
}
