import Crypto
import Foundation
import Testing
@testable import MachineCore

@Suite("A helper program's input")
struct HelperProgramInputTests {
    @Test("reaches the program whole")
    func delivered() async throws {
        let input = Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let result = try await HelperProgram.capture("/usr/bin/sha256sum", [], input: input)
        #expect(result.status == 0)
        #expect(result.standardOutput.hasPrefix(SHA256.hash(data: input).map { String(format: "%02x", $0) }.joined()))
    }

    /// As ssh or docker do when they cannot connect: the program ends without reading what it was
    /// given, and its own exit status is what berth reports.
    @Test("left unread by a program that exits is no failure of berth's")
    func leftUnread() async throws {
        let input = Data(count: 8 << 20)
        let result = try await HelperProgram.capture("/bin/sh", ["-c", "exit 3"], input: input)
        #expect(result.status == 3)
    }

    @Test("is empty when none is given")
    func none() async throws {
        let result = try await HelperProgram.capture("/bin/cat", [])
        #expect(result.status == 0)
        #expect(result.standardOutput.isEmpty)
    }
}
