import Benchmark
import EarshotAudio
import EarshotOpus
import EarshotWire
import Foundation

/// CPU per session-second of the transcoding path, against the bare Opus work it cannot avoid, in the same run.
///
/// One measured iteration is one second of one session: 50 packets of 20 ms in, 50 frames out.
/// - "bare Opus": 50 decodes + 50 encodes, nothing else (the floor);
/// - "transcoding": the relay's path, `JitterBuffer` (model profile, 48 kHz PCM) → the echo → `DownlinkPacer`
///   (re-framing, Opus encode, pacing on virtual time), with the same encoder settings.
/// The ratio of the two p50s is the overhead of everything that is not the codec.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal],
        timeUnits: .microseconds,
        warmupIterations: 5,
        scalingFactor: .one,
        maxDuration: .seconds(5),
        maxIterations: 400
    )

    /// One second of speech-like signal (a 180 Hz fundamental with harmonics, syllable-rate modulation), as in
    /// OpusBenchmarks.
    let frames: [[Int16]] = (0..<50).map { frame in
        (0..<960).map { i in
            let t = Double(frame * 960 + i) / 48_000
            let envelope = 0.55 + 0.45 * sin(2 * Double.pi * 4 * t)
            var sample = 0.0
            for harmonic in 1...8 { sample += sin(2 * Double.pi * 180 * Double(harmonic) * t) / Double(harmonic) }
            return Int16(clamping: Int(sample * envelope * 6000))
        }
    }
    // What a browser sends: 32 kb/s with in-band FEC.
    let packets: [[UInt8]] = {
        let encoder = try! OpusEncoder(.init(bitrate: .bitsPerSecond(32_000), complexity: 9, inBandFEC: true,
                                             expectedPacketLossPercent: 10))
        return frames.map { try! encoder.encode($0) }
    }()

    /// The bare work of one session-second: decode and re-encode 50 packets.
    final class BareOpus {
        let decoder: OpusDecoder
        let encoder: OpusEncoder
        var pcm = [Int16](repeating: 0, count: 5760)
        var out = [UInt8](repeating: 0, count: 1500)

        init(_ settings: DownlinkPacer.EncoderSettings) throws {
            decoder = try OpusDecoder(sampleRate: .hz48000)
            encoder = try OpusEncoder(.init(
                sampleRate: .hz48000, bitrate: .bitsPerSecond(settings.bitsPerSecond), complexity: settings.complexity,
                inBandFEC: settings.inBandFEC, expectedPacketLossPercent: settings.expectedPacketLossPercent))
        }

        func second(_ packets: [[UInt8]]) throws {
            for packet in packets {
                let n = try packet.withUnsafeBytes { bytes in
                    try pcm.withUnsafeMutableBufferPointer { try decoder.decode(bytes, into: $0) }
                }
                let m = try pcm.withUnsafeBufferPointer { samples in
                    try out.withUnsafeMutableBytes {
                        try encoder.encode(UnsafeBufferPointer(rebasing: samples[0..<n]), into: $0)
                    }
                }
                blackHole(m)
            }
        }
    }

    /// The relay's transcoding path for one session-second, on virtual time that runs on from call to call.
    final class TranscodingPath {
        let buffer: JitterBuffer
        let pacer: DownlinkPacer
        var now = Instant.zero
        var sequence: UInt16 = 0
        var timestamp: UInt32 = 0

        init(_ settings: DownlinkPacer.EncoderSettings) throws {
            let format = PCMFormat(sampleRate: .hz48000, frameDuration: .milliseconds20)
            buffer = try JitterBuffer(configuration: .init(profile: .model, output: format))
            pacer = try DownlinkPacer(configuration: .init(format: format, encoder: settings, startDelay: .milliseconds(20)))
        }

        func second(_ packets: [[UInt8]]) {
            for packet in packets {
                buffer.insert(sequenceNumber: sequence, timestamp: timestamp, payload: packet, arrival: now)
                while let frame = buffer.poll(now: now) {
                    _ = frame.samples.withUnsafeBufferPointer { pacer.enqueue($0, response: nil, now: now) }
                }
                while let sent = pacer.poll(now: now) { blackHole(sent.payload.count) }
                while let event = pacer.pollEvent() { blackHole(event) }
                sequence &+= 1
                timestamp &+= 960
                now = now + .milliseconds(20)
            }
        }
    }

    for complexity in [0, 5, 9] {
        let settings = DownlinkPacer.EncoderSettings(complexity: complexity)

        // The two, alternately within each iteration, timed separately: slow drifts of this machine's speed (its
        // wall clock is bimodal under a hypervisor) hit both halves of a pair alike, so the per-pair ratio is the
        // stable figure. Custom metrics: each half in µs, and transcoding ÷ bare in per mille.
        Benchmark("paired: transcoding ÷ bare Opus per session-second, complexity \(complexity)",
                  configuration: .init(metrics: [
                    .custom("bare Opus (µs)", useScalingFactor: false),
                    .custom("transcoding (µs)", useScalingFactor: false),
                    .custom("ratio (‰)", useScalingFactor: false),
                  ])) { benchmark in
            let bare = try BareOpus(settings)
            let path = try TranscodingPath(settings)
            let clock = ContinuousClock()
            benchmark.startMeasurement()
            for iteration in benchmark.scaledIterations {
                // Alternate which goes first, so neither always runs with warm caches from the other.
                var bareTime = Duration.zero, pathTime = Duration.zero
                if iteration % 2 == 0 {
                    bareTime = try clock.measure { try bare.second(packets) }
                    pathTime = clock.measure { path.second(packets) }
                } else {
                    pathTime = clock.measure { path.second(packets) }
                    bareTime = try clock.measure { try bare.second(packets) }
                }
                let bareMicroseconds = Int(bareTime.components.attoseconds / 1_000_000_000_000) + Int(bareTime.components.seconds) * 1_000_000
                let pathMicroseconds = Int(pathTime.components.attoseconds / 1_000_000_000_000) + Int(pathTime.components.seconds) * 1_000_000
                benchmark.measurement(.custom("bare Opus (µs)", useScalingFactor: false), bareMicroseconds)
                benchmark.measurement(.custom("transcoding (µs)", useScalingFactor: false), pathMicroseconds)
                benchmark.measurement(.custom("ratio (‰)", useScalingFactor: false), pathMicroseconds * 1000 / max(bareMicroseconds, 1))
            }
        }

        Benchmark("bare Opus, 1 session-second (50 decodes + 50 encodes), complexity \(complexity)") { benchmark in
            let bare = try BareOpus(settings)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { try bare.second(packets) }
        }

        Benchmark("transcoding path, 1 session-second (jitter buffer → echo → pacer), complexity \(complexity)") {
            benchmark in
            let path = try TranscodingPath(settings)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { path.second(packets) }
        }

        // The two, alternately within each iteration, timed separately: slow drifts of this machine's speed (its
        // wall clock is bimodal under a hypervisor) hit both halves of a pair alike, so the per-pair ratio is the
        // stable figure. Custom metrics: each half in µs, and transcoding ÷ bare in per mille.
        Benchmark("paired: transcoding ÷ bare Opus per session-second, complexity \(complexity)",
                  configuration: .init(metrics: [
                    .custom("bare Opus (µs)", useScalingFactor: false),
                    .custom("transcoding (µs)", useScalingFactor: false),
                    .custom("ratio (‰)", useScalingFactor: false),
                  ])) { benchmark in
            let bare = try BareOpus(settings)
            let path = try TranscodingPath(settings)
            let clock = ContinuousClock()
            benchmark.startMeasurement()
            for iteration in benchmark.scaledIterations {
                // Alternate which goes first, so neither always runs with warm caches from the other.
                var bareTime = Duration.zero, pathTime = Duration.zero
                if iteration % 2 == 0 {
                    bareTime = try clock.measure { try bare.second(packets) }
                    pathTime = clock.measure { path.second(packets) }
                } else {
                    pathTime = clock.measure { path.second(packets) }
                    bareTime = try clock.measure { try bare.second(packets) }
                }
                let bareMicroseconds = Int(bareTime.components.attoseconds / 1_000_000_000_000) + Int(bareTime.components.seconds) * 1_000_000
                let pathMicroseconds = Int(pathTime.components.attoseconds / 1_000_000_000_000) + Int(pathTime.components.seconds) * 1_000_000
                benchmark.measurement(.custom("bare Opus (µs)", useScalingFactor: false), bareMicroseconds)
                benchmark.measurement(.custom("transcoding (µs)", useScalingFactor: false), pathMicroseconds)
                benchmark.measurement(.custom("ratio (‰)", useScalingFactor: false), pathMicroseconds * 1000 / max(bareMicroseconds, 1))
            }
        }

        Benchmark("bare Opus, 1 session-second (50 decodes + 50 encodes), complexity \(complexity)") { benchmark in
            let decoder = try OpusDecoder(sampleRate: .hz48000)
            let encoder = try OpusEncoder(.init(
                sampleRate: .hz48000, bitrate: .bitsPerSecond(settings.bitsPerSecond), complexity: complexity,
                inBandFEC: settings.inBandFEC, expectedPacketLossPercent: settings.expectedPacketLossPercent))
            var pcm = [Int16](repeating: 0, count: 5760)
            var out = [UInt8](repeating: 0, count: 1500)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                for packet in packets {
                    let n = try packet.withUnsafeBytes { bytes in
                        try pcm.withUnsafeMutableBufferPointer { try decoder.decode(bytes, into: $0) }
                    }
                    let m = try pcm.withUnsafeBufferPointer { samples in
                        try out.withUnsafeMutableBytes {
                            try encoder.encode(UnsafeBufferPointer(rebasing: samples[0..<n]), into: $0)
                        }
                    }
                    blackHole(m)
                }
            }
        }

        Benchmark("transcoding path, 1 session-second (jitter buffer → echo → pacer), complexity \(complexity)") {
            benchmark in
            let format = PCMFormat(sampleRate: .hz48000, frameDuration: .milliseconds20)
            let buffer = try JitterBuffer(configuration: .init(profile: .model, output: format))
            let pacer = try DownlinkPacer(configuration: .init(format: format, encoder: settings,
                                                               startDelay: .milliseconds(20)))
            var now = Instant.zero
            var sequence: UInt16 = 0
            var timestamp: UInt32 = 0
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                for packet in packets {
                    buffer.insert(sequenceNumber: sequence, timestamp: timestamp, payload: packet, arrival: now)
                    while let frame = buffer.poll(now: now) {
                        _ = frame.samples.withUnsafeBufferPointer { pacer.enqueue($0, response: nil, now: now) }
                    }
                    while let sent = pacer.poll(now: now) { blackHole(sent.payload.count) }
                    while let event = pacer.pollEvent() { blackHole(event) }
                    sequence &+= 1
                    timestamp &+= 960
                    now = now + .milliseconds(20)
                }
            }
        }
    }
}
