import Testing
@testable import EarshotWire

@Suite("Opus TOC and packet framing")
struct OpusTests {
    /// RFC 6716 §3.1 Table 2, one row per configuration number.
    static let table: [(OpusMode, OpusBandwidth, OpusFrameDuration)] = {
        var rows: [(OpusMode, OpusBandwidth, OpusFrameDuration)] = []
        let silk: [OpusFrameDuration] = [.ms10, .ms20, .ms40, .ms60]
        let hybrid: [OpusFrameDuration] = [.ms10, .ms20]
        let celt: [OpusFrameDuration] = [.ms2_5, .ms5, .ms10, .ms20]
        for bandwidth in [OpusBandwidth.narrowband, .mediumband, .wideband] {
            rows += silk.map { (.silk, bandwidth, $0) }  // configs 0–11
        }
        for bandwidth in [OpusBandwidth.superWideband, .fullband] {
            rows += hybrid.map { (.hybrid, bandwidth, $0) }  // configs 12–15
        }
        for bandwidth in [OpusBandwidth.narrowband, .wideband, .superWideband, .fullband] {
            rows += celt.map { (.celt, bandwidth, $0) }  // configs 16–31
        }
        return rows
    }()

    @Test(arguments: 0..<32)
    func everyConfiguration(config: Int) throws {
        let (mode, bandwidth, duration) = Self.table[config]
        for stereo in [false, true] {
            let toc = OpusTOC(config: UInt8(config), isStereo: stereo, frameCountCode: 0)
            #expect(toc.rawValue == UInt8(config) << 3 | (stereo ? 4 : 0))
            #expect(toc.config == UInt8(config))
            #expect(toc.isStereo == stereo)
            #expect(toc.mode == mode)
            #expect(toc.bandwidth == bandwidth)
            #expect(toc.frameDuration == duration)
            // A one-frame (code 0) packet of this configuration.
            let packet = try OpusPacketLayout(parsing: [toc.rawValue, 0xAA, 0xBB])
            #expect(packet.frames == [1..<3])
            #expect(packet.samplesAt48kHz == duration.samplesAt48kHz)
            #expect(packet.samples(atRate: 16000) == duration.samplesAt48kHz / 3)
        }
    }

    @Test func frameDurations() {
        #expect(OpusFrameDuration.ms2_5.samples(atRate: 48000) == 120)
        #expect(OpusFrameDuration.ms2_5.samples(atRate: 8000) == 20)
        #expect(OpusFrameDuration.ms20.samples(atRate: 48000) == 960)
        #expect(OpusFrameDuration.ms60.samples(atRate: 12000) == 720)
        #expect(OpusFrameDuration.ms2_5.microseconds == 2500)
        #expect(OpusFrameDuration.ms20.duration == .milliseconds(20))
        #expect(OpusFrameDuration.ms2_5.description == "2.5 ms")
        #expect(OpusBandwidth.fullband.sampleRate == 48000)
    }

    // Config 31 (CELT FB 20 ms) mono throughout: TOC 0xF8 + code.

    @Test func code0() throws {
        let packet = try OpusPacketLayout(parsing: [0xF8] + [UInt8](repeating: 1, count: 1275))
        #expect(packet.frameCount == 1 && packet.frames[0].count == 1275)
        #expect(packet.duration == .milliseconds(20))
        #expect(try OpusPacketLayout(parsing: [0xF8]).frames == [1..<1])  // empty frame: DTX
    }

    @Test func code1() throws {
        let packet = try OpusPacketLayout(parsing: [0xF9, 1, 2, 3, 4])
        #expect(packet.frames == [1..<3, 3..<5])
        #expect(packet.samplesAt48kHz == 1920)
        #expect(try OpusPacketLayout(parsing: [0xF9]).frames == [1..<1, 1..<1])
    }

    @Test func code2() throws {
        let packet = try OpusPacketLayout(parsing: [0xFA, 1, 9, 8, 7])
        #expect(packet.frames == [2..<3, 3..<5])
        // Two-byte length: 252 + 4 × 1 = 256.
        let long = try OpusPacketLayout(parsing: [0xFA, 252, 1] + [UInt8](repeating: 0, count: 256 + 10))
        #expect(long.frames == [3..<259, 259..<269])
        // The largest coded length: 255 + 4 × 255 = 1275.
        let largest = try OpusPacketLayout(parsing: [0xFA, 255, 255] + [UInt8](repeating: 0, count: 1275))
        #expect(largest.frames == [3..<1278, 1278..<1278])
    }

    @Test func code3ConstantBitrate() throws {
        let packet = try OpusPacketLayout(parsing: [0xFB, 0x03, 1, 1, 2, 2, 3, 3])  // v=0 p=0 M=3
        #expect(packet.frames == [2..<4, 4..<6, 6..<8])
        #expect(!packet.isVariableBitrate && packet.paddingLength == 0)
        #expect(packet.samplesAt48kHz == 3 * 960)
        // Padding: p=1 M=2, padding length 2, two 2-byte frames, 2 padding bytes.
        let padded = try OpusPacketLayout(parsing: [0xFB, 0x42, 0x02, 1, 1, 2, 2, 0, 0])
        #expect(padded.frames == [3..<5, 5..<7])
        #expect(padded.paddingLength == 3)
        // A padding length of 255 adds 254 and continues: 255, 1 → 255 padding bytes.
        let chained = try OpusPacketLayout(parsing: [0xFB, 0x41, 255, 1, 7, 7] + [UInt8](repeating: 0, count: 255))
        #expect(chained.frames == [4..<6])
        #expect(chained.paddingLength == 257)
        // 48 frames of 2.5 ms is exactly 120 ms (config 16: CELT NB 2.5 ms).
        let maximal = try OpusPacketLayout(parsing: [16 << 3 | 3, 48])
        #expect(maximal.frameCount == 48 && maximal.samplesAt48kHz == 5760)
    }

    @Test func code3VariableBitrate() throws {
        // v=1 p=0 M=3, lengths 1 and 2, last frame takes the rest (3 bytes).
        let packet = try OpusPacketLayout(parsing: [0xFB, 0x83, 1, 2, 0xA, 0xB, 0xB, 0xC, 0xC, 0xC])
        #expect(packet.isVariableBitrate)
        #expect(packet.frames == [4..<5, 5..<7, 7..<10])
        // Zero-length frames (DTX) and padding: v=1 p=1 M=2, padding 1, length 0, then a 1-byte frame.
        let sparse = try OpusPacketLayout(parsing: [0xFB, 0xC2, 0x01, 0x00, 0x55, 0x00])
        #expect(sparse.frames == [4..<4, 4..<5])
        #expect(sparse.paddingLength == 2)
    }

    @Test func malformedPackets() {
        // R1: at least one byte.
        #expect(throws: OpusPacketError.empty) { try OpusPacketLayout(parsing: []) }
        // R2: no implicit frame longer than 1275 bytes, in every code.
        #expect(throws: OpusPacketError.frameTooLong) { try OpusPacketLayout(parsing: [0xF8] + [UInt8](repeating: 0, count: 1276)) }
        #expect(throws: OpusPacketError.frameTooLong) { try OpusPacketLayout(parsing: [0xF9] + [UInt8](repeating: 0, count: 2552)) }
        #expect(throws: OpusPacketError.frameTooLong) { try OpusPacketLayout(parsing: [0xFA, 0] + [UInt8](repeating: 0, count: 1276)) }
        #expect(throws: OpusPacketError.frameTooLong) { try OpusPacketLayout(parsing: [0xFB, 0x01] + [UInt8](repeating: 0, count: 1276)) }
        #expect(throws: OpusPacketError.frameTooLong) {
            try OpusPacketLayout(parsing: [0xFB, 0x82, 0] + [UInt8](repeating: 0, count: 1276))
        }
        // R3: code 1 needs an odd total length.
        #expect(throws: OpusPacketError.oddLengthRequiredForCode1) { try OpusPacketLayout(parsing: [0xF9, 1, 2, 3]) }
        // R4: code 2 needs a frame length and room for the first frame.
        #expect(throws: OpusPacketError.truncatedFrameLength) { try OpusPacketLayout(parsing: [0xFA]) }
        #expect(throws: OpusPacketError.truncatedFrameLength) { try OpusPacketLayout(parsing: [0xFA, 252]) }
        #expect(throws: OpusPacketError.firstFrameExceedsPacket) { try OpusPacketLayout(parsing: [0xFA, 5, 1, 2]) }
        // R5: code 3 has a frame count byte, at least one frame and at most 120 ms.
        #expect(throws: OpusPacketError.missingFrameCount) { try OpusPacketLayout(parsing: [0xFB]) }
        #expect(throws: OpusPacketError.noFrames) { try OpusPacketLayout(parsing: [0xFB, 0x00]) }
        #expect(throws: OpusPacketError.durationExceeds120ms) { try OpusPacketLayout(parsing: [0xFB, 7]) }  // 7 × 20 ms
        #expect(throws: OpusPacketError.durationExceeds120ms) { try OpusPacketLayout(parsing: [3 << 3 | 3, 3]) }  // 3 × 60 ms
        #expect(throws: OpusPacketError.durationExceeds120ms) { try OpusPacketLayout(parsing: [16 << 3 | 3, 49]) }  // 49 × 2.5 ms
        // R6: CBR bytes divide evenly among the frames, and the padding fits.
        #expect(throws: OpusPacketError.cbrLengthNotMultipleOfFrameCount) { try OpusPacketLayout(parsing: [0xFB, 0x02, 1, 2, 3]) }
        #expect(throws: OpusPacketError.paddingExceedsPacket) { try OpusPacketLayout(parsing: [0xFB, 0x41, 10, 1, 2]) }
        #expect(throws: OpusPacketError.paddingExceedsPacket) { try OpusPacketLayout(parsing: [0xFB, 0x41, 255]) }
        #expect(throws: OpusPacketError.paddingExceedsPacket) { try OpusPacketLayout(parsing: [0xFB, 0x41]) }
        // R7: VBR length bytes present and the frames they announce fit.
        #expect(throws: OpusPacketError.truncatedFrameLength) { try OpusPacketLayout(parsing: [0xFB, 0x83, 1]) }
        #expect(throws: OpusPacketError.vbrFramesExceedPacket) { try OpusPacketLayout(parsing: [0xFB, 0x83, 5, 5, 1, 2, 3, 4]) }
        #expect(throws: OpusPacketError.vbrFramesExceedPacket) {
            try OpusPacketLayout(parsing: [0xFB, 0xC2, 0x02, 3, 1, 2, 0, 0])  // padding leaves 2 bytes for a 3-byte frame
        }
    }
}
