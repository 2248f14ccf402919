import EarshotLatency
import EarshotWire
import Testing

@Suite struct LatencyHistogramTests {
    /// 1 ... 1000 ms, one value each: percentiles within the histogram's 1 % precision of the exact ranks.
    @Test func percentilesOfAKnownDistribution() {
        let summary = LatencySummary((1...1000).map { Duration.milliseconds($0) })
        #expect(summary.count == 1000)
        for (value, exact) in [(summary.p50Ms, 500.0), (summary.p90Ms, 900.0), (summary.p99Ms, 990.0), (summary.maxMs, 1000.0)] {
            let v = try! #require(value)
            #expect(abs(v - exact) <= exact * 0.01, "\(v) vs \(exact)")
        }
        #expect(abs((summary.meanMs ?? 0) - 500.5) <= 5)
    }

    /// Merging summaries equals recording everything in one histogram, bucket for bucket.
    @Test func mergingIsExact() {
        let a = (0..<500).map { Duration.microseconds(37 * $0 + 11) }
        let b = (0..<300).map { Duration.microseconds(1_000 + 911 * $0) }
        let merged = LatencySummary.merged([LatencySummary(a), LatencySummary(b), LatencySummary(count: 0)])
        let whole = LatencySummary(a + b)
        #expect(merged == whole)
        #expect(merged.count == 800)
        #expect(merged.buckets.map { $0[1] }.reduce(0, +) == 800)
        #expect(merged.histogram.summary == whole)
    }

    /// Out-of-range values are clamped and counted, never lost or crashing.
    @Test func clampsOutOfRangeValues() {
        var histogram = LatencyHistogram()
        histogram.record(.seconds(-1))
        histogram.record(.seconds(3600))
        histogram.record(.microseconds(250))
        #expect(histogram.count == 3)
        #expect(histogram.clamped == 2)
        let summary = histogram.summary
        #expect(summary.maxMs.map { $0 >= 59_000 } == true)
        #expect(LatencyHistogram().summary == LatencySummary(count: 0))
    }
}
