#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What the detector measures on one 10 ms analysis block.
public struct VoiceFeatures: Hashable, Sendable {
    /// The block's level in dBFS after DC removal, where 0 dBFS is the RMS of a full-scale square wave (the
    /// convention of the rest of the audio code); −120 for digital silence.
    public var energyDBFS: Double
    /// The share of the block's energy below about 1 kHz (0...1). Voiced speech keeps most of its energy there
    /// (the fundamental and the first formant); hiss and fricatives do not.
    public var lowBandFraction: Double
    /// Sign changes per sample (0...1). White noise crosses zero about every other sample (≈ 0.5), a vowel a few
    /// times per pitch period.
    public var zeroCrossingRate: Double
    /// The best normalised autocorrelation (0...1) over pitch lags of 2.5...14 ms (400...70 Hz), over the last
    /// 20 ms of the signal band-limited to about 1 kHz, pre-emphasised and decimated to 4 kHz. Voiced speech is
    /// periodic (≈ 0.7...0.95); noise of any colour is not (≈ 0.2...0.45).
    public var periodicity: Double
}

/// Streaming feature extraction for `VoiceActivityDetector`: every sample goes through a DC blocker, a two-pole low
/// pass and a box-car decimator (O(1) work per sample), and each 10 ms block ends with one periodicity search on
/// 4 kHz samples (a fixed 48 lags × 80 products whatever the input rate). Storage is allocated once, in `init`.
struct VoiceFeatureExtractor {
    /// Samples per 10 ms analysis block at the input rate.
    let blockLength: Int
    /// Input samples per decimated sample (the input rate over 4 kHz: 2, 3, 4, 6 or 12).
    let decimation: Int

    /// The decimated rate. 4 kHz holds the fundamental and the strongest harmonics of any voice, and keeps the
    /// periodicity search small.
    static let decimatedRate = 4000
    /// Decimated samples per block (10 ms at 4 kHz).
    static let decimatedBlock = 40
    /// The periodicity window: 20 ms at 4 kHz, at least one period of the lowest pitch searched plus a margin (a
    /// multiple of 4, for the unrolled correlation).
    static let window = 80
    /// Pitch lags at 4 kHz: 400 Hz (10 samples) down to 70 Hz (57 samples), the range of adult and children's
    /// voices.
    static let shortestLag = 10
    static let longestLag = 57
    /// The DC blocker's corner, below any voice's fundamental: removes offsets and rumble that would otherwise
    /// count as energy.
    static let dcCorner = 60.0
    /// The low-pass corner that splits the low band and band-limits before decimation.
    static let lowPassCorner = 1000.0
    /// Pre-emphasis at 4 kHz before the periodicity search: whitens brown (1/f²) and pink noise, whose strong low
    /// frequencies would otherwise correlate over a few milliseconds and pass for voicing.
    static let preEmphasis: Float = 0.95
    /// The level reported for digital silence, and the lowest level any block reports.
    static let silenceDBFS = -120.0

    private let dcCoefficient: Float
    private let lowPassCoefficient: Float

    // Per-sample state.
    private var dcInput: Float = 0
    private var dcOutput: Float = 0
    private var lowPass1: Float = 0
    private var lowPass2: Float = 0
    private var previousPositive = false
    private var decimationSum: Float = 0
    private var decimationCount = 0
    private var previousDecimated: Float = 0

    // Per-block accumulators.
    private var samplesInBlock = 0
    private var energy: Float = 0
    private var lowEnergy: Float = 0
    private var crossings = 0

    /// The pre-emphasised 4 kHz signal: the last `window + longestLag` samples, oldest first, then the current
    /// block's samples as they come. Shifted down by one block after each block (a short move, once per 10 ms).
    private var history: [Float]
    private var historyCount: Int
    /// Prefix sums of the squared history, for the energy of every lagged window in O(1). In double precision, as
    /// the difference of two sums would lose a quiet window after a loud one in single precision.
    private var squareSums: [Double]

    init(sampleRate: Int) {
        blockLength = sampleRate / 100
        decimation = sampleRate / Self.decimatedRate
        let rate = Double(sampleRate)
        dcCoefficient = Float(exp(-2 * Double.pi * Self.dcCorner / rate))
        lowPassCoefficient = Float(1 - exp(-2 * Double.pi * Self.lowPassCorner / rate))
        let kept = Self.window + Self.longestLag
        history = [Float](repeating: 0, count: kept + Self.decimatedBlock)
        historyCount = kept
        squareSums = [Double](repeating: 0, count: kept + Self.decimatedBlock + 1)
    }

    /// Whether a block is partly filled.
    var hasPartialBlock: Bool { samplesInBlock > 0 }

    /// Forgets the signal (after a gap in the stream): filters, the partial block and the periodicity history, so
    /// that the discontinuity is neither a click nor a false period.
    mutating func reset() {
        dcInput = 0
        dcOutput = 0
        lowPass1 = 0
        lowPass2 = 0
        previousPositive = false
        decimationSum = 0
        decimationCount = 0
        previousDecimated = 0
        samplesInBlock = 0
        energy = 0
        lowEnergy = 0
        crossings = 0
        for index in history.indices { history[index] = 0 }
        historyCount = Self.window + Self.longestLag
    }

    /// Feeds samples until the current block is complete or `samples` is exhausted; returns how many samples it
    /// took and, if the block completed, its features.
    mutating func consume(_ samples: UnsafeBufferPointer<Int16>) -> (taken: Int, features: VoiceFeatures?) {
        let taken = min(samples.count, blockLength - samplesInBlock)
        // 1 / 32768: samples in [-1, 1), so that a full-scale square wave has mean square 1 (0 dBFS).
        let scale: Float = 1.0 / 32768
        var index = 0
        while index < taken {
            let x = Float(samples[index]) * scale
            // DC blocker: y[n] = x[n] − x[n−1] + c·y[n−1].
            let y = x - dcInput + dcCoefficient * dcOutput
            dcInput = x
            dcOutput = y
            energy += y * y
            let positive = y >= 0
            if positive != previousPositive { crossings += 1 }
            previousPositive = positive
            // Two one-pole low passes in cascade: −12 dB/octave above the corner.
            lowPass1 += lowPassCoefficient * (y - lowPass1)
            lowPass2 += lowPassCoefficient * (lowPass1 - lowPass2)
            lowEnergy += lowPass2 * lowPass2
            decimationSum += lowPass2
            decimationCount += 1
            if decimationCount == decimation {
                let decimated = decimationSum / Float(decimation)
                history[historyCount] = decimated - Self.preEmphasis * previousDecimated
                historyCount += 1
                previousDecimated = decimated
                decimationSum = 0
                decimationCount = 0
            }
            index += 1
        }
        samplesInBlock += taken
        guard samplesInBlock == blockLength else { return (taken, nil) }
        let features = finishBlock()
        return (taken, features)
    }

    private mutating func finishBlock() -> VoiceFeatures {
        let count = Float(blockLength)
        let meanSquare = Double(energy / count)
        let level = meanSquare > 1e-12 ? max(Self.silenceDBFS, 10 * log10(meanSquare)) : Self.silenceDBFS
        let lowFraction = energy > 0 ? Double(min(1, lowEnergy / energy)) : 0
        let features = VoiceFeatures(
            energyDBFS: level, lowBandFraction: lowFraction,
            zeroCrossingRate: Double(crossings) / Double(blockLength), periodicity: Double(periodicity()))
        samplesInBlock = 0
        energy = 0
        lowEnergy = 0
        crossings = 0
        // Keep the newest `window + longestLag` samples for the next block.
        let kept = Self.window + Self.longestLag
        let drop = historyCount - kept
        if drop > 0 {
            for index in 0..<kept { history[index] = history[index + drop] }
            historyCount = kept
        }
        return features
    }

    /// max over lags L of Σ x[n]·x[n−L] / √(Σ x[n]² · Σ x[n−L]²), over the newest `window` samples.
    private mutating func periodicity() -> Float {
        let end = historyCount
        let start = end - Self.window
        guard start - Self.longestLag >= 0 else { return 0 }
        return history.withUnsafeBufferPointer { x in
            squareSums.withUnsafeMutableBufferPointer { sums in
                sums[0] = 0
                for index in 0..<end { sums[index + 1] = sums[index] + Double(x[index] * x[index]) }
                let windowEnergy = sums[end] - sums[start]
                // Below this the window is silence (or rounding): no period to find. The history is pre-emphasised
                // audio scaled to ±1, so 1e-9 over 80 samples is about −110 dBFS.
                guard windowEnergy > 1e-9 else { return 0 }
                var best: Float = 0
                for lag in Self.shortestLag...Self.longestLag {
                    // Four partial sums (the window is a multiple of 4): independent chains the processor can
                    // overlap, where one running sum would wait on each addition.
                    var dot0: Float = 0
                    var dot1: Float = 0
                    var dot2: Float = 0
                    var dot3: Float = 0
                    var n = start
                    while n < end {
                        dot0 += x[n] * x[n - lag]
                        dot1 += x[n + 1] * x[n + 1 - lag]
                        dot2 += x[n + 2] * x[n + 2 - lag]
                        dot3 += x[n + 3] * x[n + 3 - lag]
                        n += 4
                    }
                    let dot = (dot0 + dot1) + (dot2 + dot3)
                    guard dot > 0 else { continue }
                    let laggedEnergy = sums[end - lag] - sums[start - lag]
                    guard laggedEnergy > 1e-9 else { continue }
                    let r = Float(Double(dot) / (windowEnergy * laggedEnergy).squareRoot())
                    if r > best { best = r }
                }
                return min(best, 1)
            }
        }
    }
}
