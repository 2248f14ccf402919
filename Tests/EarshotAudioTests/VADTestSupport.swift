import EarshotAudio
import EarshotImpairment
import EarshotOpus
import EarshotSimulation
import EarshotWire
import Foundation

/// Labelled speech for the detector tests: the speech-like signal and its ground truth. Generated once per rate
/// and shared, as a minute of it at 48 kHz takes seconds to synthesise in a debug build.
struct VADSpeech: Sendable {
    let signal: SpeechLikeSignal
    let samples: [Int16]
    let rate: Int

    init(seed: UInt64, sampleRate: OpusSampleRate, seconds: Int) {
        var signal = SpeechLikeSignal(seed: seed, sampleRate: sampleRate)
        samples = signal.samples(count: seconds * sampleRate.hertz)
        self.signal = signal
        rate = sampleRate.hertz
    }

    /// A minute of speech (about 23 talkspurts) at each rate the tests use.
    static let minute16k = VADSpeech(seed: 1, sampleRate: .hz16000, seconds: 60)
    static let minute48k = VADSpeech(seed: 1, sampleRate: .hz48000, seconds: 60)

    static func minute(at rate: OpusSampleRate) -> VADSpeech { rate == .hz48000 ? minute48k : minute16k }

    func milliseconds(_ position: Int) -> Double { Double(position) * 1000 / Double(rate) }

    /// The true talkspurts that lie wholly inside the samples, in milliseconds.
    var talkspurts: [ClosedRange<Double>] {
        signal.talkspurts(overlapping: 0..<samples.count).filter { $0.upperBound <= samples.count }.map {
            milliseconds($0.lowerBound)...milliseconds($0.upperBound)
        }
    }
}

/// Stationary noise of three colours, from a seed: white (flat), pink-ish (−3 dB/octave: a sum of one-pole low
/// passes two octaves apart, each weighted by 1/√corner, fed with the same white noise) and brown-ish
/// (−6 dB/octave above 10 Hz: a leaky integrator). Scaled to an exact RMS level (dBFS, 0 dBFS = a full-scale
/// square wave).
enum VADNoise {
    enum Colour: String, CaseIterable, Sendable { case white, pink, brown }

    static func make(_ colour: Colour, count: Int, rate: Int, levelDBFS: Double, seed: UInt64) -> [Double] {
        var generator = SplitMix64(seed: seed)
        var noise = [Double](repeating: 0, count: count)
        let fs = Double(rate)
        switch colour {
        case .white:
            for index in noise.indices { noise[index] = 2 * generator.nextUnit() - 1 }
        case .pink:
            let corners = [25.0, 100, 400, 1600, 6400].filter { $0 < 0.45 * fs }
            let coefficients = corners.map { 1 - exp(-2 * Double.pi * $0 / fs) }
            let gains = corners.map { 1 / $0.squareRoot() }
            var states = [Double](repeating: 0, count: corners.count)
            for index in noise.indices {
                let white = 2 * generator.nextUnit() - 1
                var sum = 0.0
                for k in states.indices {
                    states[k] += coefficients[k] * (white - states[k])
                    sum += gains[k] * states[k]
                }
                noise[index] = sum
            }
        case .brown:
            let leak = exp(-2 * Double.pi * 10 / fs)
            var state = 0.0
            for index in noise.indices {
                state = leak * state + (2 * generator.nextUnit() - 1)
                noise[index] = state
            }
        }
        let power = noise.reduce(0) { $0 + $1 * $1 } / Double(max(count, 1))
        let scale = power > 0 ? 32768 * pow(10, levelDBFS / 20) / power.squareRoot() : 0
        for index in noise.indices { noise[index] *= scale }
        return noise
    }

    /// `signal + noise`, rounded and clipped to 16 bits. (Plain loops over buffers: `zip` and `map` are ten
    /// times slower in a debug build, and these run over millions of samples.)
    static func mix(_ signal: [Int16], _ noise: [Double]) -> [Int16] {
        var mixed = [Int16](repeating: 0, count: min(signal.count, noise.count))
        signal.withUnsafeBufferPointer { signal in
            noise.withUnsafeBufferPointer { noise in
                mixed.withUnsafeMutableBufferPointer { mixed in
                    for index in mixed.indices { mixed[index] = pcm(Double(signal[index]) + noise[index]) }
                }
            }
        }
        return mixed
    }

    static func pcm(_ noise: [Double]) -> [Int16] { mix([Int16](repeating: 0, count: noise.count), noise) }

    static func pcm(_ value: Double) -> Int16 { Int16(max(-32768, min(32767, value.rounded()))) }
}

/// One pass of a detector over a signal, frame by frame, with where each event was reported.
struct VADRun {
    struct Reported: Equatable {
        var event: VoiceActivityEvent
        /// The position just after the frame whose processing reported it.
        var position: Int
    }

    /// A talkspurt as reported: `start` as in `speechStarted` (prefix padding included), `onset` without it
    /// (`start` + the padding: the signals' first talkspurt begins 1.4 s in, so no start here is floored at 0),
    /// `end` as in `speechStopped`, and when each was reported (milliseconds of media time).
    struct Segment {
        var start: Double
        var onset: Double
        var end: Double
        var startReported: Double
        var stopReported: Double
    }

    var reported: [Reported] = []
    var statistics: VoiceActivityStatistics
    var segments: [Segment] = []

    /// Runs `configuration` over `samples` in frames of `frameSamples` (the format's by default) at consecutive
    /// positions; ends with `finish()`, whose event is reported at the end of the samples.
    init(_ samples: [Int16], configuration: VoiceActivityDetector.Configuration, frameSamples: Int? = nil) throws {
        var detector = try VoiceActivityDetector(configuration: configuration)
        let frame = frameSamples ?? configuration.format.samplesPerFrame
        var events: [VoiceActivityEvent] = []
        var offset = 0
        while offset < samples.count {
            let end = min(samples.count, offset + frame)
            events.removeAll(keepingCapacity: true)
            samples[offset..<end].withUnsafeBufferPointer { detector.process($0, at: offset, into: &events) }
            reported += events.map { Reported(event: $0, position: end) }
            offset = end
        }
        if let last = detector.finish() { reported.append(Reported(event: last, position: samples.count)) }
        statistics = detector.statistics
        segments = Self.segments(reported, configuration: configuration)
    }

    /// Pairs starts with stops (they alternate, starting with a start: checked by the tests).
    static func segments(_ reported: [Reported], configuration: VoiceActivityDetector.Configuration) -> [Segment] {
        let ms = { (position: Int) in configuration.format.milliseconds(ofSamples: position) }
        let prefix = Double(configuration.prefixPadding.components.seconds) * 1000
            + Double(configuration.prefixPadding.components.attoseconds) / 1e15
        var segments: [Segment] = []
        var open: (start: Double, reported: Double)?
        for item in reported {
            switch item.event {
            case .speechStarted(let start): open = (start, ms(item.position))
            case .speechStopped(let end):
                guard let started = open else { continue }
                segments.append(
                    Segment(
                        start: started.start, onset: started.start + prefix, end: end, startReported: started.reported,
                        stopReported: ms(item.position)))
                open = nil
            }
        }
        return segments
    }

    /// Whether starts and stops alternate, beginning with a start, and media time never goes backwards.
    var isWellFormed: Bool {
        var speaking = false
        var last = -Double.infinity
        for item in reported {
            switch item.event {
            case .speechStarted:
                guard !speaking else { return false }
                speaking = true
            case .speechStopped(let end):
                guard speaking, end >= last else { return false }
                speaking = false
                last = end
            }
        }
        return !speaking
    }
}

/// A run scored against the ground truth.
struct VADScore {
    /// The share of 20 ms frames where the detector agrees with the truth (a frame is speech when half of it is;
    /// the detector says speech when the frame's centre lies between a segment's onset and end).
    var agreement: Double
    /// The same against the truth with pauses shorter than `silenceDuration` filled in: what a detector that
    /// must hold a talkspurt through such pauses can best reach.
    var bridgedAgreement: Double
    /// For each reported segment: onset minus the start of the first true talkspurt it overlaps (ms).
    var onsetErrors: [Double] = []
    /// For each reported segment: end minus the end of the last true talkspurt it overlaps (ms).
    var endErrors: [Double] = []
    /// For each reported segment: when its stop was reported, minus that true end (ms).
    var stopDelays: [Double] = []
    /// Complete true talkspurts that no segment overlaps.
    var missed = 0
    /// Segments that overlap no true talkspurt.
    var falseSegments = 0
    /// Pauses between true talkspurts, with whether the detector ended a segment in them.
    var pauses: [(duration: Double, split: Bool)] = []
    /// Reported segments, and the true talkspurts after joining those closer than `silenceDuration`.
    var segmentCount = 0
    var bridgedTalkspurtCount = 0

    init(_ run: VADRun, speech: VADSpeech, silenceMilliseconds: Double) {
        let truth = speech.talkspurts
        let segments = run.segments
        segmentCount = segments.count

        var bridged: [ClosedRange<Double>] = []
        for spurt in truth {
            if let last = bridged.last, spurt.lowerBound - last.upperBound < silenceMilliseconds {
                bridged[bridged.count - 1] = last.lowerBound...spurt.upperBound
            } else {
                bridged.append(spurt)
            }
        }
        bridgedTalkspurtCount = bridged.count

        let frame = speech.rate / 50
        var agree = 0
        var agreeBridged = 0
        var frames = 0
        var position = 0
        while position + frame <= speech.samples.count {
            let centre = speech.milliseconds(position + frame / 2)
            let isSpeech = speech.signal.speechFraction(in: position..<(position + frame)) >= 0.5
            let isBridged = bridged.contains { $0.contains(centre) }
            let detected = segments.contains { $0.onset <= centre && centre < $0.end }
            if detected == isSpeech { agree += 1 }
            if detected == isBridged { agreeBridged += 1 }
            frames += 1
            position += frame
        }
        agreement = Double(agree) / Double(frames)
        bridgedAgreement = Double(agreeBridged) / Double(frames)

        for segment in segments {
            let overlapped = truth.filter { $0.lowerBound < segment.end && $0.upperBound > segment.onset }
            guard let first = overlapped.first, let last = overlapped.last else {
                // A segment cut by the end of the signal may overlap only a talkspurt not wholly inside it.
                if segment.end < speech.milliseconds(speech.samples.count) - 1 { falseSegments += 1 }
                continue
            }
            onsetErrors.append(segment.onset - first.lowerBound)
            endErrors.append(segment.end - last.upperBound)
            if segment.stopReported < speech.milliseconds(speech.samples.count) {
                stopDelays.append(segment.stopReported - last.upperBound)
            }
        }
        missed = truth.filter { spurt in
            !segments.contains { $0.onset < spurt.upperBound && $0.end > spurt.lowerBound }
        }.count
        for (before, after) in zip(truth, truth.dropFirst()) {
            let joined = segments.contains { $0.onset < before.upperBound && $0.end > after.lowerBound }
            pauses.append((after.lowerBound - before.upperBound, !joined))
        }
    }

    /// Pauses at least `margin` longer than `silence` that were not split, and pauses at least `margin` shorter
    /// that were.
    func wrongPauses(silence: Double, margin: Double) -> (merged: Int, split: Int) {
        (
            pauses.filter { $0.duration >= silence + margin && !$0.split }.count,
            pauses.filter { $0.duration <= silence - margin && $0.split }.count
        )
    }
}

extension Array where Element == Double {
    var mean: Double { isEmpty ? .nan : reduce(0, +) / Double(count) }
}
