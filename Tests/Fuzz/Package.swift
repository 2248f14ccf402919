// swift-tools-version: 6.1
// libFuzzer targets for Earshot's wire parsers, kept in their own package so the main build and `swift test` never
// see them. Each target is one parser's property check from `WireFuzzChecks` (`ModelProtocolFuzzChecks` for the
// model protocol) behind a libFuzzer entry point.
// Run from this folder: `./run.sh` (all targets), or build one with
// `swift build -c release --product FuzzSTUN --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address --scratch-path .build-fuzz`
// (see Docs/fuzzing.md).
import PackageDescription

let targets = [
    "FuzzSTUN", "FuzzRTP", "FuzzRTCP", "FuzzSDP", "FuzzDemux", "FuzzOpusTOC", "FuzzModelProtocol", "FuzzModelBridge",
]

let package = Package(
    name: "EarshotFuzz",
    platforms: [.macOS(.v14)],
    products: targets.map { .executable(name: $0, targets: [$0]) },
    dependencies: [
        .package(name: "Earshot", path: "../.."),
    ],
    targets: targets.map {
        .executableTarget(
            name: $0,
            dependencies: [.product(name: "EarshotWire", package: "Earshot")]
                // The model protocol's checks live in its own module (`ModelProtocolFuzzChecks`).
                + ($0 == "FuzzModelProtocol" ? [.product(name: "EarshotModelProtocol", package: "Earshot")] : [])
                // A session's side of the protocol under a hostile model (`ModelBridgeFuzzChecks`).
                + ($0 == "FuzzModelBridge"
                    ? [.product(name: "EarshotModelBridge", package: "Earshot"),
                       .product(name: "EarshotModelProtocol", package: "Earshot")] : []),
            path: "Sources/\($0)")
    },
    swiftLanguageModes: [.v6]
)
