import EarshotLatency
import Foundation

/// The report's charts, as inline SVG in fixed viewBoxes (720 wide). Each returns the `<svg>` element, or a
/// sentence (`note`) when there is nothing to draw.
extension BenchReport {
    static let chartWidth = 720.0
    static let chartHeight = 260.0

    static func note(_ sentence: String) -> String {
        "<p class=\"note\">\(ReportFormat.escape(sentence))</p>"
    }

    // MARK: RTT distribution

    /// Bins in the RTT histogram (at most): equal widths on the log axis between the lowest and highest round trip.
    static let histogramBins = 60

    /// The marker round trips as a histogram on a log axis (they span from a millisecond on loopback to hundreds
    /// over a bad network), with the p50 and p99 marked by vertical lines labelled above the plot.
    static func rttHistogram(_ rtt: LatencySummary) -> String {
        guard let bins = rtt.logBins(maximumCount: histogramBins) else {
            return note("No marker round trips were measured: there is no distribution to draw.")
        }
        var svg = SVGDrawing(width: chartWidth, height: chartHeight)
        let plot = PlotArea(left: 64, top: 40, right: chartWidth - 24, bottom: chartHeight - 44)
        let x = Axis.logarithmic(
            covering: bins.low, bins.high, pixels: (plot.left, plot.right), title: "round trip (ms, log scale)")
        let y = Axis.fromZero(
            to: bins.counts.max() ?? 0, intervals: 4, integerSteps: true, pixels: (plot.bottom, plot.top),
            title: "markers per bin")
        svg.grid(x: x, y: y, plot: plot)
        for (index, count) in bins.counts.enumerated() where count > 0 {
            let left = x.scale(bins.edges[index]), right = x.scale(bins.edges[index + 1])
            let gap = right - left > 3 ? 1.0 : 0
            // At least a pixel high, so that a sparse tail stays visible next to the mode.
            let height = max(plot.bottom - y.scale(count), 1)
            svg.rect(
                x: left + gap / 2, y: plot.bottom - height, width: right - left - gap, height: height,
                cssClass: "bar rtt")
        }
        svg.verticalAxis(y, plot: plot, side: .left)
        svg.horizontalAxis(x, plot: plot)
        // Labels on two rows above the plot, so that close percentiles never overlap.
        let markers = [("p50", rtt.p50Ms, plot.top - 20), ("p99", rtt.p99Ms, plot.top - 6)]
        for (name, value, labelY) in markers {
            guard let value, value.isFinite, value > 0 else { continue }
            let position = x.scale(value)
            svg.line(
                x1: position, y1: labelY + 2, x2: position, y2: plot.bottom, cssClass: "marker \(name)",
                data: [.text("data-ms", ReportFormat.number(value, decimals: 3))])
            let label = "\(name) \(ReportFormat.ms(value))"
            let half = SVGDrawing.textWidth(label) / 2
            let labelX = min(max(position, half + 2), chartWidth - half - 2)
            svg.text(label, x: labelX, y: labelY, cssClass: "marker-label \(name)", anchor: .middle)
        }
        return svg.rendered(id: "rtt-histogram", label: "Histogram of marker round-trip times")
    }

    // MARK: Time series

    /// One line of a time-series chart; nil values break it.
    struct Series {
        var label: String
        var cssClass: String
        var values: [(seconds: Double, value: Double?)]
    }

    /// The values of a chart's series on one y axis.
    struct SeriesGroup {
        var title: String
        var series: [Series]
        var integerSteps = false

        var maximum: Double? { series.flatMap { $0.values.compactMap(\.value) }.filter(\.isFinite).max() }
    }

    /// Lines over the run's time, against a left axis and optionally a right one (whose ticks line up with the
    /// left axis's grid), with a legend above the plot. A group without a single value is left out (and the other
    /// one drawn on the left), so that no axis stands for nothing.
    static func timeSeriesChart(id: String, label: String, left: SeriesGroup, right: SeriesGroup?) -> String {
        let measured = [left, right].compactMap { $0 }.filter { $0.maximum != nil }
        let left = measured.first ?? left
        let right = measured.count > 1 ? measured[1] : nil
        var svg = SVGDrawing(width: chartWidth, height: chartHeight)
        let plot = PlotArea(left: 64, top: 34, right: chartWidth - (right == nil ? 24 : 64), bottom: chartHeight - 44)
        let allSeries = left.series + (right?.series ?? [])
        let seconds = allSeries.flatMap { $0.values.map(\.seconds) }.filter(\.isFinite)
        let x = Axis.fromZero(
            to: seconds.max() ?? 0, intervals: 6, pixels: (plot.left, plot.right), title: "time since start (s)")
        let leftAxis: Axis, rightAxis: Axis?
        if let right {
            let axes = Axis.alignedFromZero(
                left: (left.maximum ?? 0, left.integerSteps, left.title),
                right: (right.maximum ?? 0, right.integerSteps, right.title), pixels: (plot.bottom, plot.top))
            leftAxis = axes.left
            rightAxis = axes.right
        } else {
            leftAxis = Axis.fromZero(
                to: left.maximum ?? 0, intervals: 4, integerSteps: left.integerSteps, pixels: (plot.bottom, plot.top),
                title: left.title)
            rightAxis = nil
        }
        svg.grid(x: x, y: leftAxis, plot: plot)
        var groups = [(left.series, leftAxis)]
        if let right, let rightAxis { groups.append((right.series, rightAxis)) }
        for (series, axis) in groups {
            for line in series {
                for segment in segments(of: line.values) {
                    svg.polyline(segment.map { (x.scale($0.seconds), axis.scale($0.value)) }, cssClass: line.cssClass)
                }
            }
        }
        svg.horizontalAxis(x, plot: plot)
        svg.verticalAxis(leftAxis, plot: plot, side: .left)
        if let rightAxis { svg.verticalAxis(rightAxis, plot: plot, side: .right) }
        let legend =
            left.series.map { LegendEntry(label: $0.label, swatch: .line, cssClass: $0.cssClass) }
            + (right?.series ?? []).map {
                LegendEntry(label: $0.label + " (right axis)", swatch: .line, cssClass: $0.cssClass)
            }
        svg.legend(legend, x: plot.left, y: 16)
        return svg.rendered(id: id, label: label)
    }

    /// The runs of consecutive points that have a value: a nil (or non-finite) value breaks the line.
    static func segments(of values: [(seconds: Double, value: Double?)]) -> [[(seconds: Double, value: Double)]] {
        var segments: [[(seconds: Double, value: Double)]] = []
        var current: [(seconds: Double, value: Double)] = []
        for point in values {
            if let value = point.value, value.isFinite, point.seconds.isFinite {
                current.append((point.seconds, value))
            } else if !current.isEmpty {
                segments.append(current)
                current = []
            }
        }
        if !current.isEmpty { segments.append(current) }
        return segments
    }

    // MARK: Hops

    /// One row of the hop chart.
    struct HopRow {
        var name: String
        var span: String
        var relayProcessing: Bool
        var latency: LatencySummary
    }

    /// Per hop, a p50 bar and a p99 bar on one linear scale from zero (so lengths compare across hops), the
    /// figures written after the bars; relay processing and buffering (or the model) in two colours.
    static func hopChart(_ rows: [HopRow]) -> String {
        let rowHeight = 46.0
        let plot = PlotArea(left: 16, top: 34, right: chartWidth - 110, bottom: 34 + rowHeight * Double(rows.count))
        var svg = SVGDrawing(width: chartWidth, height: plot.bottom + 44)
        let largest = rows.compactMap { $0.latency.p99Ms ?? $0.latency.p50Ms }.filter(\.isFinite).max()
        let x = Axis.fromZero(to: largest ?? 0, intervals: 6, pixels: (plot.left, plot.right), title: "ms")
        svg.grid(x: x, y: nil, plot: plot)
        for (index, row) in rows.enumerated() {
            let top = plot.top + rowHeight * Double(index)
            let kind = row.relayProcessing ? "relay" : "buffering"
            let room = Int((chartWidth - plot.left - 8) / SVGDrawing.characterWidth) - row.name.count - 3
            var runs = [(text: row.name, cssClass: "hop-name")]
            if !row.span.isEmpty { runs.append(("  " + truncated(row.span, to: room), "hop-span")) }
            svg.text(runs: runs, x: plot.left, y: top + 12)
            let bars = [("p50", row.latency.p50Ms, top + 17), ("p99", row.latency.p99Ms, top + 30)]
            guard bars.contains(where: { $0.1 != nil }) else {
                svg.text("no samples", x: plot.left, y: top + 30, cssClass: "hop-value")
                continue
            }
            for (name, value, barTop) in bars {
                guard let value, value.isFinite else { continue }
                let end = x.scale(value)
                svg.rect(
                    x: plot.left, y: barTop, width: end - plot.left, height: 10, cssClass: "bar \(kind) \(name)",
                    data: [.text("data-hop", row.name), .text("data-ms", ReportFormat.number(value, decimals: 3))])
                svg.text("\(name) \(ReportFormat.ms(value))", x: end + 5, y: barTop + 9, cssClass: "hop-value")
            }
        }
        svg.horizontalAxis(x, plot: plot)
        let legend = [
            LegendEntry(label: "relay processing", swatch: .box, cssClass: "relay"),
            LegendEntry(label: "buffering by design or the model", swatch: .box, cssClass: "buffering"),
        ]
        svg.legend(legend, x: plot.left - 4, y: 16)
        svg.text("solid: p50, light: p99", x: chartWidth - 16, y: 16, cssClass: "legend", anchor: .end)
        return svg.rendered(id: "hops", label: "Per-hop latency through the relay, p50 and p99")
    }

    /// `text` cut to `limit` characters, with an ellipsis when cut.
    static func truncated(_ text: String, to limit: Int) -> String {
        guard text.count > limit else { return text }
        return String(text.prefix(max(limit - 1, 0))) + "…"
    }
}
