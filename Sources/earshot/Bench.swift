import ArgumentParser
import EarshotClient
import EarshotCrypto
import EarshotOpus
import EarshotWire
import Foundation

/// `earshot bench`: many client sessions from one process against a relay, each sending 20 ms Opus packets in real
/// time; reports connection success, packets, and the round trip of every echoed packet, and (for a local relay)
/// the relay's CPU and memory.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Drive many concurrent sessions against a relay and report round-trip times and relay load.")

    @Option(help: "The relay's WHIP endpoint.")
    var url: String = "http://127.0.0.1:8080/v1/whip"

    @Option(help: "Concurrent sessions.")
    var sessions: Int = 10

    @Option(help: "Seconds of media per session once all are up.")
    var duration: Double = 10

    @Option(help: "Seconds over which sessions are started.")
    var ramp: Double = 2

    @Option(help: "Bearer token for WHIP.")
    var token: String?

    @Option(help: "PID of a local relay process, to report its CPU and resident memory.")
    var relayPID: Int32?

    @Option(help: "Write the results as JSON to this file.")
    var json: String?

    func validate() throws {
        guard (1...2000).contains(sessions) else { throw ValidationError("--sessions must be 1...2000") }
        guard duration > 0, duration <= 3600 else { throw ValidationError("--duration must be in (0, 3600] seconds") }
        guard ramp >= 0, ramp <= 600 else { throw ValidationError("--ramp must be in [0, 600] seconds") }
    }

    func run() async throws {
        let context = try DTLSContext(configuration: .init(certificate: DTLSCertificate(commonName: "earshot-bench")))
        let packets = try Self.tonePackets()
        let relay = relayPID.map(ProcessSampler.init(pid:))
        var samples: [RelaySample] = []
        let started = Date()
        print("starting \(sessions) sessions over \(ramp) s against \(url)")

        // Start sessions, spread over the ramp.
        var clients: [ClientSession] = []
        var failures: [String] = []
        let spacing = sessions > 1 ? ramp / Double(sessions - 1) : 0
        await withTaskGroup(of: Result<ClientSession, any Error>.self) { group in
            for index in 0..<sessions {
                group.addTask {
                    try? await Task.sleep(for: .seconds(spacing * Double(index)))
                    do {
                        let client = try await ClientSession.start(
                            configuration: .init(url: url, token: token, packets: packets), dtlsContext: context)
                        guard await client.waitUntilConnected(timeout: .seconds(20)) else {
                            await client.stop()
                            throw BenchError("session \(index) did not connect")
                        }
                        client.startMedia()
                        return .success(client)
                    } catch {
                        return .failure(error)
                    }
                }
            }
            for await result in group {
                switch result {
                case .success(let client): clients.append(client)
                case .failure(let error): failures.append("\(error)")
                }
            }
        }
        print("sessions up: \(clients.count)/\(sessions) after \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        for failure in failures.prefix(5) { print("  failed: \(failure)") }

        // Hold for the duration, reporting every 5 s.
        let holdStart = Date()
        relay?.reset()
        while Date().timeIntervalSince(holdStart) < duration {
            try await Task.sleep(for: .seconds(min(5, max(0.1, duration - Date().timeIntervalSince(holdStart)))))
            var rtts: [Duration] = []
            var sent = 0
            var received = 0
            var closed = 0
            for client in clients {
                let report = await client.report()
                rtts += report.roundTrips.suffix(250)
                sent += report.packetsSent
                received += report.packetsReceived
                if report.closeReason != nil { closed += 1 }
            }
            var line = String(
                format: "t=%5.1fs  up %d  closed %d  sent %d  received %d  rtt p50 %@ p99 %@",
                Date().timeIntervalSince(holdStart), clients.count - closed, closed, sent, received,
                Stats.format(Stats.percentile(rtts, 50)), Stats.format(Stats.percentile(rtts, 99)))
            if let relay, let sample = relay.sample() {
                samples.append(sample)
                line += String(format: "  relay cpu %.1f%%  rss %.1f MiB", sample.cpuPercent, sample.rssMiB)
            }
            print(line)
        }

        // Collect and stop.
        var reports: [ClientSession.Report] = []
        for client in clients { reports.append(await client.report()) }
        await withTaskGroup(of: Void.self) { group in
            for client in clients { group.addTask { await client.stop() } }
        }
        let summary = Summary(
            sessionsRequested: sessions, sessionsConnected: clients.count, failures: failures,
            durationSeconds: duration, reports: reports, relay: samples)
        summary.print()
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(summary.json).write(to: URL(fileURLWithPath: json))
            print("wrote \(json)")
        }
        if clients.count < sessions || summary.closedEarly > 0 { throw ExitCode(2) }
    }

    /// One second of a 440 Hz tone as 50 Opus packets.
    static func tonePackets() throws -> [[UInt8]] {
        let encoder = try OpusEncoder(.init(bitrate: .bitsPerSecond(32_000), complexity: 5))
        return try (0..<50).map { frame in
            let pcm = (0..<960).map { i in Int16(8000 * sin(2 * Double.pi * 440 * Double(frame * 960 + i) / 48_000)) }
            return try encoder.encode(pcm)
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

enum Stats {
    static func percentile(_ values: [Duration], _ p: Double) -> Duration? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count - 1)).rounded())
        return sorted[max(0, min(sorted.count - 1, rank))]
    }

    static func milliseconds(_ d: Duration?) -> Double? {
        d.map { Double($0.nanosecondsClamped) / 1e6 }
    }

    static func format(_ d: Duration?) -> String {
        milliseconds(d).map { String(format: "%.2f ms", $0) } ?? "–"
    }
}

struct RelaySample: Codable {
    var atSeconds: Double
    var cpuPercent: Double
    var rssMiB: Double
}

/// Reads a local process's CPU time and resident memory from /proc.
final class ProcessSampler: @unchecked Sendable {
    let pid: Int32
    private var last: (cpu: Double, wall: Date)?
    private let start = Date()
    private let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))

    init(pid: Int32) { self.pid = pid }

    func reset() { last = cpuSeconds().map { ($0, Date()) } }

    func cpuSeconds() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command name: state(0) ... utime is field 14 overall → index 11 here, stime index 12.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / ticks
    }

    func rssMiB() -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let parts = line.split(separator: " ")
            if parts.count >= 2, let kb = Double(parts[1]) { return kb / 1024 }
        }
        return nil
    }

    func sample() -> RelaySample? {
        guard let cpu = cpuSeconds(), let rss = rssMiB() else { return nil }
        let now = Date()
        defer { last = (cpu, now) }
        guard let last else { return RelaySample(atSeconds: now.timeIntervalSince(start), cpuPercent: 0, rssMiB: rss) }
        let percent = 100 * (cpu - last.cpu) / max(0.001, now.timeIntervalSince(last.wall))
        return RelaySample(atSeconds: now.timeIntervalSince(start), cpuPercent: percent, rssMiB: rss)
    }
}

struct Summary {
    var sessionsRequested: Int
    var sessionsConnected: Int
    var failures: [String]
    var durationSeconds: Double
    var reports: [ClientSession.Report]
    var relay: [RelaySample]

    var closedEarly: Int { reports.filter { $0.closeReason != nil }.count }

    struct JSON: Codable {
        var sessionsRequested: Int
        var sessionsConnected: Int
        var sessionsClosedEarly: Int
        var closeReasons: [String]
        var failures: [String]
        var durationSeconds: Double
        var packetsSent: Int
        var packetsReceived: Int
        var packetsPerSecondEachWay: Double
        var roundTripMilliseconds: [String: Double?]
        var setupMilliseconds: [String: Double?]
        var rtcpRoundTripMilliseconds: [String: Double?]
        var relay: [RelaySample]
    }

    var json: JSON {
        let rtts = reports.flatMap(\.roundTrips)
        let setups = reports.compactMap(\.setupTime)
        let rtcp = reports.compactMap(\.rtcpRoundTripTime)
        func table(_ values: [Duration]) -> [String: Double?] {
            ["p50": Stats.milliseconds(Stats.percentile(values, 50)),
             "p90": Stats.milliseconds(Stats.percentile(values, 90)),
             "p99": Stats.milliseconds(Stats.percentile(values, 99)),
             "max": Stats.milliseconds(values.max())]
        }
        let sent = reports.map(\.packetsSent).reduce(0, +)
        return JSON(
            sessionsRequested: sessionsRequested, sessionsConnected: sessionsConnected, sessionsClosedEarly: closedEarly,
            closeReasons: reports.compactMap(\.closeReason), failures: failures, durationSeconds: durationSeconds, packetsSent: sent,
            packetsReceived: reports.map(\.packetsReceived).reduce(0, +),
            packetsPerSecondEachWay: Double(sent) / max(durationSeconds, 0.001),
            roundTripMilliseconds: table(rtts), setupMilliseconds: table(setups),
            rtcpRoundTripMilliseconds: table(rtcp), relay: relay)
    }

    func print() {
        let j = json
        Swift.print("")
        Swift.print("sessions: \(j.sessionsConnected)/\(j.sessionsRequested) connected, \(j.sessionsClosedEarly) closed early")
        for (reason, count) in Dictionary(grouping: reports.compactMap(\.closeReason), by: { $0 }).mapValues(\.count) {
            Swift.print("  closed early (\(count)): \(reason)")
        }
        Swift.print("packets:  \(j.packetsSent) sent, \(j.packetsReceived) echoed back")
        func row(_ name: String, _ t: [String: Double?]) {
            let cells = ["p50", "p90", "p99", "max"].map { key in
                (t[key] ?? nil).map { String(format: "%@ %.2f", key, $0) } ?? "\(key) –"
            }
            Swift.print("\(name) \(cells.joined(separator: "  ")) ms")
        }
        row("packet round trip:", j.roundTripMilliseconds)
        row("session setup:    ", j.setupMilliseconds)
        row("RTCP RTT (relay): ", j.rtcpRoundTripMilliseconds)
        if !relay.isEmpty {
            let steady = relay.dropFirst()
            let cpu = steady.map(\.cpuPercent)
            let rss = relay.map(\.rssMiB)
            Swift.print(
                String(
                    format: "relay:   cpu mean %.1f%% (max %.1f%%), rss first %.1f MiB, last %.1f MiB, max %.1f MiB",
                    cpu.isEmpty ? 0 : cpu.reduce(0, +) / Double(cpu.count), cpu.max() ?? 0, rss.first ?? 0,
                    rss.last ?? 0, rss.max() ?? 0))
        }
    }
}
