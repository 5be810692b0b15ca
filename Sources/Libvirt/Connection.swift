import CLibvirt
import Dispatch
import Foundation

/// A connection to a libvirt daemon or driver, opened by URI:
/// `test:///default`, `qemu:///system`, `qemu:///session`, `qemu+ssh://user@host/system`.
///
/// Every blocking libvirt call runs on the connection's own serial queue, never on Swift's
/// cooperative pool, and libvirt's per-thread last error is read on that same queue.
public final class Connection: @unchecked Sendable {
    public let uri: String
    let pointer: OpaquePointer
    private let queue: DispatchQueue

    /// Opens a read-write connection.
    public static func open(_ uri: String) async throws -> Connection {
        Libvirt.initialize()
        let queue = DispatchQueue(label: "berth.libvirt.\(uri)")
        let handle = try await onQueue(queue) { () throws -> RawHandle in
            guard let pointer = virConnectOpen(uri) else { throw LibvirtError.last("connect to \(uri)") }
            return RawHandle(pointer)
        }
        let connection = Connection(uri: uri, pointer: handle.pointer, queue: queue)
        try? await connection.enableKeepAlive()
        return connection
    }

    private init(uri: String, pointer: OpaquePointer, queue: DispatchQueue) {
        self.uri = uri
        self.pointer = pointer
        self.queue = queue
    }

    deinit {
        let handle = RawHandle(pointer)
        queue.async { _ = virConnectClose(handle.pointer) }
    }

    /// Runs `body` on this connection's queue and returns its result.
    /// `body` must read libvirt's error (`LibvirtError.last`) itself, synchronously.
    func perform<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await Self.onQueue(queue, body)
    }

    private static func onQueue<T: Sendable>(
        _ queue: DispatchQueue, _ body: @escaping @Sendable () throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    // MARK: - Facts about the connection

    /// The hypervisor's host name.
    public func hostname() async throws -> String {
        try await perform { [self] in
            guard let name = virConnectGetHostname(pointer) else { throw LibvirtError.last("get host name") }
            defer { free(name) }
            return String(cString: name)
        }
    }

    /// libvirt's library version as "major.minor.release".
    public func libraryVersion() async throws -> String {
        try await perform { [self] in
            var version: UInt = 0
            guard virConnectGetLibVersion(pointer, &version) == 0 else { throw LibvirtError.last("get library version") }
            return "\(version / 1_000_000).\((version / 1000) % 1000).\(version % 1000)"
        }
    }

    /// The domain capabilities XML for a virtualization type (`kvm` or `qemu`), or an error
    /// when the host cannot offer that type at all.
    public func domainCapabilities(virtType: String) async throws -> String {
        try await perform { [self] in
            guard let xml = virConnectGetDomainCapabilities(pointer, nil, nil, nil, virtType, 0) else {
                throw LibvirtError.last("get domain capabilities for \(virtType)")
            }
            defer { free(xml) }
            return String(cString: xml)
        }
    }
}

/// Process-wide libvirt set-up: initialise once and keep libvirt from printing errors itself;
/// the wrapper reports them as typed errors instead. libvirt's default event loop runs on a
/// thread of its own, so connections can send keepalives: a daemon that stops answering makes
/// calls fail within seconds instead of hanging forever.
enum Libvirt {
    private static let once: Void = {
        _ = virInitialize()
        virSetErrorFunc(nil, { _, _ in })
        if virEventRegisterDefaultImpl() == 0 {
            let loop = Thread {
                while true { _ = virEventRunDefaultImpl() }
            }
            loop.name = "libvirt events"
            loop.start()
        }
    }()

    static func initialize() { _ = once }
}

/// Turns a C string that libvirt allocated into a Swift string and frees it.
func takeString(_ pointer: UnsafeMutablePointer<CChar>?) -> String? {
    guard let pointer else { return nil }
    defer { free(pointer) }
    return String(cString: pointer)
}

/// A libvirt object pointer carried from the connection's queue back to the caller, which wraps
/// it in its owning handle at once.
struct RawHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
}
