import Foundation
import Testing

@testable import PortForwarding

@Suite("PortSpec")
struct PortSpecTests {
    @Test("parses valid specs to their canonical text", arguments: [
        ("8080:80", "127.0.0.1:8080:80/tcp"),
        ("8080:80/udp", "127.0.0.1:8080:80/udp"),
        ("8080:80/TCP", "127.0.0.1:8080:80/tcp"),
        ("0.0.0.0:8080:80", "0.0.0.0:8080:80/tcp"),
        ("192.168.1.5:5353:53/udp", "192.168.1.5:5353:53/udp"),
        ("[::1]:8080:80", "[::1]:8080:80/tcp"),
        ("[::]:8080:80/udp", "[::]:8080:80/udp"),
        ("[0:0:0::0001]:8080:80", "[::1]:8080:80/tcp"),
        ("8000-8010:9000-9010", "127.0.0.1:8000-8010:9000-9010/tcp"),
        ("1:65535", "127.0.0.1:1:65535/tcp"),
        ("65535:1/udp", "127.0.0.1:65535:1/udp"),
        ("8080-8080:80-80", "127.0.0.1:8080:80/tcp"),
        ("080:0080", "127.0.0.1:80:80/tcp"),
    ])
    func valid(text: String, canonical: String) throws {
        let spec = try PortSpec(parsing: text)
        #expect(spec.description == canonical)
        // The canonical text parses back to the same value.
        #expect(try PortSpec(parsing: spec.description) == spec)
        #expect(PortSpec(canonical) == spec)
    }

    @Test("fills in the defaults")
    func defaults() throws {
        let spec = try PortSpec(parsing: "8080:80")
        #expect(spec.hostAddress == "127.0.0.1")
        #expect(spec.hostPorts == 8080...8080)
        #expect(spec.guestPorts == 80...80)
        #expect(spec.proto == .tcp)
    }

    @Test("refuses malformed specs, naming the bad part", arguments: [
        ("", PortSpecError.Reason.empty),
        ("8080", .missingGuestPort),
        ("8080/tcp", .missingGuestPort),
        ("[::1]", .missingGuestPort),
        ("[::1]:8080", .missingGuestPort),
        ("1.2.3.4:1:2:3", .tooManyParts),
        ("[::1]:1:2:3", .tooManyParts),
        ("::1:8080:80", .unbracketedIPv6("::1")),
        ("fe80::1:8080:80/udp", .unbracketedIPv6("fe80::1")),
        ("[::1:8080:80", .unclosedBracket),
        ("[::1]8080:80", .expectedColonAfterAddress("8080:80")),
        ("[127.0.0.1]:8080:80", .invalidHostAddress("[127.0.0.1]")),
        ("[nonsense]:8080:80", .invalidHostAddress("[nonsense]")),
        ("localhost:8080:80", .invalidHostAddress("localhost")),
        ("256.1.1.1:8080:80", .invalidHostAddress("256.1.1.1")),
        (":8080:80", .invalidHostAddress("")),
        ("http:80", .invalidPort("http")),
        ("80a:80", .invalidPort("80a")),
        ("-5:80", .invalidPort("-5")),
        ("8080:", .invalidPort("")),
        (" 8080:80", .invalidPort(" 8080")),
        ("1-2-3:1-2-3", .invalidPort("1-2-3")),
        ("8000-:80", .invalidPort("8000-")),
        ("0:80", .portOutOfRange("0")),
        ("8080:65536", .portOutOfRange("65536")),
        ("99999999999999999999:80", .portOutOfRange("99999999999999999999")),
        ("8010-8000:80-90", .invertedRange("8010-8000")),
        ("8000-8010:80", .rangeLengthMismatch(host: "8000-8010", guest: "80")),
        ("8000-8001:80-90", .rangeLengthMismatch(host: "8000-8001", guest: "80-90")),
        ("8080:80/sctp", .invalidProtocol("sctp")),
        ("8080:80/", .invalidProtocol("")),
    ])
    func invalid(text: String, reason: PortSpecError.Reason) {
        #expect(throws: PortSpecError(spec: text, reason: reason)) {
            try PortSpec(parsing: text)
        }
        #expect(PortSpec(text) == nil)
    }

    @Test("an error is one line with the spec, the bad part and the syntax")
    func errorMessage() {
        let error = PortSpecError(spec: "8080:http", reason: .invalidPort("http"))
        #expect(error.description == #"invalid port spec "8080:http": "http" is not a port number or a range such as 8000-8010; expected [HOST_IP:]HOST_PORT[-END]:GUEST_PORT[-END][/tcp|/udp] (e.g. 8080:80, 127.0.0.1:5353:53/udp, [::1]:8000-8009:9000-9009)"#)
        let reasons: [PortSpecError.Reason] = [
            .empty, .missingGuestPort, .tooManyParts, .unbracketedIPv6("::1"), .unclosedBracket,
            .expectedColonAfterAddress("x"), .invalidHostAddress("x"), .invalidPort("x"), .portOutOfRange("0"),
            .invertedRange("9-1"), .rangeLengthMismatch(host: "1-2", guest: "3"), .invalidProtocol("x"),
            .duplicate(ListenKey(address: "127.0.0.1", port: 1, proto: .tcp), other: "127.0.0.1:1:1/tcp"),
        ]
        for reason in reasons {
            let text = PortSpecError(spec: "S", reason: reason).description
            #expect(!text.contains("\n"))
            #expect(text.hasPrefix(#"invalid port spec "S": "#))
            #expect(text.contains(PortSpecError.syntax))
        }
    }

    @Test("the checked initialiser applies the parser's rules")
    func checkedInit() throws {
        #expect(try PortSpec(hostPort: 8080, guestPort: 80).description == "127.0.0.1:8080:80/tcp")
        #expect(throws: PortSpecError.self) { try PortSpec(hostPort: 0, guestPort: 80) }
        #expect(throws: PortSpecError.self) { try PortSpec(hostAddress: "example.com", hostPort: 1, guestPort: 1) }
        #expect(throws: PortSpecError.self) { try PortSpec(hostPorts: 1...2, guestPorts: 1...3) }
    }

    @Test("a range expands to single-port specs and rules")
    func expansion() throws {
        let spec = try PortSpec(parsing: "[::1]:8000-8002:9000-9002/udp")
        #expect(spec.expanded.map(\.description) == [
            "[::1]:8000:9000/udp", "[::1]:8001:9001/udp", "[::1]:8002:9002/udp",
        ])
        #expect(spec.rules(to: "192.168.122.10").map(\.description) == [
            "udp [::1]:8000 -> 192.168.122.10:9000",
            "udp [::1]:8001 -> 192.168.122.10:9001",
            "udp [::1]:8002 -> 192.168.122.10:9002",
        ])
        #expect(spec.listenKeys.map(\.description) == ["[::1]:8000/udp", "[::1]:8001/udp", "[::1]:8002/udp"])
    }

    @Test("Codable as its canonical text")
    func codable() throws {
        let specs = try ["8080:80", "[::1]:53:53/udp"].map { try PortSpec(parsing: $0) }
        let json = try JSONEncoder().encode(specs)
        #expect(String(decoding: json, as: UTF8.self) == #"["127.0.0.1:8080:80\/tcp","[::1]:53:53\/udp"]"#)
        #expect(try JSONDecoder().decode([PortSpec].self, from: json) == specs)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([PortSpec].self, from: Data(#"["8080"]"#.utf8))
        }
    }

    @Test("finds specs that listen on the same address, port and protocol")
    func duplicates() throws {
        let specs = try ["8080:80", "8079-8081:90-92", "127.0.0.1:8081:1/udp", "0.0.0.0:8080:80", "[::1]:80:80",
                         "[0::1]:80:81"].map { try PortSpec(parsing: $0) }
        #expect(PortSpec.duplicates(in: specs).map(\.description) == ["127.0.0.1:8080/tcp", "[::1]:80/tcp"])
        #expect(throws: PortSpecError(
            spec: "127.0.0.1:8079-8081:90-92/tcp",
            reason: .duplicate(ListenKey(address: "127.0.0.1", port: 8080, proto: .tcp), other: "127.0.0.1:8080:80/tcp")
        )) {
            try PortSpec.checkNoDuplicates(specs)
        }
        // The same port on another address or for another protocol is not a duplicate.
        let distinct = try ["8080:80", "8080:80/udp", "127.0.0.2:8080:80"].map { try PortSpec(parsing: $0) }
        #expect(PortSpec.duplicates(in: distinct).isEmpty)
        try PortSpec.checkNoDuplicates(distinct)
    }
}

@Suite("ForwardingError")
struct ForwardingErrorTests {
    let low = ListenKey(address: "127.0.0.1", port: 80, proto: .tcp)
    let high = ListenKey(address: "127.0.0.1", port: 8080, proto: .tcp)

    @Test("a failed bind's errno becomes an error the user can act on")
    func bindErrors() {
        let start = { 1024 }
        #expect(ForwardingError.bind(errno: EADDRINUSE, key: high, unprivilegedStart: start) == .portInUse(high))
        #expect(ForwardingError.bind(errno: EACCES, key: low, unprivilegedStart: start)
            == .privilegedPort(low, unprivilegedStart: 1024))
        // EACCES above the unprivileged start is something else (a security module, say).
        #expect(ForwardingError.bind(errno: EACCES, key: high, unprivilegedStart: start) == .bindFailed(high, errno: EACCES))
        #expect(ForwardingError.bind(errno: EACCES, key: low, unprivilegedStart: { 80 }) == .bindFailed(low, errno: EACCES))
        #expect(ForwardingError.bind(errno: EADDRNOTAVAIL, key: high, unprivilegedStart: start) == .addressNotAvailable(high))
        #expect(ForwardingError.bind(errno: ENOBUFS, key: high, unprivilegedStart: start) == .bindFailed(high, errno: ENOBUFS))
    }

    @Test("messages name the port and why")
    func messages() {
        #expect(ForwardingError.portInUse(high).description
            == "port 8080 on 127.0.0.1 is already in use; stop what listens there or choose another host port")
        #expect(ForwardingError.portInUse(ListenKey(address: "::1", port: 53, proto: .udp)).description
            .hasPrefix("port 53 on ::1 is already in use (udp)"))
        #expect(ForwardingError.privilegedPort(low, unprivilegedStart: 1024).description
            .hasPrefix("port 80 needs root (ports below 1024)"))
    }

    @Test("reads the kernel's first unprivileged port")
    func unprivilegedStart() {
        let start = UnprivilegedPorts.start()
        #expect((0...65536).contains(start))
    }
}
