// swift-tools-version:6.0
import PackageDescription

// Layers (dependencies point down):
//   berth → BerthCommands → MachineCore → Libvirt, Guestfs, Download, SeedImage, PortForwarding
//                                        → CLibvirt, CGuestfs, CCurl, CIsofs
//                        → GoTemplate (stands alone)
let package = Package(
    name: "berth",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "berth", targets: ["berth"]),
        .library(name: "Libvirt", targets: ["Libvirt"]),
        .library(name: "PortForwarding", targets: ["PortForwarding"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    ],
    targets: [
        // C system libraries, found through pkg-config.
        .systemLibrary(name: "CLibvirt", pkgConfig: "libvirt", providers: [.apt(["libvirt-dev"])]),
        .systemLibrary(name: "CGuestfs", pkgConfig: "libguestfs", providers: [.apt(["libguestfs-dev"])]),
        .systemLibrary(name: "CIsofs", pkgConfig: "libisofs-1", providers: [.apt(["libisofs-dev"])]),
        // libcurl's curl_easy_setopt is variadic, which Swift cannot call: a tiny C shim wraps it.
        .target(name: "CCurl", linkerSettings: [.linkedLibrary("curl")]),

        // Safe Swift wrappers that know nothing about machines.
        .target(name: "Libvirt", dependencies: [
            "CLibvirt",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Guestfs", dependencies: ["CGuestfs"]),
        .target(name: "Download", dependencies: [
            "CCurl",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "SeedImage", dependencies: ["CIsofs"]),
        // Host ports forwarded to guest ports by a user-space proxy (no firewall rules, no root).
        .target(name: "PortForwarding", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Go text/template's --format subset (fields, json, prettyjson) and Go's tabwriter; knows nothing of berth.
        .target(name: "GoTemplate"),

        // Machines: model, store, driver, orchestration, provisioning, networking.
        .target(name: "MachineCore", dependencies: [
            "Libvirt", "Guestfs", "Download", "SeedImage", "PortForwarding",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "Subprocess", package: "swift-subprocess"),
            .product(name: "SystemPackage", package: "swift-system"),
        ], resources: [.copy("Resources")]),

        .target(name: "BerthCommands", dependencies: [
            "MachineCore", "PortForwarding", "GoTemplate",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "berth", dependencies: [
            "BerthCommands",
            .product(name: "Logging", package: "swift-log"),
        ]),

        // bench/run.sh's helper (forward throughput through a Forwarder); not part of the test run.
        .executableTarget(name: "berth-bench", dependencies: [
            "PortForwarding",
            .product(name: "NIOPosix", package: "swift-nio"),
        ], path: "bench/Sources/berth-bench"),

        // Tests. Fast ones need no daemon; IntegrationTests drive the real qemu:///system daemon and real VMs.
        .testTarget(name: "LibvirtTests", dependencies: ["Libvirt"], resources: [.copy("Golden")]),
        // A real HTTP server on loopback for download tests (a library, so test targets can share it).
        .target(name: "TestSupport", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ], path: "Tests/TestSupport"),
        .testTarget(name: "DownloadTests", dependencies: [
            "Download", "TestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .testTarget(name: "GuestfsTests", dependencies: ["Guestfs", "SeedImage"]),
        .testTarget(name: "PortForwardingTests", dependencies: [
            "PortForwarding", "TestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .testTarget(name: "MachineCoreTests", dependencies: [
            "MachineCore", "PortForwarding", "Download", "TestSupport",
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .testTarget(name: "BerthCommandsTests", dependencies: ["BerthCommands", "MachineCore", "GoTemplate"]),
        .testTarget(name: "GoTemplateTests", dependencies: ["GoTemplate"]),
        .testTarget(name: "IntegrationTests", dependencies: [
            "MachineCore", "Libvirt", "Guestfs", "Download", "TestSupport",
            .product(name: "Crypto", package: "swift-crypto"),
        ], exclude: ["Scripts"]),
    ],
    swiftLanguageModes: [.v6]
)
