import EarshotImpairment
import EarshotWire
import Testing

/// `--impair` strings: parsing, refusal with a clear error, and the models they build (seeded, per session and
/// direction).
@Suite struct ImpairmentSpecTests {
    @Test func parsesEveryKey() throws {
        let spec = try ImpairmentSpec(parsing: "loss=5%, burst=3,jitter=20,reorder=0.02,duplicate=0.01,delay=10ms,seed=7")
        #expect(spec.loss == 0.05 && spec.burst == 3 && spec.reorder == 0.02 && spec.duplicate == 0.01)
        #expect(spec.jitter == .milliseconds(20) && spec.delay == .milliseconds(10) && spec.seed == 7)
        #expect(!spec.isClean)
        #expect(try ImpairmentSpec(parsing: spec.description) == spec)
        #expect(try ImpairmentSpec(parsing: "").isClean)
    }

    @Test(arguments: [
        ("loss", "'loss' is not key=value"), ("speed=3", "unknown impairment 'speed'"),
        ("loss=1.5", "loss=1.5: expected a fraction"), ("jitter=-1", "jitter=-1: expected 0...10000 ms"),
        ("burst=0.5,loss=0.1", "burst=0.5: expected 1...1000"), ("burst=3", "burst=3.0: expected a burst length needs loss"),
        ("loss=0.9,burst=2", "loss=0.9: expected a loss rate that bursts"), ("seed=x", "seed=x: expected an unsigned"),
    ])
    func refusesBadInputClearly(text: String, message: String) {
        #expect {
            try ImpairmentSpec(parsing: text)
        } throws: { error in
            "\(error)".hasPrefix(message)
        }
    }

    /// The measured loss over many packets is near the asked rate, the same seed gives the same fates, and the two
    /// directions and different sessions get different ones.
    @Test func modelsAreSeededPerSessionAndDirection() throws {
        let spec = try ImpairmentSpec(parsing: "loss=0.1,burst=2,jitter=30,seed=11")
        func fates(session: Int, direction: ImpairmentSpec.Direction) -> [PacketFate] {
            var network = spec.network(session: session, direction: direction)
            return (0..<20_000).map { network.fate(ofPacketSentAt: Instant.zero + .milliseconds(20 * $0)) }
        }
        let a = fates(session: 0, direction: .uplink)
        #expect(a == fates(session: 0, direction: .uplink))
        #expect(a != fates(session: 0, direction: .downlink))
        #expect(a != fates(session: 1, direction: .uplink))
        let lost = a.filter { $0 == .lost }.count
        #expect(abs(Double(lost) / 20_000 - 0.1) < 0.015)
        // Jitter adds 0...30 ms and keeps order.
        var last = Instant.zero
        for (index, fate) in a.enumerated() {
            guard case .delivered(let at) = fate else { continue }
            let delay: Duration = at - (Instant.zero + .milliseconds(20 * index))
            #expect(delay >= .zero && delay <= .milliseconds(30))
            #expect(at >= last)
            last = at
        }
    }
}
