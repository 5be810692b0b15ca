import Foundation
import Testing
@testable import Libvirt

/// The XML that berth hands libvirt, compared with reviewed golden files, and read back.
@Suite struct SpecRenderingTests {
    static let machineDomain = DomainSpec(
        virtType: .qemu, name: "berth-dev", memoryMiB: 1024, vcpus: 2,
        boot: .kernel(kernel: "/var/lib/berth/images/berth-docker.vmlinuz", initrd: "/var/lib/berth/images/berth-docker.initrd",
                      commandLine: "root=/dev/vda rw console=ttyS0"),
        disks: [
            .init(source: .volume(pool: "berth", volume: "dev.qcow2")),
            .init(source: .file("/var/lib/berth/pool/dev-seed.iso"), device: .cdrom, format: "raw", target: "sda", bus: "sata", readOnly: true),
        ],
        interfaces: [.init(network: "berth", mac: "52:54:00:12:34:56")],
        consoleLog: "/root/.local/share/berth/machines/dev/console.log",
        metadata: ["name": "dev", "driver": "libvirt"],
        translationCacheMiB: 128)

    static let natNetwork = NetworkSpec(
        name: "berth", bridge: "virbr-berth", gateway: "192.168.124.1", prefix: 24,
        dhcpStart: "192.168.124.100", dhcpEnd: "192.168.124.254",
        hosts: [.init(mac: "52:54:00:12:34:56", name: "dev", ip: "192.168.124.10")])

    /// Reads a golden file; with BERTH_RECORD_GOLDEN=1 in the environment, writes `actual` as the
    /// new golden file first (review the diff before committing it).
    func golden(_ name: String, recording actual: String) throws -> String {
        if ProcessInfo.processInfo.environment["BERTH_RECORD_GOLDEN"] == "1" {
            let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/\(name)")
            try actual.write(to: source, atomically: true, encoding: .utf8)
            return actual
        }
        let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Golden"))
        return try String(contentsOf: url, encoding: .utf8)
    }

    @Test func domainMatchesGolden() throws {
        #expect(Self.machineDomain.xml == (try golden("domain-direct-boot.xml", recording: Self.machineDomain.xml)))
    }

    @Test func kvmDomainPassesTheHostCPUAndDiskBootHasNoKernel() throws {
        var spec = Self.machineDomain
        spec.virtType = .kvm
        spec.boot = .disk
        let xml = spec.xml
        #expect(xml.contains("<domain type=\"kvm\">"))
        #expect(xml.contains("<cpu mode=\"host-passthrough\"></cpu>") || xml.contains("<cpu mode=\"host-passthrough\"/>"))
        #expect(xml.contains("<boot dev=\"hd\""))
        #expect(!xml.contains("<kernel>"))
        #expect(!xml.contains("tb-cache"), "KVM has no translation cache to bound")
        #expect(try DomainSpec(xml: xml).translationCacheMiB == nil)
    }

    @Test func tcgTranslationCacheIsBoundedAndReadsBackInAnyUnit() throws {
        let compact = Self.machineDomain.xml.replacingOccurrences(of: "\n", with: "").replacingOccurrences(of: " ", with: "")
        #expect(compact.contains("<tcg><tb-cacheunit=\"MiB\">128</tb-cache></tcg>"))
        let fromLibvirt = Self.machineDomain.xml.replacingOccurrences(
            of: "<tb-cache unit=\"MiB\">128</tb-cache>", with: "<tb-cache unit='KiB'>131072</tb-cache>")
        #expect(try DomainSpec(xml: fromLibvirt).translationCacheMiB == 128)
    }

    @Test func domainReadsBack() throws {
        let parsed = try DomainSpec(xml: Self.machineDomain.xml)
        #expect(parsed == Self.machineDomain)
    }

    @Test func networkMatchesGoldenAndReadsBack() throws {
        #expect(Self.natNetwork.xml == (try golden("network-nat.xml", recording: Self.natNetwork.xml)))
        #expect(try NetworkSpec(xml: Self.natNetwork.xml) == Self.natNetwork)
    }

    @Test func volumeOverlayMatchesGolden() throws {
        let volume = VolumeSpec(name: "dev.qcow2", capacityBytes: 20 << 30, backingFile: "/var/lib/berth/pool/berth-docker.qcow2")
        #expect(volume.xml == (try golden("volume-overlay.xml", recording: volume.xml)))
    }

    @Test func parsingRejectsWhatIsNotADomain() {
        #expect(throws: SpecParseError.self) { try DomainSpec(xml: "<network><name>x</name></network>") }
        #expect(throws: SpecParseError.self) { try DomainSpec(xml: "<domain type='qemu'><name>x</nmae></domain>") }
    }

    @Test func dhcpHostIsASingleElement() {
        let host = NetworkSpec.DHCPHost(mac: "52:54:00:aa:bb:cc", name: "web", ip: "192.168.124.11")
        #expect(host.xmlString == "<host mac=\"52:54:00:aa:bb:cc\" name=\"web\" ip=\"192.168.124.11\"></host>"
            || host.xmlString == "<host mac=\"52:54:00:aa:bb:cc\" name=\"web\" ip=\"192.168.124.11\"/>")
    }
}
