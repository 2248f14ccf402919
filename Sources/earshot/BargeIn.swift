import ArgumentParser
import EarshotClient
import EarshotCrypto
import Foundation

/// `earshot barge-in`: measures how fast talking over a model's answer silences it, end to end, against a relay
/// running a model that clears its playback when the caller speaks (`--model parrot`).
struct BargeIn: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "barge-in",
        abstract: "Measure barge-in latency against a relay running the parrot model (or any model that clears on speech).",
        discussion: """
            Each session loops a scripted caller (TalkScript.bargeIn, 4.2 s): a turn, a pause the parrot answers, \
            then speech over the answer. A figure is the time from sending the first packet of that speech to the \
            arrival of the last packet of the answer it interrupted (the relay's fade-out), on loopback.
            """)

    @Option(help: "The relay's WHIP endpoint (add ?model=NAME for a named model).")
    var url: String = "http://127.0.0.1:8080/v1/whip"

    @Option(help: "Concurrent sessions.")
    var sessions: Int = 1

    @Option(help: "Seconds of media per session (each 4.2 s loop gives one barge-in).")
    var duration: Double = 21

    @Option(help: "Write the figures as JSON to this file.")
    var json: String?

    func validate() throws {
        guard (1...100).contains(sessions) else { throw ValidationError("--sessions must be 1...100") }
        guard (1...600).contains(duration) else { throw ValidationError("--duration must be 1...600 seconds") }
    }

    func run() async throws {
        let script = TalkScript.bargeIn
        let packets = try script.packets()
        let context = try DTLSContext(configuration: .init(certificate: try DTLSCertificate(commonName: "earshot-barge-in")))
        var clients: [ClientSession] = []
        for _ in 0..<sessions {
            var configuration = ClientSession.Configuration(url: url, packets: packets)
            configuration.recordTimeline = true
            let client = try await ClientSession.start(configuration: configuration, dtlsContext: context)
            guard await client.waitUntilConnected(timeout: .seconds(15)) else {
                throw BenchError("a session did not connect")
            }
            clients.append(client)
        }
        for client in clients { client.startMedia() }
        print("\(sessions) session(s) talking for \(duration) s against \(url)")
        try await Task.sleep(for: .seconds(duration))
        var latencies: [Duration] = []
        var talkspurts = 0
        for client in clients {
            let report = await client.report()
            await client.stop()
            talkspurts += script.laterTalkspurtsStarted(packetsSent: report.sendTimes.count)
            latencies += script.bargeInLatencies(sendTimes: report.sendTimes, arrivals: report.arrivals)
        }
        latencies.sort()
        let line = ["p50", "p90", "p99", "max"].enumerated().map { index, name in
            let p = [50.0, 90, 99, 100][index]
            return "\(name) \(Stats.format(Stats.percentile(latencies, p)))"
        }.joined(separator: "  ")
        print("barge-ins measured: \(latencies.count) of \(talkspurts) talkspurts started after the first")
        print("barge-in latency (first speech packet sent → last interrupted packet received): \(line)")
        if let json {
            let figures: [String: Double?] = [
                "count": Double(latencies.count),
                "p50": Stats.milliseconds(Stats.percentile(latencies, 50)),
                "p90": Stats.milliseconds(Stats.percentile(latencies, 90)),
                "p99": Stats.milliseconds(Stats.percentile(latencies, 99)),
                "max": Stats.milliseconds(latencies.last),
                "min": Stats.milliseconds(latencies.first),
            ]
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(figures).write(to: URL(fileURLWithPath: json))
        }
    }
}
