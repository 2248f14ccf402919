#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
public import EarshotWire

/// The few draws the models need, built directly on `SplitMix64` so that a seed gives the same fates on every
/// platform and toolchain (the standard library's `random(in:using:)` does not promise a fixed algorithm).
extension SplitMix64 {
    /// A uniform draw in [0, 1): the top 53 bits of the next word, the precision of a `Double` mantissa.
    @inlinable public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// True with probability `probability` (false for 0 or less, true for 1 or more). Always consumes one draw,
    /// so a model's later draws do not shift when a probability changes.
    @inlinable public mutating func nextBernoulli(_ probability: Double) -> Bool {
        nextUnit() < probability
    }

    /// A standard normal draw (mean 0, standard deviation 1) by the Box–Muller transform. Uses two uniform draws
    /// and keeps no spare value, so the generator's state alone determines the sequence.
    public mutating func nextStandardNormal() -> Double {
        // 1 - u lies in (0, 1], so the logarithm is finite.
        let u1 = 1 - nextUnit()
        let u2 = nextUnit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// A uniform draw of a duration within `range` (nanosecond resolution).
    public mutating func nextDuration(in range: ClosedRange<Duration>) -> Duration {
        let lower = range.lowerBound.nanosecondsClamped
        let span = Double(range.upperBound.nanosecondsClamped &- lower)
        return .nanoseconds(lower &+ Int64((nextUnit() * span).rounded()))
    }
}

/// Small numeric helpers shared by the models.
enum ImpairmentMath {
    /// The standard normal cumulative distribution function Φ(z).
    static func normalCDF(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }

    /// e^x.
    static func exponential(_ x: Double) -> Double { exp(x) }

    /// Nanoseconds as a `Double`, for arithmetic on delays.
    static func nanoseconds(_ duration: Duration) -> Double { Double(duration.nanosecondsClamped) }

    /// A duration from a (finite) number of nanoseconds, rounded to the nearest nanosecond.
    static func duration(nanoseconds: Double) -> Duration {
        .nanoseconds(Int64(nanoseconds.rounded()))
    }
}
