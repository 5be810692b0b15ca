/// What inspection learnt about a disk image's operating system.
public struct ImageFacts: Codable, Sendable, Equatable {
    /// libguestfs's operating system type, e.g. `"linux"`.
    public var osType: String
    /// libguestfs's distribution name, e.g. `"debian"`, `"ubuntu"`, `"fedora"`.
    public var distro: String
    /// The version as the distribution writes it: `VERSION_ID` from `/etc/os-release`
    /// when present (`"13"`, `"24.04"`), otherwise `major` or `major.minor`.
    public var version: String
    public var majorVersion: Int
    public var minorVersion: Int
    /// A human name: os-release's `PRETTY_NAME` (`"Debian GNU/Linux 13 (trixie)"`) when present,
    /// otherwise libguestfs's product name, or `"unknown"`.
    public var productName: String
    /// The guest's architecture as libguestfs guesses it (`"x86_64"`), or `"unknown"`.
    public var architecture: String
    /// cloud-init is installed (dpkg says so, or `/usr/bin/cloud-init` exists).
    public var hasCloudInit: Bool
    /// The installed version of Docker Engine's Debian package, as dpkg records it
    /// (e.g. `"26.1.5+dfsg1-9+b2"`), or nil when neither `docker.io` nor `docker-ce` is installed.
    public var dockerVersion: String?
    /// Which package provided `dockerVersion`: `"docker.io"` or `"docker-ce"`.
    public var dockerPackage: String?
    /// The version suffix of the newest kernel in `/boot` (`"6.12.0-1-amd64"`), if any.
    public var kernelVersion: String?
    /// Host path of the extracted kernel (`vmlinuz-<version>`), if one was found and extraction was asked for.
    public var kernelPath: String?
    /// Host path of the extracted initrd (`initrd.img-<version>`), if one matches the kernel and extraction was asked for.
    public var initrdPath: String?
    /// The root filesystem's device as a machine's virtio disk shows it (`/dev/vda`, `/dev/vda1`).
    public var rootDevice: String?

    public init(
        osType: String, distro: String, version: String, majorVersion: Int, minorVersion: Int,
        productName: String, architecture: String, hasCloudInit: Bool,
        dockerVersion: String?, dockerPackage: String?,
        kernelVersion: String?, kernelPath: String?, initrdPath: String?, rootDevice: String? = nil
    ) {
        self.osType = osType
        self.distro = distro
        self.version = version
        self.majorVersion = majorVersion
        self.minorVersion = minorVersion
        self.productName = productName
        self.architecture = architecture
        self.hasCloudInit = hasCloudInit
        self.dockerVersion = dockerVersion
        self.dockerPackage = dockerPackage
        self.kernelVersion = kernelVersion
        self.kernelPath = kernelPath
        self.initrdPath = initrdPath
        self.rootDevice = rootDevice
    }
}
