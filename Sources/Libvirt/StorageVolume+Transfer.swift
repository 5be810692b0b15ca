import CLibvirt
import Foundation

extension StorageVolume {
    /// Uploads `length` bytes of a local file, starting at `offset` in both the file and the
    /// volume, through a libvirt stream, so it works against remote hosts as well as the local one.
    public func upload(from file: URL, offset: UInt64, length: UInt64) async throws {
        try await connection.perform { [self] in
            guard let handle = FileHandle(forReadingAtPath: file.path) else {
                throw LibvirtError(code: -1, domain: 0, message: "cannot read \(file.path)", operation: "upload to volume \(name)")
            }
            defer { try? handle.close() }
            try handle.seek(toOffset: offset)
            guard let stream = virStreamNew(connection.pointer, 0) else { throw LibvirtError.last("open stream for volume \(name)") }
            defer { virStreamFree(stream) }
            guard virStorageVolUpload(pointer, stream, CUnsignedLongLong(offset), CUnsignedLongLong(length), 0) == 0 else {
                throw LibvirtError.last("upload to volume \(name)")
            }
            var remaining = length
            while remaining > 0 {
                let chunk = handle.readData(ofLength: Int(min(remaining, 1 << 20)))
                if chunk.isEmpty { break }
                var sentOfChunk = 0
                while sentOfChunk < chunk.count {
                    let sent = chunk.withUnsafeBytes { bytes in
                        virStreamSend(stream, bytes.baseAddress!.advanced(by: sentOfChunk).assumingMemoryBound(to: CChar.self),
                                      chunk.count - sentOfChunk)
                    }
                    guard sent >= 0 else {
                        let error = LibvirtError.last("upload to volume \(name)")
                        virStreamAbort(stream)
                        throw error
                    }
                    sentOfChunk += Int(sent)
                }
                remaining -= UInt64(chunk.count)
            }
            guard virStreamFinish(stream) == 0 else { throw LibvirtError.last("finish upload to volume \(name)") }
        }
    }

    /// Reads up to `length` bytes of the volume from `offset` (for small reads: checks, headers).
    public func download(offset: UInt64, length: UInt64) async throws -> Data {
        try await connection.perform { [self] in
            guard let stream = virStreamNew(connection.pointer, 0) else { throw LibvirtError.last("open stream for volume \(name)") }
            defer { virStreamFree(stream) }
            guard virStorageVolDownload(pointer, stream, CUnsignedLongLong(offset), CUnsignedLongLong(length), 0) == 0 else {
                throw LibvirtError.last("download from volume \(name)")
            }
            var data = Data()
            var buffer = [CChar](repeating: 0, count: 64 << 10)
            while true {
                let received = virStreamRecv(stream, &buffer, buffer.count)
                if received == 0 { break }
                guard received > 0 else {
                    let error = LibvirtError.last("download from volume \(name)")
                    virStreamAbort(stream)
                    throw error
                }
                data.append(contentsOf: buffer[0..<Int(received)].map { UInt8(bitPattern: $0) })
            }
            guard virStreamFinish(stream) == 0 else { throw LibvirtError.last("finish download from volume \(name)") }
            return data
        }
    }
}
