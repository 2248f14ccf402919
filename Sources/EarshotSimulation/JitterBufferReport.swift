import EarshotAudio
import EarshotOpus

/// The jitter buffer report of Docs/jitter-buffer.md: every profile over every network scenario, as a table.
public enum JitterBufferReport {
    public struct Row: Sendable {
        public var label: String
        public var result: JitterBufferSimulation.Result
    }

    /// The runs of the report: each scenario for `duration` (the drift scenario for ten minutes, once 0.1 % fast
    /// and once 0.1 % slow), for both profiles.
    public static func plannedRuns(duration: Duration = .seconds(120), driftDuration: Duration = .seconds(600),
                                   seed: UInt64 = 1) -> [(label: String, parameters: JitterBufferSimulation.Parameters)]
    {
        var runs: [(String, JitterBufferSimulation.Parameters)] = []
        for profile in JitterBufferConfiguration.Profile.allCases {
            for scenario in NetworkScenario.allCases {
                if scenario == .drift {
                    for ppm in [1000.0, -1000.0] {
                        runs.append((ppm > 0 ? "drift +0.1 %" : "drift −0.1 %",
                                     .init(scenario: scenario, profile: profile, duration: driftDuration,
                                           senderClockDriftPPM: ppm, seed: seed)))
                    }
                } else {
                    runs.append((scenario.rawValue, .init(scenario: scenario, profile: profile, duration: duration, seed: seed)))
                }
            }
        }
        return runs
    }

    /// Runs every planned run (calling `progress` after each) and returns the rows.
    public static func run(duration: Duration = .seconds(120), driftDuration: Duration = .seconds(600), seed: UInt64 = 1,
                           progress: (Row) -> Void = { _ in }) throws -> [Row]
    {
        let packets = try JitterBufferSimulation.encodeLoop(seed: seed)
        var rows: [Row] = []
        for (label, parameters) in plannedRuns(duration: duration, driftDuration: driftDuration, seed: seed) {
            let row = Row(label: label, result: try JitterBufferSimulation.run(parameters, packets: packets))
            progress(row)
            rows.append(row)
        }
        return rows
    }

    /// The Markdown table: profile × network × added delay p50/p95 × concealed % × FEC-recovered, plus what the
    /// network did and what the buffer did about it.
    public static func markdown(_ rows: [Row]) -> String {
        var lines = [
            "| profile | network | run | added delay p50 | added delay p95 | max | concealed | FEC-recovered | lost in network | late, discarded | stretched (−/+ ms) | delay p50 first → last minute |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for row in rows {
            let r = row.result
            let s = r.statistics
            let rate = Double(r.parameters.output.sampleRate.hertz)
            let drift: String
            if let first = r.firstMinuteDelayMedian, let last = r.lastMinuteDelayMedian {
                drift = "\(ms(first)) → \(ms(last))"
            } else {
                drift = "—"
            }
            lines.append(
                "| \(r.parameters.profile) | \(row.label) | \(Int(r.parameters.duration.seconds)) s "
                    + "| \(ms(r.addedDelayPercentile(50))) | \(ms(r.addedDelayPercentile(95))) "
                    + "| \(ms(r.addedDelayPercentile(100))) "
                    + "| \(fixed(r.concealedPercent, 2)) % | \(s.fecPacketsRecovered) | \(r.packetsLostInNetwork) of \(r.packetsSent) "
                    + "| \(s.packetsLate) | \(fixed(Double(s.removedSamplesForAcceleration) * 1000 / rate, 0)) / "
                    + "\(fixed(Double(s.insertedSamplesForDeceleration) * 1000 / rate, 0)) | \(drift) |")
        }
        return lines.joined(separator: "\n")
    }

    static func ms(_ seconds: Double) -> String { fixed(seconds * 1000, 1) + " ms" }

    /// Fixed-point formatting without Foundation.
    static func fixed(_ value: Double, _ digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = Int(scaled / scale)
        let fraction = Int(scaled) - whole * Int(scale)
        let sign = value < 0 && scaled != 0 ? "-" : ""
        guard digits > 0 else { return sign + String(whole) }
        let fractionText = String(fraction)
        return sign + String(whole) + "." + String(repeating: "0", count: digits - fractionText.count) + fractionText
    }
}
