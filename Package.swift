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
        .executable(name: "earshot-embedding-example", targets: ["EmbeddingExample"]),
        .library(name: "EarshotWire", targets: ["EarshotWire"]),
        .library(name: "EarshotCrypto", targets: ["EarshotCrypto"]),
        .library(name: "EarshotOpus", targets: ["EarshotOpus"]),
        .library(name: "EarshotCore", targets: ["EarshotCore"]),
        .library(name: "EarshotAudio", targets: ["EarshotAudio"]),
        .library(name: "EarshotModelProtocol", targets: ["EarshotModelProtocol"]),
        .library(name: "EarshotModelBridge", targets: ["EarshotModelBridge"]),
        .library(name: "EarshotReferenceModels", targets: ["EarshotReferenceModels"]),
        .library(name: "EarshotLatency", targets: ["EarshotLatency"]),
        .library(name: "EarshotBench", targets: ["EarshotBench"]),
        .library(name: "Earshot", targets: ["Earshot"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
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

        // The model protocol (Docs/model-protocol.md): messages, the audio header, stdio framing. Sans-IO.
        .target(name: "EarshotModelProtocol", dependencies: ["EarshotWire"], swiftSettings: strict),

        // Network impairment models on virtual time (delay, jitter, loss, reordering): used by the jitter buffer
        // simulations and by the benchmark's impaired links. Pure Swift, seeded, no clock.
        .target(name: "EarshotImpairment", dependencies: ["EarshotWire"], swiftSettings: strict),

        // The audio pipeline, sans-IO: the uplink jitter buffer (decode, FEC, concealment, time stretching) and the
        // downlink pacer (re-framing, encoding, clear, marks). Time is a parameter.
        .target(name: "EarshotAudio", dependencies: ["EarshotWire", "EarshotOpus"], swiftSettings: strict),

        // One session's side of the model protocol, sans-IO: input to the model, the model's output into the
        // downlink pacer, clear / marks / played, the session.ready and stall deadlines, stats.
        .target(
            name: "EarshotModelBridge",
            dependencies: ["EarshotModelProtocol", "EarshotAudio", "EarshotOpus", "EarshotWire"],
            swiftSettings: strict),

        // The built-in models (echo, parrot) as protocol speakers, sans-IO.
        .target(name: "EarshotReferenceModels", dependencies: ["EarshotModelProtocol"], swiftSettings: strict),

        // Latency instruments, sans-IO: the audio marker and its matched-filter detector, round-trip pairing,
        // and HdrHistogram-based latency histograms (the relay's per-hop figures) with mergeable summaries.
        .target(
            name: "EarshotLatency",
            dependencies: ["EarshotWire", .product(name: "Histogram", package: "hdrhistogram-swift")],
            swiftSettings: strict),

        // The benchmark's results: their model, the impairment specification, the self-contained HTML report.
        // Sans-IO: what `earshot bench` measured goes in, JSON and HTML come out.
        .target(name: "EarshotBench", dependencies: ["EarshotLatency", "EarshotWire"], swiftSettings: strict),

        // Replays of the audio pipeline over modelled networks on virtual time (the jitter buffer report).
        .target(
            name: "EarshotSimulation", dependencies: ["EarshotAudio", "EarshotImpairment", "EarshotOpus", "EarshotWire"],
            swiftSettings: strict),

        // I/O at the edge: the one UDP socket, routing datagrams to sessions, one timer per event loop.
        .target(
            name: "EarshotNIO",
            dependencies: [
                "EarshotCore", "EarshotWire", "EarshotModelProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),

        // The embeddable relay: configuration, WHIP and the HTTP API, the built-in models, the service.
        .target(
            name: "Earshot",
            dependencies: [
                "EarshotNIO", "EarshotCore", "EarshotWire", "EarshotCrypto", "EarshotOpus", "EarshotAudio",
                "EarshotModelProtocol", "EarshotModelBridge", "EarshotReferenceModels", "EarshotLatency",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strict),

        // Our own WebRTC client on the same core: WHIP, ICE (controlling), DTLS client; used by call and bench.
        .target(
            name: "EarshotClient",
            dependencies: [
                "EarshotNIO", "EarshotCore", "EarshotWire", "EarshotCrypto", "EarshotOpus", "EarshotAudio", "EarshotLatency",
                "EarshotImpairment",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict),

        // An example host program: the relay embedded as a library with an in-process Swift model
        // (Docs/embedding.md). Built with everything else, so it keeps building.
        .executableTarget(
            name: "EmbeddingExample",
            dependencies: [
                "Earshot",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict),

        .executableTarget(
            name: "earshot",
            dependencies: [
                "Earshot", "EarshotClient", "EarshotWire", "EarshotCrypto", "EarshotOpus", "EarshotSimulation",
                "EarshotAudio", "EarshotModelProtocol", "EarshotReferenceModels", "EarshotModelBridge", "EarshotNIO",
                "EarshotLatency", "EarshotCore", "EarshotBench", "EarshotImpairment", "CEarshotShims",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict),

        .testTarget(name: "EarshotWireTests", dependencies: ["EarshotWire"]),
        .testTarget(name: "EarshotCryptoTests", dependencies: ["EarshotCrypto"]),
        .testTarget(name: "EarshotOpusTests", dependencies: ["EarshotOpus", "EarshotWire"]),
        .testTarget(name: "EarshotModelProtocolTests", dependencies: ["EarshotModelProtocol", "EarshotWire"]),
        .testTarget(
            name: "EarshotModelBridgeTests",
            dependencies: [
                "EarshotModelBridge", "EarshotReferenceModels", "EarshotModelProtocol", "EarshotAudio", "EarshotOpus",
                "EarshotWire",
            ]),
        .testTarget(name: "EarshotBenchTests", dependencies: ["EarshotBench", "EarshotLatency", "EarshotWire"]),
        .testTarget(
            name: "EarshotLatencyTests",
            dependencies: ["EarshotLatency", "EarshotAudio", "EarshotOpus", "EarshotImpairment", "EarshotWire"]),
        .testTarget(
            name: "EarshotAudioTests",
            dependencies: ["EarshotAudio", "EarshotImpairment", "EarshotSimulation", "EarshotOpus", "EarshotWire"]),
        .testTarget(
            name: "EarshotCoreTests", dependencies: ["EarshotCore", "EarshotCrypto", "EarshotWire", "EarshotAudio", "EarshotOpus"]),
        .testTarget(
            name: "EarshotTests",
            dependencies: [
                "Earshot", "EarshotClient", "EarshotCore", "EarshotCrypto", "EarshotWire", "EarshotNIO", "EarshotImpairment",
                "EarshotSimulation", "EarshotModelProtocol", "EarshotModelBridge", "EarshotReferenceModels", "EarshotAudio", "EarshotLatency",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                "EarshotOpus",
            ]),
    ],
    swiftLanguageModes: [.v6]
)
