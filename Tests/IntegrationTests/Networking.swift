import Foundation
import Libvirt
@testable import MachineCore
import Testing

extension RealMachines {
    /// A machine's life with the host's docker (create → env → docker, stop and start keeping its
    /// address, certificates and data, rm leaving nothing), and with it port forwards, auto-publish
    /// and names on berth's own networks: real machines, real containers, real sockets on 127.0.0.1.
    @Suite(.serialized) struct Networking {
        static let network = "berth-it-net"
        static let machine = "berth-it-ports"
        static let peer = "berth-it-peer"

        @Test func forwardsAutoPublishAndNamesOnOneNetwork() async throws {
            _ = try await TestImages.ensure(.docker)
            for name in [Self.machine, Self.peer] { try await CLI.berth("rm", "-f", name, expectSuccess: false) }
            _ = try? await Witness.virsh("net-destroy", Self.network)
            _ = try? await Witness.virsh("net-undefine", Self.network)

            // Forwards given at create: a TCP and a UDP service in the guest answer on 127.0.0.1.
            try await CLI.berth("create", "--memory", "1024", "--network", Self.network,
                                "-p", "18181:8181", "-p", "18153:8153/udp", Self.machine)
            try await Self.startGuestServices()
            #expect(try await Loopback.eventually { try await Loopback.httpGet(port: 18181)?.contains("served by the guest") == true })
            #expect(await Loopback.udpEcho(port: 18153, message: "ping over udp") == "ping over udp")

            // Auto-publish: a container published on the machine's loopback answers on the host's,
            // with no berth command, and stops answering when the container stops.
            let imported = try await CLI.docker(["import", "-", "berth-test/httpd"], machine: Self.machine,
                                                input: try CLI.busyboxTarball(applets: ["sh", "cat", "echo", "httpd"],
                                                                              files: ["www/index.html": "published by a container\n"]))
            #expect(imported.status == 0, "\(imported.error)")
            let run = try await CLI.docker(["run", "-d", "--name", "published", "-p", "127.0.0.1:18080:80", "berth-test/httpd",
                                            "/bin/httpd", "-f", "-p", "80", "-h", "/www"], machine: Self.machine)
            #expect(run.status == 0, "\(run.error)")
            #expect(try await Loopback.eventually { try await Loopback.httpGet(port: 18080)?.contains("published by a container") == true })
            let rows = try await Self.portRows()
            #expect(rows.contains { $0["source"] as? String == "container published" && $0["state"] as? String == "listening" })
            #expect(rows.filter { $0["source"] as? String == "configured" }.count == 2)
            _ = try await CLI.docker(["stop", "-t", "1", "published"], machine: Self.machine)
            #expect(try await Loopback.eventually { try await Loopback.httpGet(port: 18080) == nil }, "the forward went with the container")

            // port add takes effect at once; bad forwards are one line each and change nothing.
            try await CLI.berth("port", "add", Self.machine, "18182:8181")
            #expect(try await Loopback.httpGet(port: 18182)?.contains("served by the guest") == true)
            let duplicate = try await CLI.berth(["port", "add", Self.machine, "18182:8181"], expectSuccess: false)
            #expect(duplicate.status != 0 && duplicate.error.contains("18182"), "\(duplicate.error)")
            let malformed = try await CLI.berth(["port", "add", Self.machine, "18183:not-a-port"], expectSuccess: false)
            #expect(malformed.status != 0 && malformed.error.split(separator: "\n").count == 1, "\(malformed.error)")
            let occupied = try Loopback.listen()
            defer { close(occupied.socket) }
            let taken = try await CLI.berth(["port", "add", Self.machine, "\(occupied.port):8181"], expectSuccess: false)
            #expect(taken.status != 0 && taken.error.contains("\(occupied.port)") && taken.error.contains("in use"), "\(taken.error)")
            #expect(!(try await Self.portRows()).contains { ($0["host"] as? String)?.hasSuffix(":\(occupied.port)") == true })
            try await CLI.berth("port", "rm", Self.machine, "18182")
            #expect(try await Loopback.httpGet(port: 18182) == nil)

            // A forwarder that dies is noticed, and start brings it back.
            let state = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(
                fileURLWithPath: "\(CLI.storePath)/machines/\(Self.machine)/forwards.json"))) as? [String: Any]
            let pid = try #require(state?["pid"] as? Int)
            kill(pid_t(pid), SIGKILL)
            let listing = try await CLI.berth("ls", "--filter", "name=\(Self.machine)")
            #expect(listing.output.contains("port forwarder is not running"), "\(listing.output)")
            try await CLI.berth("start", Self.machine)
            #expect(try await Loopback.httpGet(port: 18181)?.contains("served by the guest") == true)

            // Forwards go down with stop and come back with start; the machine keeps its address, its
            // certificates and its data.
            let write = try await CLI.docker(["run", "--rm", "-v", "berth-data:/data", "berth-test/httpd", "/bin/sh", "-c",
                                              "echo persisted > /data/file"], machine: Self.machine)
            #expect(write.status == 0, "\(write.error)")
            let ipBefore = try await CLI.berth("ip", Self.machine).output
            let serverCertificate = URL(fileURLWithPath: "\(CLI.storePath)/machines/\(Self.machine)/server.pem")
            let certificateBefore = try Data(contentsOf: serverCertificate)
            try await CLI.berth("stop", Self.machine)
            #expect(try await CLI.berth("status", Self.machine).output.trimmingCharacters(in: .whitespacesAndNewlines) == "Stopped")
            #expect(try await Loopback.httpGet(port: 18181) == nil)
            try await CLI.berth("start", Self.machine)
            #expect(try await CLI.berth("ip", Self.machine).output == ipBefore)
            #expect(try Data(contentsOf: serverCertificate) == certificateBefore)
            let read = try await CLI.docker(["run", "--rm", "-v", "berth-data:/data", "berth-test/httpd", "/bin/cat", "/data/file"],
                                            machine: Self.machine)
            #expect(read.output.trimmingCharacters(in: .whitespacesAndNewlines) == "persisted", "\(read.error)")
            let machineRows = try JSONDecoder().decode([MachineListing].self, from: Data(
                try await CLI.berth("ls", "--format", "json", "--filter", "name=\(Self.machine)").output.utf8))
            #expect(machineRows.map(\.state) == [.running])
            #expect(machineRows.first?.dockerVersion?.isEmpty == false)
            #expect(try await CLI.berth(["ssh", Self.machine, "--", "cat", "/etc/hostname"]).output
                .trimmingCharacters(in: .whitespacesAndNewlines) == Self.machine)
            try await Self.startGuestServices()
            #expect(try await Loopback.eventually { try await Loopback.httpGet(port: 18181)?.contains("served by the guest") == true })
            #expect(await Loopback.udpEcho(port: 18153, message: "again") == "again")

            // Two machines on one network reach each other by name.
            try await CLI.berth("create", "--memory", "512", "--network", Self.network, "--no-auto-publish", Self.peer)
            let peerIP = try await CLI.berth("ip", Self.peer).output.trimmingCharacters(in: .whitespacesAndNewlines)
            let machineIP = try await CLI.berth("ip", Self.machine).output.trimmingCharacters(in: .whitespacesAndNewlines)
            let fromMachine = try await CLI.berth(["ssh", Self.machine, "--", "getent", "hosts", Self.peer])
            #expect(fromMachine.output.hasPrefix(peerIP + " "), "\(fromMachine.output)")
            let fromPeer = try await CLI.berth(["ssh", Self.peer, "--", "getent", "hosts", "\(Self.machine).berth.internal"])
            #expect(fromPeer.output.hasPrefix(machineIP + " "), "\(fromPeer.output)")
            let networks = try await CLI.berth("network", "ls", "--format", "json").output
            #expect(networks.contains(Self.network))
            let refused = try await CLI.berth(["network", "rm", Self.network], expectSuccess: false)
            #expect(refused.status != 0 && refused.error.contains("used by"), "\(refused.error)")

            // rm frees the host ports and leaves nothing; then the network can go.
            try await CLI.berth("rm", "-y", Self.machine, Self.peer)
            #expect(try Loopback.canListen(port: 18181))
            for name in [Self.machine, Self.peer] { #expect(try await Witness.leftovers(of: name) == []) }
            try await CLI.berth("network", "rm", Self.network)
            #expect(!(try await CLI.berth("network", "ls", "-q").output.contains(Self.network)))
        }

        /// A TCP and a UDP service in the guest (Python, which the guest has for cloud-init).
        static func startGuestServices() async throws {
            let script = """
                mkdir -p /tmp/site && echo 'served by the guest' > /tmp/site/index.html
                (cd /tmp/site && exec python3 -m http.server 8181) </dev/null >/dev/null 2>&1 &
                nohup python3 -c 'import socket
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 8153))
                while True:
                    data, peer = s.recvfrom(2048); s.sendto(data, peer)' </dev/null >/dev/null 2>&1 &
                sleep 2
                """
            // ssh hands its command to the guest's shell as one line of text: the script goes whole.
            try await CLI.berth(["ssh", machine, "--", script], timeout: .seconds(60))
        }

        static func portRows() async throws -> [[String: Any]] {
            let output = try await CLI.berth("port", "ls", machine, "--format", "json").output
            return try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]])
        }

        /// With a real host route over the subnet berth would pick, berth picks another.
        @Test func theSubnetChoiceSkipsARoutedSubnet() async throws {
            let wouldPick = try NetworkPlan.newNetwork(named: "probe")
            let subnet = try #require(NetworkPlan.subnet(of: wouldPick))
            // A blackhole route is a real host route (it shows in /proc/net/route) that needs no device.
            _ = try await HelperProgram.capture("/sbin/ip", ["route", "del", "blackhole", subnet.description])
            let routed = try await HelperProgram.capture("/sbin/ip", ["route", "add", "blackhole", subnet.description])
            try #require(routed.status == 0, "\(routed.standardError)")
            defer { Loopback.run("/sbin/ip", ["route", "del", "blackhole", subnet.description]) }

            let name = "berth-it-routed"
            let driver = LibvirtDriver(uri: "qemu:///system")
            _ = try? await Witness.virsh("net-destroy", name)
            _ = try? await Witness.virsh("net-undefine", name)
            let reservation = try await driver.reserveAddress(for: "probe", network: name, previous: nil, subnet: nil)
            defer { Task { try? await driver.removeNetwork(named: name) } }
            let chosen = try #require(reservation.attachment.subnet.flatMap(IPv4Subnet.init(cidr:)))
            #expect(!chosen.overlaps(subnet), "berth chose \(chosen.description), which the route over \(subnet.description) uses")
            try await driver.removeNetwork(named: name)
        }
    }
}

/// Sockets on 127.0.0.1, as the user's own tools would use them.
enum Loopback {
    /// The body of `GET /` on 127.0.0.1:port, or nil when nothing answers.
    static func httpGet(port: Int) async throws -> String? {
        let curl = try #require(HelperProgram.which("curl") ?? HelperProgram.which("wget"))
        let arguments = curl.hasSuffix("curl") ? ["-s", "-m", "5", "http://127.0.0.1:\(port)/"] : ["-q", "-O", "-", "-T", "5", "http://127.0.0.1:\(port)/"]
        let result = try await HelperProgram.capture(curl, arguments, timeout: .seconds(20))
        return result.status == 0 ? result.standardOutput : nil
    }

    /// Sends one datagram to 127.0.0.1:port and waits up to 5 s for the answer.
    static func udpEcho(port: Int, message: String) async -> String? {
        await Task.detached {
            let socket = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            defer { close(socket) }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            for _ in 0..<3 {
                let sent = message.withCString { text in
                    withUnsafePointer(to: &address) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            sendto(socket, text, strlen(text), 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                        }
                    }
                }
                guard sent >= 0 else { return nil }
                var buffer = [UInt8](repeating: 0, count: 2048)
                let received = recv(socket, &buffer, buffer.count, 0)
                if received > 0 { return String(decoding: buffer[0..<received], as: UTF8.self) }
            }
            return nil
        }.value
    }

    /// A TCP listener on a free port of 127.0.0.1 (something else using a port).
    static func listen() throws -> (socket: Int32, port: Int) {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        Glibc.listen(socket, 4)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) } }
        return (socket, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// Whether this process could listen on 127.0.0.1:port now (the port is free).
    static func canListen(port: Int) throws -> Bool {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var reuse: Int32 = 1
        setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// Polls `check` every half second for up to 30 s.
    static func eventually(_ check: () async throws -> Bool) async throws -> Bool {
        for _ in 0..<60 {
            if try await check() { return true }
            try await Task.sleep(for: .milliseconds(500))
        }
        return false
    }

    /// Runs a program and waits, from `defer` (no await there).
    static func run(_ program: String, _ arguments: [String]) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        try? process.run()
        process.waitUntilExit()
    }
}
