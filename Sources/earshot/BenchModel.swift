import ArgumentParser
import Earshot
import EarshotAudio
import EarshotModelBridge
import EarshotNIO
import EarshotOpus
import EarshotWire
import Foundation
import Logging
import NIOCore
import NIOPosix

/// `earshot bench-model`: what a model transport adds. N sessions' bridges, without WebRTC or codecs, each send
/// one input frame every 20 ms to an echoing model over the chosen transport; the time from input frame n leaving
/// the bridge to output frame n arriving is the turnaround (relay → model → relay).
struct BenchModel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-model",
        abstract: "Measure the turnaround of an echoing model over its transport at N concurrent sessions.",
        discussion: """
            --model builtin:echo is the protocol echo in this process (the bridge alone), exec:COMMAND and \
            ws://HOST:PORT/PATH an echo over stdio or WebSocket, e.g. \
            exec:'python3 Docs/examples/earshot_model.py --stdio --model echo' or exec:'earshot model echo'. \
            The downlink is not encoded: only the model's path is measured.
            """)

    @Option(help: "An echoing model: builtin:echo, exec:COMMAND or ws://HOST:PORT/PATH.")
    var model: String

    @Option(help: "Concurrent sessions.")
    var sessions: Int = 1

    @Option(help: "Seconds of audio once all sessions are ready.")
    var duration: Double = 10

    @Option(help: "Input sample rate in Hz: 8000, 16000, 24000 or 48000.")
    var rate: Int = 16_000

    @Option(help: "Write the figures as JSON to this file.")
    var json: String?

    func validate() throws {
        guard (1...1000).contains(sessions) else { throw ValidationError("--sessions must be 1...1000") }
        guard (1...50).contains(duration) else { throw ValidationError("--duration must be 1...50 seconds") }
        guard OpusSampleRate(rawValue: rate) != nil else { throw ValidationError("--rate must be an Opus rate") }
    }

    func run() async throws {
        let choice: ModelChoice
        do { choice = try ModelChoice(parsing: model) } catch { throw ValidationError("--model: \(error)") }
        guard choice.usesProtocol else { throw ValidationError("--model echo has no protocol side: use builtin:echo") }
        let format = PCMFormat(sampleRate: OpusSampleRate(rawValue: rate)!, frameDuration: .milliseconds20)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let logger = {
            var logger = Logger(label: "earshot-bench-model")
            logger.logLevel = .warning
            return logger
        }()
        let processes = ModelProcesses()
        let runner = InProcessModelRunner()
        let runnerTask = Task { await runner.run() }
        defer { runner.finish() }
        let run = try await loop.submit { BenchRun.make(loop: loop) }.get()
        let cpuBefore = CPUTime.now()
        let clock = ContinuousClock()
        let started = clock.now
        try await loop.submit {
            for index in 0..<sessions {
                var configuration = ModelBridge.Configuration(
                    sessionID: "bench-\(index)", input: .pcm16(format),
                    pacer: .init(format: format, maxQueuedDuration: .seconds(60)))
                configuration.readyTimeout = .seconds(60)
                let now = Instant.now()
                let bridge = ModelBridge(configuration: configuration, now: now)
                let connection = ModelConnection(
                    model: choice, bridge: bridge, sessionID: "bench-\(index)", eventLoop: loop, logger: logger,
                    resources: .init(inProcessRunner: runner, processes: processes)
                ) { now in run.value.activity(index, now: now) }
                run.value.sessions.append(.init(bridge: bridge, connection: connection, format: format))
                connection.pump(now: now)
            }
        }.get()
        // Wait until every model answered session.start (or ended).
        while try await loop.submit({ run.value.sessions.contains { $0.bridge.state == .awaitingReady } }).get() {
            guard clock.now - started < .seconds(120) else { throw BenchError("models not ready after 120 s") }
            try await Task.sleep(for: .milliseconds(50))
        }
        let readyAfter = clock.now - started
        print("\(sessions) session(s) ready after \(Stats.format(readyAfter)); \(duration) s of 20 ms frames at \(rate) Hz")
        try await loop.submit { run.value.start(frames: Int(duration * 50)) }.get()
        try await Task.sleep(for: .seconds(duration + 1))
        let result = try await loop.submit { run.value.finish() }.get()
        runner.finish()
        await runnerTask.value
        await processes.terminateAll()
        let cpu = CPUTime.now() - cpuBefore
        let sorted = result.turnarounds.sorted()
        print("frames sent \(result.framesSent), echoed \(sorted.count), dropped \(result.dropped), sessions ended early \(result.endedEarly)")
        print("turnaround: p50 \(Stats.format(Stats.percentile(sorted, 50)))  p90 \(Stats.format(Stats.percentile(sorted, 90)))  p99 \(Stats.format(Stats.percentile(sorted, 99)))  max \(Stats.format(sorted.last))")
        print(String(format: "cpu: this process %.2f s, model processes (exited) %.2f s", cpu.own, cpu.children))
        if let json {
            let figures: [String: Double?] = [
                "sessions": Double(sessions), "framesSent": Double(result.framesSent),
                "echoed": Double(sorted.count), "dropped": Double(result.dropped),
                "endedEarly": Double(result.endedEarly),
                "p50": Stats.milliseconds(Stats.percentile(sorted, 50)),
                "p90": Stats.milliseconds(Stats.percentile(sorted, 90)),
                "p99": Stats.milliseconds(Stats.percentile(sorted, 99)),
                "max": Stats.milliseconds(sorted.last),
                "cpuSelfSeconds": cpu.own, "cpuModelSeconds": cpu.children,
            ]
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(figures).write(to: URL(fileURLWithPath: json))
        }
    }
}

/// The sessions of one `bench-model` run, confined to one event loop.
final class BenchRun {
    struct Session {
        var bridge: ModelBridge
        var connection: ModelConnection
        var format: PCMFormat
        var sent = 0
        var task: RepeatedTask?
    }

    let loop: any EventLoop
    var sessions: [Session] = []
    private var frame: [Int16] = []

    static func make(loop: any EventLoop) -> NIOLoopBound<BenchRun> {
        NIOLoopBound(BenchRun(loop: loop), eventLoop: loop)
    }

    private init(loop: any EventLoop) { self.loop = loop }

    func activity(_ index: Int, now: Instant) {
        guard index < sessions.count else { return }
        sessions[index].connection.pump(now: now)
    }

    /// Each session sends `frames` frames, one every 20 ms, the sessions spread evenly over the 20 ms.
    func start(frames: Int) {
        guard let format = sessions.first?.format else { return }
        frame = (0..<format.samplesPerFrame).map { Int16(3000 * sin(Double($0) * 0.05)) }
        let bound = NIOLoopBound(self, eventLoop: loop)
        for index in sessions.indices {
            let offset = TimeAmount.microseconds(Int64(20_000 * index / sessions.count))
            sessions[index].task = loop.scheduleRepeatedTask(initialDelay: offset, delay: .milliseconds(20)) { task in
                bound.value.tick(index, frames: frames, task: task)
            }
        }
    }

    private func tick(_ index: Int, frames: Int, task: RepeatedTask) {
        guard sessions[index].sent < frames else {
            task.cancel()
            return
        }
        let now = Instant.now()
        let sent = sessions[index].sent
        let uplink = UplinkFrame(
            samples: frame, rtpTimestamp: Int64(sent * 960), arrival: now, emitted: now, source: .decoded)
        sessions[index].bridge.pushInput(uplink, now: now)
        sessions[index].bridge.handleTimeout(now: now)
        sessions[index].connection.pump(now: now)
        sessions[index].sent += 1
    }

    struct Result {
        var turnarounds: [Duration] = []
        var framesSent = 0
        var dropped = 0
        var endedEarly = 0
    }

    func finish() -> Result {
        var result = Result()
        let now = Instant.now()
        for session in sessions {
            session.task?.cancel()
            let statistics = session.bridge.statistics
            result.turnarounds += session.bridge.turnarounds
            result.framesSent += statistics.inputFramesSent
            result.dropped += statistics.inputFramesDroppedQueueFull + (session.connection.transportStatistics?.messagesDropped ?? 0)
            if session.bridge.state == .ended { result.endedEarly += 1 }
            session.bridge.stop(reason: "relay_shutdown", now: now)
            session.connection.close(now: now)
        }
        return result
    }
}

/// CPU time of this process and of its exited children.
struct CPUTime {
    var own: Double
    var children: Double

    static func now() -> CPUTime {
        var own = rusage()
        var children = rusage()
        getrusage(RUSAGE_SELF.rawValue, &own)
        getrusage(RUSAGE_CHILDREN.rawValue, &children)
        func seconds(_ usage: rusage) -> Double {
            Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
                + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        }
        return CPUTime(own: seconds(own), children: seconds(children))
    }

    static func - (lhs: CPUTime, rhs: CPUTime) -> CPUTime {
        CPUTime(own: lhs.own - rhs.own, children: lhs.children - rhs.children)
    }
}
