import EarshotOpus
import EarshotSimulation
import Foundation
import Testing

/// The speech-like test signal: reproducible, shaped and levelled as documented on `SpeechLikeSignal`, and coded
/// faithfully by Opus.
@Suite("Speech-like signal")
struct SignalSpeechLikeTests {
    typealias M = SignalMeasurements

    @Test("The same seed gives the same samples; another seed, others")
    func deterministic() {
        var a = SpeechLikeSignal(seed: 7, sampleRate: .hz16000)
        var b = SpeechLikeSignal(seed: 7, sampleRate: .hz16000)
        var c = SpeechLikeSignal(seed: 8, sampleRate: .hz16000)
        let first = a.samples(count: 48_000)
        #expect(first == b.samples(count: 48_000))
        #expect(first != c.samples(count: 48_000))
        #expect(a.position == 48_000)
    }

    @Test("Incremental generation in any chunk sizes equals one long call")
    func incremental() {
        var whole = SpeechLikeSignal(seed: 3, sampleRate: .hz8000)
        let reference = whole.samples(count: 40_000)
        var pieces = SpeechLikeSignal(seed: 3, sampleRate: .hz8000)
        var joined: [Int16] = []
        // Chunk sizes that do not divide the 1 ms block (8 samples), nor each other.
        var frame = [Int16](repeating: 0, count: 160)
        let sizes = [1, 7, 160, 333, 1000]
        var index = 0
        while joined.count < reference.count {
            let size = min(sizes[index % sizes.count], reference.count - joined.count)
            if size == frame.count {
                pieces.next(into: &frame)
                joined += frame
            } else {
                joined += pieces.samples(count: size)
            }
            index += 1
        }
        #expect(joined == reference)
    }

    @Test("Talkspurts and pauses last as documented, speech ≈ 67 % of the time")
    func talkspurtStatistics() {
        let rate = 8000
        let signal = SpeechLikeSignal(seed: 11, sampleRate: .hz8000)
        // One hour of plan (no samples need generating): about 1400 talkspurts.
        let hour = 0..<(3600 * rate)
        let spurts = signal.talkspurts(overlapping: hour).filter { $0.upperBound <= hour.upperBound }
        let durations = spurts.map { Double($0.count) / Double(rate) }
        let pauses = zip([0..<0] + spurts, spurts).map { Double($0.1.lowerBound - $0.0.upperBound) / Double(rate) }
        #expect(spurts.count > 1200)
        #expect(durations.allSatisfy { (0.5...3.0).contains($0) })
        #expect(pauses.allSatisfy { (0.2...1.5).contains($0) })
        // Means of uniform draws: 1.75 s and 0.85 s; with ~1400 draws, the standard error is about 0.02 s.
        #expect(abs(durations.reduce(0, +) / Double(durations.count) - 1.75) < 0.08)
        #expect(abs(pauses.reduce(0, +) / Double(pauses.count) - 0.85) < 0.04)
        let fraction = signal.speechFraction(in: hour)
        #expect(abs(fraction - 1.75 / 2.6) < 0.03, "speech \(fraction)")
        // The truth agrees with itself.
        let probe = spurts[10]
        #expect(signal.isSpeech(at: probe.lowerBound) && !signal.isSpeech(at: probe.lowerBound - 1))
        #expect(signal.isSpeech(at: probe.upperBound - 1) && !signal.isSpeech(at: probe.upperBound))
        #expect(signal.speechFraction(in: probe) == 1)
    }

    @Test("The plan is the same at every sample rate")
    func samePlanAtEveryRate() {
        let low = SpeechLikeSignal(seed: 5, sampleRate: .hz8000)
        let high = SpeechLikeSignal(seed: 5, sampleRate: .hz48000)
        let lowSpurts = low.talkspurts(overlapping: 0..<(60 * 8000))
        let highSpurts = high.talkspurts(overlapping: 0..<(60 * 48000))
        #expect(lowSpurts.count == highSpurts.count)
        for (a, b) in zip(lowSpurts, highSpurts) {
            // Rounded to the sample at each rate: within one 8 kHz sample (6 at 48 kHz) per boundary drawn so far.
            #expect(abs(a.lowerBound * 6 - b.lowerBound) <= 6 * 2 * lowSpurts.count)
        }
    }

    @Test("Speech is at about −20 dBFS, pauses at about −60 dBFS, nothing clips", arguments: [
        OpusSampleRate.hz8000, .hz16000, .hz24000, .hz48000,
    ])
    func levels(_ sampleRate: OpusSampleRate) {
        let rate = sampleRate.hertz
        var signal = SpeechLikeSignal(seed: 21, sampleRate: sampleRate)
        // A minute at 8 and 16 kHz, 30 s above (about 20 and 10 talkspurts: the level is set per talkspurt and
        // varies little between them).
        let count = (rate <= 16000 ? 60 : 30) * rate
        let pcm = signal.samples(count: count)
        let spurts = signal.talkspurts(overlapping: 0..<count)
        let speech = M.level(pcm, over: spurts)
        // Pauses, from 50 ms after a talkspurt ends (the envelope's 5 ms smoothing has died away) to its successor.
        let settle = rate / 20
        let gaps = zip([0..<0] + spurts, spurts + [count..<count]).compactMap { before, after -> Range<Int>? in
            let start = before.upperBound + (before.isEmpty ? 0 : settle)
            return start < after.lowerBound ? start..<after.lowerBound : nil
        }
        let pause = M.level(pcm, over: gaps)
        #expect(abs(speech - SpeechLikeSignal.speechLevel) < 1, "speech \(speech) dBFS")
        #expect(abs(pause - SpeechLikeSignal.noiseLevel) < 1, "pause \(pause) dBFS")
        let peak = pcm.map { abs(Int($0)) }.max() ?? 0
        #expect(peak < 32767, "peak \(peak)")
    }

    @Test("The fundamental stays in 90…250 Hz and the waveform's period matches it", arguments: [
        OpusSampleRate.hz16000, .hz48000,
    ])
    func pitch(_ sampleRate: OpusSampleRate) {
        let rate = sampleRate.hertz
        var signal = SpeechLikeSignal(seed: 31, sampleRate: sampleRate)
        let pcm = signal.samples(count: 30 * rate)
        // 40 ms windows every 100 ms that are voiced throughout.
        let window = rate / 25
        var checked = 0
        var matched = 0
        var truths: [Double] = []
        for start in stride(from: 0, to: pcm.count - window, by: rate / 10) {
            let truth = (start..<(start + window)).compactMap { signal.fundamentalFrequency(at: $0) }
            guard truth.count == window else { continue }
            truths += truth
            let centre = truth[window / 2]
            checked += 1
            if let estimate = M.pitch(pcm[start..<(start + window)], sampleRate: rate, range: 70...300),
               abs(estimate - centre) <= 0.05 * centre
            {
                matched += 1
            }
        }
        #expect(checked > 100)
        #expect(truths.allSatisfy { SpeechLikeSignal.pitchRange.contains($0) })
        #expect(Double(matched) >= 0.9 * Double(checked), "\(matched) of \(checked) windows")
        // The intonation moves: the pitch spans more than 20 % of its mean over 30 s.
        let spread = (truths.max() ?? 0) - (truths.min() ?? 0)
        #expect(spread > 0.2 * truths.reduce(0, +) / Double(truths.count))
    }

    @Test("Unvoiced bursts are noise: far more zero crossings than the vowels")
    func unvoicedBursts() {
        let rate = 16000
        var signal = SpeechLikeSignal(seed: 41, sampleRate: .hz16000)
        let pcm = signal.samples(count: 30 * rate)
        var voiced: [Int16] = []
        var unvoiced: [Int16] = []
        for index in pcm.indices {
            switch signal.activity(at: index) {
            case .voiced: voiced.append(pcm[index])
            case .unvoiced: unvoiced.append(pcm[index])
            case .pause: break
            }
        }
        let speech = voiced.count + unvoiced.count
        let share = Double(unvoiced.count) / Double(speech)
        // About one syllable in three opens with 40...100 ms of noise: roughly 10 % of the speech.
        #expect((0.05...0.2).contains(share), "unvoiced share \(share)")
        let voicedRate = M.zeroCrossingRate(voiced[...], sampleRate: rate)
        let unvoicedRate = M.zeroCrossingRate(unvoiced[...], sampleRate: rate)
        #expect(unvoicedRate > 4 * voicedRate, "\(unvoicedRate) vs \(voicedRate) crossings/s")
    }

    @Test("The level is modulated at the syllable rate, about 4 Hz")
    func syllableRate() {
        let rate = 8000
        var signal = SpeechLikeSignal(seed: 51, sampleRate: .hz8000)
        let pcm = signal.samples(count: 120 * rate)
        // The RMS envelope in 10 ms frames over talkspurts of 2 s or more, and its power spectrum from 1 to 10 Hz.
        let frame = rate / 100
        let frequencies = stride(from: 1.0, through: 10.0, by: 0.25).map { $0 }
        var power = [Double](repeating: 0, count: frequencies.count)
        for spurt in signal.talkspurts(overlapping: 0..<pcm.count) where spurt.count >= 2 * rate {
            guard spurt.upperBound <= pcm.count else { continue }
            let envelope = stride(from: spurt.lowerBound, to: spurt.upperBound - frame, by: frame).map { start in
                pow(10, M.level(pcm[start..<(start + frame)]) / 20)
            }
            let mean = envelope.reduce(0, +) / Double(envelope.count)
            for (index, frequency) in frequencies.enumerated() {
                var re = 0.0
                var im = 0.0
                for (k, value) in envelope.enumerated() {
                    let angle = 2 * Double.pi * frequency * Double(k) / 100
                    re += (value - mean) * cos(angle)
                    im += (value - mean) * sin(angle)
                }
                power[index] += re * re + im * im
            }
        }
        let peak = frequencies[power.indices.max { power[$0] < power[$1] } ?? 0]
        #expect((3.0...5.5).contains(peak), "modulation peak at \(peak) Hz")
    }

    /// Opus in its default voice configuration (SILK or hybrid at the automatic bitrate) keeps the waveform: after
    /// removing the codec delay the decoded speech correlates above 0.9 with the input. Measured over the talkspurts
    /// from the second talkspurt on (the encoder adapts over the first).
    @Test("Opus codes it faithfully", arguments: [OpusSampleRate.hz16000, .hz48000])
    func opusRoundTrip(_ sampleRate: OpusSampleRate) throws {
        let rate = sampleRate.hertz
        var signal = SpeechLikeSignal(seed: 61, sampleRate: sampleRate)
        let input = signal.samples(count: 20 * rate)
        let encoder = try OpusEncoder(.init(sampleRate: sampleRate))
        let decoder = try OpusDecoder(sampleRate: sampleRate)
        let output = try M.opusRoundTrip(input, encoder: encoder, decoder: decoder)
        #expect(output.count == input.count)

        let spurts = signal.talkspurts(overlapping: 0..<input.count).dropFirst().filter {
            $0.upperBound + rate / 50 < input.count
        }
        #expect(spurts.count >= 4)
        // The delay is the encoder's lookahead in SILK modes up to a few samples; search ±2.5 ms around it.
        let margin = rate / 400
        let lags = max(0, encoder.lookahead - margin)..<(encoder.lookahead + margin)
        let alignment = M.bestAlignment(input: input, output: output, window: spurts[0], lags: lags)
        var overall: (input: [Int16], output: [Int16]) = ([], [])
        var worst = 1.0
        for spurt in spurts {
            let shifted = (spurt.lowerBound + alignment.lag)..<(spurt.upperBound + alignment.lag)
            overall.input += input[spurt]
            overall.output += output[shifted]
            worst = min(worst, M.correlation(input[spurt], output[shifted]))
        }
        // Measured with libopus 1.3.1: 0.95 over all the speech, 0.92 for the worst talkspurt.
        let correlation = M.correlation(overall.input[...], overall.output[...])
        #expect(correlation > 0.9, "lag \(alignment.lag), correlation \(correlation)")
        #expect(worst > 0.85, "worst talkspurt correlation \(worst)")
    }
}
