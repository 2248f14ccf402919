import ArgumentParser
import EarshotAudio
import EarshotSimulation

/// `earshot simulate-jitter`: replays the uplink jitter buffer over every modelled network on virtual time and
/// prints the table of Docs/jitter-buffer.md. Deterministic: the same seed gives the same table on any machine.
struct SimulateJitter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate-jitter",
        abstract: "Replay the jitter buffer over modelled networks (virtual time) and print the delay/concealment table.")

    @Option(help: "Seconds of audio per scenario (drift runs use --drift-seconds).")
    var seconds: Int = 120

    @Option(help: "Seconds of audio for the ±0.1 % clock drift runs.")
    var driftSeconds: Int = 600

    @Option(help: "Seed for the signal and the network models.")
    var seed: UInt64 = 1

    func run() throws {
        guard seconds >= 1, driftSeconds >= 1, seconds <= 3600, driftSeconds <= 3600 else {
            throw ValidationError("durations must be 1...3600 s")
        }
        print("simulate-jitter: seed \(seed), \(seconds) s per scenario, \(driftSeconds) s for drift; "
              + "speech-like signal, Opus 48 kHz 20 ms, 32 kb/s, in-band FEC; output PCM 16 kHz 20 ms")
        let rows = try JitterBufferReport.run(
            duration: .seconds(seconds), driftDuration: .seconds(driftSeconds), seed: seed,
            progress: { row in
                let r = row.result
                print("  \(r.parameters.profile) / \(row.label): p50 \(r.addedDelayPercentile(50) * 1000) ms, "
                      + "p95 \(r.addedDelayPercentile(95) * 1000) ms, concealed \(r.concealedPercent) %, "
                      + "FEC \(r.statistics.fecPacketsRecovered), late \(r.statistics.packetsLate), "
                      + "-\(r.statistics.removedSamplesForAcceleration)/+\(r.statistics.insertedSamplesForDeceleration) samples, "
                      + "first/last minute \(r.firstMinuteDelayMedian.map { "\($0 * 1000)" } ?? "-")/"
                      + "\(r.lastMinuteDelayMedian.map { "\($0 * 1000)" } ?? "-") ms")
            })
        print("")
        print(JitterBufferReport.markdown(rows))
    }
}
