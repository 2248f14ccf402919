public import EarshotWire

/// A constant one-way delay: the propagation and serialisation time of an idle path.
///
/// Every packet is delivered exactly `delay` after it was sent; nothing is lost and the order is kept. On its own it
/// models a perfect link; in a `NetworkChain` it is the base that the variation models add to.
public struct FixedDelay: NetworkModel, Hashable, Sendable {
    /// The one-way delay every packet takes (zero or more).
    public let delay: Duration

    public init(_ delay: Duration) {
        precondition(delay >= .zero, "a delay cannot be negative")
        self.delay = delay
    }

    public mutating func fate(ofPacketSentAt sent: Instant) -> PacketFate {
        .delivered(at: sent + delay)
    }
}
