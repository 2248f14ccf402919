public import EarshotWire

/// Delay variation: adds to each packet a random, temporally correlated delay, and optionally delay spikes.
///
/// **Base variation.** A latent Gaussian process z(t) with unit variance follows an Ornstein–Uhlenbeck (AR(1))
/// recursion between packets: z ← ρ·z + √(1 − ρ²)·ε with ρ = e^(−Δt/τ), where Δt is the time since the previous
/// packet and τ the `correlationTime`. Packets close in time therefore see similar delays, as behind a real queue
/// that fills and drains, while the marginal distribution of z stays exactly normal. z is then mapped to the
/// configured `Distribution` (through Φ(z) for the uniform shape), so the delay histogram is the documented one
/// whatever τ is. τ = 0 makes every packet independent.
///
/// **Spikes** (optional). Spike onsets form a Poisson process in time with mean spacing `meanInterval`. When one
/// starts, the extra delay jumps to `height` and then drains at `drainRate` (seconds of delay per second): a packet
/// sent t after the onset gets max(0, height − drainRate·t) more. With `drainRate = 1` every packet sent during the
/// spike is delivered at about the same instant (the onset plus `height`): the packets bunch up and then arrive in
/// one burst, as on a cellular link whose scheduler stalls and then releases its queue at once. A new spike does not
/// start while one is draining.
///
/// **Order.** Delay that falls faster than the send interval would let a packet overtake the one before it. Real
/// queues (a Wi-Fi access point's, a cellular bearer's) are FIFO, so by default (`keepsOrder`) a packet is never
/// delivered before the previous one: delivery = max(own, previous delivery). The clamp lifts the lowest delays a
/// little (only when the delay falls fast) and packets delivered at the same instant are the bursts described
/// above. With `keepsOrder = false` the model reorders packets whenever the delay drops by more than the send
/// interval; use `Reordering` for a controlled amount of reordering instead.
///
/// The model adds delay only; chain it after `FixedDelay` for the base one-way delay.
public struct DelayJitter: NetworkModel, Sendable {
    /// The marginal distribution of the added delay (before spikes and the order clamp).
    public enum Distribution: Hashable, Sendable {
        /// Uniform over the range: e.g. 0...60 ms for "±30 ms" around a 30 ms mean.
        case uniform(ClosedRange<Duration>)
        /// Normal with the given mean and standard deviation, clamped to `limits` (delay cannot be negative).
        case normal(mean: Duration, standardDeviation: Duration, limits: ClosedRange<Duration>)
    }

    /// Occasional delay spikes that build up and drain.
    public struct Spikes: Hashable, Sendable {
        /// The extra delay at a spike's onset.
        public var height: Duration
        /// The mean time between spike onsets (onsets are a Poisson process).
        public var meanInterval: Duration
        /// How fast the extra delay drains, in seconds of delay per second of time; 1 releases everything queued
        /// during the spike at once (a burst), less than 1 spreads the release out.
        public var drainRate: Double

        public init(height: Duration, meanInterval: Duration, drainRate: Double = 1) {
            precondition(height >= .zero && meanInterval > .zero, "a spike needs a height and a positive interval")
            precondition(drainRate > 0, "a spike must drain")
            self.height = height
            self.meanInterval = meanInterval
            self.drainRate = drainRate
        }
    }

    public let distribution: Distribution
    /// τ: how long the delay takes to forget its value (the e-folding time of the correlation); zero for none.
    public let correlationTime: Duration
    public let spikes: Spikes?
    /// Whether delivery order equals send order (see the type's documentation).
    public let keepsOrder: Bool

    /// The number of spikes started so far.
    public private(set) var spikeCount = 0

    private var generator: SplitMix64
    private var latent: Double?
    private var lastSent: Instant?
    private var lastDelivery: Instant?
    private var spikeOnset: Instant?

    public init(
        _ distribution: Distribution, correlationTime: Duration, spikes: Spikes? = nil, keepsOrder: Bool = true,
        seed: UInt64
    ) {
        switch distribution {
        case .uniform(let range):
            precondition(range.lowerBound >= .zero, "a delay cannot be negative")
        case .normal(_, let deviation, let limits):
            precondition(deviation >= .zero && limits.lowerBound >= .zero, "a delay cannot be negative")
        }
        precondition(correlationTime >= .zero, "a correlation time cannot be negative")
        self.distribution = distribution
        self.correlationTime = correlationTime
        self.spikes = spikes
        self.keepsOrder = keepsOrder
        self.generator = SplitMix64(seed: seed)
    }

    /// Whether a spike is draining at the last packet presented.
    public var isInSpike: Bool { spikeOnset != nil }

    public mutating func fate(ofPacketSentAt sent: Instant) -> PacketFate {
        // Time since the previous packet; an earlier stage may have reordered, so never negative.
        let elapsed = lastSent.map { max(0, ImpairmentMath.nanoseconds(sent - $0)) } ?? 0
        lastSent = sent

        var delay = variation(after: elapsed)
        if let spikes { delay += spikeDelay(spikes, at: sent, after: elapsed) }

        var delivery = sent + ImpairmentMath.duration(nanoseconds: delay)
        if keepsOrder, let previous = lastDelivery, delivery < previous { delivery = previous }
        lastDelivery = delivery
        return .delivered(at: delivery)
    }

    /// Steps the latent process by `elapsed` nanoseconds and maps it to a delay in nanoseconds.
    private mutating func variation(after elapsed: Double) -> Double {
        let innovation = generator.nextStandardNormal()
        let tau = ImpairmentMath.nanoseconds(correlationTime)
        let z: Double
        if let previous = latent, tau > 0 {
            let rho = ImpairmentMath.exponential(-elapsed / tau)
            z = rho * previous + (1 - rho * rho).squareRoot() * innovation
        } else {
            z = innovation
        }
        latent = z
        switch distribution {
        case .uniform(let range):
            let lower = ImpairmentMath.nanoseconds(range.lowerBound)
            let upper = ImpairmentMath.nanoseconds(range.upperBound)
            return lower + ImpairmentMath.normalCDF(z) * (upper - lower)
        case .normal(let mean, let deviation, let limits):
            let value = ImpairmentMath.nanoseconds(mean) + z * ImpairmentMath.nanoseconds(deviation)
            return min(max(value, ImpairmentMath.nanoseconds(limits.lowerBound)),
                       ImpairmentMath.nanoseconds(limits.upperBound))
        }
    }

    /// The spike's extra delay in nanoseconds for a packet sent at `sent`, starting a spike with the probability
    /// that a Poisson onset fell in the `elapsed` nanoseconds since the previous packet.
    private mutating func spikeDelay(_ spikes: Spikes, at sent: Instant, after elapsed: Double) -> Double {
        let height = ImpairmentMath.nanoseconds(spikes.height)
        let onsetDraw = generator.nextUnit()
        if let onset = spikeOnset {
            let remaining = height - spikes.drainRate * max(0, ImpairmentMath.nanoseconds(sent - onset))
            if remaining > 0 { return remaining }
            spikeOnset = nil
        }
        let onsetProbability = 1 - ImpairmentMath.exponential(-elapsed / ImpairmentMath.nanoseconds(spikes.meanInterval))
        guard onsetDraw < onsetProbability else { return 0 }
        spikeOnset = sent
        spikeCount += 1
        return height
    }
}
