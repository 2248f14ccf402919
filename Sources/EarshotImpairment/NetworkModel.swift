public import EarshotWire

/// What a modelled network does to one packet: delivers it at some instant, or loses it.
public enum PacketFate: Hashable, Sendable {
    case delivered(at: Instant)
    case lost
}

/// A network path on virtual time. Each call decides the fate of the next packet sent at `sent` (packets are
/// presented in send order); a model keeps whatever state it needs (burst-loss state, a delay spike in progress)
/// and draws randomness only from its own seeded generator, so a run is reproducible from its seed.
public protocol NetworkModel {
    mutating func fate(ofPacketSentAt sent: Instant) -> PacketFate
}
