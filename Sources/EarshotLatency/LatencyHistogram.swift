import EarshotWire
import Histogram

/// A histogram of durations in microseconds (HdrHistogram, two significant digits: every figure is within 1 % of
/// the value recorded), from 1 µs to 60 s; longer values are recorded as 60 s and counted in `clamped`.
///
/// Recording is a few array operations and never allocates after the first value, so the relay keeps one per hop
/// per session on its packet path. `summary` is what the JSON shows: percentiles in milliseconds plus the
/// non-empty buckets, which `LatencySummary.merged` adds up across sessions without losing the distribution.
public struct LatencyHistogram: Sendable {
    public static let highestMicroseconds: UInt64 = 60_000_000
    private var histogram = Histogram<UInt32>(
        lowestDiscernibleValue: 1, highestTrackableValue: LatencyHistogram.highestMicroseconds,
        numberOfSignificantValueDigits: .two)
    /// Values beyond `highestMicroseconds` (recorded as that value), and negative ones (recorded as 0).
    public private(set) var clamped = 0

    public init() {}

    public var count: Int { Int(histogram.totalCount) }

    public mutating func record(_ duration: Duration) {
        let nanoseconds = duration.nanosecondsClamped
        if nanoseconds < 0 {
            clamped += 1
            _ = histogram.record(0)
            return
        }
        var micros = UInt64(nanoseconds / 1000)
        if micros > Self.highestMicroseconds {
            clamped += 1
            micros = Self.highestMicroseconds
        }
        _ = histogram.record(micros)
    }

    public mutating func record(microseconds: UInt64, count: Int) {
        guard count > 0 else { return }
        _ = histogram.record(min(microseconds, Self.highestMicroseconds), count: UInt32(clamping: count))
    }

    /// The value at `percentile` (0...100), in microseconds; nil when empty.
    public func microseconds(atPercentile percentile: Double) -> UInt64? {
        count == 0 ? nil : histogram.valueAtPercentile(percentile)
    }

    public var summary: LatencySummary {
        guard count > 0 else { return LatencySummary(count: 0) }
        var buckets: [[UInt64]] = []
        for value in histogram.recordedValues() {
            buckets.append([histogram.highestEquivalentForValue(value.value), UInt64(value.count)])
        }
        return LatencySummary(
            count: count,
            p50Ms: Self.ms(histogram.valueAtPercentile(50)), p90Ms: Self.ms(histogram.valueAtPercentile(90)),
            p99Ms: Self.ms(histogram.valueAtPercentile(99)), maxMs: Self.ms(histogram.max),
            meanMs: histogram.mean.rounded() / 1000, buckets: buckets)
    }

    static func ms(_ micros: UInt64) -> Double { Double(micros) / 1000 }
}

/// Percentiles of a latency distribution in milliseconds (rounded to the microsecond), with the histogram's
/// non-empty buckets as `[upper bound in µs, count]` pairs so that summaries can be merged exactly.
public struct LatencySummary: Codable, Sendable, Hashable {
    public var count: Int
    public var p50Ms: Double?
    public var p90Ms: Double?
    public var p99Ms: Double?
    public var maxMs: Double?
    public var meanMs: Double?
    public var buckets: [[UInt64]]

    public init(
        count: Int, p50Ms: Double? = nil, p90Ms: Double? = nil, p99Ms: Double? = nil, maxMs: Double? = nil,
        meanMs: Double? = nil, buckets: [[UInt64]] = []
    ) {
        self.count = count
        self.p50Ms = p50Ms
        self.p90Ms = p90Ms
        self.p99Ms = p99Ms
        self.maxMs = maxMs
        self.meanMs = meanMs
        self.buckets = buckets
    }

    /// The histogram these buckets describe.
    public var histogram: LatencyHistogram {
        var histogram = LatencyHistogram()
        for bucket in buckets where bucket.count == 2 {
            histogram.record(microseconds: bucket[0], count: Int(clamping: bucket[1]))
        }
        return histogram
    }

    /// One summary of all of `summaries`' values (bucket by bucket).
    public static func merged(_ summaries: some Sequence<LatencySummary>) -> LatencySummary {
        var histogram = LatencyHistogram()
        for summary in summaries {
            for bucket in summary.buckets where bucket.count == 2 {
                histogram.record(microseconds: bucket[0], count: Int(clamping: bucket[1]))
            }
        }
        return histogram.summary
    }

    /// A summary of raw durations (exact percentiles by rank would differ by < 1 %: the histogram's precision).
    public init(_ durations: some Sequence<Duration>) {
        var histogram = LatencyHistogram()
        for duration in durations { histogram.record(duration) }
        self = histogram.summary
    }
}
