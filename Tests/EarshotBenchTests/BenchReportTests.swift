import EarshotLatency
import Foundation
import Testing

@testable import EarshotBench

#if canImport(FoundationXML)
import FoundationXML
#endif

/// The HTML report read back as XML: well-formed, self-contained, finite numbers, and charts that draw the figures
/// where the figures say (a marker line at its percentile on the axis as labelled, bars proportional to values).
@Suite("Bench HTML report")
struct BenchReportTests {
    @Test("the report is one well-formed document with every section, in order")
    func wellFormed() throws {
        let html = BenchReport.html(Fixture.result())
        let root = try XHTML.parse(html)
        #expect(root.name == "html")
        let sectionIDs = root.all("section").compactMap { $0.attributes["id"] }
        #expect(sectionIDs == ["summary", "rtt-distribution", "rtt-over-time", "hops", "relay-resources", "baseline"])
        let chartIDs = root.all("svg").compactMap { $0.attributes["id"] }
        #expect(chartIDs == ["rtt-histogram", "rtt-timeline", "hops", "relay-resources"])
        #expect(root.all("style").count == 1)
        #expect(root.all("h1").first?.text == "Earshot bench")
    }

    @Test("no number in an attribute is nan or infinite, and nothing is loaded from anywhere")
    func selfContainedAndFinite() throws {
        for result in [Fixture.result()] + EdgeCase.allCases.map(\.result) {
            let html = BenchReport.html(result)
            let root = try XHTML.parse(html)
            for element in root.all() {
                for (name, value) in element.attributes {
                    let tokens = value.lowercased().split(whereSeparator: { " ,()".contains($0) })
                    let bad = tokens.filter { ["nan", "-nan", "inf", "-inf", "infinity", "-infinity"].contains($0) }
                    #expect(bad.isEmpty, "\(element.name) \(name)=\"\(value)\"")
                }
                #expect(element.attributes["src"] == nil && element.attributes["href"] == nil)
                #expect(!["script", "link", "img", "iframe", "object", "embed", "image", "use"].contains(element.name))
            }
            var rest = html
            for text in [result.configuration.command, result.configuration.url] {
                rest = rest.replacingOccurrences(of: ReportFormat.escape(text), with: "")
            }
            for reference in ["http://", "https://", "url(", "@import", "@font-face", "src=", "href=", "<script"] {
                #expect(!rest.lowercased().contains(reference), "\(reference) in the report")
            }
        }
    }

    @Test("the p50 and p99 lines sit where the labelled axis puts their values")
    func percentileMarkers() throws {
        let result = Fixture.result()
        let chart = try #require(try XHTML.parse(BenchReport.html(result)).element(id: "rtt-histogram"))
        // The x axis as a reader sees it: tick labels and their positions (a log axis).
        let ticks = chart.all("text").filter { $0.classes.contains("x-tick") }.map {
            (value: Double($0.text) ?? .nan, x: Double($0.attributes["x"] ?? "") ?? .nan)
        }
        try #require(ticks.count >= 3)
        let first = ticks[0], last = ticks[ticks.count - 1]
        func x(ofMs ms: Double) -> Double {
            first.x + (last.x - first.x) * log(ms / first.value) / log(last.value / first.value)
        }
        // The ticks themselves are on one log scale.
        for tick in ticks { #expect(abs(x(ofMs: tick.value) - tick.x) <= 1, "tick \(tick.value)") }

        let markers = chart.all("line").filter { $0.classes.contains("marker") }
        #expect(markers.count == 2)
        for (name, expected) in [("p50", result.rtt.p50Ms), ("p99", result.rtt.p99Ms)] {
            let expected = try #require(expected)
            let line = try #require(markers.first { $0.classes.contains(name) })
            let ms = try #require(Double(line.attributes["data-ms"] ?? ""))
            #expect(abs(ms - expected) < 0.001)
            let x1 = try #require(Double(line.attributes["x1"] ?? ""))
            #expect(abs(x1 - x(ofMs: expected)) <= 1, "\(name) at \(x1), expected \(x(ofMs: expected))")
            #expect(line.attributes["x1"] == line.attributes["x2"])
        }
        // The percentiles are far apart in this fixture, and the lines too.
        let p50 = try #require(markers.first { $0.classes.contains("p50") }?.attributes["x1"].flatMap(Double.init))
        let p99 = try #require(markers.first { $0.classes.contains("p99") }?.attributes["x1"].flatMap(Double.init))
        #expect(p99 - p50 > 50)
    }

    @Test("the histogram's bars hold every marker")
    func histogramCounts() throws {
        let rtt = Fixture.result().rtt
        let bins = rtt.logBins(maximumCount: BenchReport.histogramBins)
        #expect(bins?.counts.count == BenchReport.histogramBins)
        let total = bins?.counts.reduce(0, +) ?? 0
        #expect(abs(total - Double(rtt.count)) < 0.01)
        // Values in one histogram bucket make one bar, not a bucket spread thin over many bins.
        let same = LatencySummary(Array(repeating: .milliseconds(50), count: 100))
        let sameBins = try #require(same.logBins(maximumCount: BenchReport.histogramBins))
        #expect(sameBins.counts.count == 1 && abs(sameBins.counts[0] - 100) < 1e-9)
        // Close values: no bin narrower than a bucket, so no empty bin between two full ones.
        let close = LatencySummary((0..<1000).map { .microseconds(40_000 + $0 * 2) })
        let closeBins = try #require(close.logBins(maximumCount: BenchReport.histogramBins))
        #expect(closeBins.counts.count < BenchReport.histogramBins)
        #expect(closeBins.counts.allSatisfy { $0 > 0 })
        #expect(LatencySummary(count: 0).logBins(maximumCount: 60) == nil)
    }

    @Test("hop bars are as long as their values, in the colour of their kind")
    func hopBars() throws {
        let result = Fixture.result()
        let chart = try #require(try XHTML.parse(BenchReport.html(result)).element(id: "hops"))
        let bars = chart.all("rect").filter { $0.classes.contains("bar") }
        func bar(_ hop: String, _ percentile: String) throws -> (width: Double, classes: Set<String>) {
            let bar = try #require(bars.first { $0.attributes["data-hop"] == hop && $0.classes.contains(percentile) })
            return (try #require(Double(bar.attributes["width"] ?? "")), bar.classes)
        }
        let hops = Dictionary(uniqueKeysWithValues: result.hops.map { ($0.name, $0.latency) })
        let jitter = try #require(hops["jitterBuffer"]?.p50Ms), pacer = try #require(hops["pacer"]?.p50Ms)
        let jitterBar = try bar("jitterBuffer", "p50"), pacerBar = try bar("pacer", "p50")
        #expect(abs(jitterBar.width / pacerBar.width - jitter / pacer) < 0.01)
        let jitterP99 = try #require(hops["jitterBuffer"]?.p99Ms)
        #expect(abs(try bar("jitterBuffer", "p99").width / jitterBar.width - jitterP99 / jitter) < 0.01)

        #expect(jitterBar.classes.contains("buffering") && !jitterBar.classes.contains("relay"))
        #expect(try bar("ingress", "p50").classes.contains("relay"))
        let transit = try bar("transit (socket in → socket out)", "p50")
        #expect(transit.classes.contains("relay"))
        // Every row shows its figures in writing, too.
        let labels = chart.all("text").map(\.text)
        #expect(labels.contains("p50 \(ReportFormat.ms(jitter))"))
        #expect(labels.contains { $0.contains("jitter/reorder buffer") })
    }

    @Test("strings from the result are escaped")
    func escaping() throws {
        var result = Fixture.result()
        result.sessions.failures = ["<script>alert(1)</script>&\"x\"'", "<script>alert(1)</script>&\"x\"'"]
        result.sessions.closeReasons = ["model <ended> & gone"]
        result.configuration.url = "https://relay.example/whip?a=1&b=<2>"
        result.configuration.command = "earshot bench --url 'https://relay.example/whip?a=1&b=<2>' --json \"x\""
        result.hops[0].name = "in<gress>&"
        result.hops[0].span = "a \"quoted\" & <tagged> span"
        let html = BenchReport.html(result)
        #expect(!html.contains("<script"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;x&quot;&#39;"))
        #expect(html.contains("×2"))  // the same failure twice is listed once, counted
        #expect(html.contains("model &lt;ended&gt; &amp; gone"))
        #expect(html.contains("https://relay.example/whip?a=1&amp;b=&lt;2&gt;"))
        #expect(html.contains("data-hop=\"in&lt;gress&gt;&amp;\""))
        let root = try XHTML.parse(html)
        let failures = root.all("li").map(\.text)
        #expect(failures.contains("<script>alert(1)</script>&\"x\"' ×2"))
    }

    @Test("control characters that XML does not allow are replaced")
    func controlCharacters() throws {
        var result = Fixture.result()
        result.sessions.failures = ["bell \u{7} and nul \u{0}"]
        let html = BenchReport.html(result)
        #expect(html.contains("bell \u{FFFD} and nul \u{FFFD}"))
        _ = try XHTML.parse(html)
    }

    @Test("edge cases render and parse", arguments: EdgeCase.allCases)
    func edgeCases(_ edgeCase: EdgeCase) throws {
        let html = BenchReport.html(edgeCase.result)
        let root = try XHTML.parse(html)
        let notes = root.all("p").filter { $0.classes.contains("note") }.map(\.text)
        switch edgeCase {
        case .empty:
            #expect(root.all("svg").isEmpty)
            #expect(notes.contains { $0.contains("No marker round trips") })
            #expect(notes.contains { $0.contains("No timeline") })
            #expect(notes.contains { $0.contains("session JSON was not reachable") })
            #expect(notes.contains { $0.contains("not local") })
            #expect(notes.contains { $0.contains("No baseline was run") })
        case .singlePoint:
            #expect(root.element(id: "rtt-timeline") != nil)
            #expect(!root.element(id: "rtt-timeline")!.all("circle").isEmpty)  // one point: dots, not lines
        case .allEqual:
            #expect(root.element(id: "rtt-histogram") != nil)
            #expect(root.element(id: "relay-resources") != nil)
        case .transitOnly:
            #expect(notes.contains { $0.contains("session JSON was not reachable") })
            #expect(root.element(id: "hops") != nil)
        case .oddSummaries:
            #expect(root.element(id: "rtt-histogram") != nil)
            #expect(root.element(id: "hops")?.all("text").contains { $0.text == "no samples" } == true)
        }
    }

    @Test("tick steps are 1, 2 or 5 times a power of ten")
    func niceSteps() {
        #expect(Axis.niceStep(atLeast: 0.7) == 1)
        #expect(Axis.niceStep(atLeast: 1) == 1)
        #expect(Axis.niceStep(atLeast: 1.3) == 2)
        #expect(Axis.niceStep(atLeast: 3) == 5)
        #expect(Axis.niceStep(atLeast: 17) == 20)
        #expect(abs(Axis.niceStep(atLeast: 0.03) - 0.05) < 1e-12)
        #expect(Axis.niceStep(atLeast: .nan) == 1)
        #expect(Axis.niceStep(near: 1.3) == 1)
        #expect(Axis.niceStep(near: 1.5) == 2)
        #expect(Axis.niceStep(near: 3.5) == 5)
        #expect(Axis.niceStep(near: 8) == 10)
        let axis = Axis.fromZero(to: 87, intervals: 4, pixels: (0, 100), title: "")
        #expect(axis.ticks.map(\.label) == ["0", "20", "40", "60", "80", "100"])
        #expect(axis.scale(50) == 50)
        // A right axis lines up with the left one: the same number of steps, each axis's own 1-2-5 step.
        let (left, right) = Axis.alignedFromZero(
            left: (110, false, ""), right: (50, true, ""), pixels: (200, 0))
        #expect(left.ticks.map(\.label) == ["0", "20", "40", "60", "80", "100", "120"])
        #expect(right.ticks.map(\.label) == ["0", "10", "20", "30", "40", "50", "60"])
        let (zeros, none) = Axis.alignedFromZero(left: (0, false, ""), right: (.nan, true, ""), pixels: (200, 0))
        #expect(zeros.scale.high > 0 && none.scale.high > 0)
        let small = Axis.fromZero(to: 2, intervals: 4, integerSteps: true, pixels: (0, 100), title: "")
        #expect(small.ticks.map(\.label) == ["0", "1", "2"])
        let log = Axis.logarithmic(covering: 0.8, 430, pixels: (0, 100), title: "")
        #expect(log.ticks.map(\.label) == ["1", "2", "5", "10", "20", "50", "100", "200", "500"])
        let narrow = Axis.logarithmic(covering: 40.1, 41.7, pixels: (0, 100), title: "")
        #expect(narrow.ticks.first!.value <= 40.1 && narrow.ticks.last!.value >= 41.7 && narrow.ticks.count >= 4)
    }

    @Test("numbers are formatted with fixed decimals")
    func formatting() {
        #expect(ReportFormat.ms(41.2) == "41.20 ms")
        #expect(ReportFormat.ms(nil) == "–")
        #expect(ReportFormat.number(.nan, decimals: 2) == "–")
        #expect(ReportFormat.number(-0.001, decimals: 2) == "0.00")
        #expect(ReportFormat.count(1_234_567) == "1,234,567")
        #expect(ReportFormat.count(-1000) == "-1,000")
        #expect(ReportFormat.count(12) == "12")
        #expect(ReportFormat.pixels(.infinity) == "0")
    }

    /// Set EARSHOT_WRITE_SAMPLE_REPORT to write the fixture's report, to look at in a browser: to that path when
    /// it is an absolute path ending in .html, otherwise to /tmp/bench-sample.html; the edge cases' reports go
    /// next to it (bench-sample-empty.html, …).
    @Test("sample report")
    func sample() throws {
        let html = BenchReport.html(Fixture.result())
        #expect(html.hasPrefix("<!DOCTYPE html>\n"))
        guard let setting = ProcessInfo.processInfo.environment["EARSHOT_WRITE_SAMPLE_REPORT"] else { return }
        let path = setting.hasPrefix("/") && setting.hasSuffix(".html") ? setting : "/tmp/bench-sample.html"
        try html.write(toFile: path, atomically: true, encoding: .utf8)
        for edgeCase in EdgeCase.allCases {
            let edgePath = path.dropLast(".html".count) + "-\(edgeCase.rawValue).html"
            try BenchReport.html(edgeCase.result).write(toFile: String(edgePath), atomically: true, encoding: .utf8)
        }
    }
}

// MARK: Fixtures

/// A realistic run: 50 sessions over a transcoding relay with the echo model, a modest impairment, a baseline.
enum Fixture {
    /// Deterministic pseudo-random numbers (a 64-bit LCG), so that the fixture is the same on every run.
    struct Noise {
        var state: UInt64

        mutating func next() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(1 << 53)
        }

        /// `base` plus an exponential spread with mean `spread`, and every `tailEvery`-th value a tail of up to
        /// `tail` more (milliseconds).
        mutating func latencies(_ count: Int, base: Double, spread: Double, tailEvery: Int = 0, tail: Double = 0)
            -> [Duration]
        {
            (0..<count).map { index in
                var ms = base - spread * log(1 - next())
                if tailEvery > 0, index % tailEvery == 0 { ms += tail * next() }
                return .microseconds(Int64(ms * 1000))
            }
        }
    }

    static func result() -> BenchResult {
        var noise = Noise(state: 42)
        let rtt = LatencySummary(noise.latencies(5_990, base: 78, spread: 3.5, tailEvery: 60, tail: 220))
        let hop = { (name: String, span: String, relay: Bool, base: Double, spread: Double) in
            BenchResult.Hop(
                name: name, span: span, relayProcessing: relay,
                latency: LatencySummary(
                    noise.latencies(20_000, base: base, spread: spread, tailEvery: 200, tail: base)))
        }
        let hops = [
            hop("ingress", "socket read → session (routing, SRTP unprotect, RTP parse)", true, 0.02, 0.03),
            hop("jitterBuffer", "session → out of the jitter/reorder buffer (buffering by design)", false, 38, 2.5),
            hop("decode", "jitter buffer work per frame (Opus decode, concealment, stretching)", true, 0.05, 0.02),
            hop("toModel", "out of the buffer → handed to the model (framing, transport write)", true, 0.01, 0.01),
            hop("pacer", "model audio queued → frame due (pacer start delay, backlog)", false, 19, 1.2),
            hop("encode", "pacer work per frame (re-framing, Opus encode)", true, 0.12, 0.04),
            hop("egress", "frame ready → written to the socket (SRTP protect, send)", true, 0.03, 0.04),
        ]
        let timeline = (0...60).map { second in
            let t = Double(second)
            let up = min(second * 5, 50)
            let measured = second > 0 && !(30...31).contains(second)
            return BenchResult.TimePoint(
                atSeconds: t, sessionsUp: up, markers: measured ? up : 0,
                rttP50Ms: measured ? 79 + 1.5 * sin(t / 5) + Double(up) / 50 : nil,
                rttP99Ms: measured ? 96 + 12 * noise.next() + (second == 44 ? 160 : 0) : nil,
                lossPercent: measured ? 5 * noise.next() : nil,
                relayCPUPercent: 1.5 + Double(up) * 0.9 + 4 * noise.next(),
                relayRSSMiB: 31 + Double(up) * 0.42 + 0.5 * noise.next())
        }
        return BenchResult(
            configuration: .init(
                url: "http://127.0.0.1:8080/whip", sessions: 50, durationSeconds: 60, rampSeconds: 10,
                impairment: "loss=0.02,jitter=10,seed=7", codecPath: "transcode", model: "echo",
                command: "earshot bench --url http://127.0.0.1:8080/whip --sessions 50 --duration 60 --ramp 10 "
                    + "--impair loss=0.02,jitter=10,seed=7 --html /tmp/bench.html",
                startedAt: "2025-06-14T09:30:00Z", host: "bench-1 (2 cores)"),
            sessions: .init(
                requested: 50, connected: 49, closedEarly: 1, failures: ["DTLS handshake timed out after 10 s"],
                closeReasons: ["relay ended the session: model stalled"],
                setup: LatencySummary(noise.latencies(49, base: 35, spread: 12))),
            markers: .init(sent: 6_000, found: 5_990, missed: 10),
            rtt: rtt,
            rtcpRTT: LatencySummary(noise.latencies(2_900, base: 0.2, spread: 0.15, tailEvery: 40, tail: 20)),
            media: .init(
                packetsSent: 147_000, packetsReceived: 141_120, packetsNotReturnedPercent: 4.0, impairedLost: 5_870,
                impairedDuplicated: 0, concealedSamples: 138_240, totalSamplesReceived: 6_773_760,
                concealedPercent: 2.04, jitterMs: 6.8),
            hops: hops,
            relayTransit: LatencySummary(noise.latencies(20_000, base: 0.4, spread: 0.3, tailEvery: 100, tail: 2)),
            timeline: timeline,
            baseline: .init(
                echoRTT: LatencySummary(noise.latencies(6_000, base: 17, spread: 3, tailEvery: 60, tail: 60)),
                relayAddedP50Ms: 1.42, relayAddedP99Ms: 3.87, relayBufferingMs: 60, floorCPUPercentPerSession: 0.61,
                relayCPUPercentPerSession: 0.93, cpuRatio: 1.52),
            interval: 1)
    }
}

/// Results at the edges: nothing measured, one sample, every value the same, summaries with holes.
enum EdgeCase: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case empty, singlePoint, allEqual, transitOnly, oddSummaries

    var testDescription: String { rawValue }

    var result: BenchResult {
        var result = Fixture.result()
        switch self {
        case .empty:
            result.rtt = LatencySummary(count: 0)
            result.rtcpRTT = LatencySummary(count: 0)
            result.sessions.setup = LatencySummary(count: 0)
            result.sessions.failures = []
            result.sessions.closeReasons = []
            result.media.jitterMs = nil
            result.hops = []
            result.relayTransit = nil
            result.timeline = []
            result.baseline = nil
            result.interval = 0
        case .singlePoint:
            result.rtt = LatencySummary([.milliseconds(40)])
            result.timeline = [
                .init(
                    atSeconds: 0, sessionsUp: 1, markers: 1, rttP50Ms: 40, rttP99Ms: 40, lossPercent: 0,
                    relayCPUPercent: 3, relayRSSMiB: nil)
            ]
            result.hops = [result.hops[0]]
        case .allEqual:
            result.rtt = LatencySummary(Array(repeating: .milliseconds(50), count: 100))
            result.timeline = (0..<10).map {
                .init(
                    atSeconds: Double($0), sessionsUp: 0, markers: 0, rttP50Ms: 0, rttP99Ms: 0, lossPercent: 0,
                    relayCPUPercent: 0, relayRSSMiB: 0)
            }
            let same = LatencySummary(Array(repeating: .milliseconds(3), count: 10))
            result.hops = result.hops.map { .init(name: $0.name, span: $0.span, relayProcessing: true, latency: same) }
        case .transitOnly:
            result.hops = []
            result.timeline = result.timeline.map {
                var point = $0
                point.rttP50Ms = nil
                point.rttP99Ms = nil
                point.relayCPUPercent = nil
                return point
            }
        case .oddSummaries:
            // Percentiles missing, a zero count, a malformed bucket, a bucket at 0 µs, non-finite figures.
            result.rtt = LatencySummary(
                count: 7, p50Ms: nil, p90Ms: .nan, p99Ms: .infinity, maxMs: nil, meanMs: nil,
                buckets: [[0, 3], [900, 0], [1_000], [15_000, 4]])
            result.hops[1].latency = LatencySummary(count: 0)
            result.hops[2].latency = LatencySummary(count: 3, p50Ms: .nan, p99Ms: 2)
            result.media.concealedPercent = .nan
            result.media.packetsNotReturnedPercent = -.infinity
            result.timeline[3].rttP99Ms = .infinity
            result.timeline[4].relayRSSMiB = .nan
            result.baseline?.cpuRatio = nil
            result.baseline?.relayAddedP99Ms = .nan
        }
        return result
    }
}

// MARK: Reading the report back as XML

/// A parsed element: enough of a DOM to find elements and read their attributes and text.
final class ParsedElement {
    let name: String
    let attributes: [String: String]
    var children: [ParsedElement] = []
    /// The text directly inside and in every descendant, in document order.
    var text = ""

    init(name: String, attributes: [String: String]) {
        self.name = name
        self.attributes = attributes
    }

    var classes: Set<String> { Set((attributes["class"] ?? "").split(separator: " ").map(String.init)) }

    /// This element and every descendant (named `name`, when given), in document order.
    func all(_ name: String? = nil) -> [ParsedElement] {
        var found = name == nil || name == self.name ? [self] : []
        for child in children { found += child.all(name) }
        return found
    }

    func element(id: String) -> ParsedElement? { all().first { $0.attributes["id"] == id } }
}

enum XHTML {
    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    /// The report parsed as XML, after its `<!DOCTYPE html>` line (which XML would want to resolve).
    static func parse(_ html: String) throws -> ParsedElement {
        let doctype = "<!DOCTYPE html>\n"
        guard html.hasPrefix(doctype) else { throw ParseError(description: "no <!DOCTYPE html> line") }
        let parser = XMLParser(data: Data(html.dropFirst(doctype.count).utf8))
        let builder = TreeBuilder()
        parser.delegate = builder
        let parsed = parser.parse()
        if let error = builder.error ?? parser.parserError {
            throw ParseError(
                description: "line \(parser.lineNumber), column \(parser.columnNumber): \(error)")
        }
        guard parsed, let root = builder.root else { throw ParseError(description: "nothing parsed") }
        return root
    }

    private final class TreeBuilder: NSObject, XMLParserDelegate {
        var root: ParsedElement?
        var error: (any Error)?
        private var open: [ParsedElement] = []

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
            qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]
        ) {
            let element = ParsedElement(name: elementName, attributes: attributeDict)
            if let parent = open.last { parent.children.append(element) } else { root = element }
            open.append(element)
        }

        func parser(
            _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?
        ) {
            open.removeLast()
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            for element in open { element.text += string }
        }

        func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
            error = error ?? parseError
        }
    }
}
