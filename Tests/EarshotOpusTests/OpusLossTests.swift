import EarshotOpus
import Foundation
import Testing

/// Packet loss: concealment (PLC) and recovery from in-band FEC.
///
/// Method: three decoders receive the same packets up to packet k. Then the *reference* decoder gets packet k, the
/// *PLC* decoder is told k is lost (`decodeLoss`), and the *FEC* decoder recovers k from packet k+1's LBRR data
/// (`decodeFEC`). All three then decode k+1. Comparing the three versions of frame k shows what each path yields.
@Suite("Packet loss: concealment and in-band FEC")
struct OpusLossTests {
    struct Branches {
        var reference: [Double]
        var concealed: [Double]
        var recovered: [Double]
        var nextAfterReference: [Double]
        var nextAfterConcealed: [Double]
        var nextAfterRecovered: [Double]
    }

    static func branches(_ packets: [[UInt8]], lost k: Int, sampleRate: OpusSampleRate, frameSize: Int) throws
        -> Branches
    {
        let reference = try OpusDecoder(sampleRate: sampleRate)
        let concealing = try OpusDecoder(sampleRate: sampleRate)
        let recovering = try OpusDecoder(sampleRate: sampleRate)
        for packet in packets[..<k] {
            _ = try reference.decode(packet)
            _ = try concealing.decode(packet)
            _ = try recovering.decode(packet)
        }
        let referenceFrame = try reference.decode(packets[k])
        let concealed = try concealing.decodeLoss(frameSize: frameSize)
        let recovered = try recovering.decodeFEC(from: packets[k + 1], frameSize: frameSize)
        #expect(concealed.count == frameSize)
        #expect(recovered.count == frameSize)
        #expect(try concealing.lastPacketDuration == frameSize)
        #expect(try recovering.lastPacketDuration == frameSize)
        func doubles(_ pcm: [Int16]) -> [Double] { pcm.map(Double.init) }
        return Branches(
            reference: doubles(referenceFrame), concealed: doubles(concealed), recovered: doubles(recovered),
            nextAfterReference: doubles(try reference.decode(packets[k + 1])),
            nextAfterConcealed: doubles(try concealing.decode(packets[k + 1])),
            nextAfterRecovered: doubles(try recovering.decode(packets[k + 1])))
    }

    static func tone(_ frequency: Double, sampleRate: OpusSampleRate, samples: Int) -> [Int16] {
        SignalAnalysis.sine(frequencies: [frequency], amplitude: 10_000, sampleRate: sampleRate.hertz, samplesPerChannel: samples)
    }

    static func levelDB(_ x: [Double], relativeTo y: [Double]) -> Double {
        SignalAnalysis.decibels(SignalAnalysis.rms(x[...]) / SignalAnalysis.rms(y[...]))
    }

    // MARK: Concealment

    @Test("PLC returns exactly the requested frame size", arguments: OpusSampleRate.allCases)
    func concealmentFrameSizes(sampleRate: OpusSampleRate) throws {
        let decoder = try OpusDecoder(sampleRate: sampleRate, channels: .stereo)
        let encoder = try OpusEncoder(.init(sampleRate: sampleRate, channels: .stereo))
        let pcm = SignalAnalysis.sine(frequencies: [440, 1000], amplitude: 8000, sampleRate: sampleRate.hertz,
                                      samplesPerChannel: encoder.configuration.samplesPerChannel)
        _ = try decoder.decode(try encoder.encode(pcm))
        // Every frame duration, plus the 120 ms maximum.
        let sizes = OpusFrameDuration.allCases.map { $0.samplesPerChannel(at: sampleRate) } + [sampleRate.maxPacketSamples]
        for frameSize in sizes {
            let concealed = try decoder.decodeLoss(frameSize: frameSize)
            #expect(concealed.count == frameSize * 2)
            #expect(try decoder.lastPacketDuration == frameSize)
            var floats = [Float](repeating: 0, count: frameSize * 2)
            let floatCount = try floats.withUnsafeMutableBufferPointer {
                try decoder.decodeLoss(frameSize: frameSize, into: $0)
            }
            #expect(floatCount == frameSize)
        }
    }

    @Test("PLC continues a steady tone, close to the frame it replaces")
    func concealmentOfSteadyTone() throws {
        let encoder = try OpusEncoder(.init(sampleRate: .hz48000, bitrate: .bitsPerSecond(32_000)))
        let packets = try SignalAnalysis.encodeFrames(Self.tone(440, sampleRate: .hz48000, samples: 24_000), with: encoder)
        let b = try Self.branches(packets, lost: 12, sampleRate: .hz48000, frameSize: 960)
        // Measured with libopus 1.3.1: correlation 0.987, level -1.75 dB (PLC fades slightly). Bounds: 0.9, ±3 dB.
        #expect(SignalAnalysis.correlation(b.concealed[...], b.reference[...]) >= 0.9)
        #expect(abs(Self.levelDB(b.concealed, relativeTo: b.reference)) <= 3)
    }

    @Test("PLC rejects frame sizes that are not 2.5 ms multiples up to 120 ms, and buffers that are too small")
    func concealmentArguments() throws {
        let decoder = try OpusDecoder(sampleRate: .hz48000, channels: .stereo)
        // At 48 kHz a 2.5 ms block is 120 samples and 120 ms is 5760.
        for frameSize in [0, -120, 100, 959, 5880] {
            #expect(throws: OpusError.invalidFrameSize(samplesPerChannel: frameSize, sampleRate: .hz48000)) {
                try decoder.decodeLoss(frameSize: frameSize)
            }
        }
        // 20 ms of stereo needs 1920 samples.
        var small = [Int16](repeating: 0, count: 1919)
        #expect(throws: OpusError.bufferTooSmall) {
            try small.withUnsafeMutableBufferPointer { try decoder.decodeLoss(frameSize: 960, into: $0) }
        }
    }

    // MARK: In-band FEC

    struct FECCase: CustomTestStringConvertible, Sendable {
        let sampleRate: OpusSampleRate
        let bitsPerSecond: Int
        let note: String
        var testDescription: String { "\(sampleRate) at \(bitsPerSecond) b/s (\(note))" }
    }

    /// libopus only adds LBRR data when the bitrate leaves room for it: at 16 kHz 16 kb/s with 20 % loss it adds
    /// none (FEC decode then equals PLC), so each case uses a rate that carries FEC.
    static let fecCases: [FECCase] = [
        FECCase(sampleRate: .hz48000, bitsPerSecond: 32_000, note: "SILK wideband"),
        FECCase(sampleRate: .hz48000, bitsPerSecond: 64_000, note: "hybrid fullband"),
        FECCase(sampleRate: .hz16000, bitsPerSecond: 24_000, note: "SILK wideband"),
        FECCase(sampleRate: .hz8000, bitsPerSecond: 24_000, note: "SILK narrowband"),
    ]

    static func fecEncoder(_ c: FECCase, fec: Bool) throws -> OpusEncoder {
        try OpusEncoder(.init(sampleRate: c.sampleRate, bitrate: .bitsPerSecond(c.bitsPerSecond),
                              inBandFEC: fec, expectedPacketLossPercent: fec ? 20 : 0))
    }

    @Test("FEC recovers a lost frame of a steady tone", arguments: fecCases)
    func fecSteadyTone(_ c: FECCase) throws {
        let encoder = try Self.fecEncoder(c, fec: true)
        let frameSize = encoder.configuration.samplesPerChannel
        let packets = try SignalAnalysis.encodeFrames(
            Self.tone(440, sampleRate: c.sampleRate, samples: c.sampleRate.hertz / 2), with: encoder)
        let b = try Self.branches(packets, lost: 12, sampleRate: c.sampleRate, frameSize: frameSize)

        // Measured with libopus 1.3.1: the recovered frame correlates with the frame it replaces at 0.9999 or
        // better and is within 0.03 dB of its level (the PLC frame: 0.984, -1.8 dB). Bounds: 0.99 and ±1 dB, loose
        // because the LBRR copy is coded at a lower rate than the frame itself.
        #expect(SignalAnalysis.correlation(b.recovered[...], b.reference[...]) >= 0.99)
        #expect(abs(Self.levelDB(b.recovered, relativeTo: b.reference)) <= 1)
        // The recovered frame is real data, not concealment: it differs from what PLC makes of the same state.
        #expect(b.recovered != b.concealed)
        // And the decoder continues cleanly: the next frame matches the reference's next frame as closely.
        #expect(SignalAnalysis.correlation(b.nextAfterRecovered[...], b.nextAfterReference[...]) >= 0.99)
    }

    /// The strongest evidence that FEC carries the lost audio: the tone changes from 440 to 700 Hz exactly at the
    /// lost frame. Concealment can only extrapolate the 440 Hz it has heard; FEC knows the new tone.
    @Test("FEC carries a change that PLC cannot guess", arguments: fecCases)
    func fecFrequencyStep(_ c: FECCase) throws {
        let encoder = try Self.fecEncoder(c, fec: true)
        let frameSize = encoder.configuration.samplesPerChannel
        let lost = 12
        let total = c.sampleRate.hertz / 2
        let pcm = Array(Self.tone(440, sampleRate: c.sampleRate, samples: lost * frameSize))
            + Self.tone(700, sampleRate: c.sampleRate, samples: total - lost * frameSize)
        let packets = try SignalAnalysis.encodeFrames(pcm, with: encoder)
        let b = try Self.branches(packets, lost: lost, sampleRate: c.sampleRate, frameSize: frameSize)

        func dominance(_ x: [Double]) -> Double {  // dB of 700 Hz over 440 Hz
            10 * log10(SignalAnalysis.goertzelPower(x[...], frequency: 700, sampleRate: c.sampleRate.hertz)
                / SignalAnalysis.goertzelPower(x[...], frequency: 440, sampleRate: c.sampleRate.hertz))
        }
        // Measured with libopus 1.3.1 over the four cases: in the reference frame 700 Hz leads by 13.6...14.9 dB
        // (the codec's delay leaves a little 440 Hz at the frame's start); in the FEC frame by 14.2...15.6 dB, with
        // correlation 0.991...0.999 to the reference; in the PLC frame 440 Hz leads by 56...64 dB, correlation
        // 0.33...0.35. Bounds: 10 dB, 0.9; PLC -30 dB, 0.5.
        #expect(dominance(b.reference) >= 10)
        #expect(dominance(b.recovered) >= 10)
        #expect(dominance(b.concealed) <= -30)
        #expect(SignalAnalysis.correlation(b.recovered[...], b.reference[...]) >= 0.9)
        #expect(SignalAnalysis.correlation(b.concealed[...], b.reference[...]) <= 0.5)
    }

    /// Observed with libopus 1.3.1: asking for FEC from a packet that has none gives *exactly* the PLC output,
    /// sample for sample, and leaves the decoder in the same state (the next packet decodes identically). Checked
    /// for a SILK packet without LBRR, a hybrid packet and a CELT-only packet (which can never carry FEC).
    @Test("FEC from a packet without FEC falls back to concealment", arguments: [
        OpusEncoder.Configuration(sampleRate: .hz16000, bitrate: .bitsPerSecond(24_000)),
        OpusEncoder.Configuration(sampleRate: .hz48000, bitrate: .bitsPerSecond(32_000)),
        OpusEncoder.Configuration(sampleRate: .hz48000, application: .restrictedLowDelay),
    ])
    func fecWithoutFEC(_ configuration: OpusEncoder.Configuration) throws {
        #expect(!configuration.inBandFEC)
        let encoder = try OpusEncoder(configuration)
        let rate = configuration.sampleRate
        let packets = try SignalAnalysis.encodeFrames(Self.tone(440, sampleRate: rate, samples: rate.hertz / 2), with: encoder)
        let b = try Self.branches(packets, lost: 12, sampleRate: rate, frameSize: configuration.samplesPerChannel)
        #expect(b.recovered == b.concealed)
        #expect(b.nextAfterRecovered == b.nextAfterConcealed)
        // Concealment of a steady tone is not silence: measured -1.9...0 dB against the real frame.
        #expect(Self.levelDB(b.recovered, relativeTo: b.reference) >= -6)
    }

    @Test("FEC validates its arguments")
    func fecArguments() throws {
        let decoder = try OpusDecoder(sampleRate: .hz16000)
        let encoder = try OpusEncoder(.init(sampleRate: .hz16000))
        let packet = try encoder.encode(Self.tone(440, sampleRate: .hz16000, samples: 320))
        // 2.5 ms at 16 kHz is 40 samples.
        #expect(throws: OpusError.invalidFrameSize(samplesPerChannel: 330, sampleRate: .hz16000)) {
            try decoder.decodeFEC(from: packet, frameSize: 330)
        }
        #expect(throws: OpusError.invalidPacket) { try decoder.decodeFEC(from: [], frameSize: 320) }
        // Code 1 (two equal frames) with one byte of payload: the frames cannot be equal (RFC 6716 §3.2.3).
        #expect(throws: OpusError.invalidPacket) { try decoder.decodeFEC(from: [0x01, 0xAA], frameSize: 320) }
        var small = [Int16](repeating: 0, count: 319)
        #expect(throws: OpusError.bufferTooSmall) {
            try packet.withUnsafeBytes { bytes in
                try small.withUnsafeMutableBufferPointer { try decoder.decodeFEC(from: bytes, frameSize: 320, into: $0) }
            }
        }
        // The decoder still works.
        #expect(try decoder.decodeFEC(from: packet, frameSize: 320).count == 320)
    }
}
