import Foundation

/// What berth needs from a hypervisor. Provisioning (cloud-init, certificates, Docker) is not
/// the driver's job: the orchestration in `Machines` does that.
public protocol Driver: Sendable {
    /// The driver's name as `ls` shows it.
    var name: String { get }
    /// Checks that the hypervisor is reachable and usable before anything is made.
    func preCreateCheck() async throws
    /// Reserves the machine's network address (MAC and IP) so it survives restarts; `previous` is the
    /// address it had, kept when the network had to be made again; `subnet` pins a new network's subnet.
    func reserveAddress(for machine: String, network: String, previous: MachineConfig.NetworkAttachment?,
                        subnet: String?) async throws -> AddressReservation
    func releaseAddress(_ attachment: MachineConfig.NetworkAttachment) async throws
    /// Makes the machine's disk: an overlay on the image's volume.
    func createDisk(for config: MachineConfig, imageFormat: String) async throws
    /// Stores the machine's cloud-init seed where the hypervisor can attach it.
    func createSeed(for config: MachineConfig, seed: URL) async throws
    /// Deletes the machine's own disk and seed.
    func removeVolumes(_ config: MachineConfig) async throws
    /// Defines the machine in the hypervisor.
    func define(_ config: MachineConfig, consoleLog: URL) async throws
    func start(_ config: MachineConfig) async throws
    /// A clean ACPI shutdown, waiting up to `timeout`, then a hard stop.
    func stop(_ config: MachineConfig, timeout: Duration) async throws
    func kill(_ config: MachineConfig) async throws
    /// Removes the domain, its volumes and its address reservation; tolerates missing parts.
    func remove(_ config: MachineConfig) async throws
    func state(_ config: MachineConfig) async throws -> MachineState
    /// States of many machines from one listing: missing machines are absent from the result.
    func states(of configs: [MachineConfig]) async throws -> [String: MachineState]
}
