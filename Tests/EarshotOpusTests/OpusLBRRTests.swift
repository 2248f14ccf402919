import EarshotOpus
import EarshotWire
import Testing

/// `OpusPacketLayout.firstFrameCarriesFEC` reads the SILK LBRR flag from the range coder without decoding. The
/// oracle is libopus itself: asking it for FEC from a packet without LBRR gives exactly its concealment (see
/// OpusLossTests.fecWithoutFEC), so a packet carries FEC exactly when FEC decoding differs from concealment.
@Suite struct OpusLBRRTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let configuration: OpusEncoder.Configuration
        let note: String
        var testDescription: String { note }
    }

    static let cases: [Case] = [
        Case(configuration: .init(sampleRate: .hz16000, bitrate: .bitsPerSecond(24_000), inBandFEC: true,
                                  expectedPacketLossPercent: 20), note: "SILK wideband with FEC"),
        Case(configuration: .init(sampleRate: .hz48000, bitrate: .bitsPerSecond(64_000), inBandFEC: true,
                                  expectedPacketLossPercent: 20), note: "hybrid fullband with FEC"),
        Case(configuration: .init(sampleRate: .hz8000, bitrate: .bitsPerSecond(24_000), inBandFEC: true,
                                  expectedPacketLossPercent: 10), note: "SILK narrowband with FEC"),
        Case(configuration: .init(sampleRate: .hz16000, frameDuration: .ms10, bitrate: .bitsPerSecond(24_000),
                                  inBandFEC: true, expectedPacketLossPercent: 20), note: "SILK 10 ms with FEC"),
        Case(configuration: .init(sampleRate: .hz16000, bitrate: .bitsPerSecond(24_000)), note: "SILK without FEC"),
        Case(configuration: .init(sampleRate: .hz48000, application: .restrictedLowDelay), note: "CELT only"),
    ]

    @Test("the LBRR flag agrees with libopus's FEC decoding, packet by packet", arguments: cases)
    func agreesWithDecoder(_ c: Case) throws {
        let rate = c.configuration.sampleRate
        let encoder = try OpusEncoder(c.configuration)
        // A tone that changes pitch and level every 100 ms, so frames differ and SILK keeps coding them.
        var pcm: [Int16] = []
        for step in 0..<10 {
            pcm += SignalAnalysis.sine(
                frequencies: [220 + 60 * Double(step)], amplitude: 3000 + 700 * Double(step), sampleRate: rate.hertz,
                samplesPerChannel: rate.hertz / 10)
        }
        let packets = try SignalAnalysis.encodeFrames(pcm, with: encoder)
        let frameSize = c.configuration.samplesPerChannel
        var withFEC = 0
        var unflaggedButDifferent = 0
        for k in 1..<packets.count {
            let layout = try OpusPacketLayout(parsing: packets[k])
            let flagged = layout.firstFrameCarriesFEC(in: packets[k])
            // Two decoders in the same state (everything before packet k−1), then packet k−1 is "lost".
            let concealing = try OpusDecoder(sampleRate: rate)
            let recovering = try OpusDecoder(sampleRate: rate)
            for packet in packets[..<(k - 1)] {
                _ = try concealing.decode(packet)
                _ = try recovering.decode(packet)
            }
            let concealed = try concealing.decodeLoss(frameSize: frameSize)
            let recovered = try recovering.decodeFEC(from: packets[k], frameSize: frameSize)
            // A flagged packet always yields something other than concealment.
            if flagged {
                withFEC += 1
                #expect(concealed != recovered, "packet \(k)")
            } else if concealed != recovered {
                unflaggedButDifferent += 1
            }
        }
        if c.configuration.frameDuration == .ms20 {
            // 20 ms packets (what WebRTC sends): the flag and the decoder agree on every packet.
            #expect(unflaggedButDifferent == 0)
        } else {
            // 10 ms SILK: measured with libopus 1.3.1, one packet of 97 without LBRR whose FEC request still
            // decodes differently from plain concealment (libopus's FEC path also handles mode transitions).
            #expect(unflaggedButDifferent <= 2)
        }
        if c.configuration.inBandFEC {
            // libopus codes LBRR for every 20 ms frame after the first once FEC is on and the rate allows it
            // (measured: all of them); at 10 ms it skips some (68 of 97).
            #expect(withFEC >= (c.configuration.frameDuration == .ms20 ? packets.count - 3 : packets.count / 2))
        } else {
            #expect(withFEC == 0)
        }
    }

    @Test func truncatedAndEmptyFramesCarryNoFEC() throws {
        // SILK WB 20 ms (config 9), code 0, and a frame of zero bytes: a DTX-style frame has no LBRR.
        let toc: UInt8 = 9 << 3
        #expect(try !OpusPacketLayout(parsing: [toc]).firstFrameCarriesFEC(in: [toc]))
        // One byte of data: the remaining bits read as zeros, and the flag is still decided without overrunning.
        for byte in UInt8.min...UInt8.max {
            let packet = [toc, byte]
            _ = try OpusPacketLayout(parsing: packet).firstFrameCarriesFEC(in: packet)
        }
        // CELT-only (config 31) is never flagged, whatever the bytes.
        let celt: [UInt8] = [31 << 3, 0x00, 0x00]
        #expect(try !OpusPacketLayout(parsing: celt).firstFrameCarriesFEC(in: celt))
    }
}
