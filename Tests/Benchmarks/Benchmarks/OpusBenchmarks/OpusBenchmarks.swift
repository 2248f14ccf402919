import Benchmark
import EarshotOpus
import Foundation

/// Opus cost per 20 ms frame at 48 kHz mono: the floor a transcoding relay is judged against.
let benchmarks: @Sendable () -> Void = {
    // 1000 frames per measured iteration (scaling factor kilo): metrics marked * are per frame.
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        warmupIterations: 3,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 500
    )

    /// One second of speech-like test signal: a 180 Hz fundamental with harmonics, amplitude-modulated at 4 Hz
    /// like syllables, so the encoder works as hard as on voice (a pure tone is cheaper).
    let frames: [[Int16]] = (0..<50).map { frame in
        (0..<960).map { i in
            let t = Double(frame * 960 + i) / 48_000
            let envelope = 0.55 + 0.45 * sin(2 * Double.pi * 4 * t)
            var sample = 0.0
            for harmonic in 1...8 { sample += sin(2 * Double.pi * 180 * Double(harmonic) * t) / Double(harmonic) }
            return Int16(clamping: Int(sample * envelope * 6000))
        }
    }

    func encoder(complexity: Int, fec: Bool = false) throws -> OpusEncoder {
        try OpusEncoder(
            .init(
                bitrate: .bitsPerSecond(32_000), complexity: complexity, inBandFEC: fec,
                expectedPacketLossPercent: fec ? 10 : 0))
    }

    for complexity in [0, 5, 9] {
        Benchmark("Opus encode 20 ms 48 kHz mono, complexity \(complexity)") { benchmark in
            let enc = try encoder(complexity: complexity)
            var out = [UInt8](repeating: 0, count: 1500)
            var index = 0
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                let frame = frames[index % frames.count]
                index += 1
                let n = try frame.withUnsafeBufferPointer { pcm in
                    try out.withUnsafeMutableBytes { try enc.encode(pcm, into: $0) }
                }
                blackHole(n)
            }
        }
    }

    // Packets to decode: the same signal encoded once at complexity 9 with in-band FEC.
    let packets: [[UInt8]] = {
        let enc = try! encoder(complexity: 9, fec: true)
        return frames.map { try! enc.encode($0) }
    }()

    Benchmark("Opus decode 20 ms 48 kHz mono") { benchmark in
        let dec = try OpusDecoder()
        var pcm = [Int16](repeating: 0, count: 5760)
        var index = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let packet = packets[index % packets.count]
            index += 1
            let n = try packet.withUnsafeBytes { raw in try pcm.withUnsafeMutableBufferPointer { try dec.decode(raw, into: $0) } }
            blackHole(n)
        }
    }

    Benchmark("Opus PLC 20 ms 48 kHz mono") { benchmark in
        let dec = try OpusDecoder()
        var pcm = [Int16](repeating: 0, count: 5760)
        _ = try packets[0].withUnsafeBytes { raw in try pcm.withUnsafeMutableBufferPointer { try dec.decode(raw, into: $0) } }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let n = try pcm.withUnsafeMutableBufferPointer { try dec.decodeLoss(frameSize: 960, into: $0) }
            blackHole(n)
        }
    }

    Benchmark("Opus FEC recovery 20 ms 48 kHz mono") { benchmark in
        let dec = try OpusDecoder()
        var pcm = [Int16](repeating: 0, count: 5760)
        var index = 1
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let packet = packets[index % packets.count]
            index += 1
            let n = try packet.withUnsafeBytes { raw in
                try pcm.withUnsafeMutableBufferPointer { try dec.decodeFEC(from: raw, frameSize: 960, into: $0) }
            }
            blackHole(n)
        }
    }
}
