import Foundation
import Testing
@testable import BerthCommands
@testable import MachineCore

@Suite("berth image ls and inspect output")
struct ImageListTests {
    @Test("the table shows name, size, OS, Docker, source and age")
    func table() {
        let added = Date(timeIntervalSince1970: 1_700_000_000)
        let images = [
            Fixtures.image(addedAt: added),
            Fixtures.image(name: "debian-13-genericcloud-amd64", docker: nil, addedAt: added.addingTimeInterval(3 * 86_400 - 7200)),
        ]
        let text = ImageLs.table(images, now: added.addingTimeInterval(3 * 86_400))
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0].split(separator: " ") == ["NAME", "SIZE", "OS", "DOCKER", "SOURCE", "AGE"])
        #expect(lines[1].hasPrefix("berth-docker "))
        #expect(lines[1].contains("   1.5 GiB   Debian GNU/Linux 13 (trixie)   26.1.5   flavor docker   3d"))
        #expect(lines[2].hasPrefix("debian-13-genericcloud-amd64   1.5 GiB"))
        let cells = lines[2].components(separatedBy: "   ").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        #expect(cells == ["debian-13-genericcloud-amd64", "1.5 GiB", "Debian GNU/Linux 13 (trixie)", "-", "flavor docker", "2h"])
        // Columns line up under the header.
        let sizeColumn = lines[0].range(of: "SIZE")!.lowerBound.utf16Offset(in: lines[0])
        #expect(lines[1].range(of: "1.5 GiB")!.lowerBound.utf16Offset(in: lines[1]) == sizeColumn)
    }

    @Test("sizes, Docker versions and ages are short")
    func formats() {
        #expect(ImageLs.formatSize(512) == "512 B")
        #expect(ImageLs.formatSize(1536) == "1.5 KiB")
        #expect(ImageLs.formatSize(300 << 20) == "300.0 MiB")
        #expect(ImageLs.shortDockerVersion("26.1.5+dfsg1-9+b2") == "26.1.5")
        #expect(ImageLs.shortDockerVersion("5:27.3.1-1~debian.12~bookworm") == "27.3.1")
        #expect(ImageLs.shortDockerVersion("27.0") == "27.0")
        let now = Date(timeIntervalSince1970: 1_000_000)
        #expect(ImageLs.age(of: now.addingTimeInterval(-45), now: now) == "45s")
        #expect(ImageLs.age(of: now.addingTimeInterval(-600), now: now) == "10m")
        #expect(ImageLs.age(of: now.addingTimeInterval(-86_400 * 9), now: now) == "9d")
    }

    @Test("an empty cache prints only the header")
    func empty() {
        #expect(ImageLs.table([]) == "NAME   SIZE   OS   DOCKER   SOURCE   AGE\n")
    }

    @Test("image JSON round-trips to the same CachedImage")
    func json() throws {
        let image = Fixtures.image()
        let text = try JSONOutput.string(image)
        #expect(text.contains("\"name\" : \"berth-docker\""))
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        #expect(try decoder.decode(CachedImage.self, from: Data(text.utf8)) == image)
    }

    @Test("machine inspect JSON is the config plus its state and URL")
    func machineInspection() throws {
        let config = Fixtures.config("dev", ip: "192.168.122.10")
        let inspection = MachineInspection(config: config, state: .stopped, machineDirectory: "/var/lib/berth/machines/dev")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(JSONOutput.string(inspection).utf8)) as? [String: Any])
        #expect(object["name"] as? String == "dev")
        #expect(object["state"] as? String == "Stopped")
        #expect(object["url"] as? String == "tcp://192.168.122.10:2376")
        #expect(object["machineDirectory"] as? String == "/var/lib/berth/machines/dev")
        #expect((object["network"] as? [String: Any])?["ip"] as? String == "192.168.122.10")
        #expect(object["stateError"] == nil)
    }
}
