import EarshotAudio
import EarshotModelProtocol
import EarshotWire

/// The property the fuzz target `FuzzModelBridge` checks (Tests/Fuzz), and the seeded robustness test replays:
/// whatever a model sends, in whatever order and at whatever pace, a session's bridge never crashes and keeps every
/// queue within its bound, and once ended it stays ended.
///
/// The input is a model's stdout: the first byte picks whether the model answers `session.ready` properly first
/// (even) and how often the relay takes messages from the bridge (a slow or stalled reader); the rest is cut into
/// stdio frames and each goes to the bridge as the transport would hand it over (text, binary, or a framing error),
/// with 7 ms of virtual time, an uplink frame every 20 ms, the timers, and the downlink frames taken between them.
public enum ModelBridgeFuzzChecks {
    public struct Violation: Error, Hashable, Sendable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    public static func check(_ bytes: UnsafeRawBufferPointer) throws(Violation) {
        guard let first = bytes.first else { return }
        let format = PCMFormat(sampleRate: .hz16000, frameDuration: .milliseconds20)
        var configuration = ModelBridge.Configuration(
            sessionID: "fuzz", input: .pcm16(format),
            pacer: .init(format: format, maxQueuedDuration: .seconds(2)))
        configuration.voiceActivity = .init(format: format)
        configuration.controlQueueLimit = 32
        configuration.readyTimeout = .milliseconds(500)
        configuration.stallTimeout = .milliseconds(300)
        var now = Instant(nanoseconds: 1_000_000_000)
        let bridge = ModelBridge(configuration: configuration, now: now)
        if first & 1 == 0 {
            bridge.receive(.control(.sessionReady(.init(outputAudioFormat: .init(encoding: "pcm16", sampleRate: 16000)))), now: now)
        }
        let readEvery = Int(first >> 1 & 7)  // 0: the relay never takes anything (a stalled model)
        var decoder = StdioFrameDecoder()
        decoder.append(bytes.dropFirst())
        var step = 0
        var nextInput = now
        var rtp: Int64 = 0
        let silence = [Int16](repeating: 0, count: format.samplesPerFrame)
        var ended = false
        let outboundBound = configuration.inputQueueFrames + configuration.controlQueueLimit + 2
        while true {
            var delivered = false
            do {
                if let frame = try decoder.nextFrame() {
                    delivered = true
                    if frame.kind == .control {
                        bridge.receiveText(frame.body, now: now)
                    } else {
                        bridge.receiveBinary(frame.body, now: now)
                    }
                }
            } catch {
                delivered = !error.isFatal
                bridge.receiveInvalid(error, now: now)
            }
            now += .milliseconds(7)
            while nextInput <= now {
                bridge.pushInput(
                    UplinkFrame(samples: silence, rtpTimestamp: rtp, arrival: nextInput, emitted: nextInput, source: .decoded),
                    now: now)
                rtp += 960
                nextInput += .milliseconds(20)
            }
            bridge.handleTimeout(now: now)
            while bridge.pollFrame(now: now) != nil {}
            if readEvery > 0, step % readEvery == 0 {
                while bridge.pollOutbound(now: now) != nil {}
            }
            step += 1

            let statistics = bridge.statistics
            guard statistics.inputFramesQueued <= configuration.inputQueueFrames else {
                throw Violation("input queue \(statistics.inputFramesQueued) over \(configuration.inputQueueFrames)")
            }
            let outbound = bridge.outboundCount
            guard outbound <= outboundBound else { throw Violation("outbound queue \(outbound) over \(outboundBound)") }
            if let pacer = bridge.pacer, pacer.queuedDuration > configuration.pacer.maxQueuedDuration {
                throw Violation("output queue \(pacer.queuedDuration) over \(configuration.pacer.maxQueuedDuration)")
            }
            if ended, bridge.state != .ended { throw Violation("an ended bridge came back to \(bridge.state)") }
            ended = bridge.state == .ended
            if !delivered { break }
        }
        // The end comes out once, and only when the bridge ended.
        let end = bridge.pollEnd()
        guard (end != nil) == ended, bridge.pollEnd() == nil else { throw Violation("end reported wrongly: \(String(describing: end))") }
    }
}
