import EarshotAudio
import EarshotImpairment
import EarshotLatency
import EarshotOpus
import EarshotWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Markers through a real codec and a modelled network on virtual time: the sender mixes a marker into its
/// 48 kHz audio every 500 ms, encodes 20 ms Opus packets and sends each when its last sample is captured; the
/// network delays (and drops) them; the receiver decodes through the uplink jitter buffer and looks for the
/// markers. A marker's round trip is from its first sample's capture (mouth) to the arrival of the packet that
/// brings its decoded first sample back, plus that sample's place in the packet (ear). So the expected figure is
/// the packet's network delay, plus the 20 ms of packetization, plus the encoder's lookahead.
@Suite("Latency markers on virtual time")
struct MarkerTests {
    struct Outcome {
        var errors: [Double] = []  // measured − expected, ms
        var sent = 0
        var found = 0
        var unpaired = 0
    }

    static func run(network: some NetworkModel, seconds: Int = 12, background: Int16 = 300) throws -> Outcome {
        var network = network
        let encoder = try OpusEncoder(.init(bitrate: .bitsPerSecond(32_000), complexity: 5, inBandFEC: true))
        let jitterBuffer = try JitterBuffer(configuration: .init(profile: .model, output: PCMFormat(sampleRate: .hz48000)))
        let origin = Instant(nanoseconds: 10_000_000_000)
        let interval = 24_000  // 500 ms
        let phase = 7_013
        var roundTrips = MarkerRoundTrips(maximumRoundTrip: .milliseconds(400))
        var detector = MarkerDetector()
        var outcome = Outcome()
        var delays: [Int: Duration] = [:]  // packet index → network delay
        var inFlight: [(delivery: Instant, index: Int, payload: [UInt8])] = []
        var frames: [(start: Int, arrival: Instant)] = []  // received stream: frame start → arrival
        var expected: [Duration] = []
        let lookahead = encoder.lookahead
        let totalPackets = seconds * 50
        var noiseState: UInt32 = 12345

        func mouth(_ sample: Int) -> Instant { origin + .nanoseconds(Int64(sample) * 1_000_000_000 / 48_000) }

        var now = origin
        var nextPacket = 0
        while nextPacket < totalPackets || !inFlight.isEmpty {
            let sendAt = origin + .milliseconds(20 * (nextPacket + 1))
            let deliverAt = inFlight.map(\.delivery).min()
            if nextPacket < totalPackets, deliverAt.map({ sendAt <= $0 }) ?? true {
                now = sendAt
                let start = nextPacket * 960
                var pcm: [Int16] = (0..<960).map { _ in
                    noiseState = noiseState &* 1_664_525 &+ 1_013_904_223
                    return Int16(truncatingIfNeeded: Int32(noiseState >> 16) % Int32(background))
                }
                // Markers whose samples fall in this packet.
                let first = (start - phase - LatencyMarker.length) / interval
                for k in max(0, first)...((start + 960 - phase) / interval) {
                    let markerStart = phase + k * interval
                    guard markerStart + LatencyMarker.length > start, markerStart < start + 960 else { continue }
                    LatencyMarker.mix(into: &pcm, at: markerStart - start)
                    if markerStart >= start {
                        roundTrips.sent(at: mouth(markerStart))
                    }
                }
                let payload = try encoder.encode(pcm)
                if case .delivered(let at) = network.fate(ofPacketSentAt: now) {
                    delays[nextPacket] = at - now
                    inFlight.append((at, nextPacket, payload))
                }
                nextPacket += 1
            } else if let deliverAt {
                now = deliverAt
                let index = inFlight.firstIndex { $0.delivery == deliverAt }!
                let packet = inFlight.remove(at: index)
                jitterBuffer.insert(
                    sequenceNumber: UInt16(truncatingIfNeeded: packet.index), timestamp: UInt32(packet.index * 960),
                    payload: packet.payload, arrival: now)
            }
            while let frame = jitterBuffer.poll(now: now) {
                // The receiver's own stream numbering: here the sender's timestamps, as the jitter buffer keeps them.
                let start = Int(frame.rtpTimestamp)
                if let arrival = frame.arrival, frame.source == .decoded { frames.append((start, arrival)) }
                detector.process(frame.samples, at: start)
                for detection in detector.poll() {
                    let position = detection.position
                    guard let frame = frames.last(where: { Double($0.start) <= position }),
                        position < Double(frame.start + 960)
                    else { continue }
                    let ear = frame.arrival + .nanoseconds(Int64((position - Double(frame.start)) * 1e9 / 48_000))
                    let before = roundTrips.roundTrips.count
                    roundTrips.received(at: ear)
                    if roundTrips.roundTrips.count > before {
                        // The packet that brought this sample back, and the figure it implies.
                        let packet = frame.start / 960
                        let delay = delays[packet] ?? .zero
                        expected.append(delay + .milliseconds(20) + .nanoseconds(Int64(lookahead) * 1_000_000_000 / 48_000))
                    }
                }
            }
        }
        for (measured, truth) in zip(roundTrips.roundTrips, expected) {
            outcome.errors.append(Double((measured - truth).nanosecondsClamped) / 1e6)
        }
        outcome.sent = roundTrips.sentCount
        outcome.found = roundTrips.roundTrips.count
        outcome.unpaired = roundTrips.unpaired
        return outcome
    }

    @Test("a fixed 37 ms delay: every marker found, each within ±1 ms")
    func fixedDelay() throws {
        let outcome = try Self.run(network: FixedDelay(.milliseconds(37)))
        #expect(outcome.sent == 24)
        #expect(outcome.found == outcome.sent, "\(outcome)")
        #expect(outcome.unpaired == 0)
        #expect(outcome.errors.allSatisfy { abs($0) <= 1 }, "\(outcome.errors)")
    }

    @Test("5 % random loss: the markers that survive are within ±1 ms")
    func randomLoss() throws {
        let outcome = try Self.run(network: NetworkChain(FixedDelay(.milliseconds(48)), RandomLoss(rate: 0.05, seed: 7)))
        #expect(outcome.found >= outcome.sent * 3 / 4, "\(outcome)")
        #expect(outcome.unpaired == 0)
        #expect(outcome.errors.allSatisfy { abs($0) <= 1 }, "\(outcome.errors)")
    }

    @Test("jitter of 20...60 ms: each marker within ±1 ms of its own packet's delay")
    func jitter() throws {
        let outcome = try Self.run(network: DelayJitter(
            .uniform(.milliseconds(20)...(.milliseconds(60))), correlationTime: .milliseconds(100), seed: 3))
        #expect(outcome.found >= outcome.sent * 3 / 4, "\(outcome)")
        #expect(outcome.unpaired == 0)
        #expect(outcome.errors.allSatisfy { abs($0) <= 1 }, "\(outcome.errors)")
    }

    @Test("speech-level background and silence give no false detections")
    func noFalseDetections() {
        var detector = MarkerDetector()
        var state: UInt32 = 99
        for block in 0..<500 {
            let samples: [Int16] = (0..<960).map { i in
                state = state &* 1_664_525 &+ 1_013_904_223
                let tone = 6000 * sin(2 * Double.pi * 180 * Double(block * 960 + i) / 48_000)
                return Int16(tone) &+ Int16(truncatingIfNeeded: Int32(state >> 16) % 2000)
            }
            detector.process(samples, at: block * 960)
        }
        detector.flush()
        #expect(detector.poll().isEmpty)
    }

    @Test("a marker alone is found at its exact position, also straddling a gap-free frame boundary")
    func exactPosition() {
        var detector = MarkerDetector()
        var stream = [Int16](repeating: 0, count: 48_000)
        LatencyMarker.mix(into: &stream, at: 12_345)
        for offset in stride(from: 0, to: stream.count, by: 960) {
            detector.process(Array(stream[offset..<min(offset + 960, stream.count)]), at: 100_000 + offset)
        }
        detector.flush()
        let found = detector.poll()
        #expect(found.count == 1)
        #expect(found.first.map { abs($0.position - 112_345) < 0.1 } == true, "\(found)")
        #expect(found.first.map { $0.correlation > 0.99 } == true)
    }
}
