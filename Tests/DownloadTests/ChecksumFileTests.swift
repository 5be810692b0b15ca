import Testing

@testable import Download

@Suite("Checksum lists")
struct ChecksumFileTests {
    let a256 = String(repeating: "a", count: 64)
    let b256 = String(repeating: "B", count: 64)
    let c512 = String(repeating: "c", count: 128)

    @Test("GNU form, text and binary mode, and the algorithm by length")
    func gnuForm() {
        let text = """
            \(a256)  debian-13-genericcloud-amd64.qcow2
            \(b256) *debian-13-genericcloud-amd64.raw
            \(c512)  debian-13-nocloud-amd64.tar.xz
            """
        let list = ChecksumFile(parsing: text)
        #expect(list.entries.count == 3)
        #expect(list.checksum(for: "debian-13-genericcloud-amd64.qcow2") == .sha256(a256))
        #expect(list.checksum(for: "debian-13-genericcloud-amd64.raw")?.hex == b256.lowercased())
        #expect(list.checksum(for: "debian-13-nocloud-amd64.tar.xz") == .sha512(c512))
        #expect(list.checksum(for: "missing.qcow2") == nil)
    }

    @Test("BSD form")
    func bsdForm() {
        let text = """
            SHA256 (Fedora-Cloud-Base-42.qcow2) = \(a256)
            SHA512 (Fedora-Cloud-Base-42.raw.xz) = \(c512)
            """
        #expect(ChecksumFile.checksum(for: "Fedora-Cloud-Base-42.qcow2", in: text) == .sha256(a256))
        #expect(ChecksumFile.checksum(for: "Fedora-Cloud-Base-42.raw.xz", in: text) == .sha512(c512))
    }

    @Test("clear-signed lists, comments, paths and odd lines")
    func robustness() {
        let text = """
            -----BEGIN PGP SIGNED MESSAGE-----
            Hash: SHA256

            # Fedora-Cloud-42 checksums
            \(a256)  ./images/first.img\r
            d41d8cd98f00b204e9800998ecf8427e  md5-is-not-supported.img
            not a checksum line
            \(b256)  file with spaces.img
            -----BEGIN PGP SIGNATURE-----
            iQIzBAEBCAAdFiEE
            -----END PGP SIGNATURE-----
            """
        let list = ChecksumFile(parsing: text)
        #expect(list.entries.count == 2)
        #expect(list.checksum(for: "first.img") == .sha256(a256))
        #expect(list.checksum(for: "./images/first.img") == .sha256(a256))
        #expect(list.checksum(for: "file with spaces.img") == .sha256(b256))
        #expect(list.checksum(for: "md5-is-not-supported.img") == nil)
    }

    @Test("checksums from text")
    func checksumValues() {
        #expect(Checksum(parsing: "sha256:\(a256)") == .sha256(a256))
        #expect(Checksum(parsing: "SHA512:\(c512)")?.algorithm == .sha512)
        #expect(Checksum(parsing: "md5:abc") == nil)
        #expect(Checksum.sha256("xyz") == nil)
        #expect(Checksum(hex: c512)?.algorithm == .sha512)
        #expect(Checksum.sha256(b256)?.description == "sha256:\(b256.lowercased())")
    }
}
