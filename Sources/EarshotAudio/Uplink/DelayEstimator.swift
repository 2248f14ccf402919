public import EarshotWire

/// How much delay the network's jitter calls for, from packet arrivals (the delay manager of a NetEq-style buffer).
///
/// For every packet it computes the *relative delay*: how much later than the earliest packet of the last two
/// seconds it arrived, given their RTP timestamps,
///
///     relative = (arrival − arrivalₒ) − (timestamp − timestampₒ) / 48 kHz  −  min over the last 2 s,
///
/// so a packet that crossed the network as fast as the fastest recent one scores 0 and a late one its lateness.
/// Taking the minimum over a sliding window makes the measure immune to clock drift between sender and relay (a
/// drift of 0.1 % moves the minimum by 2 ms per 2 s window, not without bound).
///
/// The relative delays feed a histogram with exponential forgetting; the estimate is one of its quantiles (95 %
/// for the conversational profile). Two time constants shape it:
/// - **fast attack**: a delay above the estimate raises a *peak* at once, held for `peakHold` and then decaying
///   linearly at `peakDecayPerSecond`; the estimate is the larger of the quantile and the peak. A delay spike
///   therefore raises the target on the packet that reveals it, not after 5 % of the histogram's mass agrees.
/// - **slow decay**: the histogram forgets with a time constant of `forgetPackets` packets (≈ 10 s at 50
///   packets/s), so after jitter calms down the target falls over seconds, without oscillating.
public struct DelayEstimator: Sendable {
    public struct Parameters: Hashable, Sendable {
        public var quantile: Double
        public var forgetPackets: Double
        public var peakHold: Duration
        public var peakDecayPerSecond: Duration
        public var window: Duration

        public init(quantile: Double = 0.95, forgetPackets: Double = 500, peakHold: Duration = .seconds(5),
                    peakDecayPerSecond: Duration = .milliseconds(20), window: Duration = .seconds(2))
        {
            self.quantile = quantile
            self.forgetPackets = forgetPackets
            self.peakHold = peakHold
            self.peakDecayPerSecond = peakDecayPerSecond
            self.window = window
        }
    }

    /// 5 ms bins up to 2 s: finer than a packet, coarse enough to keep the histogram small.
    static let binWidthNanoseconds: Int64 = 5_000_000
    static let binCount = 400
    /// The window holds at most this many arrivals (two seconds of 2.5 ms packets); a flood cannot grow it.
    static let maximumWindowEntries = 800

    public let parameters: Parameters
    private var histogram = [Double](repeating: 0, count: DelayEstimator.binCount)
    private var reference: (arrival: Instant, timestamp: Int64)?
    /// (arrival, relative delay in ns) with increasing delays: the front is the window's minimum.
    private var window: [(arrival: Instant, delay: Int64)] = []
    private var windowHead = 0
    private var peak: (delay: Int64, at: Instant)?
    private var samples = 0
    /// The last relative delay measured.
    public private(set) var lastRelativeDelay: Duration = .zero

    public init(parameters: Parameters = .init()) {
        self.parameters = parameters
    }

    /// Records the arrival of the packet with the (unwrapped, 48 kHz) RTP timestamp `timestamp`.
    public mutating func record(timestamp: Int64, arrival: Instant) {
        guard let reference else {
            self.reference = (arrival, timestamp)
            window = [(arrival, 0)]
            addToHistogram(0)
            return
        }
        let elapsed = (arrival - reference.arrival).nanosecondsClamped
        // 48 kHz ticks to nanoseconds: × 1e9 / 48 000 = × 62 500 / 3.
        let mediaElapsed = (timestamp &- reference.timestamp).multipliedReportingOverflow(by: 62_500)
        guard !mediaElapsed.overflow else { return }
        let absolute = elapsed &- mediaElapsed.partialValue / 3
        // Slide the window: drop arrivals older than `window`, and keep delays increasing from the front.
        let horizon = arrival - parameters.window
        while windowHead < window.count, window[windowHead].arrival < horizon { windowHead += 1 }
        while window.count > windowHead, window[window.count - 1].delay >= absolute { window.removeLast() }
        window.append((arrival, absolute))
        if window.count - windowHead > Self.maximumWindowEntries { windowHead += 1 }
        if windowHead > 256 {
            window.removeFirst(windowHead)
            windowHead = 0
        }
        let minimum = window[windowHead].delay
        let relative = max(0, absolute - minimum)
        lastRelativeDelay = .nanoseconds(relative)
        addToHistogram(relative)
        if relative > estimateNanoseconds(at: arrival) { peak = (relative, arrival) }
    }

    /// The delay the jitter calls for at `now`: the larger of the histogram's quantile and the decaying peak.
    public func estimate(at now: Instant) -> Duration { .nanoseconds(estimateNanoseconds(at: now)) }

    /// The histogram's quantile alone (what `jitterBufferMinimumDelay` reports: the delay the jitter needs,
    /// without the peak's hold or the configured minimum).
    public var quantileEstimate: Duration { .nanoseconds(quantileNanoseconds) }

    private func estimateNanoseconds(at now: Instant) -> Int64 {
        max(quantileNanoseconds, peakNanoseconds(at: now))
    }

    private var quantileNanoseconds: Int64 {
        guard samples > 0 else { return 0 }
        let total = histogram.reduce(0, +)
        guard total > 0 else { return 0 }
        var cumulative = 0.0
        for (bin, weight) in histogram.enumerated() {
            cumulative += weight
            if cumulative >= parameters.quantile * total { return Int64(bin + 1) * Self.binWidthNanoseconds }
        }
        return Int64(Self.binCount) * Self.binWidthNanoseconds
    }

    private func peakNanoseconds(at now: Instant) -> Int64 {
        guard let peak else { return 0 }
        let age = (now - peak.at).nanosecondsClamped - parameters.peakHold.nanosecondsClamped
        guard age > 0 else { return peak.delay }
        let decayed = Double(age) / 1e9 * Double(parameters.peakDecayPerSecond.nanosecondsClamped)
        return max(0, peak.delay - Int64(min(decayed, Double(Int64.max / 2))))
    }

    private mutating func addToHistogram(_ delay: Int64) {
        samples += 1
        // Exponential forgetting: weight (1 − f) on the new sample; during start-up, weigh samples equally so
        // the first seconds are not dominated by the first packet.
        let forget = 1 - 1 / min(Double(samples), parameters.forgetPackets)
        for i in histogram.indices { histogram[i] *= forget }
        let bin = min(Self.binCount - 1, Int(delay / Self.binWidthNanoseconds))
        histogram[bin] += 1 - forget
    }
}
