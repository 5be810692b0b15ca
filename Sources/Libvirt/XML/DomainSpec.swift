import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// A libvirt domain definition as a typed value. `xml` renders it; `init(xml:)` reads back the
/// parts berth relies on from what libvirt returns.
public struct DomainSpec: Sendable, Equatable {
    public enum VirtType: String, Sendable, Codable, CaseIterable { case kvm, qemu }

    public enum Boot: Sendable, Equatable {
        /// Direct kernel boot: no bootloader, libvirt hands QEMU the kernel and initrd.
        case kernel(kernel: String, initrd: String?, commandLine: String)
        /// Boot from the first disk's bootloader.
        case disk
    }

    public struct Disk: Sendable, Equatable {
        public enum Source: Sendable, Equatable {
            case file(String)
            case volume(pool: String, volume: String)
        }
        public enum Device: String, Sendable { case disk, cdrom }
        public var source: Source
        public var device: Device
        public var format: String
        public var target: String
        public var bus: String
        public var readOnly: Bool

        public init(source: Source, device: Device = .disk, format: String = "qcow2", target: String = "vda",
                    bus: String = "virtio", readOnly: Bool = false) {
            self.source = source
            self.device = device
            self.format = format
            self.target = target
            self.bus = bus
            self.readOnly = readOnly
        }
    }

    public struct Interface: Sendable, Equatable {
        public var network: String
        public var mac: String
        public var model: String
        public init(network: String, mac: String, model: String = "virtio") {
            self.network = network
            self.mac = mac
            self.model = model
        }
    }

    /// berth's own facts stored in the domain (in libvirt's `<metadata>` under berth's namespace).
    public static let metadataNamespace = "https://berth.dev/xmlns/machine/1"

    public var virtType: VirtType
    public var name: String
    public var memoryMiB: Int
    public var vcpus: Int
    public var boot: Boot
    public var disks: [Disk]
    public var interfaces: [Interface]
    /// A file that receives everything the guest writes on its serial console.
    public var consoleLog: String?
    public var metadata: [String: String]
    /// Extra QEMU arguments (libvirt's `qemu:commandline`), for what libvirt has no XML for: QEMU's
    /// user-mode network with host port forwards, where the libvirt at hand offers no passt backend.
    public var qemuArguments: [String]

    /// The namespace of libvirt's QEMU-specific elements.
    public static let qemuNamespace = "http://libvirt.org/schemas/domain/qemu/1.0"

    /// Under TCG, the size of QEMU's translation cache (`<features><tcg><tb-cache>`), in MiB. QEMU's
    /// own default is 1 GiB, which an idle machine fills and keeps resident; ignored with KVM.
    public var translationCacheMiB: Int?

    /// berth's translation cache size under TCG: enough that a booting guest rarely translates code
    /// again, small enough that an idle machine costs the host little beyond the guest's own memory.
    public static let defaultTranslationCacheMiB = 128

    public init(virtType: VirtType, name: String, memoryMiB: Int, vcpus: Int, boot: Boot, disks: [Disk] = [],
                interfaces: [Interface] = [], consoleLog: String? = nil, metadata: [String: String] = [:],
                translationCacheMiB: Int? = nil, qemuArguments: [String] = []) {
        self.virtType = virtType
        self.name = name
        self.memoryMiB = memoryMiB
        self.vcpus = vcpus
        self.boot = boot
        self.disks = disks
        self.interfaces = interfaces
        self.consoleLog = consoleLog
        self.metadata = metadata
        self.qemuArguments = qemuArguments
        self.translationCacheMiB = translationCacheMiB
    }

    public var xml: String { element.rendered }

    var element: XMLElement {
        let domain = XMLElement("domain", ["type": virtType.rawValue], children: [
            XMLElement("name", text: name),
            metadata.isEmpty ? nil : XMLElement("metadata", children: [metadataElement]),
            XMLElement("memory", ["unit": "MiB"], text: String(memoryMiB)),
            XMLElement("vcpu", text: String(vcpus)),
            osElement,
            XMLElement("features", children: [XMLElement("acpi"), XMLElement("apic"), tcgElement]),
            // With KVM the guest sees the host CPU; under TCG QEMU's default model is the one that works.
            virtType == .kvm ? XMLElement("cpu", ["mode": "host-passthrough"]) : nil,
            XMLElement("clock", ["offset": "utc"]),
            XMLElement("on_poweroff", text: "destroy"),
            XMLElement("on_reboot", text: "restart"),
            XMLElement("on_crash", text: "destroy"),
            XMLElement("devices", children: disks.map(diskElement) + interfaces.map(interfaceElement) + [
                serialElement,
                XMLElement("console", ["type": "pty"], children: [XMLElement("target", ["type": "serial", "port": "0"])]),
                XMLElement("rng", ["model": "virtio"], children: [XMLElement("backend", ["model": "random"], text: "/dev/urandom")]),
                XMLElement("memballoon", ["model": "virtio", "freePageReporting": "on"]),
            ]),
        ])
        if !qemuArguments.isEmpty {
            domain.addNamespace(XMLNode.namespace(withName: "qemu", stringValue: Self.qemuNamespace) as! XMLNode)
            domain.addChild(XMLElement("qemu:commandline", children: qemuArguments.map { XMLElement("qemu:arg", ["value": $0]) }))
        }
        return domain
    }

    private var tcgElement: XMLElement? {
        guard virtType == .qemu, let size = translationCacheMiB else { return nil }
        return XMLElement("tcg", children: [XMLElement("tb-cache", ["unit": "MiB"], text: String(size))])
    }

    private var metadataElement: XMLElement {
        let machine = XMLElement("berth:machine")
        machine.addNamespace(XMLNode.namespace(withName: "berth", stringValue: Self.metadataNamespace) as! XMLNode)
        for key in metadata.keys.sorted() {
            machine.addChild(XMLElement("berth:\(key)", text: metadata[key]))
        }
        return machine
    }

    private var osElement: XMLElement {
        let type = XMLElement("type", ["arch": "x86_64", "machine": "q35"], text: "hvm")
        switch boot {
        case .kernel(let kernel, let initrd, let commandLine):
            return XMLElement("os", children: [
                type, XMLElement("kernel", text: kernel), initrd.map { XMLElement("initrd", text: $0) },
                XMLElement("cmdline", text: commandLine),
            ])
        case .disk:
            return XMLElement("os", children: [type, XMLElement("boot", ["dev": "hd"])])
        }
    }

    private func diskElement(_ disk: Disk) -> XMLElement {
        let source: XMLElement
        let type: String
        switch disk.source {
        case .file(let path):
            type = "file"
            source = XMLElement("source", ["file": path])
        case .volume(let pool, let volume):
            type = "volume"
            source = XMLElement("source", ["pool": pool, "volume": volume])
        }
        return XMLElement("disk", ["type": type, "device": disk.device.rawValue], children: [
            XMLElement("driver", ["name": "qemu", "type": disk.format, "discard": disk.device == .disk ? "unmap" : nil]),
            source,
            XMLElement("target", ["dev": disk.target, "bus": disk.bus]),
            disk.readOnly ? XMLElement("readonly") : nil,
        ])
    }

    private func interfaceElement(_ interface: Interface) -> XMLElement {
        XMLElement("interface", ["type": "network"], children: [
            XMLElement("mac", ["address": interface.mac]),
            XMLElement("source", ["network": interface.network]),
            XMLElement("model", ["type": interface.model]),
        ])
    }

    private var serialElement: XMLElement {
        XMLElement("serial", ["type": "pty"], children: [
            XMLElement("target", ["port": "0"]),
            consoleLog.map { XMLElement("log", ["file": $0, "append": "on"]) },
        ])
    }
}

extension DomainSpec {
    /// Reads a domain's XML (as libvirt returns it) back into a spec. Devices berth does not
    /// make (controllers, graphics, …) are ignored.
    public init(xml: String) throws {
        let root = try parseRoot(xml, expecting: "domain")
        guard let virtType = root.attribute("type").flatMap(VirtType.init(rawValue:)) else {
            throw SpecParseError(message: "domain has no kvm or qemu type")
        }
        guard let name = root.child("name")?.stringValue else { throw SpecParseError(message: "domain has no name") }
        let memory = root.child("memory")
        let memoryMiB = Self.mebibytes(memory?.stringValue ?? "0", unit: memory?.attribute("unit") ?? "KiB")
        let vcpus = Int(root.child("vcpu")?.stringValue ?? "1") ?? 1
        let os = root.child("os")
        let boot: Boot
        if let kernel = os?.child("kernel")?.stringValue {
            boot = .kernel(kernel: kernel, initrd: os?.child("initrd")?.stringValue,
                           commandLine: os?.child("cmdline")?.stringValue ?? "")
        } else {
            boot = .disk
        }
        let devices = root.child("devices")
        let disks = (devices?.children("disk") ?? []).compactMap { disk -> Disk? in
            guard let sourceElement = disk.child("source"), let target = disk.child("target") else { return nil }
            let source: Disk.Source
            if let pool = sourceElement.attribute("pool"), let volume = sourceElement.attribute("volume") {
                source = .volume(pool: pool, volume: volume)
            } else if let file = sourceElement.attribute("file") {
                source = .file(file)
            } else {
                return nil
            }
            return Disk(source: source, device: Disk.Device(rawValue: disk.attribute("device") ?? "disk") ?? .disk,
                        format: disk.child("driver")?.attribute("type") ?? "raw",
                        target: target.attribute("dev") ?? "", bus: target.attribute("bus") ?? "",
                        readOnly: disk.child("readonly") != nil)
        }
        let interfaces = (devices?.children("interface") ?? []).compactMap { interface -> Interface? in
            guard let mac = interface.child("mac")?.attribute("address"),
                  let network = interface.child("source")?.attribute("network") else { return nil }
            return Interface(network: network, mac: mac, model: interface.child("model")?.attribute("type") ?? "virtio")
        }
        let consoleLog = devices?.child("serial")?.child("log")?.attribute("file")
        var metadata: [String: String] = [:]
        let metadataChildren = root.child("metadata")?.children?.compactMap { $0 as? XMLElement } ?? []
        if let machine = metadataChildren.first(where: { $0.localName == "machine" && $0.uri == Self.metadataNamespace }) {
            for case let element as XMLElement in machine.children ?? [] {
                if let key = element.localName { metadata[key] = element.stringValue ?? "" }
            }
        }
        let commandLine = root.children?.compactMap { $0 as? XMLElement }.first { $0.localName == "commandline" && $0.uri == Self.qemuNamespace }
        let qemuArguments = (commandLine?.children ?? []).compactMap { ($0 as? XMLElement)?.attribute("value") }
        let tbCache = root.child("features")?.child("tcg")?.child("tb-cache")
        let translationCache = tbCache.flatMap { element in
            Int(element.stringValue ?? "").map { Self.mebibytes(String($0), unit: element.attribute("unit") ?? "KiB") }
        }
        self.init(virtType: virtType, name: name, memoryMiB: memoryMiB, vcpus: vcpus, boot: boot, disks: disks,
                  interfaces: interfaces, consoleLog: consoleLog, metadata: metadata,
                  translationCacheMiB: virtType == .qemu ? translationCache : nil, qemuArguments: qemuArguments)
    }

    private static func mebibytes(_ value: String, unit: String) -> Int {
        let number = Int(value) ?? 0
        switch unit {
        case "b", "bytes": return number / (1 << 20)
        case "MiB", "M": return number
        case "GiB", "G": return number * 1024
        default: return number / 1024 // KiB, libvirt's default
        }
    }
}
