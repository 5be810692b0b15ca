import Foundation
import NIOPosix
import PortForwarding

// berth-bench: the parts of bench/run.sh that need berth's own libraries.
//
//   berth-bench forward --target IP:PORT --bytes N --runs R
//
// Pushes N bytes R times to a throughput sink at IP:PORT (the protocol of PortForwarding's
// `Throughput`: send, shut down, read an 8-byte big-endian count), directly and through a
// `Forwarder` this process starts on 127.0.0.1, alternating the two, and prints one JSON object:
// {"direct": [MiB/s…], "forwarded": [MiB/s…], "bytes": N}. Every push is bounded in bytes and time.

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("berth-bench: \(message)\n".utf8))
    exit(2)
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.first == "forward" else { fail("usage: berth-bench forward --target IP:PORT --bytes N --runs R") }
arguments.removeFirst()
var target = ""
var bytes: Int64 = 256 << 20
var runs = 5
while !arguments.isEmpty {
    let flag = arguments.removeFirst()
    guard let value = arguments.first else { fail("\(flag) needs a value") }
    arguments.removeFirst()
    switch flag {
    case "--target": target = value
    case "--bytes": bytes = Int64(value) ?? bytes
    case "--runs": runs = Int(value) ?? runs
    default: fail("unknown option \(flag)")
    }
}
let parts = target.split(separator: ":")
guard parts.count == 2, let port = Int(parts[1]) else { fail("--target takes IP:PORT") }
let host = String(parts[0])
guard (1...(4 << 30)).contains(bytes), (1...50).contains(runs) else { fail("--bytes up to 4 GiB, --runs up to 50") }

let forwarder = Forwarder()
do {
    let bound = try await forwarder.add([ForwardRule(listenAddress: "127.0.0.1", listenPort: 0, targetHost: host, targetPort: port)])
    let local = bound[0].listenPort
    var direct: [Double] = []
    var forwarded: [Double] = []
    for _ in 0..<runs {
        direct.append(try await Throughput.push(bytes: bytes, to: host, port: port, timeout: .seconds(300)).bytesPerSecond / 1_048_576)
        forwarded.append(try await Throughput.push(bytes: bytes, to: "127.0.0.1", port: local, timeout: .seconds(300)).bytesPerSecond / 1_048_576)
    }
    await forwarder.close()
    let result: [String: Any] = ["direct": direct, "forwarded": forwarded, "bytes": bytes]
    print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
} catch {
    await forwarder.close()
    fail("\(error)")
}
