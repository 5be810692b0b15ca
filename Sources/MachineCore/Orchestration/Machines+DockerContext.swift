import Foundation

/// Keeping each machine's Docker context (`berth-NAME`, see `DockerContext`) in step with the
/// machine: made once Docker answers after create, written again when the machine's certificates
/// or address change, removed with the machine. A context is a convenience beside the machine, so
/// trouble with the docker CLI's files never fails the command that changed the machine: it is
/// logged instead.
extension Machines {
    /// Writes the machine's context into `contexts`. Returns a one-line warning when it could not.
    public func registerDockerContext(_ config: MachineConfig, in contexts: DockerContextStore) -> String? {
        do {
            try contexts.write(try DockerContext.forMachine(config, store: store))
            return nil
        } catch {
            let reason = (error as? BerthError)?.message ?? "\(error)"
            return "the Docker context \(DockerContext.name(forMachine: config.name)) was not written: \(reason)"
        }
    }

    /// Writes the machine's context again, with its current address and TLS files, if it has one.
    /// A machine created with `--no-context` keeps having none.
    func refreshDockerContext(_ config: MachineConfig) {
        guard let contexts = dockerContexts, contexts.contains(DockerContext.name(forMachine: config.name)) else { return }
        if let warning = registerDockerContext(config, in: contexts) { logger.warning("\(warning)") }
    }

    /// Removes the machine's context, if it has one (and makes Docker's default context current
    /// again when it was the current one).
    func removeDockerContext(of machine: String) {
        let name = DockerContext.name(forMachine: machine)
        guard let contexts = dockerContexts, contexts.contains(name) else { return }
        do {
            try contexts.remove(name)
        } catch {
            logger.warning("the Docker context \(name) was not removed: \((error as? BerthError)?.message ?? "\(error)")")
        }
    }

}
