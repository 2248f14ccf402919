import EarshotLatency
import Foundation

// Small computed helpers the HTML report reads.

extension BenchResult {
    /// Whether any timeline point has the local relay's CPU or memory.
    var relayWasSampled: Bool {
        timeline.contains { $0.relayCPUPercent != nil || $0.relayRSSMiB != nil }
    }
}

extension BenchResult.Configuration {
    /// The impairment as given, or "clean".
    var impairmentDescription: String {
        guard let impairment, !impairment.isEmpty else { return "clean" }
        return impairment
    }
}

/// Each distinct string once, with how many times it occurs, in order of first occurrence: a run where many
/// sessions failed the same way lists that failure once.
func tallied(_ strings: [String]) -> [(text: String, count: Int)] {
    var order: [String] = []
    var counts: [String: Int] = [:]
    for string in strings {
        if counts[string] == nil { order.append(string) }
        counts[string, default: 0] += 1
    }
    return order.map { ($0, counts[$0] ?? 0) }
}

/// A latency distribution regrouped into bins of equal width on a logarithmic axis, for the histogram chart.
struct LogBins {
    /// Bin edges in milliseconds, ascending, one more than `counts`.
    var edges: [Double]
    /// Values per bin; fractional where a histogram bucket straddles two bins and is shared between them.
    var counts: [Double]

    var low: Double { edges[0] }
    var high: Double { edges[edges.count - 1] }
}

extension LatencySummary {
    /// The values each non-empty bucket stands for, in milliseconds, with its count. `LatencyHistogram` is an
    /// HdrHistogram at two significant digits (256 sub-buckets): a bucket whose highest value is `u` µs is
    /// 2^max(0, ⌊log2 u⌋ − 7) µs wide, so it holds [u + 1 − width, u + 1) µs. The low end is kept above zero for
    /// a logarithmic axis.
    var bucketRanges: [(lowMs: Double, highMs: Double, count: Double)] {
        buckets.compactMap { bucket in
            guard bucket.count == 2, bucket[1] > 0 else { return nil }
            let upper = bucket[0]
            let magnitude = upper == 0 ? 0 : UInt64.bitWidth - 1 - upper.leadingZeroBitCount
            let width = UInt64(1) << UInt64(max(0, magnitude - 7))
            let low = max(Double(upper + 1 - width) / 1000, 0.0005)
            let high = max(Double(upper + 1) / 1000, low * 1.001)
            return (low, high, Double(bucket[1]))
        }
    }

    /// The distribution in bins of equal width on a log axis between the lowest and the highest value present;
    /// each bucket's count is spread over the bins its range overlaps, in proportion. `maximumCount` bins, or fewer
    /// when the values are close together: no bin is narrower than a bucket (1/128 of its value at most, from
    /// 0.128 ms up), so that none falls between two buckets and shows a gap that is not in the data. Nil when
    /// empty.
    func logBins(maximumCount: Int) -> LogBins? {
        let ranges = bucketRanges
        guard maximumCount > 0, let low = ranges.map(\.lowMs).min(), let high = ranges.map(\.highMs).max() else {
            return nil
        }
        let decades = log(high / low)
        let widestBucket = min(ranges.map { log($0.highMs / $0.lowMs) }.max() ?? 1, log(1 + 1 / 128.0))
        let binCount = min(max(Int(decades / widestBucket), 1), maximumCount)
        let edges = (0...binCount).map { index in
            index == binCount ? high : low * exp(decades * Double(index) / Double(binCount))
        }
        func bin(of value: Double) -> Int {
            let position = (log(value / low) / decades * Double(binCount)).rounded(.down)
            guard position.isFinite else { return 0 }
            return min(max(Int(position), 0), binCount - 1)
        }
        var counts = [Double](repeating: 0, count: binCount)
        for range in ranges {
            let first = max(bin(of: range.lowMs) - 1, 0), last = min(bin(of: range.highMs) + 1, binCount - 1)
            for index in first...last {
                let overlap = min(range.highMs, edges[index + 1]) - max(range.lowMs, edges[index])
                if overlap > 0 { counts[index] += range.count * overlap / (range.highMs - range.lowMs) }
            }
        }
        return LogBins(edges: edges, counts: counts)
    }
}
