public import EarshotOpus

/// How the uplink jitter buffer trades delay for smoothness.
public struct JitterBufferConfiguration: Hashable, Sendable {
    /// The two ways a buffer can serve its listener.
    public enum Profile: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        /// Like a phone: audio comes out on a steady clock, one frame per tick, with enough buffered to ride out
        /// the network's jitter (target delay from the delay estimator, 95th percentile with fast attack and slow
        /// decay); the buffer grows and shrinks by time-stretching, and underruns are concealed.
        case conversational
        /// For a speech model, which does not play audio and so needs no smoothness: every frame goes out as
        /// soon as it can be decoded in order. A missing packet is waited for at most a reorder window
        /// (`maximumDelay`, 20 ms by default, while the path reorders packets; `minimumDelay`, 0, when it has not
        /// for ten seconds) and then recovered by FEC or concealed, so the only delay added is waiting on gaps.
        case model

        public var description: String { rawValue }
    }

    public var profile: Profile
    /// The PCM the listener takes: rate (the decoder runs at it directly) and frame duration.
    public var output: PCMFormat
    /// Bounds on the target delay (conversational) or the reorder window (model).
    public var minimumDelay: Duration
    public var maximumDelay: Duration
    /// The target delay before the first measurement (conversational): two 20 ms packets.
    public var initialDelay: Duration
    /// At most this many packets wait in the buffer; one more flushes it (counted), as a buffer that far behind
    /// is better restarted than played out.
    public var maximumPackets: Int
    /// After this much uninterrupted concealment the output fades to silence over one frame and stays silent
    /// until audio arrives again (a long loss should sound like a drop-out, not a synthetic drone).
    public var concealmentBeforeFade: Duration
    /// The delay estimator's parameters (quantile, forgetting, peak hold and decay).
    public var estimator: DelayEstimator.Parameters

    public init(
        profile: Profile, output: PCMFormat = PCMFormat(), minimumDelay: Duration? = nil, maximumDelay: Duration? = nil,
        initialDelay: Duration = .milliseconds(40), maximumPackets: Int = 250,
        concealmentBeforeFade: Duration = .milliseconds(100), estimator: DelayEstimator.Parameters? = nil
    ) {
        self.profile = profile
        self.output = output
        switch profile {
        case .conversational:
            // Two 20 ms packets: the one playing and the next, so that when a packet is lost its successor, with
            // the lost packet's in-band FEC, is usually already here when the loss is decided.
            self.minimumDelay = minimumDelay ?? .milliseconds(40)
            self.maximumDelay = maximumDelay ?? .milliseconds(1000)
            self.estimator = estimator ?? DelayEstimator.Parameters()
        case .model:
            self.minimumDelay = minimumDelay ?? .zero
            self.maximumDelay = maximumDelay ?? .milliseconds(20)
            // The reorder window follows how late out-of-order packets come: the 95th percentile of that lateness.
            self.estimator = estimator ?? DelayEstimator.Parameters(peakHold: .seconds(2))
        }
        self.initialDelay = initialDelay
        self.maximumPackets = maximumPackets
        self.concealmentBeforeFade = concealmentBeforeFade
    }

    public static func conversational(output: PCMFormat = PCMFormat()) -> Self { .init(profile: .conversational, output: output) }
    public static func model(output: PCMFormat = PCMFormat()) -> Self { .init(profile: .model, output: output) }

    public func validate() throws(JitterBufferError) {
        guard minimumDelay >= .zero, maximumDelay >= minimumDelay, maximumDelay <= .seconds(10) else {
            throw .invalidConfiguration("delay bounds \(minimumDelay)...\(maximumDelay) (0 ≤ minimum ≤ maximum ≤ 10 s)")
        }
        guard initialDelay >= .zero, initialDelay <= .seconds(10) else {
            throw .invalidConfiguration("initial delay \(initialDelay) (0...10 s)")
        }
        guard (2...10_000).contains(maximumPackets) else {
            throw .invalidConfiguration("maximum packets \(maximumPackets) (2...10000)")
        }
        guard concealmentBeforeFade >= .zero, concealmentBeforeFade <= .seconds(10) else {
            throw .invalidConfiguration("concealment before fade \(concealmentBeforeFade) (0...10 s)")
        }
        guard estimator.quantile > 0, estimator.quantile <= 1, estimator.forgetPackets >= 1 else {
            throw .invalidConfiguration("estimator quantile \(estimator.quantile) or forgetting \(estimator.forgetPackets)")
        }
    }
}

/// Why a jitter buffer could not be created.
public enum JitterBufferError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalidConfiguration(String)
    case codec(OpusError)

    public var description: String {
        switch self {
        case .invalidConfiguration(let what): "invalid jitter buffer configuration: \(what)"
        case .codec(let error): "jitter buffer decoder: \(error)"
        }
    }
}
