import EarshotAudio
import EarshotWire
import Testing

@Suite struct OpusReorderBufferTests {
    /// Distinct 20 ms Opus-framed payloads (config 9 = SILK WB 20 ms, code 0) that say which packet they are.
    static func payload(_ k: Int) -> [UInt8] { [9 << 3, UInt8(truncatingIfNeeded: k), UInt8(truncatingIfNeeded: k >> 8)] }
    static func at(_ k: Int, plus extra: Int = 0) -> Instant { .zero + .milliseconds(20 * k + extra) }

    /// Inserts (k, arrival) in arrival order, polling after each insert and at each deadline; returns what came out.
    static func run(_ arrivals: [(Int, Instant)], buffer: OpusReorderBuffer = OpusReorderBuffer(),
                    until end: Instant) -> [OpusReorderBuffer.Packet]
    {
        var out: [OpusReorderBuffer.Packet] = []
        var queue = arrivals.sorted { $0.1 < $1.1 }
        var now = Instant.zero
        while true {
            let candidates = [queue.first?.1, buffer.nextDeadline].compactMap { $0 }.filter { $0 <= end }
            guard let t = candidates.min() else { break }
            now = max(now, t)
            while let first = queue.first, first.1 <= now {
                queue.removeFirst()
                buffer.insert(sequenceNumber: UInt16(truncatingIfNeeded: 65_530 + first.0),
                              timestamp: UInt32(truncatingIfNeeded: 4_294_960_000 + first.0 * 960),
                              payload: payload(first.0), arrival: first.1)
                while let p = buffer.poll(now: now) { out.append(p) }
            }
            while let p = buffer.poll(now: now) { out.append(p) }
            if let d = buffer.nextDeadline, d <= now { break }
        }
        return out
    }

    @Test("in-order packets pass at once, unchanged, across sequence and timestamp wrap")
    func inOrder() {
        let out = Self.run((0..<100).map { ($0, Self.at($0)) }, until: Self.at(100))
        #expect(out.count == 100)
        #expect(out.enumerated().allSatisfy { $1.payload == Self.payload($0) && $1.emitted == $1.arrival })
        #expect(out.allSatisfy { $0.packetsMissingBefore == 0 && $0.ticksMissingBefore == 0 })
        #expect(zip(out, out.dropFirst()).allSatisfy { $1.rtpTimestamp - $0.rtpTimestamp == 960 })
    }

    @Test("a reordered packet is waited for and put back in order")
    func reordered() {
        var arrivals = (0..<50).map { ($0, Self.at($0)) }
        arrivals[20].1 = Self.at(21, plus: 10)
        let out = Self.run(arrivals, until: Self.at(60))
        #expect(out.map(\.payload) == (0..<50).map(Self.payload))
        #expect(out[21].emitted == Self.at(21, plus: 10))
        #expect(out.allSatisfy { $0.packetsMissingBefore == 0 })
    }

    @Test("a lost packet is reported as a gap on the next one after the window, then a late copy is dropped")
    func lost() {
        var arrivals = (0..<50).map { ($0, Self.at($0)) }
        arrivals[30].1 = Self.at(30, plus: 200)  // far too late
        let buffer = OpusReorderBuffer()
        let out = Self.run(arrivals, buffer: buffer, until: Self.at(60))
        #expect(out.count == 49)
        let after = out[30]
        #expect(after.payload == Self.payload(31))
        #expect(after.packetsMissingBefore == 1 && after.ticksMissingBefore == 960)
        #expect(after.emitted == Self.at(31) + .milliseconds(20))  // the window while the path is new
        #expect(buffer.statistics.gaps == 1 && buffer.statistics.packetsMissing == 1)
        #expect(buffer.statistics.packetsDiscarded == 1)
    }

    @Test("duplicates are dropped and counted; overflow flushes")
    func duplicatesAndOverflow() {
        let buffer = OpusReorderBuffer(configuration: .init(maximumPackets: 4))
        for k in [1, 2, 2, 3, 4, 5] {  // packet 0 never comes and nothing is polled: they pile up
            buffer.insert(sequenceNumber: UInt16(k), timestamp: UInt32(k * 960), payload: Self.payload(k), arrival: Self.at(k))
        }
        #expect(buffer.statistics.packetsDuplicated == 1)
        #expect(buffer.statistics.packetsFlushed == 4)
        #expect(buffer.poll(now: Self.at(6))?.payload == Self.payload(5))
    }
}
