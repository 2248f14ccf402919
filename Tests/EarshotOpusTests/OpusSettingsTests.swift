import EarshotOpus
import Foundation
import Testing

@Suite("Encoder and decoder settings")
struct OpusSettingsTests {
    @Test("The default configuration is libopus's, with voip and 20 ms frames")
    func defaults() throws {
        let configuration = OpusEncoder.Configuration()
        #expect(configuration.sampleRate == .hz48000)
        #expect(configuration.channels == .mono)
        #expect(configuration.application == .voip)
        #expect(configuration.frameDuration == .ms20)
        #expect(configuration.bitrate == .auto)
        #expect(configuration.bitrateMode == .constrainedVBR)
        #expect(configuration.complexity == 9)
        #expect(!configuration.inBandFEC && !configuration.dtx)
        #expect(configuration.expectedPacketLossPercent == 0)
        #expect(configuration.maxBandwidth == .fullband)
        #expect(configuration.signal == .auto)
        #expect(configuration.samplesPerFrame == 960)
        let encoder = try OpusEncoder(configuration)
        #expect(encoder.configuration == configuration)
        // 2.5 ms of CELT lookahead plus 4 ms of SILK delay compensation at 48 kHz.
        #expect(encoder.lookahead == 312)
    }

    @Test("Lookahead scales with the sample rate; restricted low delay drops the SILK part",
          arguments: OpusSampleRate.allCases)
    func lookahead(sampleRate: OpusSampleRate) throws {
        let voip = try OpusEncoder(.init(sampleRate: sampleRate))
        let lowDelay = try OpusEncoder(.init(sampleRate: sampleRate, application: .restrictedLowDelay))
        #expect(voip.lookahead == sampleRate.hertz * 65 / 10_000)  // 6.5 ms
        #expect(lowDelay.lookahead == sampleRate.samplesPer2_5ms)  // 2.5 ms
    }

    @Test("Invalid configuration values are typed errors naming the setting")
    func invalidConfiguration() throws {
        let invalid: [(OpusEncoder.Configuration, OpusSetting)] = [
            (.init(bitrate: .bitsPerSecond(5_999)), .bitrate),
            (.init(bitrate: .bitsPerSecond(510_001)), .bitrate),
            (.init(bitrate: .bitsPerSecond(0)), .bitrate),
            (.init(bitrate: .bitsPerSecond(-1)), .bitrate),
            (.init(complexity: -1), .complexity),
            (.init(complexity: 11), .complexity),
            (.init(expectedPacketLossPercent: -1), .expectedPacketLossPercent),
            (.init(expectedPacketLossPercent: 101), .expectedPacketLossPercent),
        ]
        for (configuration, setting) in invalid {
            let error = #expect(throws: OpusError.self) { try OpusEncoder(configuration) }
            guard case .invalidSetting(let named, _, let allowed) = error else {
                Issue.record("expected invalidSetting(\(setting)), got \(String(describing: error))")
                continue
            }
            #expect(named == setting)
            #expect(!allowed.isEmpty)
            #expect(error?.code == -1)  // OPUS_BAD_ARG, what libopus returns for the same values
        }
        // The message names the setting, the value and the allowed range.
        #expect(throws: OpusError.invalidSetting(.complexity, value: "11", allowed: "0...10")) {
            try OpusEncoder(.init(complexity: 11))
        }
        let error = OpusError.invalidSetting(.complexity, value: "11", allowed: "0...10")
        #expect(error.description.contains("complexity 11"))
        #expect(error.description.contains("0...10"))

        // The edges are accepted.
        for configuration in [
            OpusEncoder.Configuration(bitrate: .bitsPerSecond(6_000), complexity: 0, expectedPacketLossPercent: 0),
            OpusEncoder.Configuration(bitrate: .bitsPerSecond(510_000), complexity: 10, expectedPacketLossPercent: 100),
            OpusEncoder.Configuration(bitrate: .max), OpusEncoder.Configuration(bitrate: .auto),
        ] {
            #expect(throws: Never.self) { try OpusEncoder(configuration) }
        }
    }

    @Test("Setters change libopus's state and the configuration; invalid values change nothing")
    func setters() throws {
        let encoder = try OpusEncoder(.init(sampleRate: .hz48000))
        try encoder.setBitrate(.bitsPerSecond(16_000))
        #expect(encoder.configuration.bitrate == .bitsPerSecond(16_000))
        #expect(try encoder.effectiveBitrate == 16_000)
        try encoder.setComplexity(3)
        try encoder.setExpectedPacketLoss(percent: 15)
        try encoder.setInBandFEC(true)
        try encoder.setDTX(true)
        let expected = OpusEncoder.Configuration(
            sampleRate: .hz48000, bitrate: .bitsPerSecond(16_000), complexity: 3, inBandFEC: true, dtx: true,
            expectedPacketLossPercent: 15)
        #expect(encoder.configuration == expected)

        #expect(throws: OpusError.invalidSetting(.bitrate, value: "1000 b/s", allowed: "auto, max, or 6000...510000 b/s")) {
            try encoder.setBitrate(.bitsPerSecond(1_000))
        }
        #expect(throws: OpusError.self) { try encoder.setComplexity(42) }
        #expect(throws: OpusError.self) { try encoder.setExpectedPacketLoss(percent: 200) }
        #expect(encoder.configuration == expected)
        #expect(try encoder.effectiveBitrate == 16_000)

        // The encoder still works after rejected settings.
        let tone = SignalAnalysis.sine(frequencies: [440], amplitude: 8000, sampleRate: 48_000, samplesPerChannel: 960)
        #expect(try !encoder.encode(tone).isEmpty)
    }

    @Test("CBR makes every packet bitrate × duration; VBR varies")
    func bitrateModes() throws {
        let tone = SignalAnalysis.sine(frequencies: [440, 1000], amplitude: 8000, sampleRate: 48_000, samplesPerChannel: 48_000)
        func sizes(_ mode: OpusEncoder.BitrateMode) throws -> Set<Int> {
            let encoder = try OpusEncoder(.init(channels: .stereo, bitrate: .bitsPerSecond(32_000), bitrateMode: mode))
            return Set(try SignalAnalysis.encodeFrames(tone, with: encoder).map(\.count))
        }
        // 32 000 b/s × 20 ms = 640 bits = 80 bytes.
        #expect(try sizes(.cbr) == [80])
        #expect(try sizes(.vbr).count > 1)
    }

    /// Fullband keeps a 6 kHz tone; a narrowband cap (4 kHz passband) removes it. Measured with libopus 1.3.1:
    /// fullband within 0.04 dB of the input; narrowband 73 dB down. Bounds: ±1 dB and -40 dB.
    @Test("Max bandwidth caps what is coded")
    func maxBandwidth() throws {
        let tone = SignalAnalysis.sine(frequencies: [6000], amplitude: 8000, sampleRate: 48_000, samplesPerChannel: 24_000)
        func level(_ bandwidth: OpusBandwidth) throws -> Double {
            let encoder = try OpusEncoder(.init(bitrate: .bitsPerSecond(64_000), maxBandwidth: bandwidth, signal: .music))
            let decoded = try SignalAnalysis.decodeAll(SignalAnalysis.encodeFrames(tone, with: encoder), with: OpusDecoder())
            let skip = 4800
            return SignalAnalysis.decibels(
                SignalAnalysis.rms(decoded[skip...].map(Double.init)[...]) / SignalAnalysis.rms(tone[skip...].map(Double.init)[...]))
        }
        let full = try level(.fullband)
        let narrow = try level(.narrowband)
        #expect(abs(full) <= 1, "\(full) dB")
        #expect(narrow <= -40, "\(narrow) dB")
    }

    @Test("Signal hints and applications are accepted", arguments: OpusEncoder.Signal.allCases)
    func signals(signal: OpusEncoder.Signal) throws {
        for application in OpusEncoder.Application.allCases {
            let encoder = try OpusEncoder(.init(application: application, signal: signal))
            let tone = SignalAnalysis.sine(frequencies: [440], amplitude: 8000, sampleRate: 48_000, samplesPerChannel: 960)
            let packet = try encoder.encode(tone)
            #expect(try OpusDecoder.packetSampleCount(packet, sampleRate: .hz48000) == 960)
        }
    }

    /// Gain is a plain multiplication after decoding: -6 dB (exactly -1536 in libopus's Q8 units) lowers the
    /// level by 6 dB; allow 0.1 dB for rounding of the 16-bit output.
    @Test("Decoder gain scales the output and survives reset")
    func gain() throws {
        let encoder = try OpusEncoder(.init())
        let tone = SignalAnalysis.sine(frequencies: [440], amplitude: 8000, sampleRate: 48_000, samplesPerChannel: 24_000)
        let packets = try SignalAnalysis.encodeFrames(tone, with: encoder)
        let plain = try OpusDecoder()
        let quieter = try OpusDecoder()
        #expect(try quieter.gainDecibels == 0)
        try quieter.setGain(decibels: -6)
        #expect(try quieter.gainDecibels == -6)
        let a = try SignalAnalysis.decodeAll(packets, with: plain).map(Double.init)
        let b = try SignalAnalysis.decodeAll(packets, with: quieter).map(Double.init)
        let difference = SignalAnalysis.decibels(SignalAnalysis.rms(b[4800...]) / SignalAnalysis.rms(a[4800...]))
        #expect(abs(difference + 6) <= 0.1, "\(difference) dB")

        try quieter.reset()
        #expect(try quieter.gainDecibels == -6)

        for invalid in [200.0, -128.5, .nan, .infinity] {
            let error = #expect(throws: OpusError.self) { try quieter.setGain(decibels: invalid) }
            if case .invalidSetting(let setting, _, _) = error { #expect(setting == .gain) } else { Issue.record("\(String(describing: error))") }
        }
        #expect(throws: Never.self) { try quieter.setGain(decibels: OpusDecoder.allowedGainDecibels.upperBound) }
        #expect(throws: Never.self) { try quieter.setGain(decibels: OpusDecoder.allowedGainDecibels.lowerBound) }
    }

    @Test("Reset returns the decoder to its initial state")
    func reset() throws {
        let encoder = try OpusEncoder(.init())
        let tone = SignalAnalysis.sine(frequencies: [440], amplitude: 8000, sampleRate: 48_000, samplesPerChannel: 9600)
        let packets = try SignalAnalysis.encodeFrames(tone, with: encoder)
        let fresh = try OpusDecoder()
        let reused = try OpusDecoder()
        #expect(try reused.lastPacketDuration == 0)
        for packet in packets[..<5] { _ = try reused.decode(packet) }
        #expect(try reused.lastPacketDuration == 960)
        try reused.reset()
        #expect(try reused.lastPacketDuration == 0)
        // After reset the decoder behaves exactly like a new one.
        for packet in packets[5...] { #expect(try reused.decode(packet) == fresh.decode(packet)) }
    }

    @Test("The linked libopus reports its version")
    func version() {
        #expect(OpusLibrary.versionString.hasPrefix("libopus 1."))
    }
}
