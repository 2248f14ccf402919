import EarshotOpus
import Testing

/// Discontinuous transmission on digital silence, as libopus 1.3.1 does it (observed, and asserted exactly):
/// - frames 0...8 (180 ms) are ordinary packets of silence (3 bytes in CELT mode, 8...59 bytes in SILK mode);
/// - from frame 9 the encoder reports `isInDTX`; frame 9 is still an ordinary packet;
/// - from frame 10 (200 ms of silence) packets are a single TOC byte, except that after every 20 single bytes
///   (400 ms) comes one ordinary-sized comfort-noise update: frames 30 and 51.
@Suite("Discontinuous transmission")
struct OpusDTXTests {
    static let frames = 60

    @Test(arguments: [
        OpusEncoder.Configuration(sampleRate: .hz48000, application: .voip, dtx: true),
        OpusEncoder.Configuration(sampleRate: .hz16000, application: .voip, dtx: true),
        OpusEncoder.Configuration(sampleRate: .hz48000, application: .audio, dtx: true),
        OpusEncoder.Configuration(sampleRate: .hz48000, application: .restrictedLowDelay, dtx: true),
    ])
    func silenceBecomesTinyPackets(_ configuration: OpusEncoder.Configuration) throws {
        let encoder = try OpusEncoder(configuration)
        let decoder = try OpusDecoder(sampleRate: configuration.sampleRate)
        let silence = [Int16](repeating: 0, count: configuration.samplesPerFrame)
        var sizes: [Int] = []
        var inDTX: [Bool] = []
        for _ in 0..<Self.frames {
            let packet = try encoder.encode(silence)
            sizes.append(packet.count)
            inDTX.append(try encoder.isInDTX)
            // Every packet, one byte or not, decodes to a full frame of (near) silence.
            let pcm = try decoder.decode(packet)
            #expect(pcm.count == configuration.samplesPerChannel)
            #expect(pcm.allSatisfy { abs(Int($0)) <= 2 })
        }
        #expect(inDTX == Array(repeating: false, count: 9) + Array(repeating: true, count: Self.frames - 9))
        #expect(sizes[..<10].allSatisfy { $0 > 1 })
        let updates = (10..<Self.frames).filter { sizes[$0] > 1 }
        #expect(updates == [30, 51])
        #expect(updates.allSatisfy { sizes[$0] == sizes[9] })
        #expect((10..<Self.frames).filter { sizes[$0] == 1 }.count == Self.frames - 10 - 2)
    }

    @Test("Without DTX silence keeps ordinary packets; DTX switched on mid-call takes effect")
    func dtxOffThenOn() throws {
        let encoder = try OpusEncoder(.init(sampleRate: .hz48000))
        let silence = [Int16](repeating: 0, count: 960)
        for _ in 0..<Self.frames {
            #expect(try encoder.encode(silence).count > 1)
            #expect(try !encoder.isInDTX)
        }
        try encoder.setDTX(true)
        #expect(encoder.configuration.dtx)
        var sizes: [Int] = []
        for _ in 0..<20 { sizes.append(try encoder.encode(silence).count) }
        // The silence count starts when DTX is switched on: 10 ordinary packets (200 ms), then single bytes.
        #expect(sizes[..<10].allSatisfy { $0 > 1 })
        #expect(sizes[10...].allSatisfy { $0 == 1 })
        #expect(try encoder.isInDTX)
    }
}
