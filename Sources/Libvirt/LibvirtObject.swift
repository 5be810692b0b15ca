import CLibvirt

/// What every libvirt object handle shares: its connection (whose queue runs its calls), its
/// pointer and its name. The helpers read libvirt's error on the queue, right after the call.
protocol LibvirtObject: AnyObject, Sendable {
    var connection: Connection { get }
    var pointer: OpaquePointer { get }
    var name: String { get }
}

extension LibvirtObject {
    /// Runs a libvirt call that returns 0 on success.
    func call(_ operation: String, _ body: @escaping @Sendable (OpaquePointer) -> Int32) async throws {
        try await connection.perform { [self] in
            guard body(pointer) == 0 else { throw LibvirtError.last("\(operation) \(name)") }
        }
    }

    /// Runs a libvirt call that returns a boolean as 1 or 0, and -1 on failure.
    func flag(_ operation: String, _ body: @escaping @Sendable (OpaquePointer) -> Int32) async throws -> Bool {
        try await connection.perform { [self] in
            let value = body(pointer)
            guard value >= 0 else { throw LibvirtError.last("\(operation) \(name)") }
            return value == 1
        }
    }

    /// Runs a libvirt call that returns a string libvirt allocated (freed here).
    func string(_ operation: String, _ body: @escaping @Sendable (OpaquePointer) -> UnsafeMutablePointer<CChar>?) async throws -> String {
        try await connection.perform { [self] in
            guard let text = takeString(body(pointer)) else { throw LibvirtError.last("\(operation) \(name)") }
            return text
        }
    }

    /// Runs a libvirt call that makes or finds another object, returning its pointer.
    func handle(_ operation: String, _ body: @escaping @Sendable (OpaquePointer) -> OpaquePointer?) async throws -> RawHandle {
        try await connection.perform { [self] in
            guard let made = body(pointer) else { throw LibvirtError.last(operation) }
            return RawHandle(made)
        }
    }
}

extension Connection {
    /// Runs a libvirt call on the connection that makes or finds an object, returning its pointer.
    func handle(_ operation: String, _ body: @escaping @Sendable (OpaquePointer) -> OpaquePointer?) async throws -> RawHandle {
        try await perform { [self] in
            guard let made = body(pointer) else { throw LibvirtError.last(operation) }
            return RawHandle(made)
        }
    }
}
