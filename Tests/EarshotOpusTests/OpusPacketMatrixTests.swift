import EarshotOpus
import Testing

/// Every sample rate × frame duration × channel count: the encoder makes a packet that declares the frame's
/// duration, and the decoder returns exactly that many samples.
@Suite("Packets at every rate, duration and channel count")
struct OpusPacketMatrixTests {
    @Test(arguments: OpusSampleRate.allCases, OpusFrameDuration.allCases)
    func encodeDecode(sampleRate: OpusSampleRate, duration: OpusFrameDuration) throws {
        for channels in OpusChannels.allCases {
            let encoder = try OpusEncoder(.init(sampleRate: sampleRate, channels: channels, frameDuration: duration))
            let decoder = try OpusDecoder(sampleRate: sampleRate, channels: channels)
            let samplesPerChannel = duration.samplesPerChannel(at: sampleRate)
            #expect(encoder.configuration.samplesPerChannel == samplesPerChannel)
            #expect(samplesPerChannel * 1_000_000 == sampleRate.hertz * duration.microseconds)

            // Five frames of a tone (not silence, so the encoder produces real frames rather than minimal ones).
            let pcm = SignalAnalysis.sine(
                frequencies: Array([440.0, 1000.0].prefix(channels.count)), amplitude: 8000,
                sampleRate: sampleRate.hertz, samplesPerChannel: 5 * samplesPerChannel)
            let packets = try SignalAnalysis.encodeFrames(pcm, with: encoder)
            #expect(packets.count == 5)

            for packet in packets {
                #expect(!packet.isEmpty && packet.count <= OpusEncoder.maxPacketSize)
                #expect(try OpusDecoder.packetSampleCount(packet, sampleRate: sampleRate) == samplesPerChannel)
                // A packet's duration is independent of the rate it was encoded at: the same at 48 kHz.
                #expect(
                    try OpusDecoder.packetSampleCount(packet, sampleRate: .hz48000)
                        == duration.samplesPerChannel(at: .hz48000))
                // 2.5...20 ms fit one Opus frame; 40 and 60 ms are one SILK frame or two/three CELT frames.
                let frames = try OpusDecoder.packetFrameCount(packet)
                #expect((1...3).contains(frames))
                #expect(samplesPerChannel % frames == 0)

                let decoded = try decoder.decode(packet)
                #expect(decoded.count == samplesPerChannel * channels.count)
                #expect(try decoder.lastPacketDuration == samplesPerChannel)
            }
        }
    }

    @Test("Caller-buffer encode and decode match the array forms")
    func callerBuffers() throws {
        let configuration = OpusEncoder.Configuration(sampleRate: .hz48000, channels: .stereo)
        let arrays = try OpusEncoder(configuration)
        let buffers = try OpusEncoder(configuration)
        let arrayDecoder = try OpusDecoder(sampleRate: .hz48000, channels: .stereo)
        let bufferDecoder = try OpusDecoder(sampleRate: .hz48000, channels: .stereo)
        let pcm = SignalAnalysis.sine(frequencies: [440, 1000], amplitude: 8000, sampleRate: 48_000, samplesPerChannel: 960 * 4)

        // Reused buffers, as on a hot path: a 1500-byte packet buffer and room for 120 ms of stereo PCM.
        var packetBuffer = [UInt8](repeating: 0, count: 1500)
        var pcmBuffer = [Int16](repeating: 0, count: OpusSampleRate.hz48000.maxPacketSamples * 2)
        for start in stride(from: 0, to: pcm.count, by: 1920) {
            let frame = Array(pcm[start..<(start + 1920)])
            let expectedPacket = try arrays.encode(frame)
            let length = try frame.withUnsafeBufferPointer { input in
                try packetBuffer.withUnsafeMutableBytes { try buffers.encode(input, into: $0) }
            }
            // Two encoders with one configuration are deterministic: the same bytes.
            #expect(Array(packetBuffer[..<length]) == expectedPacket)

            let expectedPCM = try arrayDecoder.decode(expectedPacket)
            let samples = try packetBuffer.withUnsafeBytes { packet in
                try pcmBuffer.withUnsafeMutableBufferPointer {
                    try bufferDecoder.decode(UnsafeRawBufferPointer(rebasing: packet[..<length]), into: $0)
                }
            }
            #expect(samples == 960)
            #expect(Array(pcmBuffer[..<(samples * 2)]) == expectedPCM)
        }
    }

    @Test("Changing the frame duration mid-stream changes the packets' duration")
    func frameDurationChange() throws {
        let encoder = try OpusEncoder(.init(sampleRate: .hz16000, frameDuration: .ms20))
        let decoder = try OpusDecoder(sampleRate: .hz16000)
        let tone = SignalAnalysis.sine(frequencies: [440], amplitude: 8000, sampleRate: 16_000, samplesPerChannel: 960)
        let first = try encoder.encode(Array(tone[..<320]))
        #expect(try OpusDecoder.packetSampleCount(first, sampleRate: .hz16000) == 320)
        encoder.setFrameDuration(.ms60)
        #expect(encoder.configuration.samplesPerFrame == 960)
        // 20 ms of PCM no longer fits.
        #expect(throws: OpusError.pcmSizeMismatch(expected: 960, actual: 320)) {
            try encoder.encode(Array(tone[..<320]))
        }
        let second = try encoder.encode(tone)
        #expect(try decoder.decode(first).count == 320)
        #expect(try decoder.decode(second).count == 960)
    }
}
