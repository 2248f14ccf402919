#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Server-side voice activity detection for a model's uplink: PCM frames in, `speechStarted` / `speechStopped`
/// events out, with the settings of a "server_vad" turn detector (threshold, prefix padding, silence duration)
/// plus a minimum speech duration.
///
/// Sans-IO and deterministic: there is no clock. Every frame comes with its media position (the sample index of
/// its first sample at the configured rate) and events carry media time in milliseconds from position 0, so the
/// same audio at the same positions always gives the same events.
///
/// ## How it decides
/// The audio is cut into 10 ms blocks (at any of the Opus rates), and each block gets a speech probability:
/// - **Loudness against the noise floor.** The block's level (dBFS, after DC removal) over an adaptive floor
///   (`NoiseFloorTracker`: the minimum smoothed level over the last 4 s, which falls with the smoothed level,
///   about 100 ms for a 30 dB drop, and rises only when the quieter audio has left the window). Loud means about
///   6 dB or more above the floor.
/// - **Voice-like.** Periodicity (the best normalised autocorrelation at pitch lags of 70...400 Hz, on the signal
///   band-limited to 1 kHz, whitened and decimated to 4 kHz), the share of energy below 1 kHz, and the
///   zero-crossing rate. A vowel is periodic, has its energy low and crosses zero rarely; steady hiss is none of
///   these, and brown or pink noise, low-heavy as it is, is not periodic once whitened.
/// - The probability is the product of the two (loud *and* voice-like), so neither a loud noise nor a faint
///   periodic hum counts alone.
///
/// Blocks then go through hysteresis: a block at or above `threshold` opens a candidate talkspurt, and blocks at
/// or above `threshold − 0.15` count as speech in it. A talkspurt is speech with no pause as long as
/// `silenceDuration` in it. The candidate becomes a talkspurt (`speechStarted`, dated at its first speech block
/// minus `prefixPadding`) once it holds `minimumSpeechDuration` of speech blocks, and is dropped if
/// `silenceDuration` passes first; a talkspurt ends (`speechStopped`, dated at the end of its last speech block)
/// when `silenceDuration` passes without a speech block. Neither event can be reported before the audio that
/// proves it: a start is reported at least `minimumSpeechDuration` after the speech began, a stop
/// `silenceDuration` after it ended (both rounded up to whole blocks).
///
/// ## The stream
/// Frames may be of any length; a block may span frames. A frame whose position is past the end of the previous
/// one follows a **gap**: the missing audio counts as non-speech (a gap that makes the pause as long as
/// `silenceDuration` ends a talkspurt or drops a candidate, dated at the last speech before it), and the filters
/// and the partial block restart, so the discontinuity is not taken for a click or a period. A frame that starts
/// before the end of the previous one (an overlap) is taken to follow it directly: media time never runs
/// backwards. Positions are clamped to 0...2⁵² samples.
///
/// ## Cost
/// O(1) work per sample (a DC blocker, a two-pole low pass, a decimator) and a fixed periodicity search per
/// block (48 lags × 80 products at 4 kHz, whatever the rate): about 20 000 arithmetic operations for a 20 ms frame
/// at 48 kHz, of the order of 10...20 µs in a release build on a current x86-64 core. Storage is
/// allocated once; `process(_:at:into:)` allocates nothing unless `events` must grow, and `process(_:at:)`
/// returns an empty array (no allocation) for frames without an event.
///
/// ## Limits
/// It is a small signal-processing detector, not a trained model. Measured on the speech-like test signal
/// (`VADTests`): in clean conditions and with white, pink or brown noise at 10 dB SNR every talkspurt is found,
/// its first speech block comes 6...120 ms after the true start (before `prefixPadding` moves the reported start
/// back) and its end within 30 ms of the true end; at 5 dB SNR every talkspurt is still found but later (up to
/// 130 ms) and pauses near `silenceDuration` split more often; at 3 dB talkspurts break up at the default
/// threshold; at 0 dB (white noise) half of them are missed. Beyond that:
/// - **Music and singing** are loud, periodic and low-heavy: they read as speech.
/// - **Babble** (other voices) is speech, and is detected as such; a voice well below a louder one is not told
///   apart from it.
/// - **Steady tones and hum** (a fan's blade rate, mains harmonics) are periodic: they read as speech until the
///   floor has risen to them (4 s), and again whenever their level rises.
/// - **Very quiet speech:** speech less than about 6 dB above the noise floor, or under about −64 dBFS (the floor
///   is never taken below −70 dBFS), is missed; whispered speech, which is not voiced, is missed at most levels.
/// - **Unvoiced sounds** (fricatives, stop bursts) read as non-speech; inside a talkspurt they are too short to
///   end it, but a talkspurt that opens with one is dated at its first vowel (up to 100 ms late on the test
///   signal: `prefixPadding` covers it) and one that closes with one ends before it.
/// - **A rise in noise** is taken into the floor after about 4.25 s; until then the new noise is compared with
///   the old floor and only its lack of voicing keeps it from reading as speech. White, pink and brown noise
///   30 dB louder start nothing in that time; noise with periodic components could.
/// - **Speech that never pauses** for 4 s (no dip 6...10 dB below the talk for 40 ms or more) raises the floor
///   towards the speech and weakens detection until it pauses.
/// - **Transients:** a loud click or knock is short of `minimumSpeechDuration` and not voiced; a run of voiced
///   blips closer together than `silenceDuration` adds up, and starts a talkspurt at the first.
public struct VoiceActivityDetector: Sendable {
    public let configuration: Configuration
    public private(set) var statistics = VoiceActivityStatistics()
    /// Whether a talkspurt is in progress (between `speechStarted` and `speechStopped`).
    public private(set) var isSpeaking = false

    /// Positions beyond this are clamped: 2⁵² samples (about 3000 years at 48 kHz) keeps every position exact
    /// in a `Double` and far from overflow.
    public static let maximumPosition = 1 << 52

    private var extractor: VoiceFeatureExtractor
    private var floorTracker = NoiseFloorTracker()
    private let blockLength: Int
    private let prefixSamples: Int
    private let silenceSamples: Int
    private let minimumSpeechSamples: Int
    private let startThreshold: Double
    private let continueThreshold: Double

    /// The position the next sample is expected at (nil before the first frame).
    private var nextPosition: Int?
    /// The RTP timestamp at media position 0, for `process(_:into:)` of uplink frames (the first frame's).
    var rtpOrigin: Int64?
    /// The position of the current block's first sample.
    private var blockStart = 0
    /// A talkspurt in the making, not yet holding `minimumSpeechDuration` of speech: its first speech block's
    /// start, its speech so far (samples) and the end of its last speech block.
    private var candidateStart: Int?
    private var candidateSpeech = 0
    private var candidateLastSpeechEnd = 0
    /// In a talkspurt: its first speech block's start, and the end of its last speech block.
    private var segmentStart = 0
    private var lastSpeechEnd = 0
    /// Speech in completed talkspurts, in samples.
    private var completedSpeechSamples = 0

    public init(configuration: Configuration) throws(VoiceActivityDetectorError) {
        try configuration.validate()
        self.configuration = configuration
        let rate = configuration.format.sampleRate.hertz
        extractor = VoiceFeatureExtractor(sampleRate: rate)
        blockLength = extractor.blockLength
        prefixSamples = configuration.samples(configuration.prefixPadding)
        silenceSamples = configuration.samples(configuration.silenceDuration)
        minimumSpeechSamples = configuration.samples(configuration.minimumSpeechDuration)
        startThreshold = configuration.threshold
        continueThreshold = max(0, configuration.threshold - Configuration.hysteresis)
    }

    // MARK: Processing

    /// Analyses one frame whose first sample is at media position `position` (samples at the configured rate)
    /// and appends the events it causes to `events`, in order.
    public mutating func process(
        _ samples: UnsafeBufferPointer<Int16>, at position: Int, into events: inout [VoiceActivityEvent]
    ) {
        var position = min(max(position, 0), Self.maximumPosition)
        if let expected = nextPosition {
            if position > expected {
                skipGap(from: expected, to: position, into: &events)
            } else {
                position = expected
            }
        }
        var offset = 0
        while offset < samples.count {
            if !extractor.hasPartialBlock { blockStart = min(position + offset, Self.maximumPosition) }
            let rest = UnsafeBufferPointer(rebasing: samples[offset...])
            let (taken, features) = extractor.consume(rest)
            offset += taken
            if let features { decide(features, blockEnd: blockStart + blockLength, into: &events) }
        }
        nextPosition = min(position + samples.count, Self.maximumPosition)
    }

    /// Analyses one frame at media position `position`; returns the events it causes (an empty array, which
    /// allocates nothing, for most frames).
    public mutating func process(_ samples: UnsafeBufferPointer<Int16>, at position: Int) -> [VoiceActivityEvent] {
        var events: [VoiceActivityEvent] = []
        process(samples, at: position, into: &events)
        return events
    }

    /// Analyses one frame at media position `position`, appending its events to `events`.
    public mutating func process(_ samples: [Int16], at position: Int, into events: inout [VoiceActivityEvent]) {
        samples.withUnsafeBufferPointer { process($0, at: position, into: &events) }
    }

    /// Analyses one frame at media position `position`; returns the events it causes.
    public mutating func process(_ samples: [Int16], at position: Int) -> [VoiceActivityEvent] {
        samples.withUnsafeBufferPointer { process($0, at: position) }
    }

    /// Ends the stream: a talkspurt in progress stops at its last speech block, and a candidate is dropped.
    /// Returns that `speechStopped`, or nil if there was no talkspurt. Frames may still follow, as after a pause.
    public mutating func finish() -> VoiceActivityEvent? {
        candidateStart = nil
        guard isSpeaking else { return nil }
        return stop()
    }

    /// Converts a media position (samples at the configured rate) to milliseconds.
    public func milliseconds(atPosition position: Int) -> Double {
        configuration.format.milliseconds(ofSamples: position)
    }

    // MARK: Decisions

    /// The probability that a block is speech, from its features and the noise floor: P(loud) × P(voice-like).
    static func speechProbability(_ features: VoiceFeatures, noiseFloorDBFS: Double) -> Double {
        let snr = features.energyDBFS - noiseFloorDBFS
        let loud = logistic((snr - Model.loudnessMidpoint) / Model.loudnessSlope)
        let voiced =
            Model.voicingBias + Model.periodicityWeight * features.periodicity
            + Model.lowBandWeight * features.lowBandFraction + Model.zeroCrossingWeight * features.zeroCrossingRate
        return loud * logistic(voiced)
    }

    /// The constants of `speechProbability`, chosen on the speech-like test signal in clean and noisy conditions
    /// (see `VADTests`). Measured there (5th to 95th percentiles of 10 ms blocks): vowels have periodicity
    /// 0.86...1 in clean conditions and 0.59...0.98 at 10 dB SNR in white noise, noise of any colour 0.18...0.44;
    /// vowels keep 0.43...0.93 of their energy below 1 kHz, white noise 0.06...0.13 and brown noise 0.7...1; vowels
    /// cross zero 0.03...0.1 times per sample, white noise 0.44...0.57.
    enum Model {
        /// Loud: 50 % at 6 dB above the floor, 88 % at 9 dB, 12 % at 3 dB. The floor is a minimum, so steady
        /// noise itself sits 0...3 dB above it (up to 6 dB for brown noise, whose level swings most).
        static let loudnessMidpoint = 6.0
        static let loudnessSlope = 1.5
        /// Voice-like, in log-odds: 50 % at periodicity 0.6 with half the energy low and 0.1 crossings per
        /// sample. Periodicity dominates (0.1 of it multiplies the odds by e^1.6 ≈ 5); all the energy low is worth
        /// at most e^1 ≈ 2.7 and white noise's crossings cost e^1.6, which keeps brown noise (low-heavy, slow to
        /// cross zero) from passing on its spectrum alone.
        static let periodicityWeight = 16.0
        static let lowBandWeight = 2.0
        static let zeroCrossingWeight = -4.0
        static let voicingBias = -(16.0 * 0.6 + 2.0 * 0.5 - 4.0 * 0.1)
    }

    private static func logistic(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

    private mutating func decide(_ features: VoiceFeatures, blockEnd: Int, into events: inout [VoiceActivityEvent]) {
        let floor = floorTracker.update(levelDBFS: features.energyDBFS)
        let probability = Self.speechProbability(features, noiseFloorDBFS: floor)
        statistics.blocks += 1
        statistics.noiseFloorDBFS = floor
        statistics.lastProbability = probability
        statistics.lastFeatures = features

        if isSpeaking {
            if probability >= continueThreshold {
                lastSpeechEnd = blockEnd
                updateSpeechTotal()
            } else if blockEnd - lastSpeechEnd >= silenceSamples {
                events.append(stop())
            }
            return
        }
        if let start = candidateStart {
            if probability >= continueThreshold {
                candidateSpeech += blockLength
                candidateLastSpeechEnd = blockEnd
                if candidateSpeech >= minimumSpeechSamples { events.append(begin(at: start, blockEnd: blockEnd)) }
            } else if blockEnd - candidateLastSpeechEnd >= silenceSamples {
                candidateStart = nil
            }
        } else if probability >= startThreshold {
            candidateStart = blockStart
            candidateSpeech = blockLength
            candidateLastSpeechEnd = blockEnd
            if candidateSpeech >= minimumSpeechSamples { events.append(begin(at: blockStart, blockEnd: blockEnd)) }
        }
    }

    private mutating func begin(at start: Int, blockEnd: Int) -> VoiceActivityEvent {
        candidateStart = nil
        isSpeaking = true
        segmentStart = start
        lastSpeechEnd = blockEnd
        statistics.speechSegments += 1
        updateSpeechTotal()
        return .speechStarted(audioStartMs: milliseconds(atPosition: max(0, start - prefixSamples)))
    }

    private mutating func stop() -> VoiceActivityEvent {
        isSpeaking = false
        completedSpeechSamples += lastSpeechEnd - segmentStart
        updateSpeechTotal()
        return .speechStopped(audioEndMs: milliseconds(atPosition: lastSpeechEnd))
    }

    private mutating func updateSpeechTotal() {
        let current = isSpeaking ? lastSpeechEnd - segmentStart : 0
        statistics.speechMilliseconds = milliseconds(atPosition: completedSpeechSamples + current)
    }

    /// Audio from `expected` to `position` is missing: it counts as non-speech.
    private mutating func skipGap(from expected: Int, to position: Int, into events: inout [VoiceActivityEvent]) {
        statistics.gaps += 1
        extractor.reset()
        if candidateStart != nil, position - candidateLastSpeechEnd >= silenceSamples { candidateStart = nil }
        if isSpeaking, position - lastSpeechEnd >= silenceSamples { events.append(stop()) }
    }
}
