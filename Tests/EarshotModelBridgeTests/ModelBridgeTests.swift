import EarshotAudio
import EarshotModelBridge
import EarshotModelProtocol
import EarshotOpus
import EarshotWire
import Foundation
import Testing

/// A bridge on virtual time, 16 kHz input in 20 ms frames, output offered at every PCM16 rate.
final class BridgeHarness {
    var now = Instant(nanoseconds: 1_000_000_000)
    let bridge: ModelBridge
    var rtpTimestamp: Int64 = 123_456
    let inputFormat = PCMFormat(sampleRate: .hz16000, frameDuration: .milliseconds20)

    init(awaitingCall: Bool = false, configure: (inout ModelBridge.Configuration) -> Void = { _ in }) {
        var configuration = ModelBridge.Configuration(
            sessionID: "test-session", input: .pcm16(PCMFormat(sampleRate: .hz16000, frameDuration: .milliseconds20)),
            pacer: .init(format: PCMFormat(sampleRate: .hz48000, frameDuration: .milliseconds20), startDelay: .zero))
        configuration.voiceActivity = .init(format: inputFormat)
        configure(&configuration)
        bridge = ModelBridge(configuration: configuration, now: now, awaitingCall: awaitingCall)
    }

    /// Every message waiting for the model.
    func drain() -> [ModelMessage] {
        var messages: [ModelMessage] = []
        while let message = bridge.pollOutbound(now: now) { messages.append(message) }
        return messages
    }

    func controls() -> [ModelControlMessage] {
        drain().compactMap { if case .control(let control) = $0 { control } else { nil } }
    }

    func ready(rate: Int = 16000) {
        bridge.receive(.control(.sessionReady(.init(outputAudioFormat: .init(encoding: "pcm16", sampleRate: rate)))), now: now)
    }

    /// One input frame of `value` samples, arriving now; the clock then moves 20 ms.
    func pushFrame(value: Int16 = 100, source: UplinkFrame.Source = .decoded) {
        let frame = UplinkFrame(
            samples: Array(repeating: value, count: inputFormat.samplesPerFrame), rtpTimestamp: rtpTimestamp,
            arrival: source == .decoded ? now : nil, emitted: now, source: source)
        bridge.pushInput(frame, now: now)
        rtpTimestamp += 960
        now += .milliseconds(20)
    }

    /// Output audio from the model.
    func output(samples: Int, response: UInt64, sequence: UInt32) {
        let message = ModelAudioMessage(
            header: .output(sequence: sequence, responseID: response), samples: Array(repeating: 1000, count: samples))
        bridge.receive(.audio(message), now: now)
    }

    /// Runs the bridge for `duration` in 5 ms steps; returns the frames sent.
    @discardableResult
    func run(for duration: Duration) -> [PacedFrame] {
        var frames: [PacedFrame] = []
        let end = now + duration
        while now < end {
            now += .milliseconds(5)
            bridge.handleTimeout(now: now)
            while let frame = bridge.pollFrame(now: now) { frames.append(frame) }
        }
        return frames
    }
}

@Suite("ModelBridge: the session's side of the model protocol on virtual time")
struct ModelBridgeTests {
    @Test("session.start comes first with the input format, the offered outputs and the VAD settings")
    func sessionStart() throws {
        let harness = BridgeHarness { $0.client = .init(userAgent: "test-agent", remoteAddress: "127.0.0.1:5000", codec: "opus/48000/2") }
        let messages = harness.drain()
        #expect(messages.count == 1)
        guard case .control(.sessionStart(let start)) = messages.first else {
            Issue.record("first message is not session.start: \(messages)")
            return
        }
        #expect(start.protocolVersion == "earshot-model/1")
        #expect(start.sessionID == "test-session")
        #expect(start.inputAudioFormat == .init(encoding: "pcm16", sampleRate: 16000, frameMs: 20))
        #expect(start.outputAudioFormats == ["pcm16/8000", "pcm16/16000", "pcm16/24000", "pcm16/48000"])
        #expect(start.vad == .init(enabled: true, threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs: 500))
        #expect(start.client.userAgent == "test-agent")
        #expect(harness.bridge.state == .awaitingReady)
    }

    @Test("input before session.ready is not sent; the first frame after it has the gap flag and its media time")
    func inputStartsAfterReady() throws {
        let harness = BridgeHarness()
        _ = harness.drain()
        for _ in 0..<3 { harness.pushFrame() }
        #expect(harness.drain().isEmpty)
        harness.ready()
        #expect(harness.bridge.state == .running)
        harness.pushFrame()
        harness.pushFrame(source: .concealed)
        let audio = harness.drain().compactMap { if case .audio(let a) = $0 { a } else { nil } }
        #expect(audio.count == 2)
        #expect(audio[0].header.type == .input)
        #expect(audio[0].header.sequence == 0)
        #expect(audio[0].header.mediaTime == 3 * 320)
        #expect(audio[0].header.flags == [.gapBefore])
        #expect(audio[0].header.relayTime == 60_000)
        #expect(audio[0].payload.count == 640)
        #expect(audio[1].header.sequence == 1)
        #expect(audio[1].header.mediaTime == 4 * 320)
        #expect(audio[1].header.flags == [.concealed])
        #expect(audio[1].header.relayTime == 0)
        #expect(harness.bridge.statistics.inputFramesBeforeReady == 3)
    }

    @Test("a greeting sent before the call connects is held, then plays whole from the connection")
    func greetingBeforeTheCallConnects() throws {
        let harness = BridgeHarness(awaitingCall: true)
        _ = harness.drain()
        #expect(!harness.bridge.isCallConnected)
        harness.ready(rate: 48000)
        // 500 ms of greeting and a mark at its end, before ICE and DTLS are done.
        harness.output(samples: 24_000, response: 1, sequence: 0)
        harness.bridge.receive(.control(.mark(name: "hello-end")), now: harness.now)
        harness.bridge.receive(.control(.responseDone(responseID: 1)), now: harness.now)
        #expect(harness.run(for: .seconds(2)).isEmpty)
        #expect(!harness.controls().contains { if case .markPlayed = $0 { true } else { false } })
        let connected = harness.now
        harness.bridge.callConnected(now: connected)
        #expect(harness.bridge.isCallConnected)
        let frames = harness.run(for: .seconds(1))
        // 25 frames of audio and the flush, on the grid from the connection, none late.
        #expect(frames.count == 26)
        #expect(frames.first?.due == connected)
        #expect(frames.allSatisfy { !$0.isLate })
        #expect(harness.bridge.pacer?.statistics.samplesSent == 24_000)
        let played = harness.controls().compactMap { if case .markPlayed(let name, _) = $0 { name } else { nil } }
        #expect(played == ["hello-end"])
    }

    @Test("no session.ready within 5 s: stop model_timeout and the end")
    func readyTimeout() throws {
        let harness = BridgeHarness()
        _ = harness.drain()
        #expect(harness.bridge.nextDeadline == harness.now + .seconds(5))
        harness.run(for: .milliseconds(4995))
        #expect(harness.bridge.state == .awaitingReady)
        harness.run(for: .milliseconds(5))
        #expect(harness.bridge.state == .ended)
        #expect(harness.bridge.pollEnd() == .readyTimeout(.seconds(5)))
        #expect(harness.bridge.pollEnd() == nil)
        #expect(harness.controls() == [.stop(reason: "model_timeout")])
    }

    @Test("a format that was not offered: unsupported_format, stop protocol_error")
    func unsupportedFormat() throws {
        let harness = BridgeHarness()
        _ = harness.drain()
        harness.ready(rate: 44100)
        #expect(harness.bridge.state == .ended)
        let controls = harness.controls()
        #expect(controls.count == 2)
        guard case .error(let code, _) = controls.first else {
            Issue.record("no error: \(controls)")
            return
        }
        #expect(code == .unsupportedFormat)
        #expect(controls.last == .stop(reason: "protocol_error"))
        #expect(harness.bridge.pollEnd()?.code == "protocol_error")
    }

    @Test("a model that reads nothing: 2 s of input queued, the rest dropped and counted, stalled after 10 s")
    func stalledModel() throws {
        let harness = BridgeHarness()
        _ = harness.drain()
        harness.ready()
        for _ in 0..<150 { harness.pushFrame() }
        var statistics = harness.bridge.statistics
        #expect(statistics.inputFramesQueued == 100)
        #expect(statistics.inputFramesDroppedQueueFull == 50)
        // The relay takes one message: progress; the next frame through has the gap flag.
        _ = harness.bridge.pollOutbound(now: harness.now)
        harness.pushFrame()
        statistics = harness.bridge.statistics
        #expect(statistics.inputFramesQueued == 100)
        let stalledAt = harness.now - .milliseconds(20) + .seconds(10)
        while harness.bridge.state != .ended, harness.now < stalledAt + .seconds(1) {
            harness.now += .milliseconds(100)
            harness.bridge.handleTimeout(now: harness.now)
        }
        #expect(harness.bridge.pollEnd() == .stalled(.seconds(10)))
        #expect(harness.now >= stalledAt)
        #expect(harness.controls() == [.stop(reason: "model_stalled")])
    }

    @Test("output audio is paced at real time; mark_played and played follow its last frame")
    func outputPlayed() throws {
        let harness = BridgeHarness()
        _ = harness.drain()
        harness.ready(rate: 24000)
        harness.output(samples: 12_000, response: 7, sequence: 0)
        harness.output(samples: 12_000, response: 7, sequence: 1)
        harness.bridge.receive(.control(.mark(name: "end")), now: harness.now)
        harness.bridge.receive(.control(.responseDone(responseID: 7)), now: harness.now)
        let frames = harness.run(for: .milliseconds(1100))
        let audible = frames.filter { $0.response == "7" && $0.kind == .audio }
        #expect(audible.count == 50)
        let controls = harness.controls()
        #expect(controls.contains { if case .markPlayed("end", _) = $0 { true } else { false } })
        #expect(controls.contains(.played(.init(responseID: 7, playedMs: 1000, playedSamples: 24_000, truncated: false))))
        #expect(harness.bridge.statistics.outputFormat == "pcm16/24000")
    }

    @Test("clear: mark_cancelled, then played truncated at what was sent")
    func clearTruncates() throws {
        let harness = BridgeHarness()
        _ = harness.drain()
        harness.ready(rate: 48000)
        harness.output(samples: 48_000, response: 3, sequence: 0)
        harness.bridge.receive(.control(.mark(name: "m")), now: harness.now)
        harness.bridge.receive(.control(.responseDone(responseID: 3)), now: harness.now)
        let before = harness.run(for: .milliseconds(200))
        let sent = before.filter { $0.response == "3" && $0.kind == .audio }.count
        #expect((9...11).contains(sent))
        harness.bridge.receive(.control(.clear), now: harness.now)
        let controls = harness.controls()
        #expect(controls.first == .markCancelled(name: "m"))
        #expect(controls.dropFirst().first == .played(.init(
            responseID: 3, playedMs: Double(sent * 20), playedSamples: sent * 960, truncated: true)))
        // Audio for the cleared response is refused, and that is not a full queue.
        harness.output(samples: 960, response: 3, sequence: 1)
        #expect(harness.controls().isEmpty)
        let after = harness.run(for: .milliseconds(200)).filter { $0.response == "3" && $0.kind == .audio }
        #expect(after.isEmpty)
    }

    @Test("bad messages get a typed error and the session goes on")
    func badMessages() throws {
        let harness = BridgeHarness()
        _ = harness.drain()
        harness.output(samples: 10, response: 1, sequence: 0)  // before session.ready
        harness.ready()
        harness.bridge.receiveText(Array("{\"type\":".utf8), now: harness.now)
        harness.bridge.receiveText(Array("{\"type\":\"response.create\"}".utf8), now: harness.now)
        harness.bridge.receive(.control(.speechStarted(audioStartMs: 5)), now: harness.now)
        harness.bridge.receiveBinary([2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 7], now: harness.now)
        harness.output(samples: 10, response: 1, sequence: 0)
        harness.output(samples: 10, response: 1, sequence: 5)
        harness.ready()
        let codes = harness.controls().compactMap { if case .error(let code, _) = $0 { code.rawValue } else { nil } }
        #expect(codes == ["bad_audio_header", "bad_json", "unknown_type", "unknown_type", "bad_audio_header",
                          "sequence_gap", "unexpected_message"])
        #expect(harness.bridge.state == .running)
        #expect(harness.bridge.statistics.sequenceGaps == 1)
    }

    @Test("fatal framing error: error frame_too_large, stop protocol_error")
    func frameTooLarge() throws {
        let harness = BridgeHarness()
        _ = harness.drain()
        harness.ready()
        harness.bridge.receiveInvalid(.frameTooLarge(5_000_000), now: harness.now)
        let controls = harness.controls()
        #expect(controls.count == 2)
        if case .error(let code, _) = controls.first { #expect(code == .frameTooLarge) } else { Issue.record("\(controls)") }
        #expect(controls.last == .stop(reason: "protocol_error"))
    }

    @Test("the model's stop ends the session without a stop back; its error gets stop model_error")
    func modelEnds() throws {
        let stopped = BridgeHarness()
        _ = stopped.drain()
        stopped.ready()
        stopped.bridge.receive(.control(.stop(reason: "done")), now: stopped.now)
        #expect(stopped.bridge.pollEnd() == .stoppedByModel(reason: "done"))
        #expect(stopped.drain().isEmpty)

        let failing = BridgeHarness()
        _ = failing.drain()
        failing.bridge.receive(.control(.error(code: "model_crashed", message: "out of memory")), now: failing.now)
        #expect(failing.bridge.pollEnd() == .modelError(code: "model_crashed", message: "out of memory"))
        #expect(failing.controls() == [.stop(reason: "model_error")])
    }

    @Test("the relay's stop drops queued input and is the last message")
    func relayStops() throws {
        let harness = BridgeHarness()
        _ = harness.drain()
        harness.ready()
        for _ in 0..<5 { harness.pushFrame() }
        harness.bridge.stop(reason: "client_hangup", now: harness.now)
        #expect(harness.drain() == [.control(.stop(reason: "client_hangup"))])
        harness.pushFrame()
        #expect(harness.drain().isEmpty)
        #expect(harness.bridge.pollEnd()?.endedByModel == false)
    }

    @Test("stats every second after session.ready, with the uplink figures the relay supplies")
    func statsEverySecond() throws {
        let harness = BridgeHarness()
        harness.bridge.uplinkStatistics = { ["packetsReceived": 42] }
        _ = harness.drain()
        harness.ready()
        harness.run(for: .milliseconds(3010))
        let stats = harness.controls().compactMap { if case .stats(let members) = $0 { members } else { nil } }
        #expect(stats.count == 3)
        guard case .object(let uplink)? = stats.first?["uplink"] else {
            Issue.record("no uplink member")
            return
        }
        #expect(uplink["packetsReceived"] == 42)
        #expect(uplink["framesDroppedQueueFull"] == 0)
    }

    @Test("speech events go to the model in ms of input media time")
    func speechEvents() throws {
        let harness = BridgeHarness()
        _ = harness.drain()
        harness.bridge.pushVoiceActivity(.speechStarted(audioStartMs: 10), now: harness.now)
        harness.ready()
        harness.bridge.pushVoiceActivity(.speechStarted(audioStartMs: 1234.4), now: harness.now)
        harness.bridge.pushVoiceActivity(.speechStopped(audioEndMs: 2345.6), now: harness.now)
        #expect(harness.controls() == [.speechStarted(audioStartMs: 1234), .speechStopped(audioEndMs: 2346)])
    }

    @Test("the model's response time: speech_stopped to the first audio of the next response, once per turn")
    func responseTime() throws {
        let harness = BridgeHarness()
        _ = harness.drain()
        harness.ready()
        var observed: [Duration] = []
        harness.bridge.responseObserver = { observed.append($0) }
        // Audio of no response (id 0) and audio before any speech_stopped are not answers to a turn.
        harness.output(samples: 480, response: 0, sequence: 0)
        harness.output(samples: 480, response: 3, sequence: 1)
        harness.bridge.pushVoiceActivity(.speechStopped(audioEndMs: 1000), now: harness.now)
        harness.now += .milliseconds(340)
        // More of the response that was already playing is not a new answer.
        harness.output(samples: 480, response: 3, sequence: 2)
        harness.now += .milliseconds(10)
        harness.output(samples: 480, response: 4, sequence: 3)
        harness.now += .milliseconds(20)
        harness.output(samples: 480, response: 4, sequence: 4)
        harness.output(samples: 480, response: 5, sequence: 5)
        #expect(observed == [.milliseconds(350)])
        // The next turn is timed from its own speech_stopped.
        harness.bridge.pushVoiceActivity(.speechStopped(audioEndMs: 3000), now: harness.now)
        harness.now += .milliseconds(125)
        harness.output(samples: 480, response: 6, sequence: 6)
        #expect(observed == [.milliseconds(350), .milliseconds(125)])
    }

    @Test("response.done of a response that had no audio is played at once with 0 ms")
    func emptyResponse() throws {
        let harness = BridgeHarness()
        _ = harness.drain()
        harness.ready()
        harness.bridge.receive(.control(.responseDone(responseID: 9)), now: harness.now)
        #expect(harness.controls() == [.played(.init(responseID: 9, playedMs: 0, playedSamples: 0, truncated: false))])
    }

    @Test("Opus input: packets as sent, 48 kHz media time, gap after missing packets")
    func opusInput() throws {
        let harness = BridgeHarness { $0.input = .opus(frameDuration: .milliseconds20); $0.voiceActivity = nil }
        guard case .control(.sessionStart(let start)) = harness.drain().first else {
            Issue.record("no session.start")
            return
        }
        #expect(start.inputAudioFormat == .init(encoding: "opus", sampleRate: 48000, frameMs: 20))
        #expect(start.vad.enabled == false)
        harness.ready(rate: 48000)
        let packets = [
            OpusReorderBuffer.Packet(payload: [0xF8, 1, 2], sequenceNumber: 10, rtpTimestamp: 1000, arrival: harness.now,
                                     emitted: harness.now, packetsMissingBefore: 0, ticksMissingBefore: 0),
            OpusReorderBuffer.Packet(payload: [0xF8, 3], sequenceNumber: 12, rtpTimestamp: 2920, arrival: harness.now,
                                     emitted: harness.now, packetsMissingBefore: 1, ticksMissingBefore: 960),
        ]
        for packet in packets { harness.bridge.pushInput(packet, now: harness.now) }
        let audio = harness.drain().compactMap { if case .audio(let a) = $0 { a } else { nil } }
        #expect(audio.map(\.payload) == [[0xF8, 1, 2], [0xF8, 3]])
        #expect(audio.map(\.header.mediaTime) == [0, 1920])
        #expect(audio.map(\.header.flags) == [[], [.gapBefore]])
    }
}

@Suite("ModelBridge under hostile models")
struct ModelBridgeRobustnessTests {
    /// A stdio stream of frames mixing valid messages with damaged ones.
    static func stream(seed: UInt64) -> [UInt8] {
        var rng = SplitMix(seed: seed)
        var bytes: [UInt8] = [UInt8(truncatingIfNeeded: rng.next())]
        let samples: [ModelMessage] = [
            .control(.sessionReady(.init(outputAudioFormat: .init(encoding: "pcm16", sampleRate: 16000)))),
            .control(.sessionReady(.init(outputAudioFormat: .init(encoding: "pcm16", sampleRate: 44100)))),
            .control(.clear), .control(.mark(name: "m")), .control(.responseDone(responseID: 3)),
            .control(.stop(reason: nil)), .control(.error(code: "x", message: nil)),
            .audio(ModelAudioMessage(header: .output(sequence: 0, responseID: 3), samples: Array(repeating: 5, count: 1600))),
            .audio(ModelAudioMessage(header: .output(sequence: 9, responseID: 4), samples: Array(repeating: 5, count: 16000))),
            .control(.speechStarted(audioStartMs: 1)),
        ]
        for _ in 0..<(Int(rng.next() % 40) + 1) {
            var frame = try! StdioFrameEncoder.encode(samples[Int(rng.next() % UInt64(samples.count))])
            switch rng.next() % 6 {
            case 0 where frame.count > 6:  // damage a byte of the body
                frame[5 + Int(rng.next() % UInt64(frame.count - 5))] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
            case 1:  // an empty or unknown-kind frame
                frame = rng.next() % 2 == 0 ? [0, 0, 0, 0] : [0, 0, 0, 2, 9, 0]
            default:
                break
            }
            bytes += frame
        }
        if rng.next() % 8 == 0 { bytes += [0xFF, 0xFF, 0xFF, 0xFF, 1] }  // a length over the limit
        return bytes
    }

    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test("the fuzz target's seeds and kept crashers (Tests/Fuzz/*/FuzzModelBridge) pass the same checks")
    func fuzzInputsReplay() throws {
        let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz")
        var replayed = 0
        for folder in ["Corpus", "Crashers"] {
            let directory = fuzz.appendingPathComponent(folder).appendingPathComponent("FuzzModelBridge")
            guard FileManager.default.fileExists(atPath: directory.path) else { continue }
            for name in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            where !name.hasPrefix(".") && !name.hasPrefix("README") {
                let bytes = Array(try Data(contentsOf: directory.appendingPathComponent(name)))
                do {
                    try bytes.withUnsafeBytes { try ModelBridgeFuzzChecks.check($0) }
                } catch {
                    Issue.record("\(folder)/FuzzModelBridge/\(name): \(error)")
                }
                replayed += 1
            }
        }
        #expect(replayed >= 4)
    }

    @Test("2000 seeded hostile streams: no crash, every queue within its bound, an end stays an end")
    func hostileStreams() throws {
        for seed in 0..<2000 as Range<UInt64> {
            let bytes = Self.stream(seed: seed)
            do {
                try bytes.withUnsafeBytes { try ModelBridgeFuzzChecks.check($0) }
            } catch {
                Issue.record("seed \(seed): \(error)")
                return
            }
        }
    }
}
