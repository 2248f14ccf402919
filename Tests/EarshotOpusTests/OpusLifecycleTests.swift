import EarshotOpus
import Testing

/// Encoders and decoders free their libopus state when the last reference goes. The weak references show
/// `deinit` runs; that `deinit` really frees the C state is shown by running these tests under AddressSanitizer
/// (`swift test --sanitize=address`), whose leak check at exit reports any state not destroyed.
@Suite("Lifecycle")
struct OpusLifecycleTests {
    @Test("Encoder and decoder are released after use")
    func released() throws {
        weak var weakEncoder: OpusEncoder?
        weak var weakDecoder: OpusDecoder?
        do {
            let encoder = try OpusEncoder(.init(channels: .stereo))
            let decoder = try OpusDecoder(channels: .stereo)
            weakEncoder = encoder
            weakDecoder = decoder
            let tone = SignalAnalysis.sine(frequencies: [440, 1000], amplitude: 8000, sampleRate: 48_000, samplesPerChannel: 960)
            #expect(try decoder.decode(encoder.encode(tone)).count == 1920)
            #expect(weakEncoder != nil && weakDecoder != nil)
        }
        #expect(weakEncoder == nil)
        #expect(weakDecoder == nil)
    }

    @Test("Many short-lived encoders and decoders, every rate and channel count")
    func churn() throws {
        for _ in 0..<20 {
            for sampleRate in OpusSampleRate.allCases {
                for channels in OpusChannels.allCases {
                    let encoder = try OpusEncoder(.init(sampleRate: sampleRate, channels: channels, inBandFEC: true, dtx: true))
                    let decoder = try OpusDecoder(sampleRate: sampleRate, channels: channels)
                    let silence = [Int16](repeating: 0, count: encoder.configuration.samplesPerFrame)
                    _ = try decoder.decode(encoder.encode(silence))
                    _ = try decoder.decodeLoss(frameSize: encoder.configuration.samplesPerChannel)
                }
            }
        }
    }

    @Test("A rejected configuration allocates nothing")
    func rejectedConfiguration() {
        for _ in 0..<100 {
            #expect(throws: OpusError.self) { try OpusEncoder(.init(complexity: 99)) }
        }
    }
}
