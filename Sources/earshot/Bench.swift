import ArgumentParser
import CEarshotShims
import Earshot
import EarshotBench
import EarshotClient
import EarshotCrypto
import EarshotImpairment
import EarshotLatency
import EarshotWire
import Foundation
import NIOCore
import NIOPosix

/// `earshot bench`: many `earshot call` sessions from one process against a relay, with seeded in-process network
/// impairment, live progress, a summary, JSON and a self-contained HTML report; and, in the same run, the same
/// client against an in-process echo with no relay (the latency baseline) and the bare CPU cost of the media work
/// (the CPU floor).
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Drive many concurrent calls against a relay; report mouth-to-ear round trips, the relay's hops and load.",
        discussion: """
            Each session is an `earshot call`: a tone with a 20 ms chirp every second, sent in real time; the chirps \
            are found again in the returned audio (use an echoing model). The relay's per-hop view of every session \
            is read from its session API before the session ends. Then, unless --no-baseline, the same sessions run \
            against an in-process echo peer with no relay in between (same codec path, same impairment): the \
            difference is the relay's added latency. The CPU floor is the SRTP and Opus work of a session, timed \
            in this process. See Docs/benchmarks.md.
            """)

    @Option(help: "The relay's WHIP endpoint.")
    var url: String = "http://127.0.0.1:8080/v1/whip"

    @Option(help: "Concurrent sessions.")
    var sessions: Int = 10

    @Option(help: "Seconds of media once every session is up.")
    var duration: Double = 30

    @Option(help: "Seconds over which sessions are started.")
    var ramp: Double = 5

    @Option(help: "Network impairment applied in-process each way: loss=,burst=,jitter=,reorder=,duplicate=,delay=,seed= (jitter and delay in ms).")
    var impair: String?

    @Option(help: "Bearer token for WHIP.")
    var token: String?

    @Option(help: "PID of the relay, for its CPU and memory (default: the local process listening on the URL's port).")
    var relayPID: Int32?

    @Option(help: "Seconds between progress lines (and timeline points).")
    var interval: Double = 5

    @Flag(help: "Skip the baseline run against the in-process echo.")
    var noBaseline = false

    @Option(help: "Seconds of media for the baseline run (default: the same as --duration, at most 30).")
    var baselineDuration: Double?

    @Option(help: "Write the results as JSON to this file.")
    var json: String?

    @Option(help: "Write a self-contained HTML report to this file.")
    var report: String?

    func validate() throws {
        guard (1...2000).contains(sessions) else { throw ValidationError("--sessions must be 1...2000") }
        guard duration > 0, duration <= 3600 else { throw ValidationError("--duration must be in (0, 3600] seconds") }
        guard ramp >= 0, ramp <= 600 else { throw ValidationError("--ramp must be in [0, 600] seconds") }
        guard interval >= 0.5, interval <= 60 else { throw ValidationError("--interval must be in [0.5, 60] seconds") }
        if let baselineDuration, !(1...3600).contains(baselineDuration) {
            throw ValidationError("--baseline-duration must be in [1, 3600] seconds")
        }
        if let impair {
            do { _ = try ImpairmentSpec(parsing: impair) } catch { throw ValidationError("--impair: \(error)") }
        }
    }

    func run() async throws {
        // Progress lines go out as they are printed, also into a file or a pipe.
        earshot_line_buffer_stdout()
        let spec = try impair.map { try ImpairmentSpec(parsing: $0) }
        let script = try CallScript(pcm: CallScript.tone(seconds: 10))
        let context = try DTLSContext(configuration: .init(certificate: DTLSCertificate(commonName: "earshot-bench")))
        let started = Date()
        let pid = relayPID ?? Self.localPort(of: url).flatMap { LocalListener.pid(port: $0) }
        let sampler = pid.map { ProcessSampler(pid: $0, start: started) }
        print("earshot bench: \(sessions) sessions, ramp \(ramp) s, \(duration) s each, against \(url)"
            + (spec.map { ", impaired: \($0)" } ?? "") + (pid.map { " (relay pid \($0))" } ?? ""))

        // The CPU floor first, while the machine is quiet: thread CPU time, but shared caches and clocks still feel
        // a loaded machine.
        let floor = try CPUFloor.measure(payloads: script.packets)
        let relayPhase = BenchPhase(
            name: "relay", sessions: sessions, ramp: ramp, duration: duration, interval: interval, script: script,
            context: context, token: token, impairment: spec, sampler: sampler, started: started)
        let relay = try await relayPhase.run(url: url, signaling: nil)

        var baseline: PhaseResult?
        if !noBaseline {
            let codecPath = BaselineEchoPeer.CodecPath(rawValue: relay.codecPath ?? "") ?? .transcode
            print("\nbaseline: the same \(sessions) sessions against an in-process echo (\(codecPath.rawValue)), no relay")
            let group = MultiThreadedEventLoopGroup.singleton
            let echoes = EchoPeers()
            let phase = BenchPhase(
                name: "baseline", sessions: sessions, ramp: ramp, duration: baselineDuration ?? min(duration, 30),
                interval: interval, script: script, context: context, token: nil, impairment: spec, sampler: nil,
                started: Date())
            baseline = try await phase.run(url: "in-process echo") { offer in
                let (peer, answer) = try await BaselineEchoPeer.answer(
                    offer: offer, codecPath: codecPath, dtlsContext: context, group: group)
                await echoes.add(peer)
                return (answer, "")
            }
            await echoes.closeAll()
        }
        let result = Self.result(
            relay: relay, baseline: baseline, floor: floor, spec: spec, started: started, command: Self.commandLine())
        BenchSummaryPrinter.print(result, floor: floor)
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(result).write(to: URL(fileURLWithPath: json))
            print("wrote \(json)")
        }
        if let report {
            try Data(BenchReport.html(result).utf8).write(to: URL(fileURLWithPath: report))
            print("wrote \(report)")
        }
        if relay.connected < sessions || relay.closedEarly > 0 { throw ExitCode(2) }
    }

    static func localPort(of url: String) -> Int? {
        guard let components = URLComponents(string: url), let host = components.host,
            ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host)
        else { return nil }
        return components.port ?? 80
    }

    static func commandLine() -> String {
        "earshot " + CommandLine.arguments.dropFirst().map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")
    }

    static func result(
        relay: PhaseResult, baseline: PhaseResult?, floor: CPUFloor, spec: ImpairmentSpec?, started: Date,
        command: String
    ) -> BenchResult {
        let rtt = LatencySummary(relay.roundTrips)
        let hops = relay.hops
        // Buffering by design on the relay's path, from its own per-packet figures (means add up exactly).
        let buffering = hops.filter { !$0.relayProcessing && $0.name != "modelTurnaround" }
            .compactMap { $0.latency.meanMs }.reduce(0, +)
        var baselineFigures: BenchResult.Baseline?
        if let baseline {
            let echo = LatencySummary(baseline.roundTrips)
            let transcoding = relay.codecPath != "passthrough"
            let floorPercent = floor.percentPerSession(transcoding: transcoding)
            let steady = relay.timeline.filter { $0.sessionsUp == relay.connected && $0.relayCPUPercent != nil }
            let cpuPerSession: Double? = steady.isEmpty || relay.connected == 0 ? nil
                : steady.compactMap(\.relayCPUPercent).reduce(0, +) / Double(steady.count) / Double(relay.connected)
            func added(_ a: Double?, _ b: Double?) -> Double? {
                guard let a, let b else { return nil }
                return a - b - buffering
            }
            baselineFigures = BenchResult.Baseline(
                echoRTT: echo, relayAddedP50Ms: added(rtt.p50Ms, echo.p50Ms), relayAddedP99Ms: added(rtt.p99Ms, echo.p99Ms),
                relayBufferingMs: buffering, floorCPUPercentPerSession: floorPercent,
                relayCPUPercentPerSession: cpuPerSession, cpuRatio: cpuPerSession.map { $0 / floorPercent })
        }
        let sent = relay.packetsSent
        let host = ProcessInfo.processInfo.hostName + ", \(ProcessInfo.processInfo.activeProcessorCount) cores"
        return BenchResult(
            configuration: .init(
                url: relay.url, sessions: relay.requested, durationSeconds: relay.duration, rampSeconds: relay.ramp,
                impairment: spec?.description, codecPath: relay.codecPath, model: relay.model, command: command,
                startedAt: ISO8601DateFormatter().string(from: started), host: host),
            sessions: .init(
                requested: relay.requested, connected: relay.connected, closedEarly: relay.closedEarly,
                failures: relay.failures, closeReasons: relay.closeReasons, setup: LatencySummary(relay.setupTimes)),
            markers: .init(sent: relay.markersSent, found: relay.roundTrips.count, missed: relay.markersMissed),
            rtt: rtt, rtcpRTT: LatencySummary(relay.rtcpRoundTrips),
            media: .init(
                packetsSent: sent, packetsReceived: relay.packetsReceived,
                packetsNotReturnedPercent: sent > 0 ? 100 * Double(max(0, sent - relay.packetsReceived)) / Double(sent) : 0,
                impairedLost: relay.impairedLost, impairedDuplicated: relay.impairedDuplicated,
                concealedSamples: relay.concealedSamples, totalSamplesReceived: relay.totalSamples,
                concealedPercent: relay.totalSamples > 0 ? 100 * Double(relay.concealedSamples) / Double(relay.totalSamples) : 0,
                jitterMs: relay.jitterMs),
            hops: hops.filter { $0.name != "transit" }, relayTransit: hops.first { $0.name == "transit" }?.latency,
            timeline: relay.timeline,
            baseline: baselineFigures, interval: relay.interval)
    }
}

/// The in-process echo peers of a baseline run, closed at its end.
actor EchoPeers {
    private var peers: [BaselineEchoPeer] = []
    func add(_ peer: BaselineEchoPeer) { peers.append(peer) }
    func closeAll() async {
        for peer in peers { await peer.close() }
        peers = []
    }
}

/// What one phase (against the relay, or the baseline) measured.
struct PhaseResult {
    var url: String
    var requested: Int
    var duration: Double
    var ramp: Double
    var interval: Double
    var connected = 0
    var closedEarly = 0
    var failures: [String] = []
    var closeReasons: [String] = []
    var setupTimes: [Duration] = []
    var roundTrips: [Duration] = []
    var rtcpRoundTrips: [Duration] = []
    var markersSent = 0
    var markersMissed = 0
    var packetsSent = 0
    var packetsReceived = 0
    var impairedLost = 0
    var impairedDuplicated = 0
    var concealedSamples = 0
    var totalSamples = 0
    var jitterMs: Double?
    var timeline: [BenchResult.TimePoint] = []
    var hops: [BenchResult.Hop] = []
    var codecPath: String?
    var model: String?
}

/// One call in a bench phase: the client session and its receiver (on the session's loop).
final class BenchCall: Sendable {
    let index: Int
    let client: ClientSession
    let receiver: NIOLoopBound<CallReceiver>
    let ticker: NIOLoopBound<RepeatedTask>

    struct Snapshot: Sendable {
        var roundTrips: [Duration]
        var markersSent: Int
        var markersMissed: Int
        var packetsReceived: Int
        var concealed: Int
        var total: Int
        var packetsSent: Int
        var closed: Bool
    }

    init(index: Int, client: ClientSession, receiver: NIOLoopBound<CallReceiver>, ticker: NIOLoopBound<RepeatedTask>) {
        self.index = index
        self.client = client
        self.receiver = receiver
        self.ticker = ticker
    }

    static func start(
        index: Int, url: String, token: String?, script: CallScript, context: DTLSContext, impairment: ImpairmentSpec?,
        signaling: ClientSession.Signaling?
    ) async throws -> BenchCall {
        var configuration = ClientSession.Configuration(url: url, token: token, packets: script.packets)
        configuration.impairment = impairment
        configuration.impairmentSession = index
        let client = try await ClientSession.start(configuration: configuration, dtlsContext: context, signaling: signaling)
        let loop = client.eventLoop
        let receiver = try await loop.submit { try NIOLoopBound(CallReceiver(script: script), eventLoop: loop) }.get()
        await client.observe(
            sent: { index, now in receiver.value.sent(packet: index, at: now) },
            received: { audio in receiver.value.received(audio) })
        guard await client.waitUntilConnected(timeout: .seconds(20)) else {
            await client.stop()
            throw BenchError("session \(index) did not connect (ICE/DTLS)")
        }
        let ticker = try await loop.submit {
            NIOLoopBound(
                loop.scheduleRepeatedTask(initialDelay: .milliseconds(10), delay: .milliseconds(10)) { _ in
                    receiver.value.poll(now: .now())
                }, eventLoop: loop)
        }.get()
        client.startMedia()
        return BenchCall(index: index, client: client, receiver: receiver, ticker: ticker)
    }

    func snapshot() async -> Snapshot? {
        let receiver = self.receiver
        let counts = await client.counts()
        return try? await client.eventLoop.submit {
            let r = receiver.value
            let statistics = r.jitterBuffer.statistics
            return Snapshot(
                roundTrips: r.roundTrips.roundTrips, markersSent: r.roundTrips.sentCount,
                markersMissed: r.roundTrips.missed + r.roundTrips.waiting, packetsReceived: r.packetsReceived,
                concealed: statistics.concealedSamples, total: statistics.totalSamplesReceived,
                packetsSent: counts.packetsSent, closed: counts.closed)
        }.get()
    }

    func stop() async {
        let ticker = self.ticker
        try? await client.eventLoop.submit { ticker.value.cancel() }.get()
        await client.stop()
    }
}

/// Runs one phase: starts the calls over the ramp, holds them for the duration with a progress line every
/// interval, reads the relay's view of each session, stops them.
struct BenchPhase {
    var name: String
    var sessions: Int
    var ramp: Double
    var duration: Double
    var interval: Double
    var script: CallScript
    var context: DTLSContext
    var token: String?
    var impairment: ImpairmentSpec?
    var sampler: ProcessSampler?
    var started: Date

    func run(url: String, signaling: ClientSession.Signaling?) async throws -> PhaseResult {
        var result = PhaseResult(url: url, requested: sessions, duration: duration, ramp: ramp, interval: interval)
        let spacing = sessions > 1 ? ramp / Double(sessions - 1) : 0
        let phaseStart = Date()
        sampler?.reset()
        let progress = Progress(name: name, sessions: sessions, interval: interval, phaseStart: phaseStart, sampler: sampler)
        // Start the calls over the ramp while the progress lines go on.
        let calls = CallList()
        let starter = Task {
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<sessions {
                    group.addTask { [script, context, token, impairment] in
                        try? await Task.sleep(for: .seconds(spacing * Double(index)))
                        do {
                            let call = try await BenchCall.start(
                                index: index, url: url, token: token, script: script, context: context,
                                impairment: impairment, signaling: signaling)
                            await calls.add(call)
                        } catch {
                            await calls.fail("\(error)")
                        }
                    }
                }
            }
        }
        // Progress while ramping, then for `duration` once all are up (or failed).
        var holdStart: Date?
        while true {
            try await Task.sleep(for: .seconds(interval))
            let (up, failed) = await calls.counts()
            await progress.tick(calls: await calls.all())
            if holdStart == nil, up + failed >= sessions { holdStart = Date() }
            if let holdStart, Date().timeIntervalSince(holdStart) >= duration - 0.01 { break }
            if holdStart == nil, Date().timeIntervalSince(phaseStart) > ramp + 60 { break }
        }
        await starter.value
        // A second for the last markers to come back, then the relay's view of each session, then stop.
        try await Task.sleep(for: .seconds(1))
        let all = await calls.all()
        result.failures = await calls.failures()
        result.connected = all.count
        // Each session's figures, its client's report and the relay's view of it, all sessions in parallel.
        let collected = await withTaskGroup(of: (BenchCall.Snapshot?, ClientSession.Report, SessionInfo?).self) { group in
            for call in all {
                group.addTask { [token] in
                    let snapshot = await call.snapshot()
                    let report = await call.client.report()
                    let view = signaling == nil ? await Self.relayView(resource: call.client.resource, token: token) : nil
                    return (snapshot, report, view)
                }
            }
            return await group.reduce(into: [(BenchCall.Snapshot?, ClientSession.Report, SessionInfo?)]()) { $0.append($1) }
        }
        var relayViews: [SessionInfo] = []
        var jitters: [Double] = []
        for (snapshot, report, view) in collected {
            if let snapshot {
                result.roundTrips += snapshot.roundTrips
                result.markersSent += snapshot.markersSent
                result.markersMissed += snapshot.markersMissed
                result.packetsReceived += snapshot.packetsReceived
                result.concealedSamples += snapshot.concealed
                result.totalSamples += snapshot.total
            }
            result.packetsSent += report.packetsSent
            result.impairedLost += report.impairedLost
            result.impairedDuplicated += report.impairedDuplicated
            if let setup = report.setupTime { result.setupTimes.append(setup) }
            if let rtcp = report.rtcpRoundTripTime { result.rtcpRoundTrips.append(rtcp) }
            if let reason = report.closeReason {
                result.closedEarly += 1
                result.closeReasons.append(reason)
            }
            if let view { relayViews.append(view) }
            jitters.append(report.jitter)
        }
        result.jitterMs = jitters.isEmpty ? nil : 1000 * jitters.reduce(0, +) / Double(jitters.count)
        await withTaskGroup(of: Void.self) { group in
            for call in all { group.addTask { await call.stop() } }
        }
        result.timeline = await progress.points()
        result.codecPath = relayViews.first?.model.codecPath
        result.model = relayViews.first?.model.name
        result.hops = Self.mergedHops(relayViews)
        return result
    }

    /// The relay's JSON for a session (`GET /v1/sessions/{id}` beside the WHIP resource).
    static func relayView(resource: String, token: String?) async -> SessionInfo? {
        guard let text = await Call.relaySession(resource: resource, token: token) else { return nil }
        return try? JSONDecoder().decode(SessionInfo.self, from: Data(text.utf8))
    }

    /// Each hop's histograms added up over sessions, in path order.
    static func mergedHops(_ views: [SessionInfo]) -> [BenchResult.Hop] {
        var order: [String] = []
        var byName: [String: (span: String, processing: Bool, summaries: [LatencySummary])] = [:]
        for view in views {
            for hop in view.latency?.hops ?? [] {
                if byName[hop.name] == nil {
                    order.append(hop.name)
                    byName[hop.name] = (hop.span, hop.relayProcessing, [])
                }
                byName[hop.name]?.summaries.append(hop.latency)
            }
        }
        let pathOrder = RelayHop.allCases.map(\.rawValue)
        return order.sorted { (pathOrder.firstIndex(of: $0) ?? 99) < (pathOrder.firstIndex(of: $1) ?? 99) }.compactMap {
            name in
            guard let entry = byName[name] else { return nil }
            return BenchResult.Hop(
                name: name, span: entry.span, relayProcessing: entry.processing,
                latency: LatencySummary.merged(entry.summaries))
        }
    }
}

/// The calls of a phase as they come up.
actor CallList {
    private var calls: [BenchCall] = []
    private var failed: [String] = []
    func add(_ call: BenchCall) { calls.append(call) }
    func fail(_ reason: String) { failed.append(reason) }
    func all() -> [BenchCall] { calls }
    func failures() -> [String] { failed }
    func counts() -> (up: Int, failed: Int) { (calls.count, failed.count) }
}

/// The live progress line and the timeline: round trips found since the previous tick, loss in that interval,
/// the relay's CPU and memory.
actor Progress {
    let name: String
    let sessions: Int
    let interval: Double
    let phaseStart: Date
    let sampler: ProcessSampler?
    private var seenRoundTrips: [Int: Int] = [:]
    private var lastSent: [Int: Int] = [:]
    private var lastReceived: [Int: Int] = [:]
    private var timeline: [BenchResult.TimePoint] = []
    private var totalMarkers = 0

    init(name: String, sessions: Int, interval: Double, phaseStart: Date, sampler: ProcessSampler?) {
        self.name = name
        self.sessions = sessions
        self.interval = interval
        self.phaseStart = phaseStart
        self.sampler = sampler
    }

    func tick(calls: [BenchCall]) async {
        var fresh: [Duration] = []
        var sent = 0
        var received = 0
        var closed = 0
        // Every session's figures at once: each is read on its own loop, so the reads run in parallel.
        let snapshots = await withTaskGroup(of: (Int, BenchCall.Snapshot?).self) { group in
            for call in calls { group.addTask { (call.index, await call.snapshot()) } }
            return await group.reduce(into: [Int: BenchCall.Snapshot]()) { $0[$1.0] = $1.1 }
        }
        for call in calls {
            guard let snapshot = snapshots[call.index] else { continue }
            let seen = seenRoundTrips[call.index] ?? 0
            fresh += snapshot.roundTrips.dropFirst(seen)
            seenRoundTrips[call.index] = snapshot.roundTrips.count
            if snapshot.closed { closed += 1 }
            sent += snapshot.packetsSent - (lastSent[call.index] ?? 0)
            received += snapshot.packetsReceived - (lastReceived[call.index] ?? 0)
            lastSent[call.index] = snapshot.packetsSent
            lastReceived[call.index] = snapshot.packetsReceived
        }
        totalMarkers += fresh.count
        let sample = sampler?.sample()
        let loss = sent > 0 ? 100 * Double(max(0, sent - received)) / Double(sent) : nil
        let point = BenchResult.TimePoint(
            atSeconds: Date().timeIntervalSince(phaseStart), sessionsUp: calls.count - closed, markers: fresh.count,
            rttP50Ms: Stats.milliseconds(Stats.percentile(fresh, 50)), rttP99Ms: Stats.milliseconds(Stats.percentile(fresh, 99)),
            lossPercent: loss, relayCPUPercent: sample?.cpuPercent, relayRSSMiB: sample?.rssMiB)
        timeline.append(point)
        var line = String(
            format: "[%@] t=%5.1fs  up %d/%d  markers %d  rtt p50 %@ p99 %@ ms  loss %@%%", name, point.atSeconds,
            point.sessionsUp, sessions, totalMarkers, Stats.format(ms: point.rttP50Ms), Stats.format(ms: point.rttP99Ms),
            Stats.format(ms: loss, decimals: 1))
        if let sample { line += String(format: "  relay cpu %.1f%% rss %.1f MiB", sample.cpuPercent, sample.rssMiB) }
        print(line)
    }

    func points() -> [BenchResult.TimePoint] { timeline }
}

/// The summary table at the end of a run.
enum BenchSummaryPrinter {
    static func print(_ result: BenchResult, floor: CPUFloor) {
        func row(_ name: String, _ s: LatencySummary) -> String {
            let cells = [("p50", s.p50Ms), ("p90", s.p90Ms), ("p99", s.p99Ms), ("max", s.maxMs)].map {
                "\($0.0) \(Stats.format(ms: $0.1))"
            }
            return name.padding(toLength: 30, withPad: " ", startingAt: 0) + cells.joined(separator: "  ")
                + "  ms  (n=\(s.count))"
        }
        let s = result.sessions
        Swift.print("")
        Swift.print("sessions: \(s.connected)/\(s.requested) connected, \(s.closedEarly) closed early"
            + (s.failures.isEmpty ? "" : ", \(s.failures.count) failed: \(s.failures.prefix(3).joined(separator: "; "))"))
        Swift.print("markers:  \(result.markers.found) found of \(result.markers.sent) sent")
        Swift.print(row("round trip (markers)", result.rtt))
        if let baseline = result.baseline {
            Swift.print(row("baseline (no relay)", baseline.echoRTT))
            Swift.print(String(
                format: "relay added: p50 %@ ms, p99 %@ ms (after %.2f ms of buffering by design)",
                Stats.format(ms: baseline.relayAddedP50Ms), Stats.format(ms: baseline.relayAddedP99Ms),
                baseline.relayBufferingMs))
        }
        Swift.print(row("RTCP round trip", result.rtcpRTT))
        Swift.print(row("session setup", s.setup))
        let m = result.media
        Swift.print(String(
            format: "media: %d sent, %d back (%.2f%% not returned); impairment lost %d, duplicated %d; concealed %.2f%%; jitter %@ ms",
            m.packetsSent, m.packetsReceived, m.packetsNotReturnedPercent, m.impairedLost, m.impairedDuplicated,
            m.concealedPercent, Stats.format(ms: m.jitterMs)))
        if !result.hops.isEmpty {
            Swift.print("relay hops (merged over sessions):")
            for hop in result.hops {
                Swift.print("  " + row(hop.name + (hop.relayProcessing ? "" : " *"), hop.latency))
            }
            if let transit = result.relayTransit { Swift.print("  " + row("transit (socket to socket)", transit)) }
            Swift.print("  * buffering by design or the model, not relay processing")
        }
        Swift.print(String(
            format: "CPU floor per packet: SRTP protect %.2f µs, unprotect %.2f µs, Opus decode %.1f µs, encode %.1f µs, UDP send+receive %.2f µs",
            floor.srtpProtectMicroseconds, floor.srtpUnprotectMicroseconds, floor.opusDecodeMicroseconds,
            floor.opusEncodeMicroseconds, floor.udpSendReceiveMicroseconds))
        if let baseline = result.baseline {
            Swift.print(String(
                format: "relay CPU per session %@%% vs floor %@%% (SRTP+Opus): ratio %@",
                Stats.format(ms: baseline.relayCPUPercentPerSession, decimals: 3),
                Stats.format(ms: baseline.floorCPUPercentPerSession, decimals: 3),
                Stats.format(ms: baseline.cpuRatio)))
        }
    }
}
