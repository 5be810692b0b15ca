import Guestfs
import Testing

@Suite("DpkgStatus and kernel order")
struct DpkgStatusTests {
    @Test("only installed packages count, with their versions")
    func parsesInstalledPackages() {
        let status = """
            Package: docker.io
            Status: install ok installed
            Priority: optional
            Version: 26.1.5+dfsg1-9+b2
            Description: Linux container runtime
             Docker complements kernel namespacing with a high-level API.
             .
             Version: not-a-field

            Package: docker-ce
            Status: deinstall ok config-files
            Version: 5:27.0.0-1~debian.12~bookworm

            Package: cloud-init
            Status: install ok installed
            Version: 25.1.4-1
            """
        let parsed = DpkgStatus(parsing: status)
        #expect(parsed.installed == ["docker.io": "26.1.5+dfsg1-9+b2", "cloud-init": "25.1.4-1"])
    }

    @Test("kernel versions compare numerically")
    func kernelOrder() {
        #expect(KernelVersionOrder.isNewer("6.12.10-amd64", than: "6.12.9-amd64"))
        #expect(KernelVersionOrder.isNewer("6.12.0-test", than: "6.1.0-old"))
        #expect(!KernelVersionOrder.isNewer("6.1.0-27-amd64", than: "6.1.0-28-amd64"))
        #expect(!KernelVersionOrder.isNewer("6.1.0", than: "6.1.0"))
    }
}
