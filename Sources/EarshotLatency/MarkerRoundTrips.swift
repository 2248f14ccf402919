public import EarshotWire

/// Pairs markers sent with markers found again, sans-IO. The sender tells it when each marker left the mouth
/// (`sent(at:)`); the receiver tells it when each detection reached the ear (`received(at:)`); a detection is paired
/// with the latest marker sent before it that is no older than `maximumRoundTrip` and not paired yet. Markers must
/// be sent further apart than `maximumRoundTrip`, so a pairing is never ambiguous.
public struct MarkerRoundTrips: Sendable {
    public let maximumRoundTrip: Duration
    /// Round trips measured, in the order found.
    public private(set) var roundTrips: [Duration] = []
    /// Markers sent whose round trip was not found within `maximumRoundTrip` (lost, masked, not echoed).
    public private(set) var missed = 0
    /// Detections with no marker to pair with (a false detection, or the echo of a marker already paired).
    public private(set) var unpaired = 0
    public private(set) var sentCount = 0
    private var pending: [Instant] = []

    public init(maximumRoundTrip: Duration = .milliseconds(900)) {
        self.maximumRoundTrip = maximumRoundTrip
    }

    /// A marker's first sample left the mouth (was captured) at `mouth`.
    public mutating func sent(at mouth: Instant) {
        sentCount += 1
        pending.append(mouth)
    }

    /// A marker's first sample reached the ear at `ear`.
    public mutating func received(at ear: Instant) {
        expire(before: ear)
        guard let index = pending.lastIndex(where: { $0 <= ear }) else {
            unpaired += 1
            return
        }
        roundTrips.append(ear - pending[index])
        // Older pending markers were skipped over: they will not be found any more.
        missed += index
        pending.removeFirst(index + 1)
    }

    /// Markers older than `maximumRoundTrip` at `now` count as missed.
    public mutating func expire(before now: Instant) {
        let stale = pending.prefix { now - $0 > maximumRoundTrip }.count
        missed += stale
        pending.removeFirst(stale)
    }

    /// Markers sent and still waiting.
    public var waiting: Int { pending.count }
}
