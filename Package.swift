// swift-tools-version: 6.1
// Earshot: a low-latency voice relay. Targets are layered so that dependencies point inward:
// executables → I/O → core → owners of C libraries → wire formats.
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Earshot",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "earshot", targets: ["earshot"]),
        .library(name: "EarshotWire", targets: ["EarshotWire"]),
        .library(name: "EarshotCrypto", targets: ["EarshotCrypto"]),
        .library(name: "EarshotOpus", targets: ["EarshotOpus"]),
        .library(name: "EarshotCore", targets: ["EarshotCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // Wire formats: pure Swift, no C, no clocks, no sockets.
        .target(name: "EarshotWire", swiftSettings: strict),

        // C libraries, reached only through the owner targets below.
        .systemLibrary(name: "COpus", pkgConfig: "opus", providers: [.apt(["libopus-dev"])]),
        .systemLibrary(name: "CSRTP", pkgConfig: "libsrtp2", providers: [.apt(["libsrtp2-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        // One-line C functions for what Swift cannot call: function-like macros and variadic functions.
        .target(name: "CEarshotShims", dependencies: ["COpus", "COpenSSL"]),

        // Owners of the C libraries: Swift types that own the C pointers; no C type in their public API.
        .target(name: "EarshotCrypto", dependencies: ["EarshotWire", "COpenSSL", "CSRTP", "CEarshotShims"], swiftSettings: strict),
        .target(name: "EarshotOpus", dependencies: ["COpus", "CEarshotShims", "EarshotWire"], swiftSettings: strict),

        // The sans-IO core: ICE-lite, the peer connection state machine, RTP/RTCP bookkeeping. No sockets, no clocks.
        .target(name: "EarshotCore", dependencies: ["EarshotWire", "EarshotCrypto"], swiftSettings: strict),

        .executableTarget(
            name: "earshot",
            dependencies: [
                "EarshotWire", "EarshotCrypto", "EarshotOpus",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),

        .testTarget(name: "EarshotWireTests", dependencies: ["EarshotWire"]),
        .testTarget(name: "EarshotCryptoTests", dependencies: ["EarshotCrypto"]),
        .testTarget(name: "EarshotOpusTests", dependencies: ["EarshotOpus", "EarshotWire"]),
        .testTarget(name: "EarshotCoreTests", dependencies: ["EarshotCore", "EarshotCrypto", "EarshotWire"]),
    ],
    swiftLanguageModes: [.v6]
)
