import EarshotAudio
import EarshotOpus
import EarshotWire
import Foundation
import Testing

/// Opus packets of a steady signal, sent every 20 ms, for driving the jitter buffer by hand on virtual time.
struct PacketSource {
    let packets: [[UInt8]]
    static let frameTicks: UInt32 = 960  // 20 ms at 48 kHz

    /// `count` 20 ms packets of a two-harmonic tone whose pitch and level step every 100 ms (voiced-like and
    /// periodic, and changing enough that libopus keeps coding LBRR), coded at 16 kHz, with FEC unless told.
    init(count: Int, fec: Bool = true, sampleRate: OpusSampleRate = .hz16000) throws {
        let encoder = try OpusEncoder(.init(sampleRate: sampleRate, bitrate: .bitsPerSecond(32_000), complexity: 5,
                                            inBandFEC: fec, expectedPacketLossPercent: fec ? 10 : 0))
        let n = sampleRate.hertz / 50
        var packets: [[UInt8]] = []
        for k in 0..<count {
            var pcm = [Int16](repeating: 0, count: n)
            for i in 0..<n {
                let t = Double(k * n + i) / Double(sampleRate.hertz)
                let step = Double((k / 5) % 6)
                let f0 = 150 + 20 * step
                let level = 4000 + 600 * step
                pcm[i] = Int16(level * sin(2 * .pi * f0 * t) + level / 2 * sin(2 * .pi * 2 * f0 * t))
            }
            packets.append(try encoder.encode(pcm))
        }
        self.packets = packets
    }

    func carriesFEC(_ k: Int) -> Bool {
        (try? OpusPacketLayout(parsing: packets[k]))?.firstFrameCarriesFEC(in: packets[k]) ?? false
    }

    static func arrival(_ k: Int, extra: Duration = .zero) -> Instant {
        Instant.zero + .milliseconds(20 * k) + extra
    }
}

/// Drives a buffer: inserts packets at given arrival times and polls at every deadline and after every insert.
struct Driver {
    let buffer: JitterBuffer
    var frames: [UplinkFrame] = []

    init(_ configuration: JitterBufferConfiguration) throws {
        buffer = try JitterBuffer(configuration: configuration)
    }

    mutating func drain(now: Instant) {
        while let frame = buffer.poll(now: now) { frames.append(frame) }
    }

    /// Runs virtual time to `end`: events are (arrival, sequence, timestamp, payload), in any order.
    mutating func run(_ events: [(Instant, UInt16, UInt32, [UInt8])], until end: Instant) {
        let sorted = events.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }.map(\.element)
        var index = 0
        var now = Instant.zero
        while now <= end {
            let nextEvent = index < sorted.count ? sorted[index].0 : nil
            let deadline = buffer.nextDeadline
            guard let t = [nextEvent, deadline].compactMap({ $0 }).filter({ $0 <= end }).min() else { break }
            now = max(now, t)
            while index < sorted.count, sorted[index].0 <= now {
                let e = sorted[index]
                buffer.insert(sequenceNumber: e.1, timestamp: e.2, payload: e.3, arrival: e.0)
                index += 1
                drain(now: now)
            }
            drain(now: now)
            if let d = buffer.nextDeadline, d <= now { // deadline reached but nothing to do: move on by 1 µs
                now = now + .microseconds(1)
            }
        }
    }
}

@Suite struct JitterBufferTests {
    static let baseSequence: UInt16 = 65_500  // wraps after 36 packets
    static let baseTimestamp: UInt32 = 4_294_900_000  // wraps after 70 packets

    static func event(_ source: PacketSource, _ k: Int, at arrival: Instant) -> (Instant, UInt16, UInt32, [UInt8]) {
        (arrival, baseSequence &+ UInt16(k), baseTimestamp &+ UInt32(k) &* PacketSource.frameTicks, source.packets[k])
    }

    @Test("model profile: in-order packets come out at once, across sequence and timestamp wrap")
    func modelInOrder() throws {
        let source = try PacketSource(count: 100)
        var driver = try Driver(.model())
        driver.run((0..<100).map { Self.event(source, $0, at: PacketSource.arrival($0)) }, until: .zero + .seconds(3))
        #expect(driver.frames.count == 100)
        #expect(driver.frames.allSatisfy { $0.source == .decoded && $0.emitted == $0.arrival })
        // Timestamps continue across the 32-bit wrap.
        let stamps = driver.frames.map(\.rtpTimestamp)
        #expect(zip(stamps, stamps.dropFirst()).allSatisfy { $1 - $0 == 960 })
        let s = driver.buffer.statistics
        #expect(s.concealedSamples == 0 && s.packetsDiscarded == 0 && s.packetsReceived == 100)
        #expect(s.totalSamplesReceived == 100 * 320 && s.jitterBufferEmittedCount == 100 * 320)
        #expect(s.jitterBufferDelay == 0)
    }

    @Test("model profile: a reordered packet is waited for and played in order")
    func modelReorder() throws {
        let source = try PacketSource(count: 50)
        var driver = try Driver(.model())
        var events = (0..<50).map { Self.event(source, $0, at: PacketSource.arrival($0)) }
        // Packet 20 arrives 10 ms after packet 21.
        events[20].0 = PacketSource.arrival(21) + .milliseconds(10)
        driver.run(events, until: .zero + .seconds(2))
        #expect(driver.frames.count == 50)
        #expect(driver.frames.allSatisfy { $0.source == .decoded })
        #expect(driver.buffer.statistics.concealedSamples == 0)
        // Frame 21 waited for frame 20: both went out when 20 arrived.
        #expect(driver.frames[21].emitted == PacketSource.arrival(21) + .milliseconds(10))
        #expect(driver.frames[22].emitted == PacketSource.arrival(22))
    }

    @Test("model profile: a lost packet is rebuilt from the next packet's FEC after the reorder window")
    func modelFECRecovery() throws {
        let source = try PacketSource(count: 50)
        var driver = try Driver(.model())
        var events = (0..<50).map { Self.event(source, $0, at: PacketSource.arrival($0)) }
        // libopus codes LBRR only for some frames of this tone: lose one whose successor carries it.
        let lost = try #require((30..<48).first { source.carriesFEC($0 + 1) })
        events.remove(at: lost)
        driver.run(events, until: .zero + .seconds(2))
        #expect(driver.frames.count == 50)
        #expect(driver.frames[lost].source == .fecRecovered)
        // The window starts at its maximum (20 ms) before any reordering has been seen.
        #expect(driver.frames[lost].emitted == PacketSource.arrival(lost + 1) + .milliseconds(20))
        let s = driver.buffer.statistics
        #expect(s.fecPacketsRecovered == 1 && s.concealedSamples == 0)
        #expect(s.fecPacketsReceived == (0..<50).filter { $0 != lost && source.carriesFEC($0) }.count)
    }

    @Test("without FEC a loss is concealed; a gap longer than the fade is skipped and flagged")
    func concealmentAndSkippedGap() throws {
        let source = try PacketSource(count: 100, fec: false)
        var driver = try Driver(.model())
        var events = (0..<100).map { Self.event(source, $0, at: PacketSource.arrival($0)) }
        events.remove(at: 40)  // one lost packet
        events.removeSubrange(59..<79)  // packets 60..79: 400 ms lost
        driver.run(events, until: .zero + .seconds(3))
        // 99 − 20 + 1: the lost packet is concealed, the 400 ms gap is skipped (longer than the 100 ms of
        // concealment before the fade plus a frame), and the frame after it says so.
        #expect(driver.frames.count == 80)
        #expect(driver.frames[40].source == .concealed)
        let s = driver.buffer.statistics
        #expect(s.concealmentEvents == 1 && s.concealedSamples == 320)
        #expect(s.gapsSkipped == 1)
        #expect(driver.frames[60].followsGap && driver.frames[60].source == .decoded)
        #expect(driver.frames[60].rtpTimestamp - driver.frames[59].rtpTimestamp == 21 * 960)
        #expect(driver.frames.filter(\.followsGap).count == 1)
    }

    @Test("conversational: a sender that falls silent is concealed, then faded to silence, counted as silent")
    func fadeToSilence() throws {
        let source = try PacketSource(count: 100, fec: false)
        var driver = try Driver(.conversational())
        var events = (0..<100).map { Self.event(source, $0, at: PacketSource.arrival($0)) }
        // Packets 60..79 are never sent: for 400 ms the buffer runs dry with nothing after the gap.
        events.removeSubrange(60..<80)
        driver.run(events, until: PacketSource.arrival(99))
        let s = driver.buffer.statistics
        #expect(s.concealmentEvents == 1)
        // 100 ms of concealment, one frame fading, then silence until packet 80 comes (it plays in its place,
        // the expansion having stood for the missing audio).
        let silentFrames = driver.frames.filter { $0.source == .silence }
        #expect(silentFrames.count >= 12)
        // The first frame marked silence holds the end of the fade, the last may hold the start of the resumed
        // audio (a frame is marked with its worst source); those between are digital silence.
        #expect(silentFrames.dropFirst().dropLast().allSatisfy { $0.samples.allSatisfy { $0 == 0 } })
        #expect(s.silentConcealedSamples >= (silentFrames.count - 1) * 320)
        #expect(s.concealedSamples >= 19 * 320)
        #expect(s.packetsLate == 0 && s.gapsSkipped == 0)
    }

    @Test("duplicates and late packets are counted and dropped")
    func duplicatesAndLate() throws {
        let source = try PacketSource(count: 40)
        var driver = try Driver(.model(output: PCMFormat(sampleRate: .hz48000)))
        var events = (0..<40).map { Self.event(source, $0, at: PacketSource.arrival($0)) }
        events.append(Self.event(source, 10, at: PacketSource.arrival(12)))  // duplicate of a played packet
        events.append(Self.event(source, 39, at: PacketSource.arrival(39) + .milliseconds(1)))  // duplicate, buffered
        // Packet 25 held back 200 ms: recovered or concealed after the 20 ms window, then late.
        events[25].0 = PacketSource.arrival(25) + .milliseconds(200)
        driver.run(events, until: .zero + .seconds(2))
        let s = driver.buffer.statistics
        #expect(s.packetsDuplicated == 2)
        #expect(s.packetsLate == 1 && s.packetsDiscarded == 1)
        #expect(driver.frames.count == 40)
        #expect(driver.frames[25].source == (source.carriesFEC(26) ? .fecRecovered : .concealed))
    }

    @Test("a DTX gap (sequence unbroken, timestamp jumps) is filled with comfort noise, not concealment")
    func dtxGap() throws {
        let source = try PacketSource(count: 40)
        var driver = try Driver(.model())
        var events: [(Instant, UInt16, UInt32, [UInt8])] = []
        for k in 0..<40 {
            // After packet 19 the sender pauses 200 ms (10 frames) without breaking the sequence.
            let slot = k < 20 ? k : k + 10
            events.append((PacketSource.arrival(slot), UInt16(k), UInt32(slot) * 960, source.packets[k]))
        }
        driver.run(events, until: .zero + .seconds(2))
        let s = driver.buffer.statistics
        #expect(s.comfortNoiseSamples == 10 * 320)
        #expect(s.concealedSamples == 0 && s.concealmentEvents == 0)
        #expect(driver.frames.count == 50)
    }

    @Test("conversational profile: steady frames on the playout clock, no concealment on a clean link")
    func conversationalClean() throws {
        let source = try PacketSource(count: 250)
        var driver = try Driver(.conversational())
        // Until the last packet arrives: after it the stream has ended and the buffer would conceal.
        driver.run((0..<250).map { Self.event(source, $0, at: PacketSource.arrival($0)) }, until: PacketSource.arrival(249))
        let s = driver.buffer.statistics
        #expect(s.concealedSamples == 0)
        // One frame per 20 ms tick from the first arrival + the initial 40 ms.
        for (k, frame) in driver.frames.enumerated() {
            #expect(frame.emitted == Instant.zero + .milliseconds(40 + 20 * k))
        }
        // The delay settles: after the first second, every frame waited between 0 and 40 ms.
        let settled = driver.frames.dropFirst(50).compactMap { f in f.arrival.map { f.emitted - $0 } }
        #expect(!settled.isEmpty && settled.allSatisfy { $0 >= .zero && $0 <= .milliseconds(40) })
    }

    @Test("conversational profile: an underrun conceals without losing the late packets, then the delay shrinks")
    func conversationalSpike() throws {
        let source = try PacketSource(count: 1000)
        var driver = try Driver(.conversational())
        var events = (0..<1000).map { Self.event(source, $0, at: PacketSource.arrival($0)) }
        // A 200 ms stall at packet 100: packets 100...109 arrive together at the end of it.
        for k in 100..<110 { events[k].0 = PacketSource.arrival(110) }
        driver.run(events, until: PacketSource.arrival(999))
        let s = driver.buffer.statistics
        #expect(s.packetsDiscarded == 0)
        #expect(s.concealmentEvents == 1)
        #expect(s.concealedSamples > 0)
        // The delay grew by the stall and stays up while the spike is remembered (fast attack: 5 s hold, then
        // 20 ms/s decay), then acceleration brings it back down to the clean-link level.
        func delay(at second: Int) throws -> Duration {
            let frame = try #require(driver.frames.last { $0.arrival != nil && $0.emitted <= Instant.zero + .seconds(second) })
            return frame.emitted - frame.arrival!
        }
        #expect(try delay(at: 4) >= .milliseconds(180))
        #expect(try delay(at: 20) <= .milliseconds(60))
        #expect(s.removedSamplesForAcceleration > 0)
    }

    @Test("overflow flushes the buffer and counts the packets")
    func overflow() throws {
        let source = try PacketSource(count: 20)
        let buffer = try JitterBuffer(configuration: .init(profile: .model, maximumPackets: 8))
        // Packet 0 never arrives, the window never passes (no poll), so packets pile up.
        for k in 1..<20 {
            buffer.insert(sequenceNumber: UInt16(k), timestamp: UInt32(k * 960), payload: source.packets[k],
                          arrival: PacketSource.arrival(k))
        }
        let s = buffer.statistics
        #expect(s.bufferFlushes == 2)
        #expect(s.packetsFlushed == 16 && s.packetsDiscarded == 16)
    }

    @Test("garbage payloads are counted as invalid and do not disturb the stream")
    func invalidPayloads() throws {
        let source = try PacketSource(count: 20)
        var driver = try Driver(.model())
        var events = (0..<20).map { Self.event(source, $0, at: PacketSource.arrival($0)) }
        events[5].3 = []  // empty
        events[6].3 = [0x03]  // code 3 without its frame count byte
        driver.run(events, until: .zero + .seconds(1))
        #expect(driver.buffer.statistics.packetsInvalid == 2)
        #expect(driver.frames.count == 20)
        #expect(driver.frames[5].source != .decoded && driver.frames[7].source == .decoded)
    }

    @Test("a stream that restarts its timeline far behind is followed, not discarded")
    func restart() throws {
        let source = try PacketSource(count: 40)
        var driver = try Driver(.model())
        var events: [(Instant, UInt16, UInt32, [UInt8])] = []
        for k in 0..<40 {
            let timestamp: UInt32 = k < 20 ? 10_000_000 + UInt32(k) * 960 : 1_000 + UInt32(k) * 960
            events.append((PacketSource.arrival(k), UInt16(k), timestamp, source.packets[k]))
        }
        driver.run(events, until: .zero + .seconds(1))
        #expect(driver.frames.count == 40)
        #expect(driver.buffer.statistics.packetsLate == 0)
    }

    @Test("invalid configurations are rejected with a reason")
    func configurationValidation() {
        #expect(throws: JitterBufferError.self) {
            try JitterBuffer(configuration: .init(profile: .model, minimumDelay: .milliseconds(30), maximumDelay: .milliseconds(20)))
        }
        #expect(throws: JitterBufferError.self) {
            try JitterBuffer(configuration: .init(profile: .conversational, maximumPackets: 1))
        }
    }
}
