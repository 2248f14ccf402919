import Foundation

/// A map from data values to pixels along one axis, linear or logarithmic. Values outside the domain are drawn
/// at its edge; a value that is not a number is drawn at the start.
struct Scale {
    enum Kind {
        case linear
        /// For latencies that span decades; the domain is positive.
        case logarithmic
    }

    var kind: Kind
    /// The domain, `low < high` (and `low > 0` when logarithmic): the axis constructors guarantee it.
    var low: Double
    var high: Double
    /// The pixels `low` and `high` map to (`start > end` for a y axis, which grows upwards).
    var start: Double
    var end: Double

    func callAsFunction(_ value: Double) -> Double {
        let fraction: Double
        switch kind {
        case .linear: fraction = (value - low) / (high - low)
        case .logarithmic: fraction = log(max(value, .leastNormalMagnitude) / low) / log(high / low)
        }
        let clamped = fraction.isFinite ? min(max(fraction, 0), 1) : 0
        return start + clamped * (end - start)
    }
}

/// A labelled value on an axis.
struct Tick {
    var value: Double
    var label: String
}

/// A scale with its ticks and title. The constructors choose "nice" ticks: 1-2-5 steps, the domain ending on
/// ticks (linear) or on one-digit values (logarithmic).
struct Axis {
    var scale: Scale
    var ticks: [Tick]
    var title: String

    /// The 1-2-5 step (…, 0.5, 1, 2, 5, 10, …) nearest at or above `rough`.
    static func niceStep(atLeast rough: Double) -> Double {
        guard rough.isFinite, rough > 0 else { return 1 }
        let magnitude = pow(10, log10(rough).rounded(.down))
        for mantissa in [1.0, 2, 5] where mantissa * magnitude >= rough * (1 - 1e-9) {
            return mantissa * magnitude
        }
        return 10 * magnitude
    }

    /// The 1-2-5 step nearest to `rough` by ratio (1.5 → 2, 3.5 → 5, 3 → 2).
    static func niceStep(near rough: Double) -> Double {
        guard rough.isFinite, rough > 0 else { return 1 }
        let magnitude = pow(10, log10(rough).rounded(.down))
        let candidates = [1.0, 2, 5, 10].map { $0 * magnitude }
        return candidates.min { abs(log($0 / rough)) < abs(log($1 / rough)) } ?? magnitude
    }

    /// A linear axis from 0 up to at least `maximum` in 1-2-5 steps, about `intervals` of them. `integerSteps`
    /// keeps steps ≥ 1, for counts. A `maximum` of 0 or less (all values zero, or none) gives an axis of one step.
    static func fromZero(
        to maximum: Double, intervals: Int, integerSteps: Bool = false, pixels: (start: Double, end: Double),
        title: String
    ) -> Axis {
        let top = positive(maximum)
        var step = niceStep(near: top / Double(max(intervals, 1)))
        if integerSteps { step = max(step, 1) }
        return fromZero(step: step, steps: Int((top / step - 1e-9).rounded(.up)), pixels: pixels, title: title)
    }

    /// Two linear axes from 0, for the left and right of one plot, with the same number of 1-2-5 steps so that
    /// both sets of ticks sit on the same grid lines: of 3 to 6 steps, the number that wastes least room above
    /// the two maxima.
    static func alignedFromZero(
        left: (maximum: Double, integerSteps: Bool, title: String),
        right: (maximum: Double, integerSteps: Bool, title: String), pixels: (start: Double, end: Double)
    ) -> (left: Axis, right: Axis) {
        func step(_ maximum: Double, _ integerSteps: Bool, _ steps: Int) -> Double {
            let step = niceStep(atLeast: positive(maximum) / Double(steps))
            return integerSteps ? max(step, 1) : step
        }
        var best = (steps: 4, waste: Double.infinity)
        for steps in (3...6).reversed() {
            let leftTop = Double(steps) * step(left.maximum, left.integerSteps, steps)
            let rightTop = Double(steps) * step(right.maximum, right.integerSteps, steps)
            let waste = leftTop / positive(left.maximum) * rightTop / positive(right.maximum)
            if waste < best.waste { best = (steps, waste) }
        }
        return (
            fromZero(
                step: step(left.maximum, left.integerSteps, best.steps), steps: best.steps, pixels: pixels,
                title: left.title),
            fromZero(
                step: step(right.maximum, right.integerSteps, best.steps), steps: best.steps, pixels: pixels,
                title: right.title)
        )
    }

    /// `value` when positive and finite, otherwise 1: the top of an axis over nothing, or over zeros.
    private static func positive(_ value: Double) -> Double {
        value.isFinite && value > 0 ? value : 1
    }

    private static func fromZero(
        step: Double, steps: Int, pixels: (start: Double, end: Double), title: String
    ) -> Axis {
        let steps = max(steps, 1)
        let decimals = ReportFormat.decimals(forStep: step)
        let ticks = (0...steps).map { index in
            let value = Double(index) * step
            return Tick(value: value, label: ReportFormat.number(value, decimals: decimals))
        }
        let scale = Scale(kind: .linear, low: 0, high: Double(steps) * step, start: pixels.start, end: pixels.end)
        return Axis(scale: scale, ticks: ticks, title: title)
    }

    /// A logarithmic axis covering `low...high` (both positive; equal values are widened). Over half a decade or
    /// more the domain ends on one-digit values and the ticks are 1-2-5 (every one-digit value when that gives
    /// too few, powers of ten when too many); over a narrower range, the ticks are linear 1-2-5 steps, which a log
    /// axis shows almost evenly.
    static func logarithmic(
        covering low: Double, _ high: Double, pixels: (start: Double, end: Double), title: String
    ) -> Axis {
        let low = low.isFinite && low > 0 ? low : 0.001
        let high = high.isFinite && high > low ? high : low * 1.1
        var domain = (low: floorToOneDigit(low), high: ceilToOneDigit(high))
        var ticks: [Tick] = []
        if high / low < 3 {
            let step = niceStep(near: (high - low) / 5)
            let first = (low / step + 1e-9).rounded(.down), last = (high / step - 1e-9).rounded(.up)
            if first > 0 {
                domain = (first * step, last * step)
                let decimals = ReportFormat.decimals(forStep: step)
                ticks = stride(from: first, through: last, by: 1).map {
                    Tick(value: $0 * step, label: ReportFormat.number($0 * step, decimals: decimals))
                }
            }
        }
        if ticks.isEmpty {
            var values = decadeValues(from: domain.low, to: domain.high, mantissas: [1, 2, 5])
            if values.count < 4 { values = decadeValues(from: domain.low, to: domain.high, mantissas: Array(1...9)) }
            if values.count > 10 { values = decadeValues(from: domain.low, to: domain.high, mantissas: [1]) }
            ticks = values.map { value in
                Tick(value: value, label: ReportFormat.number(value, decimals: ReportFormat.decimals(forStep: value)))
            }
        }
        let scale = Scale(
            kind: .logarithmic, low: domain.low, high: domain.high, start: pixels.start, end: pixels.end)
        return Axis(scale: scale, ticks: ticks, title: title)
    }

    /// `value` rounded down to one significant digit (0.37 → 0.3, 412 → 400).
    static func floorToOneDigit(_ value: Double) -> Double {
        let magnitude = pow(10, log10(value).rounded(.down))
        return max((value / magnitude + 1e-9).rounded(.down), 1) * magnitude
    }

    /// `value` rounded up to one significant digit (0.37 → 0.4, 412 → 500, 960 → 1000).
    static func ceilToOneDigit(_ value: Double) -> Double {
        let magnitude = pow(10, log10(value).rounded(.down))
        return (value / magnitude - 1e-9).rounded(.up) * magnitude
    }

    /// The values `mantissa × 10^k` within `low...high`, ascending.
    private static func decadeValues(from low: Double, to high: Double, mantissas: [Int]) -> [Double] {
        let first = Int(log10(low).rounded(.down)), last = Int(log10(high).rounded(.up))
        var values: [Double] = []
        for exponent in first...max(first, last) {
            for mantissa in mantissas {
                let value = Double(mantissa) * pow(10, Double(exponent))
                if value >= low * (1 - 1e-9), value <= high * (1 + 1e-9) { values.append(value) }
            }
        }
        return values
    }
}

/// The plot area inside a chart's viewBox; the margins around it hold the axes, their titles and the legend.
struct PlotArea {
    var left: Double
    var top: Double
    var right: Double
    var bottom: Double

    var width: Double { right - left }
    var center: (x: Double, y: Double) { ((left + right) / 2, (top + bottom) / 2) }
}

/// A legend entry: a line or a filled box in a CSS class, and its label.
struct LegendEntry {
    enum Swatch {
        case line
        case box
    }

    var label: String
    var swatch: Swatch
    var cssClass: String
}

/// An SVG chart in a fixed viewBox, built element by element: every attribute value is escaped or formatted here,
/// so what comes out is well-formed XML with finite numbers. Styling is by CSS class (the page's stylesheet).
struct SVGDrawing {
    /// The average advance of a character at the charts' 11 px font, for laying out labels (no script to measure).
    static let characterWidth = 6.2

    let width: Double
    let height: Double
    private var elements: [String] = []

    init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    static func textWidth(_ text: String) -> Double { Double(text.count) * characterWidth }

    enum Attribute {
        case text(String, String)
        case pixels(String, Double)
    }

    /// One element; `content` (escaped here) makes it a container of text, otherwise it is self-closed.
    mutating func element(_ name: String, _ attributes: [Attribute], content: String? = nil) {
        var markup = "<" + name
        for attribute in attributes {
            switch attribute {
            case .text(let key, let value): markup += " \(key)=\"\(ReportFormat.escape(value))\""
            case .pixels(let key, let value): markup += " \(key)=\"\(ReportFormat.pixels(value))\""
            }
        }
        if let content {
            markup += ">" + ReportFormat.escape(content) + "</\(name)>"
        } else {
            markup += " />"
        }
        elements.append(markup)
    }

    mutating func line(
        x1: Double, y1: Double, x2: Double, y2: Double, cssClass: String, data: [Attribute] = []
    ) {
        element(
            "line",
            [.text("class", cssClass), .pixels("x1", x1), .pixels("y1", y1), .pixels("x2", x2), .pixels("y2", y2)]
                + data)
    }

    mutating func rect(x: Double, y: Double, width: Double, height: Double, cssClass: String, data: [Attribute] = []) {
        element(
            "rect",
            [
                .text("class", cssClass), .pixels("x", x), .pixels("y", y), .pixels("width", max(width, 0)),
                .pixels("height", max(height, 0)),
            ] + data)
    }

    enum Anchor: String {
        case start, middle, end
    }

    /// Text with its baseline at `y`; `rotated` turns it a quarter counterclockwise about (x, y).
    mutating func text(
        _ content: String, x: Double, y: Double, cssClass: String, anchor: Anchor = .start, rotated: Bool = false
    ) {
        var attributes: [Attribute] = [.text("class", cssClass), .pixels("x", x), .pixels("y", y)]
        if anchor != .start { attributes.append(.text("text-anchor", anchor.rawValue)) }
        if rotated {
            let center = ReportFormat.pixels(x) + " " + ReportFormat.pixels(y)
            attributes.append(.text("transform", "rotate(-90 \(center))"))
        }
        element("text", attributes, content: content)
    }

    /// Text in runs of different classes, one after the other on a line.
    mutating func text(runs: [(text: String, cssClass: String)], x: Double, y: Double) {
        let spans = runs.map { "<tspan class=\"\($0.cssClass)\">\(ReportFormat.escape($0.text))</tspan>" }
        elements.append(
            "<text x=\"\(ReportFormat.pixels(x))\" y=\"\(ReportFormat.pixels(y))\">\(spans.joined())</text>")
    }

    /// A polyline through `points`, or a dot when there is only one.
    mutating func polyline(_ points: [(x: Double, y: Double)], cssClass: String) {
        guard points.count > 1 else {
            if let point = points.first {
                element(
                    "circle",
                    [
                        .text("class", cssClass + " dot"), .pixels("cx", point.x), .pixels("cy", point.y),
                        .pixels("r", 2.5),
                    ])
            }
            return
        }
        let list = points.map { ReportFormat.pixels($0.x) + "," + ReportFormat.pixels($0.y) }.joined(separator: " ")
        element("polyline", [.text("class", cssClass), .text("points", list)])
    }

    // MARK: Axes

    enum Side {
        case left, right
    }

    /// Light grid lines at the ticks of either axis, drawn first so that the data goes over them.
    mutating func grid(x: Axis?, y: Axis?, plot: PlotArea) {
        if let x {
            for tick in x.ticks {
                let position = x.scale(tick.value)
                line(x1: position, y1: plot.top, x2: position, y2: plot.bottom, cssClass: "grid")
            }
        }
        if let y {
            for tick in y.ticks {
                let position = y.scale(tick.value)
                line(x1: plot.left, y1: position, x2: plot.right, y2: position, cssClass: "grid")
            }
        }
    }

    /// The x axis under the plot: the base line, tick marks, labels and the title.
    mutating func horizontalAxis(_ axis: Axis, plot: PlotArea) {
        line(x1: plot.left, y1: plot.bottom, x2: plot.right, y2: plot.bottom, cssClass: "axis")
        for tick in axis.ticks {
            let x = axis.scale(tick.value)
            line(x1: x, y1: plot.bottom, x2: x, y2: plot.bottom + 4, cssClass: "axis")
            text(tick.label, x: x, y: plot.bottom + 16, cssClass: "tick x-tick", anchor: .middle)
        }
        text(axis.title, x: plot.center.x, y: plot.bottom + 34, cssClass: "axis-title", anchor: .middle)
    }

    /// A y axis on one side of the plot: the line, tick labels and the title, turned along the axis.
    mutating func verticalAxis(_ axis: Axis, plot: PlotArea, side: Side) {
        let x = side == .left ? plot.left : plot.right
        line(x1: x, y1: plot.top, x2: x, y2: plot.bottom, cssClass: "axis")
        for tick in axis.ticks {
            let y = axis.scale(tick.value)
            switch side {
            case .left: text(tick.label, x: x - 6, y: y + 4, cssClass: "tick y-tick", anchor: .end)
            case .right: text(tick.label, x: x + 6, y: y + 4, cssClass: "tick y-tick right", anchor: .start)
            }
        }
        let titleX = side == .left ? 14 : width - 6
        text(axis.title, x: titleX, y: plot.center.y, cssClass: "axis-title", anchor: .middle, rotated: true)
    }

    /// Legend entries in a row from (x, y), y being the text's baseline.
    mutating func legend(_ entries: [LegendEntry], x: Double, y: Double) {
        var cursor = x
        for entry in entries {
            switch entry.swatch {
            case .line: line(x1: cursor, y1: y - 4, x2: cursor + 18, y2: y - 4, cssClass: entry.cssClass)
            case .box: rect(x: cursor + 4, y: y - 9, width: 10, height: 10, cssClass: entry.cssClass)
            }
            text(entry.label, x: cursor + 23, y: y, cssClass: "legend")
            cursor += 23 + Self.textWidth(entry.label) + 16
        }
    }

    /// The drawing as an inline `<svg>` element; `label` is what a screen reader says for it.
    func rendered(id: String, label: String) -> String {
        let open =
            "<svg id=\"\(ReportFormat.escape(id))\" viewBox=\"0 0 \(ReportFormat.pixels(width)) "
            + "\(ReportFormat.pixels(height))\" role=\"img\" aria-label=\"\(ReportFormat.escape(label))\">"
        return ([open] + elements + ["</svg>"]).joined(separator: "\n")
    }
}
