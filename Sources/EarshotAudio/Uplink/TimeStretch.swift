/// Time-scale modification of decoded speech by one pitch period, for the jitter buffer's accelerate (remove a
/// period) and decelerate (repeat a period) decisions.
///
/// The period is the lag, between 2.5 and 15 ms, at which the signal best matches itself (normalised
/// cross-correlation, searched on a decimated grid so that the cost stays near 20 µs at 48 kHz). Removing or
/// repeating exactly one period and cross-fading across it keeps the waveform continuous and the pitch unchanged:
///
/// ```
/// compress (remove L):   x[0..<L] ╲ cross-fade ╱ x[L..<2L]   then x[2L...]       → n − L samples
/// expand (repeat L):     x[0..<L]   then   x[L..<2L] ╲ cross-fade ╱ x[0..<L]   then x[L...]  → n + L samples
/// ```
/// Both edges join the original samples on either side, so there is no step at the seams.
enum TimeStretch {
    struct Period: Hashable {
        var lag: Int
        var correlation: Double
    }

    /// The shortest period searched: 2.5 ms (a 400 Hz voice).
    static func minimumLag(sampleRate: Int) -> Int { sampleRate / 400 }
    /// The longest period searched: 15 ms (a 67 Hz voice, below any speaking pitch; it also bounds how much one
    /// operation changes the delay).
    static func maximumLag(sampleRate: Int) -> Int { sampleRate * 15 / 1000 }
    /// The matching window: 5 ms.
    static func window(sampleRate: Int) -> Int { sampleRate / 200 }

    /// The lag in `minimumLag...maximumLag` at which `x[start...]` best matches itself, over a window of
    /// `window` samples, or nil when `x` is too short for the shortest lag.
    static func bestPeriod(_ x: UnsafeBufferPointer<Int16>, start: Int, minimumLag: Int, maximumLag: Int, window: Int,
                           sampleRate: Int) -> Period?
    {
        let available = x.count - start
        let longest = min(maximumLag, available - window)
        guard longest >= minimumLag, window > 0 else { return nil }
        // Decimate the search: every `step`th sample (≈ 8 kHz resolution), then refine around the best lag.
        let step = max(1, sampleRate / 8000)
        func correlation(_ lag: Int, stride: Int) -> Double {
            var cross = 0.0, energyA = 0.0, energyB = 0.0
            var i = 0
            while i < window {
                let a = Double(x[start + i]), b = Double(x[start + i + lag])
                cross += a * b
                energyA += a * a
                energyB += b * b
                i += stride
            }
            let denominator = (energyA * energyB).squareRoot()
            return denominator > 0 ? cross / denominator : 0
        }
        var best = Period(lag: minimumLag, correlation: -2)
        var lag = minimumLag
        while lag <= longest {
            let c = correlation(lag, stride: step)
            if c > best.correlation { best = Period(lag: lag, correlation: c) }
            lag += step
        }
        if step > 1 {
            // Refine at full resolution around the coarse optimum.
            let coarse = best.lag
            var refined = Period(lag: coarse, correlation: correlation(coarse, stride: 1))
            for candidate in max(minimumLag, coarse - step + 1)...min(longest, coarse + step - 1) {
                let c = correlation(candidate, stride: 1)
                if c > refined.correlation { refined = Period(lag: candidate, correlation: c) }
            }
            best = refined
        }
        return best
    }

    /// Removes `lag` samples from `x` starting at `start` (needs `2 × lag` samples there).
    static func compress(_ x: inout [Int16], start: Int, lag: Int) {
        precondition(lag > 0 && start + 2 * lag <= x.count)
        for i in 0..<lag {
            let fadeIn = Double(i + 1) / Double(lag + 1)
            let mixed = Double(x[start + i]) * (1 - fadeIn) + Double(x[start + lag + i]) * fadeIn
            x[start + i] = Int16(clamping: Int(mixed.rounded()))
        }
        x.removeSubrange((start + lag)..<(start + 2 * lag))
    }

    /// Inserts `lag` samples into `x` at `start` by repeating one period (needs `2 × lag` samples there).
    static func expand(_ x: inout [Int16], start: Int, lag: Int) {
        precondition(lag > 0 && start + 2 * lag <= x.count)
        var inserted = [Int16](repeating: 0, count: lag)
        for i in 0..<lag {
            let fadeIn = Double(i + 1) / Double(lag + 1)
            let mixed = Double(x[start + lag + i]) * (1 - fadeIn) + Double(x[start + i]) * fadeIn
            inserted[i] = Int16(clamping: Int(mixed.rounded()))
        }
        x.insert(contentsOf: inserted, at: start + lag)
    }

    /// Mean square of `x[range]` relative to full scale (1.0 = a full-scale square wave); 0 for silence.
    static func meanSquare(_ x: UnsafeBufferPointer<Int16>, _ range: Range<Int>) -> Double {
        guard !range.isEmpty else { return 0 }
        var energy = 0.0
        for i in range { energy += Double(x[i]) * Double(x[i]) }
        return energy / Double(range.count) / (32768.0 * 32768.0)
    }

    /// −45 dBFS as a mean square: below it a frame counts as silence, which can be dropped whole when the buffer
    /// must shrink (speech sits around −20 dBFS, background noise in a quiet room below −50 dBFS).
    static let silenceMeanSquare = 3.162e-5
}
