import EarshotAudio
import EarshotModelBridge
import EarshotModelProtocol
import EarshotReferenceModels
import EarshotWire
import Foundation
import Testing

/// The built-in parrot behind the bridge, with the server VAD on the uplink, on virtual time: the same path as in
/// the relay without sockets or codecs, so turn-taking and barge-in are exact and repeatable.
@Suite("Parrot through the bridge on virtual time")
struct ParrotBridgeTests {
    /// A voiced, vowel-like frame (140 Hz harmonics, 4 Hz syllables) or silence, at 48 kHz.
    static func frame(speaking: Bool, index: Int) -> [Int16] {
        (0..<960).map { i in
            guard speaking else { return 0 }
            let t = Double(index * 960 + i) / 48_000
            var value = 0.0
            for harmonic in 1...7 { value += sin(2 * Double.pi * 140 * Double(harmonic) * t) / Double(harmonic) }
            return Int16(3500 * (0.6 + 0.4 * sin(2 * Double.pi * 4 * t)) * value)
        }
    }

    @Test("a turn is played back whole; speech over the next answer clears it within one VAD decision")
    func turnTakingAndBargeIn() throws {
        let format = PCMFormat(sampleRate: .hz48000, frameDuration: .milliseconds20)
        var configuration = ModelBridge.Configuration(
            sessionID: "parrot", input: .pcm16(format), pacer: .init(format: format, startDelay: .zero))
        configuration.voiceActivity = .init(format: format)
        var now = Instant(nanoseconds: 5_000_000_000)
        let bridge = ModelBridge(configuration: configuration, now: now)
        var vad = try VoiceActivityDetector(configuration: .init(format: format))
        let parrot = ParrotModel()
        var answers: [ModelMessage] = []
        var toModel: [ModelMessage] = []
        func pump() {
            while bridge.hasOutbound {
                while let message = bridge.pollOutbound(now: now) {
                    toModel.append(message)
                    parrot.receive(message, into: &answers)
                }
                for answer in answers { bridge.receive(answer, now: now) }
                answers.removeAll()
            }
        }
        pump()
        // Turn 1: 0.3–1.1 s; turn 2 from 2.0 s over the answer; silence after 2.6 s.
        let speaking: (Int) -> Bool = { ms in (300..<1100).contains(ms) || (2000..<2600).contains(ms) }
        var sentFrames: [(Instant, PacedFrame)] = []
        for index in 0..<250 {
            let pcm = Self.frame(speaking: speaking(index * 20), index: index)
            let frame = UplinkFrame(
                samples: pcm, rtpTimestamp: Int64(index * 960), arrival: now, emitted: now, source: .decoded)
            bridge.pushInput(frame, now: now)
            for event in vad.process(frame) { bridge.pushVoiceActivity(event, now: now) }
            pump()
            for step in 0..<4 {
                let tick = now + .milliseconds(5 * step)
                bridge.handleTimeout(now: tick)
                while let paced = bridge.pollFrame(now: tick) { sentFrames.append((tick, paced)) }
                pump()
            }
            now += .milliseconds(20)
        }
        #expect(parrot.responsesSent >= 2)
        #expect(parrot.clearsSent == 1)
        let statistics = bridge.statistics
        #expect(statistics.clearsReceived == 1)
        #expect(statistics.playedTruncatedSent == 1 && statistics.marksCancelledSent == 1)
        #expect(statistics.playedSent >= 1 && statistics.marksPlayedSent >= 1)
        let played = toModel.compactMap { if case .control(.played(let p)) = $0 { p } else { nil } }
        let truncated = try #require(played.first { $0.truncated })
        #expect(truncated.responseID == 1)
        #expect(truncated.playedMs > 0 && truncated.playedMs < 1100)
        // Barge-in: the caller speaks at 2.0 s (media time); the last frame of response 1 leaves the relay when?
        let speechAt = Instant(nanoseconds: 5_000_000_000) + .milliseconds(2000)
        let lastOfFirst = try #require(sentFrames.last { $0.1.response == "1" }?.0)
        let latency = lastOfFirst - speechAt
        #expect(latency > .zero && latency <= .milliseconds(140), "barge-in took \(latency)")
    }
}
