public import EarshotWire

/// Reception statistics of one RTP source (RFC 3550 §6.4.1 and Appendix A.3, A.8): extended highest sequence
/// number, packets expected and lost, interarrival jitter, and the interval counts behind "fraction lost".
public struct RTPReceiveStatistics: Hashable, Sendable {
    public let clockRate: Int
    private var unwrapper = RTPSequenceNumberUnwrapper()
    public private(set) var baseSequence: Int64?
    public private(set) var packetsReceived: Int64 = 0
    /// RFC 3550 A.8 interarrival jitter in timestamp units, kept with 4 fractional bits as the RFC's integer
    /// version does (so `jitter >> 4` is the reported value).
    private var jitterScaled: Int64 = 0
    private var lastTransit: Int64?
    private var expectedPrior: Int64 = 0
    private var receivedPrior: Int64 = 0

    public init(clockRate: Int) { self.clockRate = clockRate }

    /// The extended highest sequence number received (RFC 3550 §6.4.1), nil before the first packet.
    public var extendedHighestSequence: Int64? { unwrapper.highest }

    /// Packets expected from the first to the highest sequence number.
    public var packetsExpected: Int64 {
        guard let base = baseSequence, let highest = extendedHighestSequence else { return 0 }
        return highest - base + 1
    }

    /// Cumulative packets lost: expected minus received (negative when duplicates outnumber losses, RFC 3550).
    public var packetsLost: Int64 { packetsExpected - packetsReceived }

    /// Interarrival jitter in timestamp units.
    public var jitter: UInt32 { UInt32(clamping: jitterScaled >> 4) }

    /// Interarrival jitter in seconds (webrtc-stats `jitter`).
    public var jitterSeconds: Double { Double(jitterScaled) / 16 / Double(clockRate) }

    /// Records one packet; returns its extended sequence number.
    @discardableResult
    public mutating func record(sequenceNumber: UInt16, timestamp: UInt32, arrival: Instant) -> Int64 {
        let extended = unwrapper.unwrap(sequenceNumber)
        if baseSequence == nil || extended < baseSequence! { baseSequence = extended }
        packetsReceived += 1
        // Transit time in timestamp units: arrival (as media clock) minus RTP timestamp (RFC 3550 A.8).
        let arrivalUnits = arrival.nanoseconds / 1000 * Int64(clockRate) / 1_000_000
        let transit = arrivalUnits &- Int64(timestamp)
        if let last = lastTransit {
            var d = transit &- last
            if d < 0 { d = -d }
            // Guard against timestamp jumps (a new talkspurt with a reset clock): cap a single step at 1 s.
            d = min(d, Int64(clockRate))
            jitterScaled += d - ((jitterScaled + 8) >> 4)
        }
        lastTransit = transit
        return extended
    }

    /// The values of a reception report block for this source (RFC 3550 §6.4.1, A.3), advancing the interval.
    public mutating func reportValues() -> (fractionLost: UInt8, cumulativeLost: Int32, extendedHighest: UInt32, jitter: UInt32)
    {
        let expected = packetsExpected
        let expectedInterval = expected - expectedPrior
        expectedPrior = expected
        let receivedInterval = packetsReceived - receivedPrior
        receivedPrior = packetsReceived
        let lostInterval = expectedInterval - receivedInterval
        let fraction: UInt8 =
            (expectedInterval == 0 || lostInterval <= 0) ? 0 : UInt8(clamping: (lostInterval << 8) / expectedInterval)
        // Cumulative lost is a 24-bit signed field: clamp.
        let cumulative = Int32(clamping: max(-0x80_0000, min(0x7F_FFFF, packetsLost)))
        return (fraction, cumulative, UInt32(truncatingIfNeeded: extendedHighestSequence ?? 0), jitter)
    }
}
