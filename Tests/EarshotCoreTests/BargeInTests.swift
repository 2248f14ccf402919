import EarshotAudio
import EarshotCore
import EarshotOpus
import EarshotWire
import Foundation
import Testing

/// Barge-in measured where it matters: at the client's socket. A relay-side `DownlinkPacer` holds 10 s of model
/// audio and sends through a real `PeerConnection` (SRTP, RTP) to a client `PeerConnection` over the virtual
/// network; `clear` comes at an arbitrary instant. Everything runs on virtual time, so the instants are exact.
@Suite("Barge-in at the socket")
struct BargeInTests {
    static let delay = Duration.milliseconds(5)

    struct Outcome {
        var clearAt: Instant
        var report: ClearReport
        /// Audio packets the client received: arrival, RTP timestamp, payload.
        var received: [(arrival: Instant, timestamp: UInt32, payload: [UInt8])]
        var framesPolledBeforeClear: Int
        var modelSamplesBeforeClear: Int
    }

    /// 10 s of a 440 Hz tone at −12 dBFS queued at once (a model far faster than real time), `clear` after
    /// `playFor`.
    static func run(frame: AudioFrameDuration, playFor: Duration) throws -> Outcome {
        var net = VirtualNetwork()
        net.delay = delay
        let index = try net.addPair(seed: 11, clientPort: 1)
        net.pairs[index].echo = false
        net.run(until: .zero + .seconds(1))
        try #require(net.pairs[index].relay.state == .connected)

        let format = PCMFormat(sampleRate: .hz48000, frameDuration: frame)
        let pacer = try DownlinkPacer(configuration: .init(format: format))
        let tone = (0..<(48_000 * 10)).map { i in Int16(8192 * sin(2 * Double.pi * 440 * Double(i) / 48_000)) }
        let start = net.now
        #expect(pacer.enqueue(tone, response: "r1", now: start) == tone.count)
        let clearAt = start + playFor
        var report: ClearReport?
        var polledBefore = 0, samplesBefore = 0
        net.run(until: clearAt + .seconds(1), every: .milliseconds(1)) { net in
            if report == nil, net.now >= clearAt {
                report = pacer.clear(now: net.now)
            }
            while let frame = pacer.poll(now: net.now) {
                if report == nil {
                    polledBefore += 1
                    samplesBefore += frame.samples
                }
                net.pairs[index].relay.sendAudio(
                    payload: frame.payload, timestamp: frame.rtpTimestamp, marker: frame.marker, now: net.now)
            }
        }
        let received = net.pairs[index].clientEvents.compactMap { event -> (Instant, UInt32, [UInt8])? in
            if case .audio(let audio) = event { return (audio.arrival, audio.timestamp, audio.payload) }
            return nil
        }
        return Outcome(clearAt: try #require(report?.clearedAt), report: try #require(report), received: received,
                       framesPolledBeforeClear: polledBefore, modelSamplesBeforeClear: samplesBefore)
    }

    @Test("after clear, audio stops reaching the client within one frame, and the report is exact to the sample",
          arguments: [(AudioFrameDuration.milliseconds20, 2013), (.milliseconds20, 4000), (.milliseconds10, 1507)])
    func clearWithinOneFrame(frame: AudioFrameDuration, playForMilliseconds: Int) throws {
        let outcome = try Self.run(frame: frame, playFor: .milliseconds(playForMilliseconds))
        let frameDuration = frame.duration
        // Packets arrive in order (fixed delay): the first ones are the frames polled before the clear.
        let before = outcome.framesPolledBeforeClear
        let after = Array(outcome.received.dropFirst(before))
        // Every frame polled before the clear reached the client; after it, one frame (the fade) — or, with
        // 10 ms frames, the fade and one frame of zeros that flushes the encoder (see `PacedFrame.Kind.flush`).
        #expect(outcome.received[..<before].allSatisfy { $0.arrival <= outcome.clearAt + Self.delay })
        #expect(after.count == outcome.report.framesAfterClear)
        #expect(after.count == (frame == .milliseconds20 ? 1 : 2))
        // The fade is sent at the next frame boundary: it leaves within one frame of the clear, and reaches the
        // client one network delay later.
        let fade = try #require(after.first)
        #expect(fade.arrival - outcome.clearAt <= frameDuration + Self.delay)
        // Nothing after the clear's frames for the rest of the run (1 s): the audio has stopped.
        let lastArrival = try #require(outcome.received.last?.arrival)
        #expect(lastArrival - outcome.clearAt <= frameDuration * 2 + Self.delay)

        // The truncation report: what was played is exactly what the client got before the fade.
        let truncation = try #require(outcome.report.responses.first)
        #expect(truncation.response == "r1")
        #expect(truncation.samplesPlayed == outcome.modelSamplesBeforeClear)
        #expect(truncation.samplesPlayed == before * frame.samples(at: .hz48000))
        #expect(truncation.millisecondsPlayed == Double(truncation.samplesPlayed) / 48)
        #expect(truncation.samplesAccepted == 48_000 * 10)

        // What the client hears: the tone at full level up to the clear, then the fade falls to silence.
        let decoder = try OpusDecoder(sampleRate: .hz48000)
        var pcm: [Int16] = []
        for packet in outcome.received { pcm += try decoder.decode(packet.payload) }
        let samplesPerFrame = frame.samples(at: .hz48000)
        func rms(_ range: Range<Int>) -> Double {
            (pcm[range].reduce(0.0) { $0 + Double($1) * Double($1) } / Double(range.count)).squareRoot()
        }
        let toneLevel = rms((before - 3) * samplesPerFrame..<(before - 1) * samplesPerFrame)
        #expect(toneLevel > 4000)  // 8192 peak: 5793 RMS, minus codec loss
        // The decoder lags the encoder's input by its 6.5 ms lookahead, so the 5 ms fade ends about 11.5 ms into the
        // decoded fade frame; its last 5 ms hold only the codec's ringing (of the flush frame, with 10 ms frames).
        // Measured: 0.81 %, 1.06 % and 1.80 % of the tone's RMS for the three cases.
        let tail = rms(pcm.count - 240..<pcm.count)
        #expect(tail < toneLevel / 50, "the last 5 ms after the clear are at \(tail) RMS (tone \(toneLevel))")
    }
}
