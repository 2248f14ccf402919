import Foundation
import Testing

/// `earshot call`'s round trip, found from audio markers, against an account of the same path from other
/// instruments: headless Chromium's getStats (the nominated candidate pair's round trip: the network) plus the
/// relay's per-hop p50s for the call's session plus the codec's framing (20 ms packetisation, 6.5 ms Opus lookahead
/// per encode). The two must agree within 5 ms (Docs/latency.md). Tests/Interop/latency_crosscheck.py runs the call
/// and Chromium at the same time against one relay, in a network namespace with only `lo`.
@Suite(.serialized)
struct LatencyCrossCheckTests {
    struct Result: Decodable {
        struct Call: Decodable {
            var rttP50Ms: Double?
            var markersFound: Int
            var markersSent: Int
        }
        struct Chromium: Decodable {
            var candidatePairRttMs: Double
            var jitterBufferDelayMs: Double?
            var hops: [String: Double]
        }
        struct Estimate: Decodable {
            var relayHopsMs: Double
            var totalMs: Double
        }
        var error: String?
        var codecPath: String
        var call: Call?
        var chromium: Chromium?
        var estimate: Estimate?
        var chromiumSessionEstimate: Estimate?
        var differenceMs: Double?
    }

    @Test(.timeLimit(.minutes(2)), arguments: ["passthrough", "transcode"])
    func callAgreesWithChromiumAndTheRelaysHops(codecPath: String) throws {
        try requireExecutable("/usr/bin/chromium", package: "chromium")
        try requireExecutable("/usr/bin/sox", package: "sox")
        let relay = try InteropRun.relayExecutable()
        let (line, seconds) = try InteropRun.runDriver(
            "latency_crosscheck.py",
            arguments: ["--earshot", relay, "--codec-path", codecPath, "--seconds", "8", "--timeout", "75"],
            timeout: 75, name: "crosscheck-\(codecPath)")
        let result = try JSONDecoder().decode(Result.self, from: Data(line.utf8))
        #expect(result.error == nil, "\(result.error ?? "")")
        let call = try #require(result.call)
        let difference = try #require(result.differenceMs)
        // As in CallTests: every marker but the last one in flight comes back; through the transcoding echo one more
        // can be cut where its downlink pacer runs dry under arrival jitter on a loaded machine. The p50 compared
        // below needs most of them, not all.
        let required = codecPath == "passthrough" ? call.markersSent - 1 : call.markersSent - 3
        #expect(call.markersFound >= required, "\(call.markersFound) of \(call.markersSent) markers")
        #expect(abs(difference) <= 5, "call p50 \(call.rttP50Ms ?? -1) ms vs Chromium + relay \(result.estimate?.totalMs ?? -1) ms")
        print("cross-check \(codecPath): call p50 \(call.rttP50Ms ?? -1) ms, Chromium's account \(result.estimate?.totalMs ?? -1) ms (candidate pair \(result.chromium?.candidatePairRttMs ?? -1) ms, relay hops \(result.estimate?.relayHopsMs ?? -1) ms), difference \(difference) ms; with Chromium's session's hops \(result.chromiumSessionEstimate?.totalMs ?? -1) ms; Chromium's jitter buffer \(result.chromium?.jitterBufferDelayMs ?? -1) ms; \(String(format: "%.1f", seconds)) s")
    }
}
