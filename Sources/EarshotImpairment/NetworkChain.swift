public import EarshotWire

/// Models applied one after the other: a composed network path that is itself a `NetworkModel`.
///
/// A packet enters the first stage at its send instant; each later stage receives it at the instant the previous
/// stage delivered it, so delays add up. A stage that loses the packet ends the chain (later stages never see it).
/// The usual order is loss first, then the base delay, the delay variation and reordering last:
/// - loss before delay, so that a delay model's memory (the previous delivery it keeps order behind) holds only
///   packets that exist;
/// - `Reordering` after `DelayJitter`, since an order-keeping jitter stage would undo it.
///
/// Stages downstream of reordering may see instants out of order; every model here accepts that.
public struct NetworkChain: NetworkModel {
    public private(set) var stages: [any NetworkModel]

    public init(_ stages: [any NetworkModel]) {
        self.stages = stages
    }

    public init(_ stages: any NetworkModel...) {
        self.init(stages)
    }

    public mutating func fate(ofPacketSentAt sent: Instant) -> PacketFate {
        var instant = sent
        for index in stages.indices {
            switch stages[index].fate(ofPacketSentAt: instant) {
            case .lost: return .lost
            case .delivered(let at): instant = at
            }
        }
        return .delivered(at: instant)
    }
}
