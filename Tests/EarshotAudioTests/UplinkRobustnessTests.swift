import EarshotAudio
import EarshotOpus
import EarshotWire
import Testing

/// Hostile or broken senders: random sequence numbers and timestamps (jumps, wraps, repeats), garbage and valid
/// payloads mixed, arrival times out of step. The buffers must never trap, must keep their bounds and must keep
/// producing well-formed output.
@Suite struct UplinkRobustnessTests {
    static func randomStream(seed: UInt64, count: Int) -> [(UInt16, UInt32, [UInt8], Instant)] {
        var rng = SplitMix64(seed: seed)
        let valid = try! PacketSource(count: 20).packets
        var seq: UInt16 = UInt16.random(in: 0...UInt16.max, using: &rng)
        var ts: UInt32 = UInt32.random(in: 0...UInt32.max, using: &rng)
        var t = Instant.zero
        var out: [(UInt16, UInt32, [UInt8], Instant)] = []
        for _ in 0..<count {
            switch UInt8.random(in: 0..<20, using: &rng) {
            case 0: seq = UInt16.random(in: 0...UInt16.max, using: &rng)  // jump anywhere
            case 1: ts = UInt32.random(in: 0...UInt32.max, using: &rng)
            case 2: seq &-= UInt16.random(in: 0...50, using: &rng)  // back in time
            case 3: ts &+= UInt32.random(in: 0...480_000, using: &rng)  // forward up to 10 s
            default: seq &+= 1; ts &+= 960
            }
            let payload: [UInt8]
            switch UInt8.random(in: 0..<10, using: &rng) {
            case 0: payload = []
            case 1: payload = (0..<Int.random(in: 1...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            default: payload = valid[Int.random(in: 0..<valid.count, using: &rng)]
            }
            t = t + .microseconds(Int64.random(in: 0...40_000, using: &rng))
            out.append((seq, ts, payload, t))
        }
        return out
    }

    @Test("jitter buffer, both profiles, at 16 and 48 kHz", arguments: [
        (JitterBufferConfiguration.Profile.model, OpusSampleRateChoice.hz16000),
        (.conversational, .hz48000),
    ])
    func jitterBuffer(profile: JitterBufferConfiguration.Profile, rate: OpusSampleRateChoice) throws {
        let format = PCMFormat(sampleRate: rate.value, frameDuration: .milliseconds20)
        let buffer = try JitterBuffer(configuration: .init(profile: profile, output: format, maximumPackets: 50))
        var frames = 0
        for (seq, ts, payload, t) in Self.randomStream(seed: 99, count: 5_000) {
            buffer.insert(sequenceNumber: seq, timestamp: ts, payload: payload, arrival: t)
            while let frame = buffer.poll(now: t) {
                #expect(frame.samples.count == format.samplesPerFrame)
                frames += 1
                if frames > 200_000 { Issue.record("runaway output"); return }
            }
            // What the buffer counts as held stays within its maximum delay (1 s) plus what is decoded ahead.
            #expect(buffer.statistics.currentDelay <= 2, "\(buffer.statistics.currentDelay) s")
        }
        let s = buffer.statistics
        #expect(s.packetsReceived == 5_000)
        #expect(s.packetsInvalid > 0 && frames > 0)
        #expect(s.totalSamplesReceived == frames * format.samplesPerFrame)
    }

    @Test("Opus reorder buffer")
    func reorderBuffer() {
        let buffer = OpusReorderBuffer(configuration: .init(maximumPackets: 50))
        var emitted = 0
        for (seq, ts, payload, t) in Self.randomStream(seed: 7, count: 5_000) {
            buffer.insert(sequenceNumber: seq, timestamp: ts, payload: payload, arrival: t)
            while let packet = buffer.poll(now: t) {
                #expect(packet.packetsMissingBefore >= 0 && packet.ticksMissingBefore >= 0)
                emitted += 1
            }
        }
        let s = buffer.statistics
        #expect(s.packetsReceived == 5_000)
        #expect(s.packetsEmitted == emitted)
        #expect(emitted + s.packetsDiscarded + s.packetsDuplicated <= 5_000)
    }
}

/// `OpusSampleRate` by a name usable as a test argument.
enum OpusSampleRateChoice: Sendable, CustomTestStringConvertible {
    case hz16000, hz48000
    var value: OpusSampleRate { self == .hz16000 ? .hz16000 : .hz48000 }
    var testDescription: String { self == .hz16000 ? "16 kHz" : "48 kHz" }
}
