public import EarshotWire

/// The uplink for models that take Opus rather than PCM: packets in, the same packets out, in order, duplicates and
/// late packets dropped, and every gap flagged, without decoding anything. Sans-IO like `JitterBuffer`, with the
/// model profile's timing: a packet goes out as soon as everything before it has; a missing packet is waited for
/// at most the reorder window (`maximumWait` while the path has reordered packets in the last ten seconds, and
/// during the first ten seconds; 0 otherwise), then skipped and reported as a gap on the next packet, for the model
/// to conceal (its decoder's PLC, or FEC from that packet) as it sees fit.
public final class OpusReorderBuffer {
    public struct Configuration: Hashable, Sendable {
        /// The longest wait for a missing packet.
        public var maximumWait: Duration
        /// At most this many packets wait; one more flushes the buffer (counted).
        public var maximumPackets: Int

        public init(maximumWait: Duration = .milliseconds(20), maximumPackets: Int = 250) {
            self.maximumWait = maximumWait
            self.maximumPackets = maximumPackets
        }
    }

    /// One packet for the model.
    public struct Packet: Sendable {
        public var payload: [UInt8]
        public var sequenceNumber: Int64
        /// The sender's RTP timestamp (48 kHz), unwrapped to 64 bits.
        public var rtpTimestamp: Int64
        public var arrival: Instant
        public var emitted: Instant
        /// Packets missing just before this one (0 normally): lost, or too late to wait for.
        public var packetsMissingBefore: Int64
        /// The media time missing before this one, in 48 kHz ticks (0 normally; with DTX the timestamp also jumps
        /// without a missing packet).
        public var ticksMissingBefore: Int64

        public init(
            payload: [UInt8], sequenceNumber: Int64, rtpTimestamp: Int64, arrival: Instant, emitted: Instant,
            packetsMissingBefore: Int64 = 0, ticksMissingBefore: Int64 = 0
        ) {
            self.payload = payload
            self.sequenceNumber = sequenceNumber
            self.rtpTimestamp = rtpTimestamp
            self.arrival = arrival
            self.emitted = emitted
            self.packetsMissingBefore = packetsMissingBefore
            self.ticksMissingBefore = ticksMissingBefore
        }
    }

    public struct Statistics: Hashable, Sendable, Codable {
        public var packetsReceived = 0
        public var packetsEmitted = 0
        /// Late (their place already passed) or flushed.
        public var packetsDiscarded = 0
        public var packetsDuplicated = 0
        public var packetsFlushed = 0
        /// Gaps reported, and the packets they span.
        public var gaps = 0
        public var packetsMissing: Int64 = 0
        public init() {}
    }

    public let configuration: Configuration
    public private(set) var statistics = Statistics()

    private struct Buffered {
        var sequence: Int64
        var timestamp: Int64
        var payload: [UInt8]
        var arrival: Instant
    }

    private var packets: [Buffered] = []
    private var sequences = RTPSequenceNumberUnwrapper()
    private var timestamps = RTPTimestampUnwrapper()
    private var nextSequence: Int64?
    private var lastTimestampEnd: Int64?
    private var gapNoticed: (sequence: Int64, at: Instant)?
    private var deadline: Instant?
    private var firstArrival: Instant?
    private var lastReordering: Instant?
    private var highestArrived: Int64?

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    public var nextDeadline: Instant? { deadline }

    public func insert(sequenceNumber: UInt16, timestamp: UInt32, payload: UnsafeRawBufferPointer, arrival: Instant) {
        statistics.packetsReceived += 1
        let sequence = sequences.unwrap(sequenceNumber)
        let ts = timestamps.unwrap(timestamp)
        if firstArrival == nil { firstArrival = arrival }
        if let highest = highestArrived, sequence < highest { lastReordering = arrival }
        highestArrived = max(highestArrived ?? sequence, sequence)
        if let next = nextSequence, sequence < next {
            statistics.packetsDiscarded += 1
            return
        }
        var low = 0, high = packets.count
        while low < high {
            let mid = (low + high) / 2
            if packets[mid].sequence < sequence { low = mid + 1 } else { high = mid }
        }
        if low < packets.count, packets[low].sequence == sequence {
            statistics.packetsDuplicated += 1
            return
        }
        if packets.count >= configuration.maximumPackets {
            statistics.packetsDiscarded += packets.count
            statistics.packetsFlushed += packets.count
            packets.removeAll(keepingCapacity: true)
            nextSequence = nil
            low = 0
        }
        packets.insert(Buffered(sequence: sequence, timestamp: ts, payload: Array(payload), arrival: arrival), at: low)
        if nextSequence == nil { nextSequence = sequence }
    }

    public func insert(sequenceNumber: UInt16, timestamp: UInt32, payload: [UInt8], arrival: Instant) {
        payload.withUnsafeBytes { insert(sequenceNumber: sequenceNumber, timestamp: timestamp, payload: $0, arrival: arrival) }
    }

    /// The next packet ready at `now`, or nil; call after every insert and at `nextDeadline`.
    public func poll(now: Instant) -> Packet? {
        deadline = nil
        guard let head = packets.first, let next = nextSequence else { return nil }
        var missing: Int64 = 0
        if head.sequence != next {
            if gapNoticed?.sequence != head.sequence { gapNoticed = (head.sequence, now) }
            let until = (gapNoticed?.at ?? now) + window(at: now)
            if until > now {
                deadline = until
                return nil
            }
            missing = head.sequence - next
            statistics.gaps += 1
            statistics.packetsMissing += missing
        }
        packets.removeFirst()
        gapNoticed = nil
        nextSequence = head.sequence + 1
        let ticksMissing = lastTimestampEnd.map { max(0, head.timestamp - $0) } ?? 0
        lastTimestampEnd = head.timestamp + Self.duration(of: head.payload)
        statistics.packetsEmitted += 1
        return Packet(payload: head.payload, sequenceNumber: head.sequence, rtpTimestamp: head.timestamp,
                      arrival: head.arrival, emitted: now, packetsMissingBefore: missing,
                      ticksMissingBefore: ticksMissing)
    }

    private func window(at now: Instant) -> Duration {
        if let last = lastReordering, now - last < .seconds(10) { return configuration.maximumWait }
        if let first = firstArrival, now - first < .seconds(10) { return configuration.maximumWait }
        return .zero
    }

    /// The packet's duration in 48 kHz ticks (0 when it is not valid Opus: the next timestamp then tells).
    private static func duration(of payload: [UInt8]) -> Int64 {
        guard let layout = try? OpusPacketLayout(parsing: payload) else { return 0 }
        return Int64(layout.samplesAt48kHz)
    }
}

@available(*, unavailable, message: "An OpusReorderBuffer is confined to one event loop")
extension OpusReorderBuffer: Sendable {}
