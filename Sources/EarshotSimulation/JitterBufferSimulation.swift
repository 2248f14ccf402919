public import EarshotAudio
import EarshotImpairment
public import EarshotOpus
import EarshotWire

/// Replays the uplink jitter buffer over a modelled network on virtual time: a sender encodes a speech-like
/// signal into 20 ms Opus packets (48 kHz, in-band FEC on, as browsers send), the network model decides each
/// packet's fate, and the buffer is driven exactly as the relay drives it — `insert` at each arrival, `poll` after
/// every insert and at every `nextDeadline`. Nothing reads a clock, so a run is a pure function of its parameters.
public enum JitterBufferSimulation {
    public struct Parameters: Hashable, Sendable {
        public var scenario: NetworkScenario
        public var profile: JitterBufferConfiguration.Profile
        public var duration: Duration
        /// The sender's clock rate error in parts per million: +1000 = its 20 ms packets come every 19.98 ms of
        /// relay time (0.1 % fast).
        public var senderClockDriftPPM: Double
        public var seed: UInt64
        public var output: PCMFormat

        public init(scenario: NetworkScenario, profile: JitterBufferConfiguration.Profile, duration: Duration,
                    senderClockDriftPPM: Double = 0, seed: UInt64 = 1, output: PCMFormat = PCMFormat())
        {
            self.scenario = scenario
            self.profile = profile
            self.duration = duration
            self.senderClockDriftPPM = senderClockDriftPPM
            self.seed = seed
            self.output = output
        }
    }

    public struct Result: Sendable {
        public var parameters: Parameters
        public var packetsSent: Int
        public var packetsLostInNetwork: Int
        /// What the buffer added: emission − arrival of every frame decoded from a packet, sorted, in seconds.
        public var addedDelays: [Double]
        public var statistics: JitterBufferStatistics
        /// The added delay over the first and the last minute (p50, seconds), to see growth or starvation.
        public var firstMinuteDelayMedian: Double?
        public var lastMinuteDelayMedian: Double?

        public func addedDelayPercentile(_ p: Double) -> Double {
            guard !addedDelays.isEmpty else { return 0 }
            let rank = Int((p / 100 * Double(addedDelays.count - 1)).rounded())
            return addedDelays[min(max(rank, 0), addedDelays.count - 1)]
        }

        public var concealedPercent: Double { statistics.concealmentRatio * 100 }
    }

    /// 30 s of encoded speech-like audio, looped for longer runs (the sender's packets repeat; the network and
    /// the buffer see a continuous stream with continuous sequence numbers and timestamps).
    public static let loopDuration = 30

    /// Encodes `loopDuration` seconds of `SpeechLikeSignal(seed:)` at 48 kHz into 20 ms packets: complexity 5,
    /// 32 kb/s, in-band FEC with 10 % expected loss (what browsers negotiate with useinbandfec=1).
    public static func encodeLoop(seed: UInt64) throws(OpusError) -> [[UInt8]] {
        var signal = SpeechLikeSignal(seed: seed, sampleRate: .hz48000)
        let encoder = try OpusEncoder(.init(sampleRate: .hz48000, bitrate: .bitsPerSecond(32_000), complexity: 5,
                                            inBandFEC: true, expectedPacketLossPercent: 10))
        var frame = [Int16](repeating: 0, count: 960)
        var packets: [[UInt8]] = []
        packets.reserveCapacity(loopDuration * 50)
        for _ in 0..<(loopDuration * 50) {
            signal.next(into: &frame)
            packets.append(try encoder.encode(frame))
        }
        return packets
    }

    /// Runs one simulation. `packets` is the sender's loop (from `encodeLoop`), shared between runs.
    public static func run(_ parameters: Parameters, packets: [[UInt8]]) throws(JitterBufferError) -> Result {
        let buffer = try JitterBuffer(configuration: .init(profile: parameters.profile, output: parameters.output))
        var network = parameters.scenario.makeModel(seed: parameters.seed)
        let count = Int(parameters.duration.nanosecondsClamped / 20_000_000)
        // Send times on the relay's clock: the sender's 20 ms, scaled by its clock error.
        let interval = 20_000_000.0 / (1 + parameters.senderClockDriftPPM / 1_000_000)
        var arrivals: [(at: Instant, index: Int)] = []
        arrivals.reserveCapacity(count)
        var lost = 0
        for k in 0..<count {
            let sent = Instant(nanoseconds: Int64((Double(k) * interval).rounded()))
            switch network.fate(ofPacketSentAt: sent) {
            case .delivered(let at): arrivals.append((at, k))
            case .lost: lost += 1
            }
        }
        arrivals.sort { ($0.at, $0.index) < ($1.at, $1.index) }

        var delays: [(emitted: Instant, delay: Double)] = []
        delays.reserveCapacity(count)
        func drain(_ now: Instant) {
            while let frame = buffer.poll(now: now) {
                if frame.source == .decoded, let arrival = frame.arrival {
                    delays.append((frame.emitted, (frame.emitted - arrival).seconds))
                }
            }
        }
        let end = Instant.zero + parameters.duration + .milliseconds(20)
        var next = 0
        var previous = Instant(nanoseconds: .min)
        while true {
            let arrival = next < arrivals.count ? arrivals[next].at : nil
            // After a poll the buffer's deadline is always in the future; anything else would stall the replay.
            let deadline = buffer.nextDeadline.flatMap { $0 > previous ? $0 : nil }
            guard let now = [arrival, deadline].compactMap({ $0 }).min(), now <= end else { break }
            previous = now
            while next < arrivals.count, arrivals[next].at == now {
                let k = arrivals[next].index
                buffer.insert(sequenceNumber: UInt16(truncatingIfNeeded: k), timestamp: UInt32(truncatingIfNeeded: k * 960),
                              payload: packets[k % packets.count], arrival: now)
                next += 1
                drain(now)
            }
            drain(now)
        }
        let minute = Duration.seconds(60)
        let start = Instant.zero + minute
        let last = Instant.zero + parameters.duration - minute
        func median(_ values: [Double]) -> Double? {
            guard !values.isEmpty else { return nil }
            return values.sorted()[values.count / 2]
        }
        let longRun = parameters.duration >= .seconds(120)
        return Result(
            parameters: parameters, packetsSent: count, packetsLostInNetwork: lost,
            addedDelays: delays.map(\.delay).sorted(), statistics: buffer.statistics,
            firstMinuteDelayMedian: longRun ? median(delays.filter { $0.emitted < start }.map(\.delay)) : nil,
            lastMinuteDelayMedian: longRun ? median(delays.filter { $0.emitted >= last }.map(\.delay)) : nil)
    }
}
