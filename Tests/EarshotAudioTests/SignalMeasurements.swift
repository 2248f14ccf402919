import EarshotOpus
import Foundation

/// Measurements on 16-bit PCM for the signal tests.
enum SignalMeasurements {
    /// Level in dBFS, relative to the RMS of a full-scale square wave (32768), the convention of `SpeechLikeSignal`.
    static func level(_ samples: some Collection<Int16>) -> Double {
        guard !samples.isEmpty else { return -.infinity }
        let power = samples.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(samples.count)
        return 10 * log10(power / (32768.0 * 32768.0))
    }

    /// Level in dBFS over the samples of the given ranges together.
    static func level(_ samples: [Int16], over ranges: [Range<Int>]) -> Double {
        var power = 0.0
        var count = 0
        for range in ranges {
            for sample in samples[range.clamped(to: samples.indices)] { power += Double(sample) * Double(sample) }
            count += range.clamped(to: samples.indices).count
        }
        return 10 * log10(power / Double(count) / (32768.0 * 32768.0))
    }

    /// Normalised cross-correlation of two equally long blocks (1 = same shape).
    static func correlation(_ a: ArraySlice<Int16>, _ b: ArraySlice<Int16>) -> Double {
        var dot = 0.0
        var energyA = 0.0
        var energyB = 0.0
        for (x, y) in zip(a, b) {
            let x = Double(x)
            let y = Double(y)
            dot += x * y
            energyA += x * x
            energyB += y * y
        }
        let energy = (energyA * energyB).squareRoot()
        return energy > 0 ? dot / energy : 0
    }

    /// The lag in `lags` at which `output` best matches `input` over `window`, and the correlation there.
    static func bestAlignment(input: [Int16], output: [Int16], window: Range<Int>, lags: Range<Int>)
        -> (lag: Int, correlation: Double)
    {
        var best = (lag: lags.lowerBound, correlation: -Double.infinity)
        for lag in lags {
            let shifted = (window.lowerBound + lag)..<(window.upperBound + lag)
            guard shifted.upperBound <= output.count else { break }
            let c = correlation(input[window], output[shifted])
            if c > best.correlation { best = (lag, c) }
        }
        return best
    }

    /// The fundamental frequency of a block by normalised autocorrelation, searched between `range` hertz: the
    /// shortest lag whose correlation reaches 90 % of the best one (a period's multiples correlate as well as the
    /// period itself, and picking them would halve the estimate), refined to its local maximum. Nil when no lag
    /// correlates above 0.5 (not periodic).
    static func pitch(_ x: ArraySlice<Int16>, sampleRate: Int, range: ClosedRange<Double>) -> Double? {
        let values = x.map(Double.init)
        let shortest = Int(Double(sampleRate) / range.upperBound)
        let longest = Int(Double(sampleRate) / range.lowerBound)
        guard values.count > 2 * longest else { return nil }
        let span = values.count - longest
        func r(_ lag: Int) -> Double {
            var dot = 0.0
            var e0 = 0.0
            var e1 = 0.0
            for n in 0..<span {
                dot += values[n] * values[n + lag]
                e0 += values[n] * values[n]
                e1 += values[n + lag] * values[n + lag]
            }
            return e0 > 0 && e1 > 0 ? dot / (e0 * e1).squareRoot() : 0
        }
        let correlations = (shortest...longest).map(r)
        guard let best = correlations.max(), best > 0.5 else { return nil }
        guard var index = correlations.firstIndex(where: { $0 >= 0.9 * best }) else { return nil }
        while index + 1 < correlations.count, correlations[index + 1] > correlations[index] { index += 1 }
        return Double(sampleRate) / Double(shortest + index)
    }

    /// Upward zero crossings per second.
    static func zeroCrossingRate(_ x: ArraySlice<Int16>, sampleRate: Int) -> Double {
        let crossings = zip(x, x.dropFirst()).count { $0.0 < 0 && $0.1 >= 0 }
        return Double(crossings) * Double(sampleRate) / Double(x.count)
    }

    /// Encodes `pcm` in 20 ms frames with `encoder` and decodes every packet with `decoder`.
    static func opusRoundTrip(_ pcm: [Int16], encoder: OpusEncoder, decoder: OpusDecoder) throws -> [Int16] {
        let frame = encoder.configuration.samplesPerFrame
        var output: [Int16] = []
        output.reserveCapacity(pcm.count)
        for start in stride(from: 0, to: pcm.count - frame + 1, by: frame) {
            output += try decoder.decode(try encoder.encode(Array(pcm[start..<(start + frame)])))
        }
        return output
    }
}
