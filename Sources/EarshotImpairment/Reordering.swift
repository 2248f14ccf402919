public import EarshotWire

/// Controlled reordering: a fraction of packets is held back long enough for the next packet to overtake it.
///
/// Each packet is, independently with probability `fraction`, delayed by an extra amount drawn uniformly from
/// `extraDelay`; the others pass unchanged. For the next packet to overtake a held one the extra delay must exceed
/// the send interval: with 20 ms packets, 25...40 ms (1.25 to 2 intervals) makes the successor, and sometimes the
/// one after it, arrive first. This is what multipath routing or a per-flow load balancer does occasionally.
///
/// Put it last in a `NetworkChain`: a later `DelayJitter` that keeps order would undo it.
public struct Reordering: NetworkModel, Sendable {
    /// The probability, 0...1, that a packet is held back.
    public let fraction: Double
    /// The range the hold-back delay is drawn from.
    public let extraDelay: ClosedRange<Duration>

    /// The number of packets held back so far.
    public private(set) var heldBackCount = 0

    private var generator: SplitMix64

    public init(fraction: Double, extraDelay: ClosedRange<Duration>, seed: UInt64) {
        precondition((0...1).contains(fraction), "a fraction is a probability in 0...1")
        precondition(extraDelay.lowerBound >= .zero, "a delay cannot be negative")
        self.fraction = fraction
        self.extraDelay = extraDelay
        self.generator = SplitMix64(seed: seed)
    }

    public mutating func fate(ofPacketSentAt sent: Instant) -> PacketFate {
        // Both draws every time, so the sequence of decisions does not depend on the delay range.
        let held = generator.nextBernoulli(fraction)
        let extra = generator.nextDuration(in: extraDelay)
        guard held else { return .delivered(at: sent) }
        heldBackCount += 1
        return .delivered(at: sent + extra)
    }
}
