import EarshotOpus
import EarshotWire
import Testing

/// Malformed input and misuse end in typed errors, never a crash.
@Suite("Errors")
struct OpusErrorTests {
    @Test("Errors carry libopus's code and text")
    func codesAndMessages() {
        let expected: [(OpusError, Int32, String)] = [
            (.badArgument, -1, "invalid argument"),
            (.bufferTooSmall, -2, "buffer too small"),
            (.internalError, -3, "internal error"),
            (.invalidPacket, -4, "corrupted stream"),
            (.unimplemented, -5, "request not implemented"),
            (.invalidState, -6, "invalid state"),
            (.allocFail, -7, "memory allocation failed"),
            (.unknown(code: -99), -99, "unknown error"),
            (.pcmSizeMismatch(expected: 960, actual: 959), -1, "invalid argument"),
            (.invalidFrameSize(samplesPerChannel: 7, sampleRate: .hz48000), -1, "invalid argument"),
        ]
        for (error, code, message) in expected {
            #expect(error.code == code)
            #expect(error.libraryMessage == message)
            #expect(error.description.contains(message))
        }
    }

    /// Hand-made malformed packets. TOC byte (RFC 6716 §3.1): config (5 bits) | stereo (1) | frame count code (2).
    struct MalformedPacket: CustomTestStringConvertible, Sendable {
        let bytes: [UInt8]
        let why: String
        /// What the cheap header checks report at 48 kHz: nil means they throw `invalidPacket` too.
        let declaredSamples: Int?
        let declaredFrames: Int?
        var testDescription: String { why }
    }

    static let malformed: [MalformedPacket] = [
        MalformedPacket(bytes: [], why: "empty", declaredSamples: nil, declaredFrames: nil),
        // 0x03: config 0 (SILK NB 10 ms), mono, code 3, but the frame count byte is missing (§3.2.5).
        MalformedPacket(bytes: [0x03], why: "code 3 without frame count byte", declaredSamples: nil, declaredFrames: nil),
        // 0xFF: config 31 (CELT FB 20 ms), stereo, code 3; count byte 0xFF: VBR, padding, M = 63 frames, i.e.
        // 1260 ms, over the 120 ms limit (§3.2.5, R5).
        MalformedPacket(bytes: [0xFF, 0xFF], why: "63 frames of 20 ms", declaredSamples: nil, declaredFrames: 63),
        // 0x01: config 0 (10 ms), code 1 = two frames of equal size, but one payload byte cannot split in two
        // (§3.2.3, R3). The header checks only read the TOC, so they still see 2 × 10 ms.
        MalformedPacket(bytes: [0x01, 0xAA], why: "code 1 with odd payload", declaredSamples: 960, declaredFrames: 2),
        // 0x02: code 2 = two frames, first length coded; 0xFF starts a two-byte length whose second byte is
        // missing (§3.2.1, §3.2.4, R4).
        MalformedPacket(bytes: [0x02, 0xFF], why: "code 2 truncated length", declaredSamples: 960, declaredFrames: 2),
        // 0x02, length 5, but only one byte follows (§3.2.4, R4).
        MalformedPacket(bytes: [0x02, 0x05, 0x00], why: "code 2 first frame longer than packet", declaredSamples: 960,
                        declaredFrames: 2),
        // 0x03: code 3 with count byte 0x00: M = 0 frames, which must not be zero (§3.2.5, R5). libopus's own
        // header functions answer 0 here; ours reject it.
        MalformedPacket(bytes: [0x03, 0x00], why: "code 3 with zero frames", declaredSamples: nil, declaredFrames: nil),
        // 0xFB: config 31, mono, code 3; count byte 0x02: CBR, no padding, M = 2; one data byte cannot make two
        // equal frames (§3.2.5, R6).
        MalformedPacket(bytes: [0xFB, 0x02, 0x00], why: "code 3 CBR with odd payload", declaredSamples: 1920,
                        declaredFrames: 2),
    ]

    @Test("Malformed packets are invalidPacket", arguments: malformed)
    func malformedPackets(_ packet: MalformedPacket) throws {
        let decoder = try OpusDecoder(sampleRate: .hz48000, channels: .stereo)
        #expect(throws: OpusError.invalidPacket) { try decoder.decode(packet.bytes) }
        #expect(throws: OpusError.invalidPacket) { try decoder.decodeFloat(packet.bytes) }
        #expect(throws: OpusError.invalidPacket) { try decoder.decodeFEC(from: packet.bytes, frameSize: 960) }
        // The caller-buffer form too, with room for 120 ms.
        var pcm = [Int16](repeating: 0, count: 5760 * 2)
        #expect(throws: OpusError.invalidPacket) {
            try packet.bytes.withUnsafeBytes { bytes in
                try pcm.withUnsafeMutableBufferPointer { try decoder.decode(bytes, into: $0) }
            }
        }
        if let samples = packet.declaredSamples {
            #expect(try OpusDecoder.packetSampleCount(packet.bytes, sampleRate: .hz48000) == samples)
        } else {
            #expect(throws: OpusError.invalidPacket) { try OpusDecoder.packetSampleCount(packet.bytes, sampleRate: .hz48000) }
        }
        if let frames = packet.declaredFrames {
            #expect(try OpusDecoder.packetFrameCount(packet.bytes) == frames)
        } else {
            #expect(throws: OpusError.invalidPacket) { try OpusDecoder.packetFrameCount(packet.bytes) }
        }
        // The decoder is unharmed.
        let encoder = try OpusEncoder(.init(channels: .stereo))
        let tone = SignalAnalysis.sine(frequencies: [440, 1000], amplitude: 8000, sampleRate: 48_000, samplesPerChannel: 960)
        #expect(try decoder.decode(encoder.encode(tone)).count == 1920)
    }

    /// 5000 seeded random packets of 1...200 bytes: each either decodes to the duration its header declares or
    /// throws an `OpusError` (typed throws guarantee no other error type); nothing crashes.
    @Test("Random bytes never crash the decoder")
    func randomBytes() throws {
        var generator = SplitMix64(seed: 0x0E25_4075)
        let decoder = try OpusDecoder(sampleRate: .hz48000, channels: .stereo)
        var decoded = 0
        var rejected = 0
        for _ in 0..<5000 {
            let length = Int.random(in: 1...200, using: &generator)
            let packet = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            do {
                let pcm = try decoder.decode(packet)
                #expect(pcm.count == (try OpusDecoder.packetSampleCount(packet, sampleRate: .hz48000)) * 2)
                decoded += 1
            } catch {
                #expect(error == .invalidPacket)
                rejected += 1
            }
            do { _ = try decoder.decodeFloat(packet) } catch { #expect(error == .invalidPacket) }
            do { _ = try decoder.decodeFEC(from: packet, frameSize: 960) } catch { #expect(error == .invalidPacket) }
            _ = try? OpusDecoder.packetFrameCount(packet)
        }
        // Both outcomes occur, so the loop exercised the parser and the codec.
        #expect(decoded > 0 && rejected > 0)
    }

    @Test("A packet longer than the decode buffer is bufferTooSmall")
    func decodeBufferTooSmall() throws {
        let encoder = try OpusEncoder(.init(channels: .stereo))
        let decoder = try OpusDecoder(sampleRate: .hz48000, channels: .stereo)
        let tone = SignalAnalysis.sine(frequencies: [440, 1000], amplitude: 8000, sampleRate: 48_000, samplesPerChannel: 960)
        let packet = try encoder.encode(tone)
        // Room for 10 ms of stereo (libopus's check), for one sample (less than a frame per channel: ours) and none.
        for capacity in [960, 1, 0] {
            var pcm = [Int16](repeating: 0, count: capacity)
            #expect(throws: OpusError.bufferTooSmall) {
                try packet.withUnsafeBytes { bytes in
                    try pcm.withUnsafeMutableBufferPointer { try decoder.decode(bytes, into: $0) }
                }
            }
            var floats = [Float](repeating: 0, count: capacity)
            #expect(throws: OpusError.bufferTooSmall) {
                try packet.withUnsafeBytes { bytes in
                    try floats.withUnsafeMutableBufferPointer { try decoder.decode(bytes, into: $0) }
                }
            }
        }
        #expect(try decoder.decode(packet).count == 1920)
    }

    /// libopus never reports a small *output* buffer on encode: it spends fewer bits instead (a 1-byte buffer
    /// gives a bare TOC byte, decoded as a lost frame). Only an empty buffer is an error.
    @Test("Encode output: empty is bufferTooSmall, tiny yields a minimal packet")
    func encodeOutputBuffer() throws {
        let encoder = try OpusEncoder(.init())
        let tone = SignalAnalysis.sine(frequencies: [440], amplitude: 8000, sampleRate: 48_000, samplesPerChannel: 960)
        try tone.withUnsafeBufferPointer { pcm in
            #expect(throws: OpusError.bufferTooSmall) {
                try encoder.encode(pcm, into: UnsafeMutableRawBufferPointer(start: nil, count: 0))
            }
            var one: [UInt8] = [0]
            let length = try one.withUnsafeMutableBytes { try encoder.encode(pcm, into: $0) }
            #expect(length == 1)
            #expect(try OpusDecoder().decode(one).count == 960)
        }
    }

    @Test("PCM that is not exactly one frame is pcmSizeMismatch")
    func wrongPCMSize() throws {
        let mono = try OpusEncoder(.init())
        let stereo = try OpusEncoder(.init(channels: .stereo, frameDuration: .ms10))
        #expect(throws: OpusError.pcmSizeMismatch(expected: 960, actual: 959)) {
            try mono.encode([Int16](repeating: 0, count: 959))
        }
        #expect(throws: OpusError.pcmSizeMismatch(expected: 960, actual: 0)) { try mono.encode([Int16]()) }
        #expect(throws: OpusError.pcmSizeMismatch(expected: 960, actual: 1920)) {
            try mono.encode([Float](repeating: 0, count: 1920))
        }
        // 10 ms of stereo is 2 × 480 samples; 480 is one channel's worth only.
        #expect(throws: OpusError.pcmSizeMismatch(expected: 960, actual: 480)) {
            try stereo.encode([Int16](repeating: 0, count: 480))
        }
        #expect(try !stereo.encode([Int16](repeating: 0, count: 960)).isEmpty)
    }
}
