import Earshot
import EarshotClient
import EarshotModelProtocol
import Foundation
import Logging
import ServiceLifecycle
import Testing

/// What in-process test models saw, per session.
actor ModelRecord {
    struct Session {
        var modelName: String?
        var frames: [InputFrame] = []
        var events: [ModelInput] = []
        var ended: String??
        /// How many frames had come when `.connected` did.
        var connectedAfterFrames: Int?
        var returned = false
        var cancelled = false
    }

    private(set) var sessions: [String: Session] = [:]
    /// The sessions' objects, weakly: once every `serve` returned and the relay stopped, none may be alive.
    private var objects: [WeakSession] = []

    struct WeakSession {
        weak var session: ModelSession?
    }

    func started(_ session: ModelSession) {
        sessions[session.id] = Session(modelName: session.start.model)
        objects.append(WeakSession(session: session))
    }

    func frame(_ id: String, _ frame: InputFrame) { sessions[id]?.frames.append(frame) }
    func event(_ id: String, _ input: ModelInput) { sessions[id]?.events.append(input) }
    func connected(_ id: String) {
        let frames = sessions[id]?.frames.count
        sessions[id]?.connectedAfterFrames = frames
    }
    func ended(_ id: String, _ reason: String?) { sessions[id]?.ended = .some(reason) }
    func returned(_ id: String, cancelled: Bool) {
        sessions[id]?.returned = true
        sessions[id]?.cancelled = cancelled
    }

    var liveSessionObjects: Int { objects.filter { $0.session != nil }.count }

    /// Waits (bounded) until `condition` holds for the record.
    func wait(timeout: Duration = .seconds(10), until condition: @Sendable ([String: Session]) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition(sessions) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition(sessions)
    }
}

/// An in-process model written against the public API only: it sends every frame straight back and records what
/// it read. With `ignoreEnd`, it goes on waiting after its session ended (a model that does not return), so the
/// relay has to cancel it.
struct RecordingEcho: InProcessModel {
    let record: ModelRecord
    var ignoreEnd = false

    func serve(_ session: ModelSession) async throws {
        await record.started(session)
        do {
            for await input in session.inputs {
                switch input {
                case .audio(let frame):
                    await record.frame(session.id, frame)
                    // `send` throws `.ended` once the session is over; its `.ended` input is still to be read.
                    try? await session.send(frame.samples)
                case .ended(let reason):
                    await record.ended(session.id, reason)
                case .connected:
                    await record.connected(session.id)
                default:
                    await record.event(session.id, input)
                }
            }
            if ignoreEnd { try await Task.sleep(for: .seconds(3600)) }
            await record.returned(session.id, cancelled: false)
        } catch is CancellationError {
            await record.returned(session.id, cancelled: true)
        }
    }
}

/// Greets at once, before the call has connected: 1 s of tone, a mark at its end, the response done; then reads
/// its inputs until the session ends.
struct Greeter: InProcessModel {
    let record: ModelRecord

    func serve(_ session: ModelSession) async throws {
        await record.started(session)
        let rate = session.outputSampleRate
        let tone = (0..<rate).map { Int16(8000 * sin(2 * Double.pi * 440 * Double($0) / Double(rate))) }
        try await session.send(tone, response: 1)
        try await session.mark("greeting-end")
        try await session.responseDone(1)
        for await input in session.inputs {
            switch input {
            case .ended(let reason): await record.ended(session.id, reason)
            case .connected: await record.connected(session.id)
            case .markPlayed, .played: await record.event(session.id, input)
            default: break
            }
        }
        await record.returned(session.id, cancelled: false)
    }
}

@Suite("Embedding: the relay as a library, with in-process models")
struct EmbeddingTests {
    static func logger() -> Logger {
        var logger = Logger(label: "earshot-embed-test")
        logger.logLevel = .warning
        return logger
    }

    @Test("a host's own signaling (offer → answer), no HTTP: our client exchanges audio with an in-process model",
          .timeLimit(.minutes(1)))
    func ownSignaling() async throws {
        let record = ModelRecord()
        var configuration = RelayConfiguration()
        configuration.serveHTTP = false
        configuration.udpPort = 0
        configuration.audio.modelFormat = .init(sampleRate: .hz16000)
        configuration.model = .inProcess("recording-echo", RecordingEcho(record: record))
        let relay = RelayService(configuration: configuration, logger: Self.logger())
        let group = ServiceGroup(configuration: .init(services: [relay], logger: Self.logger()))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let endpoints = try await relay.endpoints()
            #expect(endpoints.http == nil && endpoints.whipURL == nil)
            let client = try await ClientSession.start(
                configuration: .init(url: "http://unused.invalid/", packets: ClientFixtures.packets),
                dtlsContext: ClientFixtures.context,
                signaling: { offer in
                    let answer = try await relay.offer(offer, userAgent: "embedding-test")
                    return (answer.sdp, answer.sessionID)
                })
            let id = client.resource
            #expect(await client.waitUntilConnected(timeout: .seconds(10)))
            client.startMedia()
            #expect(await client.waitUntilReceived(100, timeout: .seconds(15)))
            let info = try #require(await relay.session(id: id))
            #expect(info.model.name == "recording-echo")
            #expect(info.model.bridge?.outputFormat == "pcm16/16000")
            // The host ends the call: the caller hears the relay hang up, the model hears `host_ended`.
            #expect(await relay.endSession(id: id))
            #expect(await relay.endSession(id: id) == false)
            #expect(await client.waitUntilClosed(timeout: .seconds(10)))
            #expect(await client.report().closeReason == "closed by the peer")
            await client.stop(deleteResource: false)
            #expect(await record.wait { $0[id]?.returned == true })
            #expect(await record.sessions[id]?.ended == .some("host_ended"))
            #expect(await relay.session(id: id)?.closeReason == "ended by the host")
            let seen = try #require(await record.sessions[id])
            #expect(seen.modelName == nil)
            #expect(seen.frames.count >= 100)
            // Frames in order, 20 ms of 16 kHz PCM each, with their media time and arrival.
            for (previous, next) in zip(seen.frames, seen.frames.dropFirst()) {
                #expect(next.sequence == previous.sequence &+ 1)
                #expect(next.mediaTime - previous.mediaTime == .milliseconds(20))
            }
            #expect(seen.frames.allSatisfy { $0.samples.count == 320 && $0.opus == nil })
            #expect(seen.frames.filter { $0.arrival != nil }.count >= 90)
            #expect(seen.events.contains { if case .stats = $0 { true } else { false } })
            // The call's connection comes as an input, before the first frame of audio.
            #expect(seen.connectedAfterFrames == 0)
            #expect(seen.ended != nil)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(relay.inProcessModelTasks == 0)
        #expect(await record.liveSessionObjects == 0)
        // After the relay stopped, the host's calls say so.
        await #expect(throws: RelayServiceError.notRunning) { try await relay.endpoints() }
    }

    @Test("a greeting sent before the call connects is heard whole: held until ICE and DTLS are done",
          .timeLimit(.minutes(1)))
    func greetingBeforeTheCallConnects() async throws {
        let record = ModelRecord()
        var configuration = RelayConfiguration()
        configuration.serveHTTP = false
        configuration.udpPort = 0
        configuration.model = .inProcess("greeter", Greeter(record: record))
        let relay = RelayService(configuration: configuration, logger: Self.logger())
        let group = ServiceGroup(configuration: .init(services: [relay], logger: Self.logger()))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            // The answer reaches the caller a second after the offer (slow signaling): the model has greeted long
            // before the caller can connect.
            let client = try await ClientSession.start(
                configuration: .init(url: "http://unused.invalid/", packets: ClientFixtures.packets),
                dtlsContext: ClientFixtures.context,
                signaling: { offer in
                    let answer = try await relay.offer(offer)
                    try await Task.sleep(for: .seconds(1))
                    return (answer.sdp, answer.sessionID)
                })
            let id = client.resource
            #expect(await client.waitUntilConnected(timeout: .seconds(10)))
            // The whole second: 50 frames, and the flush that carries its end out of the encoder.
            #expect(await client.waitUntilReceived(51, timeout: .seconds(10)))
            #expect(await record.wait { ($0[id]?.events ?? []).contains { if case .played = $0 { true } else { false } } })
            let info = try #require(await relay.session(id: id))
            #expect(info.drops.sendFailures == 0, "nothing was sent into a connection not yet up")
            #expect(info.outbound.packetsSent == 51)
            let events = await record.sessions[id]?.events ?? []
            let marks = events.compactMap { if case .markPlayed(let name, let at) = $0 { (name, at) } else { nil } }
            #expect(marks.map(\.0) == ["greeting-end"])
            // Played from the connection, not from the offer: the mark is a second of audio after the connection.
            let setup = Duration.milliseconds(Int64(info.setupMilliseconds ?? 0))
            #expect(marks.first.map { $0.1 >= setup + .milliseconds(990) } == true, "\(marks), setup \(setup)")
            await client.stop()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(relay.inProcessModelTasks == 0)
    }

    @Test("graceful shutdown with live sessions: each gets a clean end, the host's task group returns, no task is left",
          .timeLimit(.minutes(1)))
    func gracefulShutdown() async throws {
        let record = ModelRecord()
        var configuration = RelayConfiguration()
        configuration.httpPort = 0
        configuration.udpPort = 0
        configuration.model = .inProcess("recording-echo", RecordingEcho(record: record))
        configuration.namedModels["stubborn"] = .inProcess("stubborn", RecordingEcho(record: record, ignoreEnd: true))
        let relay = RelayService(configuration: configuration, logger: Self.logger())
        let group = ServiceGroup(configuration: .init(services: [relay], logger: Self.logger()))
        var clients: [ClientSession] = []
        let clock = ContinuousClock()
        var shutdownTook = Duration.zero
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let endpoints = try await relay.endpoints()
            let whip = try #require(endpoints.whipURL)
            for url in [whip, whip, whip + "?model=stubborn"] {
                let client = try await ClientSession.start(
                    configuration: .init(url: url, packets: ClientFixtures.packets), dtlsContext: ClientFixtures.context)
                #expect(await client.waitUntilConnected(timeout: .seconds(10)))
                client.startMedia()
                clients.append(client)
            }
            for client in clients { #expect(await client.waitUntilReceived(20, timeout: .seconds(10))) }
            #expect(await relay.sessions().filter { $0.state == "connected" }.count == 3)
            let started = clock.now
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            shutdownTook = clock.now - started
        }
        // The host's group returned (the stubborn model was cancelled after its 2 s grace, not waited for without
        // end); a loose bound, as the machine may be loaded by other tests.
        #expect(shutdownTook < .seconds(30), "shutdown took \(shutdownTook)")
        // Every caller heard the relay end the call (RTCP BYE / DTLS close_notify), not a timeout.
        for client in clients {
            #expect(await client.waitUntilClosed(timeout: .seconds(10)))
            let report = await client.report()
            #expect(report.closeReason == "closed by the peer", "\(report.closeReason ?? "open")")
            await client.stop(deleteResource: false)
        }
        // Every model saw its session end with the relay's reason; the two that return did, the stubborn one was
        // cancelled after the grace period.
        let sessions = await record.sessions
        #expect(sessions.count == 3)
        for (id, seen) in sessions {
            let (ended, returned, cancelled, stubborn) = (seen.ended, seen.returned, seen.cancelled, seen.modelName == "stubborn")
            #expect(ended == .some("relay_shutdown"), "\(id): \(String(describing: ended))")
            #expect(returned, "\(id)")
            #expect(cancelled == stubborn, "\(id): \(seen.modelName ?? "default")")
        }
        #expect(sessions.values.filter { $0.modelName == "stubborn" }.count == 1)
        // No task left: every serve returned, and no session object outlives the relay.
        #expect(relay.inProcessModelTasks == 0)
        #expect(await record.liveSessionObjects == 0)
    }

    @Test("a relay without HTTP returns when its group is cancelled (another service failed), not only on shutdown",
          .timeLimit(.minutes(1)))
    func cancelledWithoutHTTP() async throws {
        struct Failing: Service {
            struct Broken: Error {}
            func run() async throws {
                try await Task.sleep(for: .milliseconds(300))
                throw Broken()
            }
        }
        var configuration = RelayConfiguration()
        configuration.serveHTTP = false
        configuration.udpPort = 0
        let relay = RelayService(configuration: configuration, logger: Self.logger())
        let group = ServiceGroup(configuration: .init(services: [relay, Failing()], logger: Self.logger()))
        // Before the fix this never returned (the relay waited for a shutdown that a cancellation is not); the
        // test's time limit is the bound.
        await #expect(throws: Failing.Broken.self) { try await group.run() }
        await #expect(throws: RelayServiceError.notRunning) { try await relay.endpoints() }
    }

    @Test("a model's end and a model's error end the call; an unsupported output rate is refused at the start",
          .timeLimit(.minutes(1)))
    func modelEnds() async throws {
        struct Closer: InProcessModel {
            func serve(_ session: ModelSession) async throws {
                var frames = 0
                for await input in session.inputs {
                    guard case .audio = input else { continue }
                    frames += 1
                    if frames == 10 { await session.close(reason: "done talking") }
                }
            }
        }
        struct Thrower: InProcessModel {
            struct Broken: Error {}
            func serve(_ session: ModelSession) async throws {
                for await input in session.inputs { if case .audio = input { throw Broken() } }
            }
        }
        struct Picky: InProcessModel {
            func outputSampleRate(for start: ModelControlMessage.SessionStart) -> Int? { 44_100 }
            func serve(_ session: ModelSession) async throws { Issue.record("a refused session was served") }
        }
        var configuration = RelayConfiguration()
        configuration.httpPort = 0
        configuration.udpPort = 0
        configuration.model = .inProcess("closer", Closer())
        configuration.namedModels = ["thrower": .inProcess("thrower", Thrower()), "picky": .inProcess("picky", Picky())]
        let relay = RelayService(configuration: configuration, logger: Self.logger())
        let group = ServiceGroup(configuration: .init(services: [relay], logger: Self.logger()))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let whip = try #require(try await relay.endpoints().whipURL)
            let expected = [
                ("", "model ended: the model sent stop (done talking)"),
                ("?model=thrower", "model ended: the model sent error model_error: Broken()"),
                ("?model=picky", "model ended: the model sent error unsupported_format: the in-process model takes none of"),
            ]
            for (query, reason) in expected {
                let client = try await ClientSession.start(
                    configuration: .init(url: whip + query, packets: ClientFixtures.packets),
                    dtlsContext: ClientFixtures.context)
                client.startMedia()
                let clock = ContinuousClock()
                let deadline = clock.now + .seconds(10)
                var info = await relay.session(id: client.resource.split(separator: "/").last.map(String.init) ?? "")
                while clock.now < deadline, info?.state != "closed" {
                    try await Task.sleep(for: .milliseconds(50))
                    info = await relay.session(id: client.resource.split(separator: "/").last.map(String.init) ?? "")
                }
                #expect(info?.closeReason?.hasPrefix(reason) == true, "\(query): \(info?.closeReason ?? "open")")
                await client.stop(deleteResource: false)
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(relay.inProcessModelTasks == 0)
    }
}

@Suite("The embedding example program", .serialized)
struct EmbeddingExampleTests {
    static let program = PackagePaths.root.appendingPathComponent(".build/debug/earshot-embedding-example").path

    @Test("earshot-embedding-example greets the caller, says each utterance back, and exits 0 on SIGINT",
          .timeLimit(.minutes(2)))
    func example() async throws {
        let run = try LaunchedProcess(
            Self.program, ["--http", "127.0.0.1:0", "--udp", "127.0.0.1:0", "--log-level", "warning"])
        try await run.whileRunning(exercise)
    }

    private func exercise(_ run: LaunchedProcess) async throws {
        let process = run.process
        let clock = ContinuousClock()
        let started = clock.now + .seconds(30)
        var whip: String?
        while whip == nil, clock.now < started, process.isRunning {
            // Whole lines only (the line may be half written).
            whip = run.stdoutLines.first { $0.hasPrefix("WHIP: ") }.map { String($0.dropFirst(6)) }
            if whip == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        let url = try #require(whip, "no WHIP line")
        let client = try await ClientSession.start(
            configuration: .init(url: url, packets: TalkFixtures.turns), dtlsContext: ClientFixtures.context)
        #expect(await client.waitUntilConnected(timeout: .seconds(10)))
        client.startMedia()
        let id = String(client.resource.split(separator: "/").last ?? "")
        let base = String(url.dropLast("/v1/whip".count))
        // The chime (300 ms) plays at once; the first utterance (1.2 s, from 0.4 s) comes back once the VAD hears
        // its end (0.5 s of silence later).
        var info: SessionInfo?
        let deadline = clock.now + .seconds(20)
        while clock.now < deadline {
            let body = try await HTTPClient.request("GET", "\(base)/v1/sessions/\(id)").body
            info = try JSONDecoder().decode(SessionInfo.self, from: Data(body.utf8))
            if (info?.model.bridge?.responsesDone ?? 0) >= 2, (info?.downlink?.framesSent ?? 0) >= 60 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let bridge = try #require(info?.model.bridge)
        #expect(info?.model.name == "voice-echo")
        #expect(bridge.responsesDone >= 2, "the chime and one utterance")
        #expect((info?.downlink?.framesSent ?? 0) >= 60, "15 frames of chime and about 60 of the utterance")
        #expect(await client.waitUntilReceived(60, timeout: .seconds(5)))
        await client.stop()
        kill(process.processIdentifier, SIGINT)
        #expect(try await run.waitForExit(seconds: 10))
        #expect(process.terminationStatus == 0)
    }
}
