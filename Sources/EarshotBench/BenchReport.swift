import EarshotLatency
import Foundation

/// The self-contained HTML report of one `earshot bench` run: the configuration, a summary table and charts drawn
/// here as inline SVG. No script and no external resource of any kind (fonts, styles, images), so the file opens
/// the same anywhere, offline, years later. Every string from the result is escaped, and the markup is also
/// well-formed XML (void elements self-closed), which the tests check with an XML parser.
public enum BenchReport {
    public static func html(_ result: BenchResult) -> String {
        let configuration = result.configuration
        let title = "Earshot bench: \(configuration.sessions) sessions, \(configuration.url)"
        let sections = [
            header(configuration),
            summary(result),
            section(
                id: "rtt-distribution", title: "Round trip: distribution",
                intro: "Every audio marker's mouth-to-ear round trip, all sessions together.",
                body: rttHistogram(result.rtt)),
            section(
                id: "rtt-over-time", title: "Round trip over time",
                intro: "p50 and p99 of the markers found in each "
                    + (result.interval > 0 ? "\(ReportFormat.seconds(result.interval)) interval" : "interval")
                    + " (gaps where an interval found none), and the sessions up.",
                body: rttOverTime(result.timeline)),
            section(
                id: "hops", title: "Where the time goes in the relay",
                intro: "The relay's per-hop histograms, merged over every session.", body: hops(result)),
            section(
                id: "relay-resources", title: "Relay CPU and memory",
                intro: "The local relay's CPU (100 % = one core) and resident memory.",
                body: relayResources(result)),
            section(
                id: "baseline", title: "Baseline",
                intro: "The same client against an in-process echo with no relay in between, in the same run.",
                body: baseline(result)),
        ]
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8" />
            <meta name="viewport" content="width=device-width, initial-scale=1" />
            <title>\(ReportFormat.escape(title))</title>
            <style>
            \(stylesheet)
            </style>
            </head>
            <body>
            \(sections.joined(separator: "\n"))
            <footer>Written by earshot bench. Self-contained: no scripts, no external resources.</footer>
            </body>
            </html>

            """
    }

    // MARK: Sections

    private static func section(id: String, title: String, intro: String?, body: String) -> String {
        var parts = ["<section id=\"\(id)\">", "<h2>\(ReportFormat.escape(title))</h2>"]
        if let intro { parts.append("<p class=\"intro\">\(ReportFormat.escape(intro))</p>") }
        parts += [body, "</section>"]
        return parts.joined(separator: "\n")
    }

    private static func header(_ configuration: BenchResult.Configuration) -> String {
        let network =
            configuration.impairment?.isEmpty == false
            ? "with impairment \(configuration.impairmentDescription)" : "over a clean network"
        let lede =
            "\(ReportFormat.count(configuration.sessions)) sessions for "
            + "\(ReportFormat.seconds(configuration.durationSeconds)) \(network)"
        let rows = [
            row("URL", configuration.url),
            row("Sessions", ReportFormat.count(configuration.sessions)),
            row("Duration", ReportFormat.seconds(configuration.durationSeconds)),
            row("Ramp", ReportFormat.seconds(configuration.rampSeconds)),
            row("Impairment", configuration.impairmentDescription),
            row("Codec path", configuration.codecPath ?? ReportFormat.missing),
            row("Model", configuration.model ?? ReportFormat.missing),
            row("Host", configuration.host),
            row("Started at", configuration.startedAt),
        ]
        return """
            <header>
            <h1>Earshot bench</h1>
            <p class="lede">\(ReportFormat.escape(lede))</p>
            \(table(rows, class: "configuration"))
            <pre><code>\(ReportFormat.escape(configuration.command))</code></pre>
            </header>
            """
    }

    private static func summary(_ result: BenchResult) -> String {
        let sessions = result.sessions, markers = result.markers, media = result.media
        let rows = [
            row(
                "Sessions requested / connected / closed early",
                "\(ReportFormat.count(sessions.requested)) / \(ReportFormat.count(sessions.connected)) / "
                    + ReportFormat.count(sessions.closedEarly)),
            row("Session setup p50 / p99", percentiles([sessions.setup.p50Ms, sessions.setup.p99Ms])),
            row(
                "Markers sent / found / missed",
                "\(ReportFormat.count(markers.sent)) / \(ReportFormat.count(markers.found)) / "
                    + ReportFormat.count(markers.missed)),
            row(
                "RTT p50 / p90 / p99 / max",
                percentiles([result.rtt.p50Ms, result.rtt.p90Ms, result.rtt.p99Ms, result.rtt.maxMs])),
            row("RTCP RTT p50 / p99", percentiles([result.rtcpRTT.p50Ms, result.rtcpRTT.p99Ms])),
            row(
                "Packets sent / received",
                "\(ReportFormat.count(media.packetsSent)) / \(ReportFormat.count(media.packetsReceived)) "
                    + "(\(ReportFormat.percent(media.packetsNotReturnedPercent)) not returned)"),
            row(
                "Impairment lost / duplicated",
                "\(ReportFormat.count(media.impairedLost)) / \(ReportFormat.count(media.impairedDuplicated))"),
            row(
                "Concealed",
                "\(ReportFormat.percent(media.concealedPercent)) (\(ReportFormat.count(media.concealedSamples)) of "
                    + "\(ReportFormat.count(media.totalSamplesReceived)) samples)"),
            row("Jitter (RFC 3550, mean)", ReportFormat.ms(media.jitterMs)),
        ]
        var parts = ["<section id=\"summary\">", "<h2>Summary</h2>", table(rows, class: "summary")]
        parts.append(list(title: "Failures to connect", sessions.failures))
        parts.append(list(title: "Sessions closed early: why", sessions.closeReasons))
        parts.append("</section>")
        return parts.filter { !$0.isEmpty }.joined(separator: "\n")
    }

    private static func rttOverTime(_ timeline: [BenchResult.TimePoint]) -> String {
        guard !timeline.isEmpty else { return note("No timeline was recorded.") }
        let left = SeriesGroup(
            title: "round trip (ms)",
            series: [
                Series(label: "RTT p50", cssClass: "line p50", values: timeline.map { ($0.atSeconds, $0.rttP50Ms) }),
                Series(label: "RTT p99", cssClass: "line p99", values: timeline.map { ($0.atSeconds, $0.rttP99Ms) }),
            ])
        let right = SeriesGroup(
            title: "sessions up",
            series: [
                Series(
                    label: "sessions up", cssClass: "line sessions",
                    values: timeline.map { ($0.atSeconds, Double($0.sessionsUp)) })
            ], integerSteps: true)
        return timeSeriesChart(
            id: "rtt-timeline", label: "Round-trip p50 and p99 and sessions up over time", left: left, right: right)
    }

    private static func hops(_ result: BenchResult) -> String {
        var rows = result.hops.map {
            HopRow(name: $0.name, span: $0.span, relayProcessing: $0.relayProcessing, latency: $0.latency)
        }
        if let transit = result.relayTransit {
            rows.append(
                HopRow(name: "transit (socket in → socket out)", span: "", relayProcessing: true, latency: transit))
        }
        var parts: [String] = []
        if result.hops.isEmpty {
            parts.append(note("The relay's session JSON was not reachable, so there is no per-hop breakdown."))
        }
        if !rows.isEmpty { parts.append(hopChart(rows)) }
        return parts.joined(separator: "\n")
    }

    private static func relayResources(_ result: BenchResult) -> String {
        guard result.relayWasSampled else {
            return note("The relay was not local, so its CPU and memory were not sampled.")
        }
        let timeline = result.timeline
        let cpu = SeriesGroup(
            title: "CPU (%)",
            series: [
                Series(label: "CPU", cssClass: "line cpu", values: timeline.map { ($0.atSeconds, $0.relayCPUPercent) })
            ])
        let memory = SeriesGroup(
            title: "resident memory (MiB)",
            series: [
                Series(
                    label: "resident memory", cssClass: "line memory",
                    values: timeline.map { ($0.atSeconds, $0.relayRSSMiB) })
            ])
        return timeSeriesChart(
            id: "relay-resources", label: "Relay CPU and resident memory over time", left: cpu, right: memory)
    }

    private static func baseline(_ result: BenchResult) -> String {
        guard let baseline = result.baseline else {
            return note("No baseline was run: relay-added latency and the CPU floor were not measured.")
        }
        func pair(_ label: String, _ p50: Double?, _ p99: Double?) -> String {
            "<tr><th scope=\"row\">\(ReportFormat.escape(label))</th>"
                + "<td class=\"num\">\(ReportFormat.escape(ReportFormat.ms(p50)))</td>"
                + "<td class=\"num\">\(ReportFormat.escape(ReportFormat.ms(p99)))</td></tr>"
        }
        func single(_ label: String, _ value: String) -> String {
            "<tr><th scope=\"row\">\(ReportFormat.escape(label))</th>"
                + "<td class=\"num\" colspan=\"2\">\(ReportFormat.escape(value))</td></tr>"
        }
        let ratio = baseline.cpuRatio.map { ReportFormat.number($0, decimals: 1) + "×" } ?? ReportFormat.missing
        let rows = [
            "<tr><th></th><th class=\"num\">p50</th><th class=\"num\">p99</th></tr>",
            pair("Echo RTT without the relay", baseline.echoRTT.p50Ms, baseline.echoRTT.p99Ms),
            pair("RTT through the relay", result.rtt.p50Ms, result.rtt.p99Ms),
            pair("Relay-added", baseline.relayAddedP50Ms, baseline.relayAddedP99Ms),
            single("Relay buffering subtracted", ReportFormat.ms(baseline.relayBufferingMs)),
            single("Floor CPU per session (SRTP + Opus)", ReportFormat.percent(baseline.floorCPUPercentPerSession)),
            single("Relay CPU per session", ReportFormat.percent(baseline.relayCPUPercentPerSession)),
            single("Relay CPU / floor", ratio),
        ]
        return table(rows, class: "baseline")
    }

    // MARK: Markup helpers

    /// A table row of a label and a value, both escaped.
    private static func row(_ label: String, _ value: String) -> String {
        "<tr><th scope=\"row\">\(ReportFormat.escape(label))</th><td>\(ReportFormat.escape(value))</td></tr>"
    }

    private static func table(_ rows: [String], class cssClass: String) -> String {
        (["<table class=\"\(cssClass)\">", "<tbody>"] + rows + ["</tbody>", "</table>"]).joined(separator: "\n")
    }

    /// Percentiles in milliseconds, separated by slashes ("41.20 / 80.11 ms").
    private static func percentiles(_ values: [Double?]) -> String {
        guard values.contains(where: { $0?.isFinite == true }) else { return ReportFormat.missing }
        return values.map { ReportFormat.number($0, decimals: 2) }.joined(separator: " / ") + " ms"
    }

    /// A titled list of strings, repeats counted; empty when there are none.
    private static func list(title: String, _ strings: [String]) -> String {
        guard !strings.isEmpty else { return "" }
        let items = tallied(strings).map { entry in
            let times = entry.count > 1 ? " <span class=\"times\">×\(entry.count)</span>" : ""
            return "<li><code>\(ReportFormat.escape(entry.text))</code>\(times)</li>"
        }
        return (["<h3>\(ReportFormat.escape(title))</h3>", "<ul>"] + items + ["</ul>"]).joined(separator: "\n")
    }

    private static let stylesheet = """
        body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328;
          max-width: 760px; margin: 24px auto; padding: 0 16px; }
        h1 { font-size: 22px; margin: 0 0 2px; }
        h2 { font-size: 17px; margin: 30px 0 4px; padding-bottom: 3px; border-bottom: 1px solid #d8dee4; }
        h3 { font-size: 14px; margin: 14px 0 4px; }
        p { margin: 4px 0 8px; }
        .lede, .intro, .note, footer { color: #59636e; }
        .note { font-style: italic; }
        footer { margin: 32px 0 8px; font-size: 12px; }
        table { border-collapse: collapse; width: 100%; margin: 6px 0; }
        th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #eaeef2; vertical-align: top; }
        th[scope=row] { font-weight: normal; color: #59636e; width: 46%; }
        td, .num { font-variant-numeric: tabular-nums; }
        .num { text-align: right; }
        pre { background: #f6f8fa; padding: 8px 10px; border-radius: 6px; white-space: pre-wrap;
          overflow-wrap: anywhere; margin: 8px 0; }
        code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
        ul { margin: 4px 0; padding-left: 20px; }
        .times { color: #59636e; }
        svg { display: block; width: 100%; height: auto; margin: 6px 0; }
        svg text { font: 11px system-ui, -apple-system, "Segoe UI", sans-serif; fill: #1f2328; }
        svg .tick, svg .hop-span, svg .legend { fill: #59636e; }
        svg .axis-title { fill: #59636e; }
        svg .hop-name { font-weight: 600; }
        svg .grid { stroke: #eaeef2; stroke-width: 1; }
        svg .axis { stroke: #8c959f; stroke-width: 1; }
        svg .bar.rtt { fill: #8fb8e8; }
        svg .marker { stroke-width: 1.5; }
        svg .marker.p50 { stroke: #0b5cad; }
        svg .marker.p99 { stroke: #c4302b; stroke-dasharray: 4 3; }
        svg .marker-label.p50 { fill: #0b5cad; }
        svg .marker-label.p99 { fill: #c4302b; }
        svg .line { fill: none; stroke-width: 1.8; stroke-linejoin: round; }
        svg .dot { stroke: none; }
        svg .line.p50 { stroke: #0b5cad; } svg .dot.p50 { fill: #0b5cad; }
        svg .line.p99 { stroke: #c4302b; } svg .dot.p99 { fill: #c4302b; }
        svg .line.sessions { stroke: #2da44e; stroke-dasharray: 5 3; } svg .dot.sessions { fill: #2da44e; }
        svg .line.cpu { stroke: #8250df; } svg .dot.cpu { fill: #8250df; }
        svg .line.memory { stroke: #bf8700; } svg .dot.memory { fill: #bf8700; }
        svg .relay { fill: #e36209; }
        svg .buffering { fill: #0969da; }
        svg .bar.p99 { fill-opacity: 0.45; }
        """
}
