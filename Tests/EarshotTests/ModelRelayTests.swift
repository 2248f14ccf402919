import Earshot
import EarshotClient
import EarshotModelBridge
import EarshotReferenceModels
import EarshotOpus
import EarshotWire
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Turns of talk for the protocol models: speech, a pause the parrot answers, speech over the answer (barge-in),
/// a pause (that turn is answered in full), then silence: 8 s, looped by the client.
enum TalkFixtures {
    static let turns = try! TalkScript([
        .init(speaking: false, milliseconds: 400), .init(speaking: true, milliseconds: 1600),
        .init(speaking: false, milliseconds: 1200), .init(speaking: true, milliseconds: 1000),
        .init(speaking: false, milliseconds: 4200),
    ]).packets()
}

/// The relay with protocol models, over real loopback UDP with our WebRTC client: the built-in parrot, the
/// Python reference model over both transports, and `earshot model` over stdio; then every way a model can fail,
/// each next to a healthy session that must not notice.
@Suite("Relay with protocol models", .serialized, .timeLimit(.minutes(3)))
struct ModelRelayTests {
    static let pythonModel = ModelTransportTests.model
    static let faultModel = PackagePaths.root.appendingPathComponent("Tests/Models/fault_model.py").path
    static let earshot = PackagePaths.root.appendingPathComponent(".build/debug/earshot").path

    /// Where a reference model runs: built into the relay, the Python file over stdio or WebSocket, `earshot model`
    /// over stdio.
    enum Variant: String, CaseIterable, CustomStringConvertible {
        case builtIn, pythonStdio, pythonWebSocket, swiftStdio
        var description: String { rawValue }

        /// The model choice for reference model `name`, and the WebSocket server started for it (stop it after).
        func model(_ name: ReferenceModelName) throws -> (ModelChoice, Process?) {
            switch self {
            case .builtIn: return (.inProcess(name.rawValue, BuiltInModel(name)), nil)
            case .pythonStdio: return (.exec("/usr/bin/python3 \(ModelRelayTests.pythonModel) --stdio --model \(name)"), nil)
            case .swiftStdio: return (.exec("\(ModelRelayTests.earshot) model \(name)"), nil)
            case .pythonWebSocket:
                let (process, port) = try ModelTransportTests.startWebSocketModel()
                return (try ModelChoice(parsing: "ws://127.0.0.1:\(port)/\(name)"), process)
            }
        }
    }

    @Test("parrot: turn-taking, barge-in (clear, mark_cancelled, played truncated), whole playback, stop",
          arguments: Variant.allCases)
    func parrot(_ variant: Variant) async throws {
        let (model, server) = try variant.model(.parrot)
        defer { if let server { ModelTransportTests.stop(server) } }
        try await withRelay(configure: { $0.model = model }) { endpoints, engine in
            let client = try await ClientSession.start(
                configuration: .init(url: "\(endpoints.base)/v1/whip", packets: TalkFixtures.turns),
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
            // The relay times the parrot's answers from each speech_stopped to the first audio of the answer: the
            // parrot answers at once, so only the transport (and, for Python, the interpreter) is in it. The bound
            // tells that span from a wrong one (from speech_started, an utterance of 0.4–2.0 s earlier, or from the
            // start of the call), not how fast the model is: a loaded machine took 330 ms through Python.
            let response = try #require(info?.latency?.hops.first { $0.name == "modelResponse" }?.latency)
            #expect(response.count >= 1)
            let slowest: Double = response.maxMs ?? .infinity
            #expect(slowest < 1000, "\(response)")
            let report = await client.report()
            #expect(report.packetsReceived >= 50, "the parrot's answers reach the client")
            await client.stop()
            let ended = try #require(await engine.sessionInfo(id: id))
            #expect(ended.model.bridge?.end == "stopped by the relay (client_hangup)")
        }
    }

    @Test("echo over each transport: every frame goes to the model and comes back to the client",
          arguments: Variant.allCases)
    func echo(_ variant: Variant) async throws {
        let (model, server) = try variant.model(.echo)
        defer { if let server { ModelTransportTests.stop(server) } }
        try await withRelay(configure: { $0.model = model; $0.audio.modelFormat = .init(sampleRate: .hz16000) }) {
            endpoints, engine in
            let client = try await ClientSession.start(
                configuration: .init(url: "\(endpoints.base)/v1/whip", packets: ClientFixtures.packets),
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
            // The relay times the model's turnaround per frame: the same count and median as the bridge's own.
            let turnaround = try #require(info.latency?.hops.first { $0.name == "modelTurnaround" }?.latency)
            #expect(turnaround.count >= bridge.turnaroundSamples)
            #expect(info.latency?.hops.map(\.name)
                == ["ingress", "jitterBuffer", "decode", "toModel", "modelTurnaround", "pacer", "encode", "egress"])
            if variant != .builtIn {
                let carried = try #require(info.model.transport)
                #expect(carried.messagesDropped == 0 && carried.messagesReceived >= 100)
            }
            await client.stop()
        }
    }
}

/// `wss://`: the reference model's server with a certificate made for the test (openssl), trusted through the
/// relay's CA-file setting; without it, the same server is refused.
@Suite("Relay with a wss:// model", .serialized, .timeLimit(.minutes(2)))
struct SecureWebSocketModelTests {
    static func makeCertificate() throws -> (directory: URL, certificate: String, key: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("earshot-wss-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
            "-subj", "/CN=earshot-test-model", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", key, "-out", certificate,
        ]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        for _ in 0..<1000 where openssl.isRunning { usleep(10_000) }
        guard openssl.terminationStatus == 0 else { throw TestFailure("openssl req failed") }
        return (directory, certificate, key)
    }

    @Test("echo over wss:// with the model's certificate trusted; refused when it is not")
    func secureEcho() async throws {
        let files = try Self.makeCertificate()
        defer { try? FileManager.default.removeItem(at: files.directory) }
        let server = try ModelTransportTests.startWebSocketModel(
            arguments: ["--tls-cert", files.certificate, "--tls-key", files.key])
        defer { ModelTransportTests.stop(server.0) }
        let url = "wss://127.0.0.1:\(server.1)/echo"
        try await withRelay(configure: { configuration in
            configuration.model = try! ModelChoice(parsing: url)
            configuration.modelTrustRootsFile = files.certificate
            configuration.namedModels["untrusted"] = try! ModelChoice(parsing: url)
        }) { endpoints, engine in
            let whip = "\(endpoints.base)/v1/whip"
            let client = try await ClientSession.start(
                configuration: .init(url: whip, packets: ClientFixtures.packets), dtlsContext: ClientFixtures.context)
            #expect(await client.waitUntilConnected(timeout: .seconds(10)))
            client.startMedia()
            #expect(await client.waitUntilReceived(50, timeout: .seconds(15)))
            let id = String(client.resource.split(separator: "/").last ?? "")
            let bridge = try #require(await engine.sessionInfo(id: id)?.model.bridge)
            #expect(bridge.state == .running && bridge.outputMessagesReceived >= 50, "\(bridge)")
            await client.stop()
        }
        // The same server, the system's roots only: the handshake fails and the session ends saying so.
        try await withRelay(configure: { $0.model = try! ModelChoice(parsing: url) }) { endpoints, engine in
            let client = try await ClientSession.start(
                configuration: .init(url: "\(endpoints.base)/v1/whip", packets: ClientFixtures.packets),
                dtlsContext: ClientFixtures.context)
            let id = String(client.resource.split(separator: "/").last ?? "")
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(10)
            var info = await engine.sessionInfo(id: id)
            while clock.now < deadline, info?.state != "closed" {
                try await Task.sleep(for: .milliseconds(50))
                info = await engine.sessionInfo(id: id)
            }
            #expect(info?.state == "closed")
            #expect(info?.closeReason?.contains("could not connect") == true, "\(String(describing: info?.closeReason))")
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
            let whip = "\(endpoints.base)/v1/whip"
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
                    // The WHIP resource tells the same.
                    let resource = try await HTTPClient.request("GET", client.resource)
                    #expect(resource.status == 200 && resource.body.contains("model ended"), "\(fault.name): \(resource.status)")
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

    /// Processes whose command line contains `text` (from /proc, read with open/read).
    static func processes(matching text: String) -> Int {
        guard let directory = opendir("/proc") else { return 0 }
        defer { closedir(directory) }
        var count = 0
        var buffer = [UInt8](repeating: 0, count: 4096)
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard Int(name) != nil else { continue }
            let fd = open("/proc/\(name)/cmdline", O_RDONLY)
            guard fd >= 0 else { continue }
            let length = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            close(fd)
            guard length > 0 else { continue }
            let line = String(decoding: buffer[..<length].map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            if line.contains(text), !line.contains("/bin/sh -c") { count += 1 }
        }
        return count
    }
}

@Suite("TalkScript: the scripted caller and the barge-in figure from a timeline")
struct TalkScriptTests {
    @Test("the barge-in script's shape: 210 packets a loop, the second talkspurt at 2.0 s")
    func shape() throws {
        let script = TalkScript.bargeIn
        #expect(script.packetCount == 210)
        #expect(script.laterTalkspurtStarts == [100])
        #expect(try script.packets().count == 210)
        #expect(script.laterTalkspurtsStarted(packetsSent: 100) == 0)
        #expect(script.laterTalkspurtsStarted(packetsSent: 101) == 1)
        #expect(script.laterTalkspurtsStarted(packetsSent: 420) == 2)
    }

    @Test("latency: from the speech packet sent to the last packet of the talkspurt it interrupted")
    func latencyFromTimeline() throws {
        let script = TalkScript.bargeIn
        let origin = Instant(nanoseconds: 1_000_000_000)
        let sendTimes = (0..<420).map { origin + .milliseconds(20 * $0) }
        // Loop 1: the answer plays from 1.6 s and is cut 113 ms after the caller speaks at 2.0 s. Loop 2: the
        // answer has ended (at 8.0 s) before the caller speaks at 6.2 + 2.0 s: no figure.
        var arrivals = stride(from: 1600, through: 2113, by: 20).map { origin + .milliseconds($0) }
        arrivals += [origin + .milliseconds(2113)]
        arrivals += stride(from: 3100, through: 4000, by: 20).map { origin + .milliseconds($0) }
        arrivals += stride(from: 5800, through: 6100, by: 20).map { origin + .milliseconds($0) }
        let latencies = script.bargeInLatencies(sendTimes: sendTimes, arrivals: arrivals.sorted())
        #expect(latencies == [.milliseconds(113)])
    }
}
