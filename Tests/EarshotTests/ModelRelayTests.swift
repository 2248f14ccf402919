import Earshot
import EarshotClient
import EarshotModelBridge
import EarshotOpus
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Turns of talk for the protocol models: Opus packets (20 ms) of silence and of a voiced, vowel-like sound (a
/// 140 Hz harmonic series with a syllable rhythm, which the server VAD reads as speech).
enum TalkFixtures {
    /// `(speaking, milliseconds)` segments, in order.
    static func packets(_ segments: [(Bool, Int)]) -> [[UInt8]] {
        let encoder = try! OpusEncoder(.init(bitrate: .bitsPerSecond(32_000), complexity: 5))
        var packets: [[UInt8]] = []
        var position = 0
        for (speaking, milliseconds) in segments {
            for _ in 0..<(milliseconds / 20) {
                let pcm: [Int16] = (0..<960).map { i in
                    guard speaking else { return 0 }
                    let t = Double(position + i) / 48_000
                    let syllable = 0.6 + 0.4 * sin(2 * Double.pi * 4 * t)
                    var value = 0.0
                    for harmonic in 1...7 { value += sin(2 * Double.pi * 140 * Double(harmonic) * t) / Double(harmonic) }
                    return Int16(3500 * syllable * value)
                }
                packets.append(try! encoder.encode(pcm))
                position += 960
            }
        }
        return packets
    }

    /// Speech, a pause long enough to end the turn (the parrot answers), speech again while the answer plays
    /// (barge-in), a pause (the parrot answers that turn in full), then silence: 8 s, looped by the client.
    static let turns = packets([(false, 400), (true, 1200), (false, 1200), (true, 1000), (false, 4200)])
}

/// The relay with protocol models, over real loopback UDP with our WebRTC client: the built-in parrot, the
/// Python reference model over both transports, and `earshot model` over stdio; then every way a model can fail,
/// each next to a healthy session that must not notice.
@Suite("Relay with protocol models", .serialized, .timeLimit(.minutes(3)))
struct ModelRelayTests {
    static let pythonModel = ModelTransportTests.model
    static let faultModel = PackagePaths.root.appendingPathComponent("Tests/Models/fault_model.py").path
    static let earshot = PackagePaths.root.appendingPathComponent(".build/debug/earshot").path

    enum Parrot: String, CaseIterable, CustomStringConvertible {
        case builtIn, pythonStdio, pythonWebSocket, swiftStdio
        var description: String { rawValue }
    }

    @Test("parrot: turn-taking, barge-in (clear, mark_cancelled, played truncated), whole playback, stop",
          arguments: Parrot.allCases)
    func parrot(_ variant: Parrot) async throws {
        var server: (Process, Int)?
        defer { if let process = server?.0 { ModelTransportTests.stop(process) } }
        let model: ModelChoice
        switch variant {
        case .builtIn: model = .builtIn(.parrot)
        case .pythonStdio: model = .exec("/usr/bin/python3 \(Self.pythonModel) --stdio --model parrot")
        case .swiftStdio: model = .exec("\(Self.earshot) model parrot")
        case .pythonWebSocket:
            server = try ModelTransportTests.startWebSocketModel()
            model = try ModelChoice(parsing: "ws://127.0.0.1:\(server!.1)/parrot")
        }
        try await withRelay(configure: { $0.model = model }) { endpoints, engine in
            let client = try await ClientSession.start(
                configuration: .init(url: "http://\(endpoints.http)/v1/whip", packets: TalkFixtures.turns),
                dtlsContext: ClientFixtures.context)
            #expect(await client.waitUntilConnected(timeout: .seconds(10)))
            client.startMedia()
            let id = String(client.resource.split(separator: "/").last ?? "")
            // The second turn's answer ends about 6.5 s in; wait for its `played`.
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(20)
            var info = await engine.sessionInfo(id: id)
            while clock.now < deadline, (info?.model.bridge?.playedSent ?? 0) < 1 {
                try await Task.sleep(for: .milliseconds(100))
                info = await engine.sessionInfo(id: id)
            }
            let bridge = try #require(info?.model.bridge)
            #expect(bridge.state == .running)
            #expect(bridge.outputFormat == "pcm16/48000")
            #expect(bridge.speechStartedSent >= 2 && bridge.speechStoppedSent >= 2, "\(bridge)")
            #expect(bridge.clearsReceived >= 1, "barge-in: \(bridge)")
            #expect(bridge.marksCancelledSent >= 1 && bridge.playedTruncatedSent >= 1, "\(bridge)")
            #expect(bridge.marksPlayedSent >= 1 && bridge.playedSent >= 1, "\(bridge)")
            #expect(bridge.errorsSent == 0 && bridge.inputFramesDroppedQueueFull == 0, "\(bridge)")
            #expect(bridge.statsSent >= 3)
            let downlink = try #require(info?.downlink)
            #expect(downlink.responsesTruncated >= 1 && downlink.responsesFinished >= 1)
            let report = await client.report()
            #expect(report.packetsReceived >= 50, "the parrot's answers reach the client")
            await client.stop()
            let ended = try #require(await engine.sessionInfo(id: id))
            #expect(ended.model.bridge?.end == "stopped by the relay (client_hangup)")
        }
    }

    enum EchoTransport: String, CaseIterable, CustomStringConvertible {
        case pythonStdio, pythonWebSocket, swiftStdio, builtInProtocolEcho
        var description: String { rawValue }
    }

    @Test("echo over each transport: every frame goes to the model and comes back to the client",
          arguments: EchoTransport.allCases)
    func echo(_ transport: EchoTransport) async throws {
        var server: (Process, Int)?
        defer { if let process = server?.0 { ModelTransportTests.stop(process) } }
        let model: ModelChoice
        switch transport {
        case .pythonStdio: model = .exec("/usr/bin/python3 \(Self.pythonModel) --stdio --model echo")
        case .swiftStdio: model = .exec("\(Self.earshot) model echo")
        case .builtInProtocolEcho: model = .builtIn(.echo)
        case .pythonWebSocket:
            server = try ModelTransportTests.startWebSocketModel()
            model = try ModelChoice(parsing: "ws://127.0.0.1:\(server!.1)/echo")
        }
        try await withRelay(configure: { $0.model = model; $0.audio.modelFormat = .init(sampleRate: .hz16000) }) {
            endpoints, engine in
            let client = try await ClientSession.start(
                configuration: .init(url: "http://\(endpoints.http)/v1/whip", packets: ClientFixtures.packets),
                dtlsContext: ClientFixtures.context)
            #expect(await client.waitUntilConnected(timeout: .seconds(10)))
            client.startMedia()
            #expect(await client.waitUntilReceived(100, timeout: .seconds(15)))
            let id = String(client.resource.split(separator: "/").last ?? "")
            let info = try #require(await engine.sessionInfo(id: id))
            let bridge = try #require(info.model.bridge)
            #expect(bridge.outputFormat == "pcm16/16000")
            #expect(bridge.inputFramesSent >= 100)
            // Everything sent to the model came back, but for what is in flight.
            #expect(bridge.inputFramesSent - bridge.outputMessagesReceived <= 10, "\(bridge)")
            #expect(bridge.errorsSent == 0 && bridge.sequenceGaps == 0)
            if transport != .builtInProtocolEcho {
                let carried = try #require(info.model.transport)
                #expect(carried.messagesDropped == 0 && carried.messagesReceived >= 100)
            }
            await client.stop()
        }
    }
}

/// Every way a model can fail, each in its own session next to a healthy one on the same relay.
@Suite("Relay with failing models", .serialized, .timeLimit(.minutes(3)))
struct ModelFailureTests {
    struct Fault: Sendable {
        var name: String
        var model: String
        /// What the ended session's close reason must contain.
        var reason: String
        /// Whether the session ends (false: it survives the fault).
        var ends = true
    }

    @Test("refused, closed, crashed, stalled, malformed, oversized, wrong format, silent, error: a clear end or a clear error, the healthy session unharmed, no process left")
    func failures() async throws {
        let server = try ModelTransportTests.startWebSocketModel(script: ModelRelayTests.faultModel)
        defer { ModelTransportTests.stop(server.0) }
        let unused = try ModelTransportTests.unusedPort()
        let exec = "exec:/usr/bin/python3 \(ModelRelayTests.faultModel) --stdio --model"
        let faults: [Fault] = [
            Fault(name: "refused", model: "ws://127.0.0.1:\(unused)/", reason: "could not connect"),
            Fault(name: "ws-close", model: "ws://127.0.0.1:\(server.1)/fault-close", reason: "model transport ended"),
            Fault(name: "crash", model: "\(exec) fault-crash", reason: "exited with status 3"),
            Fault(name: "close", model: "\(exec) fault-close", reason: "model transport ended: closed by the model"),
            Fault(name: "stall", model: "\(exec) fault-stall", reason: "the model read nothing for 2"),
            Fault(name: "malformed", model: "\(exec) fault-malformed", reason: "", ends: false),
            Fault(name: "oversize", model: "\(exec) fault-oversize", reason: "frame_too_large"),
            Fault(name: "ws-oversize", model: "ws://127.0.0.1:\(server.1)/fault-oversize", reason: "model transport ended"),
            Fault(name: "badformat", model: "\(exec) fault-badformat", reason: "unsupported_format"),
            Fault(name: "silent", model: "\(exec) fault-silent", reason: "no session.ready within 2"),
            Fault(name: "error", model: "\(exec) fault-error", reason: "the model sent error model_crashed"),
        ]
        try await withRelay(configure: { configuration in
            configuration.model = .exec("/usr/bin/python3 \(ModelRelayTests.pythonModel) --stdio --model echo")
            configuration.modelReadyTimeout = .seconds(2)
            configuration.modelStallTimeout = .seconds(2)
            for fault in faults { configuration.namedModels[fault.name] = try! ModelChoice(parsing: fault.model) }
        }) { endpoints, engine in
            let whip = "http://\(endpoints.http)/v1/whip"
            let healthy = try await ClientSession.start(
                configuration: .init(url: whip, packets: ClientFixtures.packets), dtlsContext: ClientFixtures.context)
            #expect(await healthy.waitUntilConnected(timeout: .seconds(10)))
            healthy.startMedia()
            #expect(await healthy.waitUntilReceived(25, timeout: .seconds(10)))
            let healthyID = String(healthy.resource.split(separator: "/").last ?? "")

            var clients: [(Fault, ClientSession)] = []
            for fault in faults {
                let client = try await ClientSession.start(
                    configuration: .init(url: "\(whip)?model=\(fault.name)", packets: ClientFixtures.packets),
                    dtlsContext: ClientFixtures.context)
                clients.append((fault, client))
            }
            for (_, client) in clients {
                _ = await client.waitUntilConnected(timeout: .seconds(10))
                client.startMedia()
            }
            // The faults come 25 frames (0.5 s) in; the stall and the silence take 2 s to detect; the stalled
            // model's queue is looked at while it stalls.
            try await Task.sleep(for: .milliseconds(1800))
            let stallID = String(clients.first { $0.0.name == "stall" }!.1.resource.split(separator: "/").last ?? "")
            if let stalling = await engine.sessionInfo(id: stallID), let bridge = stalling.model.bridge,
                bridge.state == .running
            {
                #expect(bridge.inputFramesQueued <= 100, "the input queue is bounded: \(bridge)")
                #expect((stalling.model.transport?.bytesSent ?? 0) < 300_000, "the transport holds back")
            }
            let before = await healthy.report().packetsReceived
            try await Task.sleep(for: .seconds(3))

            for (fault, client) in clients {
                let id = String(client.resource.split(separator: "/").last ?? "")
                let info = try #require(await engine.sessionInfo(id: id), "\(fault.name)")
                if fault.ends {
                    #expect(info.state == "closed", "\(fault.name): \(info.state)")
                    #expect(info.closeReason?.hasPrefix("model ended") == true, "\(fault.name): \(String(describing: info.closeReason))")
                    #expect(info.closeReason?.contains(fault.reason) == true, "\(fault.name): \(String(describing: info.closeReason))")
                } else {
                    #expect(info.state == "connected", "\(fault.name)")
                    let bridge = try #require(info.model.bridge)
                    #expect(bridge.state == .running && bridge.errorsSent >= 3, "\(fault.name): \(bridge)")
                    #expect(bridge.outputMessagesReceived >= 100, "\(fault.name): echo goes on: \(bridge)")
                }
                await client.stop()
            }

            // The healthy session heard its echo all along: nothing lost, nothing dropped, still connected.
            let report = await healthy.report()
            #expect(report.packetsReceived - before >= 120, "\(before) → \(report.packetsReceived)")
            let info = try #require(await engine.sessionInfo(id: healthyID))
            #expect(info.state == "connected")
            #expect(info.model.bridge?.errorsSent == 0 && info.model.bridge?.inputFramesDroppedQueueFull == 0)
            #expect(info.jitterBuffer?.statistics.concealedSamples == 0)
            await healthy.stop()
        }
        // No model process outlives its session (the stalled one is terminated after the grace period).
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(8)
        while clock.now < deadline, Self.processes(matching: "fault_model.py --stdio") > 0 {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(Self.processes(matching: "fault_model.py --stdio") == 0)
    }

    /// Processes whose command line contains `text` (from /proc).
    static func processes(matching text: String) -> Int {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.filter { entry in
            guard Int(entry) != nil,
                let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
            else { return false }
            let line = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            return line.contains(text) && !line.contains("/bin/sh -c")
        }.count
    }
}
