extension VoiceActivityDetector {
    /// The detector's settings, after the "server_vad" turn detection of realtime speech APIs; checked by
    /// `validate()` (and by `VoiceActivityDetector.init`).
    public struct Configuration: Hashable, Sendable {
        /// The PCM the detector reads: its sample rate sets the analysis (10 ms blocks); the frame duration is
        /// what frames usually hold (any length is accepted).
        public var format: PCMFormat
        /// How strongly a block must indicate speech to start a talkspurt, 0...1 (the per-block speech
        /// probability it is compared with). Higher needs louder, more clearly voiced audio: fewer false starts
        /// in noise, later starts and missed quiet speech. Speech continues while the probability stays above
        /// `threshold − hysteresis` (floored at 0), so a talkspurt does not flicker around the threshold.
        public var threshold: Double
        /// Audio before the detected start that belongs to the talkspurt: `speechStarted(audioStartMs:)` reports
        /// the first speech block's start moved back by this much (not before 0), so that a soft onset missed by
        /// the detector (an unvoiced consonant, a rising vowel) is still inside the reported speech.
        public var prefixPadding: Duration
        /// How long the probability must stay below `threshold − hysteresis` before `speechStopped`: pauses
        /// shorter than this are inside the talkspurt. Counted in whole 10 ms blocks (rounded up).
        public var silenceDuration: Duration
        /// The speech a talkspurt must hold before it starts (its speech blocks, not the pauses between them):
        /// shorter blips (a click, a cough, a burst of noise) start nothing. Counted in whole 10 ms blocks
        /// (rounded up).
        public var minimumSpeechDuration: Duration

        /// The fall in probability, below `threshold`, that ends a speech run (so a talkspurt starts at
        /// `threshold` and continues down to `threshold − hysteresis`).
        public static let hysteresis = 0.15
        /// The longest `prefixPadding`, `silenceDuration` and `minimumSpeechDuration` accepted: far beyond any
        /// use, and keeps the sample arithmetic small.
        public static let longestDuration = Duration.seconds(60)

        public init(
            format: PCMFormat = PCMFormat(), threshold: Double = 0.5, prefixPadding: Duration = .milliseconds(300),
            silenceDuration: Duration = .milliseconds(500), minimumSpeechDuration: Duration = .milliseconds(100)
        ) {
            self.format = format
            self.threshold = threshold
            self.prefixPadding = prefixPadding
            self.silenceDuration = silenceDuration
            self.minimumSpeechDuration = minimumSpeechDuration
        }

        public func validate() throws(VoiceActivityDetectorError) {
            guard threshold.isFinite, (0...1).contains(threshold) else { throw .thresholdOutOfRange(threshold) }
            let durations: [(VoiceActivityDetectorError.Setting, Duration)] = [
                (.prefixPadding, prefixPadding), (.silenceDuration, silenceDuration),
                (.minimumSpeechDuration, minimumSpeechDuration),
            ]
            for (setting, duration) in durations {
                guard duration >= .zero else { throw .negativeDuration(setting, duration) }
                guard duration <= Self.longestDuration else { throw .durationTooLong(setting, duration) }
            }
        }

        /// `duration` (validated: 0...60 s) in samples at the format's rate, rounded up to a whole sample. The
        /// fraction of a second is taken in nanoseconds, so the product stays far inside 64 bits.
        func samples(_ duration: Duration) -> Int {
            let (seconds, attoseconds) = duration.components
            let rate = Int64(format.sampleRate.hertz)
            let fromSeconds = seconds * rate
            let nanoseconds = attoseconds / 1_000_000_000
            let fromFraction = (nanoseconds * rate + 999_999_999) / 1_000_000_000
            return Int(fromSeconds + fromFraction)
        }
    }
}

/// An event of the detector, in media time: milliseconds from sample position 0 at the configured rate.
public enum VoiceActivityEvent: Hashable, Sendable {
    /// Speech began at `audioStartMs`: the first speech block's start moved back by `prefixPadding`, not below 0.
    /// Reported once `minimumSpeechDuration` of speech has been seen, so later than that in the stream.
    case speechStarted(audioStartMs: Double)
    /// Speech ended at `audioEndMs`: the end of the last block that still read as speech. Reported once
    /// `silenceDuration` of non-speech (or a gap at least as long) has followed it.
    case speechStopped(audioEndMs: Double)
}

/// Counters and the latest measurements of a detector.
public struct VoiceActivityStatistics: Hashable, Sendable {
    /// 10 ms blocks analysed.
    public var blocks = 0
    /// Talkspurts started (`speechStarted` events).
    public var speechSegments = 0
    /// Speech in the talkspurts so far, in milliseconds: from each first speech block (without the prefix
    /// padding) to its last, the current talkspurt included.
    public var speechMilliseconds = 0.0
    /// Forward jumps in the media position (audio missing from the stream).
    public var gaps = 0
    /// The noise floor the last block was measured against, in dBFS (nil before the first block).
    public var noiseFloorDBFS: Double?
    /// The last block's speech probability, 0...1.
    public var lastProbability = 0.0
    /// The last block's features (nil before the first block).
    public var lastFeatures: VoiceFeatures?

    public init() {}
}

/// Why a detector could not be created.
public enum VoiceActivityDetectorError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The duration settings, named in errors.
    public enum Setting: String, Hashable, Sendable {
        case prefixPadding
        case silenceDuration
        case minimumSpeechDuration
    }

    /// `threshold` is not a number in 0...1.
    case thresholdOutOfRange(Double)
    /// A duration setting is below zero.
    case negativeDuration(Setting, Duration)
    /// A duration setting is above `Configuration.longestDuration`.
    case durationTooLong(Setting, Duration)

    public var description: String {
        switch self {
        case .thresholdOutOfRange(let value): return "voice activity threshold \(value) is not in 0...1"
        case .negativeDuration(let setting, let value): return "voice activity \(setting.rawValue) \(value) is negative"
        case .durationTooLong(let setting, let value):
            let longest = VoiceActivityDetector.Configuration.longestDuration
            return "voice activity \(setting.rawValue) \(value) is longer than \(longest)"
        }
    }
}
