#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
public import EarshotOpus
import EarshotImpairment
import EarshotWire

/// A deterministic, speech-like test signal: mono 16-bit PCM generated from a seed, with a ground truth of where
/// the "speech" is.
///
/// It is not speech, but it has the properties that matter to a jitter buffer, to packet loss concealment and to
/// time stretching, which all assume a voice:
/// - **Talkspurts and pauses.** Talkspurts last 0.5...3 s and pauses 0.2...1.5 s (uniformly drawn), so speech takes
///   about 1.75 / (1.75 + 0.85) ≈ 67 % of the time. The signal starts with a pause. Pauses hold only a faint
///   background noise at −60 dBFS (white, present under the speech too), as a quiet room picked up by a microphone.
/// - **Syllables.** A talkspurt is a run of syllables of 150...350 ms (mean 250 ms: the ≈ 4 Hz syllable rate of
///   conversational speech). Each has a raised-sine amplitude envelope that dips to 10 % between syllables (the
///   syllable-rate modulation) and a random stress gain (0.6...1). About one syllable in three opens with an unvoiced
///   burst of 40...100 ms: high-passed noise, like a fricative or the release of a stop consonant.
/// - **Voicing.** The voiced part is a sum of harmonics of a fundamental that glides slowly: each talkspurt falls
///   from 100...125 % to 75...95 % of the speaker's pitch (declination) with a slow 8 % accent wave on top, kept
///   within 90...250 Hz. The speaker's pitch is drawn from 105...180 Hz for the whole signal. Harmonic amplitudes
///   fall with a −6 dB/octave tilt (glottal source and lip radiation) and are shaped by three formant resonances of
///   a vowel picked per syllable (the averages of Peterson & Barney, 1952, ±10 %), up to 7 kHz or 0.45 × the sample
///   rate, whichever is lower.
/// - **Level.** About −20 dBFS RMS over the talkspurts (a normalised speech level, leaving headroom for peaks),
///   where 0 dBFS is the RMS of a full-scale square wave (32768).
///
/// Sample index 0 is the first sample; `position` is the index of the next one `next(into:)` produces. The ground
/// truth (`isSpeech(at:)`, `activity(at:)`, `fundamentalFrequency(at:)`) can be asked for any index, past or future.
///
/// The plan (talkspurts, syllables, pitch) and the noise come from two generators derived from `seed`, so the same
/// seed yields the same samples at the same sample rate, and the same talkspurts at every rate.
public struct SpeechLikeSignal: Sendable {
    /// What the signal holds at a sample.
    public enum Activity: Hashable, Sendable {
        /// Between talkspurts: background noise only.
        case pause
        /// The harmonic (vowel) part of a syllable.
        case voiced
        /// The noise burst that opens some syllables.
        case unvoiced
    }

    // MARK: Parameters (see the type's documentation for the reasons)

    /// Talkspurt durations in seconds.
    public static let talkspurtDuration = 0.5...3.0
    /// Pause durations in seconds.
    public static let pauseDuration = 0.2...1.5
    /// Syllable durations in seconds (mean 0.25 s, a 4 Hz syllable rate).
    public static let syllableDuration = 0.15...0.35
    /// The range the fundamental frequency stays in, in hertz.
    public static let pitchRange = 90.0...250.0
    /// The RMS level over the talkspurts, in dBFS.
    public static let speechLevel = -20.0
    /// The level of the background noise, in dBFS.
    public static let noiseLevel = -60.0

    static let speakerPitch = 105.0...180.0
    static let pitchAtStart = 1.0...1.25
    static let pitchAtEnd = 0.75...0.95
    /// Depth and rate (hertz) of the accent wave on the pitch.
    static let accentDepth = 0.08
    static let accentRate = 0.7...1.4
    /// Envelope floor between syllables, relative to the syllable peak.
    static let syllableFloor = 0.1
    static let stressGain = 0.6...1.0
    static let unvoicedOnsetProbability = 0.35
    static let unvoicedOnsetDuration = 0.04...0.1
    /// Unvoiced bursts peak 6 dB below the vowels, as fricatives are weaker than vowels.
    static let unvoicedRelativeLevel = 0.5
    /// The shortest syllable kept at the end of a talkspurt; a shorter remainder joins the syllable before.
    static let shortestSyllable = 0.1
    /// Formants (F1, F2, F3 in hertz) of five vowels: /i/, /e/ (as in "bet"), /a/ (as in "father"), /o/ (as in
    /// "bought"), /u/: the men's averages of Peterson & Barney (1952).
    static let vowels: [(Double, Double, Double)] = [
        (270, 2290, 3010), (530, 1840, 2480), (730, 1090, 2440), (570, 840, 2410), (300, 870, 2240),
    ]
    /// Formant half-bandwidths in hertz and relative peak gains: typical values for F1...F3 of an adult voice.
    static let formantBandwidths = (80.0, 100.0, 150.0)
    static let formantGains = (1.0, 0.6, 0.3)
    /// The spectral envelope never falls below this, so no harmonic vanishes entirely.
    static let formantFloor = 0.03
    /// The highest harmonic frequency: 7 kHz (the upper edge of most speech energy), or 0.45 × the sample rate
    /// (below Nyquist with a margin) at 8...12 kHz.
    static let highestHarmonic = 7000.0
    /// Envelopes are smoothed with a 5 ms time constant (no clicks at syllable and talkspurt edges); harmonic
    /// amplitudes are recomputed every millisecond and smoothed with 10 ms.
    static let envelopeTimeConstant = 0.005
    static let spectrumTimeConstant = 0.010
    /// The carrier's RMS is set so that the talkspurts average `speechLevel`: the square root of the mean of the
    /// squared envelope (floor 0.1 raised sine: 0.53) times the mean squared stress gain (0.65) gives 0.588; the
    /// remaining 4 % (0.34 dB lost to the talkspurt fades, the quieter unvoiced bursts and the envelope smoothing)
    /// was measured over ten minutes of signal at 16 kHz.
    static let carrierGain = 1 / 0.588 * 1.04
    /// Each talkspurt fades in and out over 20 ms, so that the smoothed envelope is back at zero by the pause.
    static let talkspurtFade = 0.02

    // MARK: State

    public let seed: UInt64
    public let sampleRate: OpusSampleRate
    /// The index of the next sample `next(into:)` produces.
    public private(set) var position = 0

    private var plan: Plan
    private var noise: SplitMix64
    /// The talkspurt at or after `position`, the syllable at or after it, and the next sample where either
    /// changes: cached so that most samples do not touch the plan.
    private var talkspurtIndex = 0
    private var syllableIndex = 0
    private var talkspurt: Talkspurt?
    private var syllable: Syllable?
    private var nextBoundary = 0
    private var activeHarmonics = 0
    private var phase = 0.0
    private var fundamental = 0.0
    private var amplitudes: [Double]
    private var voicedEnvelope = 0.0
    private var unvoicedEnvelope = 0.0
    private var previousWhite = 0.0

    private let blockLength: Int
    private let envelopeSmoothing: Double
    private let spectrumSmoothing: Double
    private let topFrequency: Double
    private let speechRMS: Double
    private let noiseRMS: Double

    public init(seed: UInt64, sampleRate: OpusSampleRate) {
        self.seed = seed
        self.sampleRate = sampleRate
        var seeds = SplitMix64(seed: seed)
        plan = Plan(seed: seeds.next(), sampleRate: sampleRate.hertz)
        noise = SplitMix64(seed: seeds.next())
        let rate = Double(sampleRate.hertz)
        topFrequency = min(Self.highestHarmonic, 0.45 * rate)
        amplitudes = [Double](repeating: 0, count: Int(topFrequency / Self.pitchRange.lowerBound) + 1)
        // One millisecond.
        blockLength = sampleRate.hertz / 1000
        envelopeSmoothing = 1 - exp(-1 / (Self.envelopeTimeConstant * rate))
        spectrumSmoothing = 1 - exp(-1 / (Self.spectrumTimeConstant * 1000))
        speechRMS = 32768 * pow(10, Self.speechLevel / 20)
        noiseRMS = 32768 * pow(10, Self.noiseLevel / 20)
    }

    // MARK: Generating

    /// Fills `buffer` with the next `buffer.count` samples.
    public mutating func next(into buffer: UnsafeMutableBufferPointer<Int16>) {
        for index in buffer.indices {
            buffer[index] = nextSample()
        }
    }

    /// Overwrites every element of `samples` with the next `samples.count` samples (no allocation).
    public mutating func next(into samples: inout [Int16]) {
        samples.withUnsafeMutableBufferPointer { next(into: $0) }
    }

    /// The next `count` samples.
    public mutating func samples(count: Int) -> [Int16] {
        var samples = [Int16](repeating: 0, count: count)
        next(into: &samples)
        return samples
    }

    // MARK: Ground truth

    /// Whether sample `sampleIndex` lies in a talkspurt (voiced or unvoiced), as a voice activity truth.
    public func isSpeech(at sampleIndex: Int) -> Bool {
        activity(at: sampleIndex) != .pause
    }

    /// What the signal holds at sample `sampleIndex`.
    public func activity(at sampleIndex: Int) -> Activity {
        guard let (_, syllable) = plan.locate(sampleIndex) else { return .pause }
        return sampleIndex < syllable.voicingStart ? .unvoiced : .voiced
    }

    /// The fraction of the samples in `range` that are speech (e.g. a frame's voice activity, 0...1).
    public func speechFraction(in range: Range<Int>) -> Double {
        guard !range.isEmpty else { return 0 }
        return Double(plan.speechSampleCount(in: range)) / Double(range.count)
    }

    /// The talkspurts (sample ranges, in order) that overlap `range`, unclipped; everything between them is pause.
    public func talkspurts(overlapping range: Range<Int>) -> [Range<Int>] {
        plan.talkspurts(overlapping: range)
    }

    /// The fundamental frequency in hertz at sample `sampleIndex`, or nil where the signal is not voiced.
    public func fundamentalFrequency(at sampleIndex: Int) -> Double? {
        guard let (talkspurt, syllable) = plan.locate(sampleIndex), sampleIndex >= syllable.voicingStart else {
            return nil
        }
        return talkspurt.pitch(at: sampleIndex, sampleRate: Double(sampleRate.hertz))
    }

    // MARK: Synthesis

    private mutating func nextSample() -> Int16 {
        let n = position
        position += 1
        if n >= nextBoundary { advance(to: n) }
        let rate = Double(sampleRate.hertz)

        var voicedTarget = 0.0
        var unvoicedTarget = 0.0
        if let talkspurt, let syllable {
            // A 20 ms raised-cosine fade at both ends of the talkspurt, so that it starts and ends at zero.
            let fadeLength = Self.talkspurtFade * rate
            let edge = Double(min(n - talkspurt.range.lowerBound, talkspurt.range.upperBound - 1 - n))
            let fade = edge < fadeLength ? 0.5 - 0.5 * cos(Double.pi * edge / fadeLength) : 1
            if n < syllable.voicingStart {
                let progress = Double(n - syllable.range.lowerBound)
                    / Double(syllable.voicingStart - syllable.range.lowerBound)
                unvoicedTarget = fade * syllable.gain * Self.unvoicedRelativeLevel * sin(Double.pi * progress)
            } else {
                let progress = Double(n - syllable.voicingStart)
                    / Double(syllable.range.upperBound - syllable.voicingStart)
                voicedTarget = fade * syllable.gain
                    * (Self.syllableFloor + (1 - Self.syllableFloor) * sin(Double.pi * progress))
            }
            if n % blockLength == 0 { updateSpectrum(talkspurt: talkspurt, syllable: syllable, at: n) }
        } else if n % blockLength == 0 {
            decaySpectrum()
        }
        voicedEnvelope += envelopeSmoothing * (voicedTarget - voicedEnvelope)
        unvoicedEnvelope += envelopeSmoothing * (unvoicedTarget - unvoicedEnvelope)

        let carrierRMS = speechRMS * Self.carrierGain
        var value = (2 * noise.nextUnit() - 1) * 3.0.squareRoot() * noiseRMS

        phase += 2 * Double.pi * fundamental / rate
        if phase >= 2 * Double.pi { phase -= 2 * Double.pi }
        if voicedEnvelope > 1e-6 {
            value += carrierRMS * voicedEnvelope * harmonicSum()
        }
        // First difference of uniform white noise in [-1, 1): a +6 dB/octave (fricative-like) spectrum with RMS
        // (2/3)^½; scaled to RMS 1.
        let white = 2 * noise.nextUnit() - 1
        if unvoicedEnvelope > 1e-6 {
            value += carrierRMS * unvoicedEnvelope * (white - previousWhite) / (2.0 / 3).squareRoot()
        }
        previousWhite = white
        return Int16(max(-32768, min(32767, value.rounded())))
    }

    /// Moves the cached talkspurt and syllable to sample `n` (called at boundaries only).
    private mutating func advance(to n: Int) {
        plan.extend(through: n)
        while plan.talkspurts[talkspurtIndex].range.upperBound <= n {
            talkspurtIndex += 1
            syllableIndex = plan.talkspurts[talkspurtIndex].syllables.lowerBound
        }
        let current = plan.talkspurts[talkspurtIndex]
        guard current.range.contains(n) else {
            talkspurt = nil
            syllable = nil
            nextBoundary = current.range.lowerBound
            return
        }
        syllableIndex = max(syllableIndex, current.syllables.lowerBound)
        while plan.syllables[syllableIndex].range.upperBound <= n { syllableIndex += 1 }
        talkspurt = current
        syllable = plan.syllables[syllableIndex]
        nextBoundary = plan.syllables[syllableIndex].range.upperBound
    }

    /// Σ a_k sin(kφ), with sin(kφ) by the Chebyshev recurrence sin((k+1)φ) = 2cos φ sin(kφ) − sin((k−1)φ): one sine
    /// and one cosine per sample whatever the number of harmonics.
    private func harmonicSum() -> Double {
        let first = sin(phase)
        let twiceCosine = 2 * cos(phase)
        var previous = 0.0
        var current = first
        var sum = 0.0
        for index in 0..<activeHarmonics {
            sum += amplitudes[index] * current
            let next = twiceCosine * current - previous
            previous = current
            current = next
        }
        return sum
    }

    /// Recomputes the harmonic amplitudes for the pitch and vowel at `n`, normalised to RMS 1, and smooths towards
    /// them.
    private mutating func updateSpectrum(talkspurt: Talkspurt, syllable: Syllable, at n: Int) {
        fundamental = talkspurt.pitch(at: n, sampleRate: Double(sampleRate.hertz))
        var targets = [Double](repeating: 0, count: amplitudes.count)
        var power = 0.0
        var count = 0
        for index in targets.indices {
            let frequency = Double(index + 1) * fundamental
            guard frequency < topFrequency else { break }
            count = index + 1
            // −6 dB/octave tilt, a formant envelope, and a taper over the top 20 % of the band.
            let taper = min(1, (topFrequency - frequency) / (0.2 * topFrequency))
            let amplitude = syllable.spectralEnvelope(at: frequency) / Double(index + 1) * taper
            targets[index] = amplitude
            power += amplitude * amplitude / 2
        }
        let scale = power > 0 ? 1 / power.squareRoot() : 0
        // Harmonics above the band were tapered to nothing: they are left out of the sum.
        activeHarmonics = count
        for index in amplitudes.indices {
            amplitudes[index] += spectrumSmoothing * (targets[index] * scale - amplitudes[index])
        }
    }

    private mutating func decaySpectrum() {
        for index in amplitudes.indices { amplitudes[index] -= spectrumSmoothing * amplitudes[index] }
    }
}

// MARK: The plan

extension SpeechLikeSignal {
    /// One syllable: an optional unvoiced onset, then a voiced nucleus with one vowel's formants.
    struct Syllable: Sendable {
        var range: Range<Int>
        /// The first voiced sample (equal to `range.lowerBound` when there is no unvoiced onset).
        var voicingStart: Int
        var formants: (Double, Double, Double)
        var gain: Double

        func spectralEnvelope(at frequency: Double) -> Double {
            func resonance(_ centre: Double, _ bandwidth: Double, _ gain: Double) -> Double {
                let x = (frequency - centre) / bandwidth
                return gain / (1 + x * x)
            }
            let (b1, b2, b3) = SpeechLikeSignal.formantBandwidths
            let (g1, g2, g3) = SpeechLikeSignal.formantGains
            return SpeechLikeSignal.formantFloor + resonance(formants.0, b1, g1) + resonance(formants.1, b2, g2)
                + resonance(formants.2, b3, g3)
        }
    }

    /// One talkspurt: its span, its syllables and its intonation.
    struct Talkspurt: Sendable {
        var range: Range<Int>
        /// Indices of its syllables in `Plan.syllables`.
        var syllables: Range<Int>
        var pitchAtStart: Double
        var pitchAtEnd: Double
        var accentRate: Double
        var accentPhase: Double

        func pitch(at n: Int, sampleRate: Double) -> Double {
            let elapsed = Double(n - range.lowerBound)
            let progress = elapsed / Double(range.count)
            let glide = pitchAtStart + (pitchAtEnd - pitchAtStart) * progress
            let accent = 1 + SpeechLikeSignal.accentDepth * sin(2 * Double.pi * accentRate * elapsed / sampleRate + accentPhase)
            return min(max(glide * accent, SpeechLikeSignal.pitchRange.lowerBound), SpeechLikeSignal.pitchRange.upperBound)
        }
    }

    /// The talkspurts drawn so far, from their own generator; extended on demand. Each starts after a pause.
    struct Plan: Sendable {
        private var generator: SplitMix64
        private let sampleRate: Double
        private let speakerPitch: Double
        private(set) var talkspurts: [Talkspurt] = []
        private(set) var syllables: [Syllable] = []
        /// The end of the last talkspurt drawn: the plan covers [0, end).
        private(set) var end = 0

        init(seed: UInt64, sampleRate: Int) {
            generator = SplitMix64(seed: seed)
            self.sampleRate = Double(sampleRate)
            speakerPitch = Self.draw(SpeechLikeSignal.speakerPitch, &generator)
        }

        private static func draw(_ range: ClosedRange<Double>, _ generator: inout SplitMix64) -> Double {
            range.lowerBound + generator.nextUnit() * (range.upperBound - range.lowerBound)
        }

        private mutating func samples(_ range: ClosedRange<Double>) -> Int {
            Int((Self.draw(range, &generator) * sampleRate).rounded())
        }

        /// Draws talkspurts until the plan covers sample `n`.
        mutating func extend(through n: Int) {
            while end <= n { appendTalkspurt() }
        }

        private mutating func appendTalkspurt() {
            // The draws happen in a fixed order, in seconds, so every sample rate gets the same plan.
            let start = end + samples(SpeechLikeSignal.pauseDuration)
            let stop = start + samples(SpeechLikeSignal.talkspurtDuration)
            let pitchAtStart = speakerPitch * Self.draw(SpeechLikeSignal.pitchAtStart, &generator)
            let pitchAtEnd = speakerPitch * Self.draw(SpeechLikeSignal.pitchAtEnd, &generator)
            let accentRate = Self.draw(SpeechLikeSignal.accentRate, &generator)
            let accentPhase = Self.draw(0...(2 * Double.pi), &generator)

            let firstSyllable = syllables.count
            var cursor = start
            let shortest = Int(SpeechLikeSignal.shortestSyllable * sampleRate)
            while cursor < stop {
                var syllableEnd = min(stop, cursor + samples(SpeechLikeSignal.syllableDuration))
                if stop - syllableEnd < shortest { syllableEnd = stop }
                let hasOnset = generator.nextBernoulli(SpeechLikeSignal.unvoicedOnsetProbability)
                let onset = samples(SpeechLikeSignal.unvoicedOnsetDuration)
                // An onset takes at most half the syllable, so the vowel always dominates.
                let voicingStart = hasOnset ? cursor + min(onset, (syllableEnd - cursor) / 2) : cursor
                let vowel = SpeechLikeSignal.vowels[Int(generator.next() % UInt64(SpeechLikeSignal.vowels.count))]
                let formants = (
                    vowel.0 * Self.draw(0.9...1.1, &generator), vowel.1 * Self.draw(0.9...1.1, &generator),
                    vowel.2 * Self.draw(0.9...1.1, &generator))
                let gain = Self.draw(SpeechLikeSignal.stressGain, &generator)
                syllables.append(
                    Syllable(range: cursor..<syllableEnd, voicingStart: voicingStart, formants: formants, gain: gain))
                cursor = syllableEnd
            }
            talkspurts.append(
                Talkspurt(
                    range: start..<stop, syllables: firstSyllable..<syllables.count, pitchAtStart: pitchAtStart, pitchAtEnd: pitchAtEnd,
                    accentRate: accentRate, accentPhase: accentPhase))
            end = stop
        }

        /// The talkspurt and syllable holding sample `n`, or nil in a pause. Extends a copy of the plan for a sample
        /// beyond it (the stored plan is unchanged, and will be drawn identically).
        func locate(_ n: Int) -> (Talkspurt, Syllable)? {
            guard n >= 0 else { return nil }
            if n >= end {
                var further = self
                further.extend(through: n)
                return further.locate(n)
            }
            guard let talkspurt = talkspurt(containing: n) else { return nil }
            let index = Self.firstIndex(in: syllables[talkspurt.syllables]) { $0.range.upperBound > n }
            return (talkspurt, syllables[index])
        }

        func speechSampleCount(in range: Range<Int>) -> Int {
            talkspurts(overlapping: range).reduce(0) { $0 + $1.clamped(to: range).count }
        }

        func talkspurts(overlapping range: Range<Int>) -> [Range<Int>] {
            guard !range.isEmpty else { return [] }
            var plan = self
            plan.extend(through: range.upperBound)
            let first = Self.firstIndex(in: plan.talkspurts[...]) { $0.range.upperBound > range.lowerBound }
            var ranges: [Range<Int>] = []
            for talkspurt in plan.talkspurts[first...] {
                if talkspurt.range.lowerBound >= range.upperBound { break }
                ranges.append(talkspurt.range)
            }
            return ranges
        }

        private func talkspurt(containing n: Int) -> Talkspurt? {
            let index = Self.firstIndex(in: talkspurts[...]) { $0.range.upperBound > n }
            guard index < talkspurts.count, talkspurts[index].range.contains(n) else { return nil }
            return talkspurts[index]
        }

        /// Binary search: the first index whose element satisfies `isAfter` (a predicate false then true along the
        /// slice), or `endIndex`.
        private static func firstIndex<Element>(in elements: ArraySlice<Element>, where isAfter: (Element) -> Bool)
            -> Int
        {
            var low = elements.startIndex
            var high = elements.endIndex
            while low < high {
                let middle = (low + high) / 2
                if isAfter(elements[middle]) { high = middle } else { low = middle + 1 }
            }
            return low
        }
    }
}
