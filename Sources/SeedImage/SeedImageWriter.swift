import CIsofs
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Writes small ISO 9660 images with Rock Ridge and Joliet extensions — the cloud-init
/// NoCloud seed (volume id `cidata`, files `user-data`, `meta-data`, `network-config`) —
/// through libisofs.
public enum SeedImageWriter {
    /// Longest volume id ISO 9660 allows.
    public static let maximumVolumeIDLength = 32

    /// Writes an image holding `files` in its root directory.
    ///
    /// The image is written to a temporary file next to `url` and renamed over it, so `url`
    /// holds either the old content or the complete new image.
    /// - Parameters:
    ///   - volumeID: the volume label, e.g. `"cidata"`; kept as given (lower case too), at most 32 ASCII characters.
    ///   - files: file name (no `/`) → content.
    ///   - url: the output file.
    ///   - permissions: mode of the new file. The default 0600 suits libvirt, which hands disk
    ///     files to QEMU's user when a domain starts; seeds can hold secrets.
    public static func write(
        volumeID: String, files: [String: Data], to url: URL, permissions: mode_t = 0o600
    ) throws(SeedImageError) {
        try validate(volumeID: volumeID, names: Array(files.keys))
        try ensureLibraryInitialized()

        var imagePointer: OpaquePointer?
        try check(iso_image_new(volumeID, &imagePointer), "iso_image_new")
        guard let image = imagePointer else {
            throw SeedImageError(code: .libisofs, operation: "iso_image_new", message: "no image was created")
        }
        defer { iso_image_unref(image) }
        iso_image_set_volume_id(image, volumeID)
        guard let root = iso_image_get_root(image) else {
            throw SeedImageError(code: .libisofs, operation: "iso_image_get_root", message: "the image has no root")
        }

        // Sorted, so the same input makes the same directory layout.
        for name in files.keys.sorted() {
            try addFile(named: name, contents: files[name] ?? Data(), to: root, of: image)
        }

        var optsPointer: OpaquePointer?
        try check(iso_write_opts_new(&optsPointer, 2), "iso_write_opts_new")  // profile 2: distribution
        guard let opts = optsPointer else {
            throw SeedImageError(code: .libisofs, operation: "iso_write_opts_new", message: "no options were created")
        }
        defer { iso_write_opts_free(opts) }
        try check(iso_write_opts_set_iso_level(opts, 3), "iso_write_opts_set_iso_level")
        try check(iso_write_opts_set_rockridge(opts, 1), "iso_write_opts_set_rockridge")
        try check(iso_write_opts_set_joliet(opts, 1), "iso_write_opts_set_joliet")
        // Keep the volume id as given: NoCloud looks for "cidata", and ISO 9660's strict
        // d-characters would upper-case it.
        try check(iso_write_opts_set_relaxed_vol_atts(opts, 1), "iso_write_opts_set_relaxed_vol_atts")

        var sourcePointer: UnsafeMutablePointer<burn_source>?
        try check(iso_image_create_burn_source(image, opts, &sourcePointer), "iso_image_create_burn_source")
        guard let source = sourcePointer else {
            throw SeedImageError(code: .libisofs, operation: "iso_image_create_burn_source",
                                 message: "no output stream was created")
        }
        defer {
            // Stops and joins libisofs's writer thread if it is still running, then frees.
            source.pointee.free_data?(source)
            free(source)
        }

        try writeAtomically(to: url, permissions: permissions) { (fd: Int32) throws(SeedImageError) in
            var block = [UInt8](repeating: 0, count: 2048)
            while true {
                let count = block.withUnsafeMutableBufferPointer { buffer -> Int32 in
                    if let readXT = source.pointee.read_xt, source.pointee.version >= 1 {
                        return readXT(source, buffer.baseAddress, Int32(buffer.count))
                    }
                    return source.pointee.read?(source, buffer.baseAddress, Int32(buffer.count)) ?? -1
                }
                if count == 0 { break }
                if count < 0 {
                    throw SeedImageError(code: .libisofs, operation: "burn_source.read",
                                         message: "libisofs failed while producing the image")
                }
                try writeAll(fd, block, count: Int(count))
            }
        }
    }

    // MARK: - Building the tree

    private static func addFile(
        named name: String, contents: Data, to root: OpaquePointer, of image: OpaquePointer
    ) throws(SeedImageError) {
        // The memory stream takes ownership of a malloc'd buffer and frees it itself.
        guard let buffer = malloc(max(contents.count, 1))?.assumingMemoryBound(to: UInt8.self) else {
            throw SeedImageError(code: .libisofs, operation: "malloc", message: "out of memory")
        }
        contents.copyBytes(to: buffer, count: contents.count)
        var streamPointer: UnsafeMutablePointer<IsoStream>?
        let rc = iso_memory_stream_new(buffer, contents.count, &streamPointer)
        guard rc >= 0, let stream = streamPointer else {
            free(buffer)
            throw libisofsError(rc, "iso_memory_stream_new(\(name))")
        }
        var file: OpaquePointer?
        let added = iso_image_add_new_file(image, root, name, stream, &file)
        if added < 0 {
            iso_stream_unref(stream)  // not taken over by a file
            throw libisofsError(added, "iso_image_add_new_file(\(name))")
        }
        if let file {
            // The node is owned by its parent directory; the profile may override these at write time.
            iso_node_set_permissions(file, 0o444)
        }
    }

    private static func validate(volumeID: String, names: [String]) throws(SeedImageError) {
        guard !volumeID.isEmpty, volumeID.utf8.count <= maximumVolumeIDLength,
              volumeID.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F })
        else {
            throw SeedImageError(code: .invalidArgument, operation: "volume id",
                                 message: "volume id \"\(volumeID)\" must be 1 to \(maximumVolumeIDLength) printable ASCII characters")
        }
        for name in names {
            guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), !name.contains("\0"),
                  name.utf8.count <= 255
            else {
                throw SeedImageError(code: .invalidArgument, operation: "file name",
                                     message: "\"\(name)\" is not a valid file name for the image's root directory")
            }
        }
    }

    // MARK: - libisofs errors

    /// libisofs is initialised once per process and never finished.
    private static let initResult: Int32 = {
        let rc = iso_init()
        if rc >= 0 {
            // Errors are reported through return codes; libisofs must not print them itself.
            var never = Array("NEVER".utf8CString)
            var empty = Array("".utf8CString)
            never.withUnsafeMutableBufferPointer { n in
                empty.withUnsafeMutableBufferPointer { e in
                    _ = iso_set_msgs_severities(n.baseAddress, n.baseAddress, e.baseAddress)
                }
            }
        }
        return rc
    }()

    private static func ensureLibraryInitialized() throws(SeedImageError) {
        try check(initResult, "iso_init")
    }

    private static func check(_ rc: Int32, _ operation: String) throws(SeedImageError) {
        if rc < 0 { throw libisofsError(rc, operation) }
    }

    private static func libisofsError(_ rc: Int32, _ operation: String) -> SeedImageError {
        let message = iso_error_to_msg(rc).map { String(cString: $0) } ?? "libisofs error \(rc)"
        return SeedImageError(code: .libisofs, operation: operation, message: message, errorCode: rc)
    }

    // MARK: - Output

    private static func writeAtomically(
        to url: URL, permissions: mode_t, _ body: (Int32) throws(SeedImageError) -> Void
    ) throws(SeedImageError) {
        let directory = url.deletingLastPathComponent().path
        let temporary = (directory as NSString).appendingPathComponent(
            ".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, permissions)
        guard fd >= 0 else { throw ioError("open \(temporary)") }
        var closed = false
        var renamed = false
        defer {
            if !closed { close(fd) }
            if !renamed { unlink(temporary) }
        }
        try body(fd)
        // The mode given to open() is filtered by the umask; set it exactly.
        guard fchmod(fd, permissions) == 0 else { throw ioError("chmod \(temporary)") }
        guard fsync(fd) == 0 else { throw ioError("fsync \(temporary)") }
        closed = true
        guard close(fd) == 0 else { throw ioError("close \(temporary)") }
        guard rename(temporary, url.path) == 0 else { throw ioError("rename to \(url.path)") }
        renamed = true
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], count: Int) throws(SeedImageError) {
        var offset = 0
        while offset < count {
            let written = bytes.withUnsafeBytes { buffer in
                Glibc.write(fd, buffer.baseAddress! + offset, count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw ioError("write")
            }
            offset += written
        }
    }

    private static func ioError(_ operation: String) -> SeedImageError {
        let code = errno
        return SeedImageError(code: .io, operation: operation, message: String(cString: strerror(code)), errorCode: code)
    }
}
