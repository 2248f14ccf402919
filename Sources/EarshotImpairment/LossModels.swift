public import EarshotWire

/// Independent (Bernoulli) loss: each packet is lost with the same probability, whatever happened to the others.
///
/// This is the textbook loss model and the worst case for forward error correction that protects one packet with
/// the next (Opus in-band FEC), since a lost packet's successor is usually there to recover it. Delivered packets
/// leave at the instant they arrive (no delay; chain a delay model after it).
public struct RandomLoss: NetworkModel, Sendable {
    /// The probability, 0...1, that a packet is lost.
    public let rate: Double

    private var generator: SplitMix64

    /// - Parameters:
    ///   - rate: the loss probability per packet, 0...1 (0.05 for 5 %).
    ///   - seed: the seed of the model's own generator.
    public init(rate: Double, seed: UInt64) {
        precondition((0...1).contains(rate), "a loss rate is a probability in 0...1")
        self.rate = rate
        self.generator = SplitMix64(seed: seed)
    }

    public mutating func fate(ofPacketSentAt sent: Instant) -> PacketFate {
        generator.nextBernoulli(rate) ? .lost : .delivered(at: sent)
    }
}

/// Burst loss by the Gilbert–Elliott model: a two-state Markov chain stepped once per packet.
///
/// In the *good* state a packet is lost with probability `lossInGood` (usually 0), in the *bad* state with
/// probability `lossInBad` (usually 1). After each packet the chain moves from good to bad with probability
/// `goodToBad` (p) and from bad to good with probability `badToGood` (r). Losses therefore come in runs, as on a
/// radio link during a fade or a congested queue overflowing, rather than one at a time.
///
/// With the usual `lossInGood = 0`, `lossInBad = 1` (the simple Gilbert model):
/// - the long-run loss rate is the time spent in the bad state, p / (p + r);
/// - a loss burst is one stay in the bad state, geometric with mean 1 / r packets.
/// `init(meanLossRate:meanBurstLength:seed:)` solves these two for p and r.
///
/// The chain counts packets, not time: a burst of 3 is 3 packets whatever their spacing. The initial state is drawn
/// from the stationary distribution, so the statistics hold from the first packet.
public struct GilbertElliottLoss: NetworkModel, Sendable {
    public enum State: Hashable, Sendable {
        case good
        case bad
    }

    /// p: the probability of moving from good to bad after a packet.
    public let goodToBad: Double
    /// r: the probability of moving from bad to good after a packet.
    public let badToGood: Double
    /// The loss probability of a packet sent in the good state.
    public let lossInGood: Double
    /// The loss probability of a packet sent in the bad state.
    public let lossInBad: Double

    /// The state the next packet will be sent in.
    public private(set) var state: State

    private var generator: SplitMix64

    /// The general model; every parameter is a probability in 0...1.
    public init(goodToBad: Double, badToGood: Double, lossInGood: Double = 0, lossInBad: Double = 1, seed: UInt64) {
        for probability in [goodToBad, badToGood, lossInGood, lossInBad] {
            precondition((0...1).contains(probability), "Gilbert–Elliott parameters are probabilities in 0...1")
        }
        self.goodToBad = goodToBad
        self.badToGood = badToGood
        self.lossInGood = lossInGood
        self.lossInBad = lossInBad
        self.generator = SplitMix64(seed: seed)
        // Start in the stationary distribution: bad with probability p / (p + r).
        let total = goodToBad + badToGood
        let badShare = total > 0 ? goodToBad / total : 0
        self.state = .good
        self.state = generator.nextBernoulli(badShare) ? .bad : .good
    }

    /// The simple Gilbert model (no loss in good, all lost in bad) with the given long-run loss rate and mean
    /// burst length in packets: r = 1 / meanBurstLength, p = r · rate / (1 − rate).
    ///
    /// - Parameters:
    ///   - meanLossRate: the fraction of packets lost in the long run, 0..<1 (0.03 for 3 %).
    ///   - meanBurstLength: the mean number of consecutive packets lost, at least 1 (1 means losses are isolated
    ///     but still not independent: a loss is always followed by a delivery).
    public init(meanLossRate: Double, meanBurstLength: Double, seed: UInt64) {
        precondition((0..<1).contains(meanLossRate), "a mean loss rate is in 0..<1")
        precondition(meanBurstLength >= 1, "a burst is at least one packet")
        let badToGood = 1 / meanBurstLength
        let goodToBad = badToGood * meanLossRate / (1 - meanLossRate)
        precondition(goodToBad <= 1, "this loss rate cannot be reached with bursts this short")
        self.init(goodToBad: goodToBad, badToGood: badToGood, seed: seed)
    }

    /// The long-run fraction of packets lost: π_good · lossInGood + π_bad · lossInBad.
    public var meanLossRate: Double {
        let total = goodToBad + badToGood
        let badShare = total > 0 ? goodToBad / total : 0
        return (1 - badShare) * lossInGood + badShare * lossInBad
    }

    /// The mean stay in the bad state in packets, 1 / r: the mean loss burst length when `lossInGood = 0` and
    /// `lossInBad = 1`.
    public var meanBadStateLength: Double { badToGood > 0 ? 1 / badToGood : .infinity }

    public mutating func fate(ofPacketSentAt sent: Instant) -> PacketFate {
        let lost = generator.nextBernoulli(state == .good ? lossInGood : lossInBad)
        switch state {
        case .good: if generator.nextBernoulli(goodToBad) { state = .bad }
        case .bad: if generator.nextBernoulli(badToGood) { state = .good }
        }
        return lost ? .lost : .delivered(at: sent)
    }
}
