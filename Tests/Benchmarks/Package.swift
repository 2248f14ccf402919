// swift-tools-version: 6.1
// Micro-benchmarks for Earshot's per-packet work, kept in their own package so the main build and test suite stay
// lean. Run from this folder: `swift package --allow-writing-to-package-directory benchmark`
// (see Docs/benchmarks.md for the figures and the exact commands).
import PackageDescription

let package = Package(
    name: "EarshotBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Earshot", path: "../.."),
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "AudioPipelineBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "EarshotAudio", package: "Earshot"),
                .product(name: "EarshotOpus", package: "Earshot"),
                .product(name: "EarshotWire", package: "Earshot"),
            ],
            path: "Benchmarks/AudioPipelineBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "CryptoBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "EarshotCrypto", package: "Earshot"),
                .product(name: "EarshotWire", package: "Earshot"),
            ],
            path: "Benchmarks/CryptoBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "OpusBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "EarshotOpus", package: "Earshot"),
            ],
            path: "Benchmarks/OpusBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "RelayPathBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "EarshotCore", package: "Earshot"),
                .product(name: "EarshotCrypto", package: "Earshot"),
                .product(name: "EarshotWire", package: "Earshot"),
            ],
            path: "Benchmarks/RelayPathBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "WireBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "EarshotWire", package: "Earshot"),
            ],
            path: "Benchmarks/WireBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
