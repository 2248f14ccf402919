import EarshotOpus
import Foundation
import Testing

/// Tones through encoder and decoder keep their frequency and their level.
///
/// Bounds, and why: libopus 1.3.1 at its automatic bitrate measured here (1 s of tone at amplitude 10000, the
/// first 100 ms skipped so the encoder's lookahead and start-up are out of the picture):
/// - frequency by zero crossings within 0.01 % of the tone; we allow 0.5 % (2.2 Hz at 440 Hz);
/// - Goertzel power at the tone at least 53 dB above the powers a fifth below and above; we require 40 dB;
/// - RMS within 0.13 dB of the input's; we allow ±1 dB, half the ±2 dB a listener starts to notice as louder;
/// - stereo: each channel's own tone at least 54 dB above the other channel's tone; we require 40 dB.
@Suite("Tone round trips")
struct OpusToneRoundTripTests {
    static let amplitude = 10_000.0
    static let frequencyTolerance = 0.005
    static let minimumProminenceDB = 40.0
    static let levelToleranceDB = 1.0
    static let minimumSeparationDB = 40.0

    struct Case: CustomTestStringConvertible, Sendable {
        let sampleRate: OpusSampleRate
        let channels: OpusChannels
        /// One tone per channel.
        let frequencies: [Double]
        var testDescription: String { "\(sampleRate) \(channels) \(frequencies) Hz" }
    }

    static let cases: [Case] = [
        Case(sampleRate: .hz48000, channels: .mono, frequencies: [440]),
        Case(sampleRate: .hz48000, channels: .mono, frequencies: [1000]),
        Case(sampleRate: .hz16000, channels: .mono, frequencies: [440]),
        Case(sampleRate: .hz16000, channels: .mono, frequencies: [1000]),
        Case(sampleRate: .hz8000, channels: .mono, frequencies: [440]),
        Case(sampleRate: .hz48000, channels: .stereo, frequencies: [440, 1000]),
        Case(sampleRate: .hz16000, channels: .stereo, frequencies: [440, 1000]),
    ]

    @Test("Int16 PCM at 20 ms keeps frequency and level", arguments: cases)
    func toneRoundTrip(_ c: Case) throws {
        let encoder = try OpusEncoder(.init(sampleRate: c.sampleRate, channels: c.channels))
        let decoder = try OpusDecoder(sampleRate: c.sampleRate, channels: c.channels)
        let rate = c.sampleRate.hertz
        let input = SignalAnalysis.sine(
            frequencies: c.frequencies, amplitude: Self.amplitude, sampleRate: rate, samplesPerChannel: rate)
        let output = try SignalAnalysis.decodeAll(SignalAnalysis.encodeFrames(input, with: encoder), with: decoder)
        #expect(output.count == input.count)

        // 100 ms: well past the lookahead (6.5 ms) and the first packets, where the encoder is still adapting.
        let skip = rate / 10
        for channel in 0..<c.channels.count {
            let frequency = c.frequencies[channel]
            let decoded = SignalAnalysis.channel(channel, of: output, channels: c.channels.count)[skip...]
            let original = SignalAnalysis.channel(channel, of: input, channels: c.channels.count)[skip...]

            let measured = SignalAnalysis.zeroCrossingFrequency(decoded, sampleRate: rate)
            #expect(abs(measured - frequency) <= frequency * Self.frequencyTolerance, "channel \(channel): \(measured) Hz")

            let prominence = SignalAnalysis.toneProminence(decoded, frequency: frequency, sampleRate: rate)
            #expect(prominence >= Self.minimumProminenceDB, "channel \(channel): \(prominence) dB")

            let level = SignalAnalysis.decibels(SignalAnalysis.rms(decoded) / SignalAnalysis.rms(original))
            #expect(abs(level) <= Self.levelToleranceDB, "channel \(channel): \(level) dB")

            if c.channels == .stereo {
                let other = c.frequencies[1 - channel]
                let separation = 10 * log10(
                    SignalAnalysis.goertzelPower(decoded, frequency: frequency, sampleRate: rate)
                        / SignalAnalysis.goertzelPower(decoded, frequency: other, sampleRate: rate))
                #expect(separation >= Self.minimumSeparationDB, "channel \(channel): \(separation) dB")
            }
        }
    }

    @Test("Float PCM at 48 kHz keeps frequency and level")
    func floatRoundTrip() throws {
        let encoder = try OpusEncoder(.init(sampleRate: .hz48000, channels: .mono))
        let decoder = try OpusDecoder(sampleRate: .hz48000, channels: .mono)
        let frequency = 1000.0
        // The same tone as the Int16 cases, at the float API's scale (full scale ±1.0).
        let input = SignalAnalysis.sine(
            frequencies: [frequency], amplitude: Self.amplitude, sampleRate: 48_000, samplesPerChannel: 48_000
        ).map { Float($0) / 32768 }
        let frame = encoder.configuration.samplesPerFrame
        var output: [Float] = []
        for start in stride(from: 0, to: input.count, by: frame) {
            let packet = try encoder.encode(Array(input[start..<(start + frame)]))
            output += try decoder.decodeFloat(packet)
        }
        #expect(output.count == input.count)

        let skip = 4800
        let decoded = output[skip...].map { Double($0) * 32768 }[...]
        let original = input[skip...].map { Double($0) * 32768 }[...]
        let measured = SignalAnalysis.zeroCrossingFrequency(decoded, sampleRate: 48_000)
        #expect(abs(measured - frequency) <= frequency * Self.frequencyTolerance, "\(measured) Hz")
        #expect(SignalAnalysis.toneProminence(decoded, frequency: frequency, sampleRate: 48_000) >= Self.minimumProminenceDB)
        let level = SignalAnalysis.decibels(SignalAnalysis.rms(decoded) / SignalAnalysis.rms(original))
        #expect(abs(level) <= Self.levelToleranceDB, "\(level) dB")
    }

    /// In CELT-only mode (restricted low delay) the codec is waveform-matching, so the decoded signal is the input
    /// shifted by exactly the reported lookahead: 2.5 ms = 120 samples at 48 kHz. (In the SILK modes the best
    /// waveform match is not a clean shift, so we assert the delay only here.)
    @Test("Decoded audio lags the input by the lookahead (CELT mode)")
    func lookaheadIsTheDelay() throws {
        let encoder = try OpusEncoder(.init(sampleRate: .hz48000, application: .restrictedLowDelay))
        let decoder = try OpusDecoder(sampleRate: .hz48000)
        #expect(encoder.lookahead == 120)
        // Two tones: together they repeat only every 25 ms (1200 samples), more than the 10 ms of lags searched,
        // so the correlation peak is unique.
        let a = SignalAnalysis.sine(frequencies: [440], amplitude: 6000, sampleRate: 48_000, samplesPerChannel: 24_000)
        let b = SignalAnalysis.sine(frequencies: [1000], amplitude: 4000, sampleRate: 48_000, samplesPerChannel: 24_000)
        let input = zip(a, b).map { $0 &+ $1 }
        let output = try SignalAnalysis.decodeAll(SignalAnalysis.encodeFrames(input, with: encoder), with: decoder)
        let x = input.map(Double.init)
        let y = output.map(Double.init)
        let start = 4800
        let length = 4800
        let bestLag = (0..<480).max { lagA, lagB in
            SignalAnalysis.correlation(x[start..<(start + length)], y[(start + lagA)..<(start + lagA + length)])
                < SignalAnalysis.correlation(x[start..<(start + length)], y[(start + lagB)..<(start + lagB + length)])
        }
        #expect(bestLag == encoder.lookahead)
    }
}
