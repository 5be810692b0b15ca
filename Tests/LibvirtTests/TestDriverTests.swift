import Foundation
import Testing
@testable import Libvirt

/// The wrapper against libvirt's built-in `test:///default` driver: fast, no daemon.
/// Each test opens its own connection, so each starts from the driver's default state.
@Suite struct TestDriverTests {
    static func domainXML(_ name: String) -> String {
        DomainSpec(virtType: .qemu, name: name, memoryMiB: 64, vcpus: 1, boot: .disk).xml
            .replacingOccurrences(of: "<domain type=\"qemu\">", with: "<domain type=\"test\">")
    }

    @Test func definesStartsStopsAndUndefinesADomain() async throws {
        let connection = try await Connection.open("test:///default")
        let domain = try await connection.defineDomain(xml: Self.domainXML("wrapper-test"))
        #expect(domain.name == "wrapper-test")
        #expect(try await domain.state() == .shutOff)
        try await domain.start()
        #expect(try await domain.state() == .running)
        #expect(try await connection.listDomains().contains { $0.name == "wrapper-test" && $0.state == .running })
        try await domain.destroy()
        #expect(try await domain.state() == .shutOff)
        try await domain.undefine()
        #expect(try await connection.domainIfExists(named: "wrapper-test") == nil)
    }

    @Test func connectionReportsItsHostAndLibraryVersion() async throws {
        let connection = try await Connection.open("test:///default")
        #expect(try await connection.hostname().isEmpty == false)
        #expect(try await connection.libraryVersion().split(separator: ".").count == 3)
        #expect(try await connection.libraryVersion().hasPrefix("0.") == false)
    }

    @Test func unknownDomainIsATypedError() async throws {
        let connection = try await Connection.open("test:///default")
        let error = await #expect(throws: LibvirtError.self) { try await connection.domain(named: "no-such-machine") }
        #expect(error?.isNoDomain == true)
        #expect(error?.message.isEmpty == false)
        #expect(error?.description.contains("no-such-machine") == true)
    }

    @Test func invalidXMLIsATypedErrorWithLibvirtsMessage() async throws {
        let connection = try await Connection.open("test:///default")
        let error = await #expect(throws: LibvirtError.self) { try await connection.defineDomain(xml: "<domain><name>broken") }
        #expect(error?.isXMLError == true)
        #expect(error?.message.isEmpty == false)
    }

    @Test func unknownURIIsATypedError() async throws {
        let error = await #expect(throws: LibvirtError.self) { try await Connection.open("nosuchdriver:///system") }
        #expect(error?.message.isEmpty == false)
        #expect(error?.description.contains("nosuchdriver:///system") == true)
    }

    @Test func networkWithReservationsStartsAndUpdates() async throws {
        let connection = try await Connection.open("test:///default")
        let spec = NetworkSpec(name: "wrapper-net", bridge: "virbr-wt", gateway: "192.168.230.1",
                               dhcpStart: "192.168.230.100", dhcpEnd: "192.168.230.200")
        let network = try await connection.defineNetwork(xml: spec.xml)
        try await network.start()
        #expect(try await network.isActive())
        let host = NetworkSpec.DHCPHost(mac: "52:54:00:00:00:01", name: "one", ip: "192.168.230.10")
        try await network.addDHCPHost(host)
        #expect(try NetworkSpec(xml: await network.xmlDescription()).hosts == [host])
        try await network.removeDHCPHost(host)
        #expect(try NetworkSpec(xml: await network.xmlDescription()).hosts.isEmpty)
        try await network.destroy()
        try await network.undefine()
        #expect(try await connection.networkIfExists(named: "wrapper-net") == nil)
    }

    @Test func overlayVolumeIsCreatedAndDeleted() async throws {
        let connection = try await Connection.open("test:///default")
        let pool = try await connection.storagePool(named: "default-pool")
        let volume = try await pool.createVolume(xml: VolumeSpec(name: "overlay.qcow2", capacityBytes: 1 << 30).xml)
        #expect(try await pool.volumeNames().contains("overlay.qcow2"))
        #expect(try await volume.info().capacity == 1 << 30)
        try await volume.delete()
        #expect(try await pool.volumeIfExists(named: "overlay.qcow2") == nil)
    }
}
