public import EarshotAudio
public import EarshotModelProtocol
import EarshotOpus
public import EarshotWire

/// One session's side of the model protocol (Docs/model-protocol.md), sans-IO: the relay hands it the caller's
/// audio (uplink frames or Opus packets), the server VAD's events and the model's messages, each with the time;
/// it hands back the messages for the model (`pollOutbound`) and the paced, encoded frames for the caller
/// (`pollFrame`). No sockets, no clocks, no threads: every timeout (`session.ready`, a stalled model, `stats`)
/// is a deadline the caller wakes it for (`nextDeadline`, `handleTimeout`).
///
/// It owns the downlink pacer, created when the model chooses its output format, and turns the pacer's events
/// into `mark_played`, `mark_cancelled` and `played`.
///
/// Every queue is bounded: input audio waiting for the model (`inputQueueLimit`, 2 s; newer frames are dropped
/// and counted, the next one that gets through has the `gap` flag), control messages (`controlQueueLimit`), the
/// model's output (the pacer's `maxQueuedDuration`, 60 s; `queue_full`).
public final class ModelBridge {
    /// Where the session is.
    public enum State: String, Hashable, Sendable, Codable {
        /// `session.start` sent, waiting for `session.ready`.
        case awaitingReady
        /// Audio flows both ways.
        case running
        case ended
    }

    /// Why the model side of a session ended.
    public enum End: Hashable, Sendable, CustomStringConvertible {
        /// The relay ended it (the caller hung up, shutdown): `stop` with this reason went to the model.
        case stoppedByRelay(reason: String)
        /// The model sent `stop`.
        case stoppedByModel(reason: String?)
        /// The model sent `error`; the relay answered `stop` (`model_error`).
        case modelError(code: String, message: String?)
        /// No `session.ready` in time; `stop` (`model_timeout`).
        case readyTimeout(Duration)
        /// The model took nothing for `stallTimeout`; `stop` (`model_stalled`).
        case stalled(Duration)
        /// A fatal protocol error (`frame_too_large`, `unsupported_format`); `error` and `stop` (`protocol_error`).
        case protocolError(code: String, message: String)
        /// The transport closed or failed without a `stop` (the model exited, crashed, refused the connection).
        case transportEnded(String)

        /// Whether the model's side ended the session (the relay then hangs up the call).
        public var endedByModel: Bool {
            if case .stoppedByRelay = self { return false }
            return true
        }

        /// A short machine-readable reason for logs and stats.
        public var code: String {
            switch self {
            case .stoppedByRelay(let reason): reason
            case .stoppedByModel: "model_stop"
            case .modelError: "model_error"
            case .readyTimeout: "model_timeout"
            case .stalled: "model_stalled"
            case .protocolError: "protocol_error"
            case .transportEnded: "model_closed"
            }
        }

        public var description: String {
            switch self {
            case .stoppedByRelay(let reason): "stopped by the relay (\(reason))"
            case .stoppedByModel(let reason): "the model sent stop" + (reason.map { " (\($0))" } ?? "")
            case .modelError(let code, let message): "the model sent error \(code)" + (message.map { ": \($0)" } ?? "")
            case .readyTimeout(let limit): "no session.ready within \(limit)"
            case .stalled(let limit): "the model read nothing for \(limit)"
            case .protocolError(let code, let message): "protocol error \(code): \(message)"
            case .transportEnded(let detail): "model transport ended: \(detail)"
            }
        }
    }

    /// The bridge's counters, for the session JSON and the `stats` message.
    public struct Statistics: Hashable, Sendable, Codable {
        public var state: State = .awaitingReady
        /// The output format the model chose (`pcm16/24000`).
        public var outputFormat: String?
        /// From `session.start` to `session.ready`.
        public var readyMilliseconds: Double?
        /// Input audio messages queued for the model.
        public var inputFramesSent = 0
        /// Input that came before `session.ready` (not sent).
        public var inputFramesBeforeReady = 0
        /// Input dropped because the model did not take it (the input queue was full).
        public var inputFramesDroppedQueueFull = 0
        /// Input audio messages waiting now.
        public var inputFramesQueued = 0
        public var controlMessagesSent = 0
        /// Control messages dropped because the control queue was full.
        public var controlMessagesDropped = 0
        public var outputMessagesReceived = 0
        public var outputSamplesReceived = 0
        public var controlMessagesReceived = 0
        public var clearsReceived = 0
        public var marksReceived = 0
        public var responsesDone = 0
        /// `error` messages sent to the model, and the last one's code.
        public var errorsSent = 0
        public var lastErrorSent: String?
        public var sequenceGaps = 0
        public var speechStartedSent = 0
        public var speechStoppedSent = 0
        /// Playback reports sent: `mark_played`, `mark_cancelled`, `played` (whole), `played` (truncated).
        public var marksPlayedSent = 0
        public var marksCancelledSent = 0
        public var playedSent = 0
        public var playedTruncatedSent = 0
        public var statsSent = 0
        /// Why the model side ended.
        public var end: String?
        /// For a model that answers input message n with output message n (an echo): the time from input n
        /// leaving the bridge to output n arriving, over the latest samples (ms).
        public var turnaroundSamples = 0
        public var turnaroundP50Milliseconds: Double?
        public var turnaroundP99Milliseconds: Double?
        public var turnaroundMaxMilliseconds: Double?

        public init() {}
    }

    public let configuration: Configuration
    public let startedAt: Instant
    public private(set) var state: State = .awaitingReady
    public private(set) var end: End?
    public private(set) var outputFormat: PCMFormat?
    /// The downlink pacer, once the model chose its output format.
    public private(set) var pacer: DownlinkPacer?

    /// The uplink figures for `stats` (jitter buffer, RTP receive statistics), supplied by the relay; merged
    /// with the bridge's own `framesDroppedQueueFull`.
    public var uplinkStatistics: (() -> [String: JSONValue])?

    private var counters = Statistics()
    private var outbound = FIFOQueue<ModelMessage>()
    private var queuedInputFrames = 0
    private var queuedControlMessages = 0
    /// When the relay last took a message, or when the queue last became non-empty.
    private var lastOutboundProgress: Instant
    private let readyDeadline: Instant
    private var nextStats: Instant?
    private var lastQueueFullReport: Instant?

    private var inputSequence: UInt32 = 0
    private var mediaOrigin: Int64?
    private var gapPending = false
    private var expectedOutputSequence: UInt32?
    /// The response the pacer is filling (0: audio without a response), and the latest responses that had audio.
    private var openResponse: UInt64?
    private var recentResponses: [UInt64] = []
    private static let recentResponsesKept = 16
    private var endReported = false
    /// When each of the latest input messages left (by sequence), for the turnaround of an echoing model.
    private var inputSentAt = [(sequence: UInt32, at: Instant)?](repeating: nil, count: 512)
    /// Turnarounds measured (bounded: the latest `turnaroundSamplesKept`).
    public private(set) var turnarounds: [Duration] = []
    private var turnaroundNext = 0
    public static let turnaroundSamplesKept = 4096
    /// Called with each turnaround as it is measured (the relay's `modelTurnaround` hop).
    public var turnaroundObserver: ((Duration) -> Void)?
    /// Called with the model's response time: from a `speech_stopped` to the first audio of the next response
    /// (the relay's `modelResponse` hop).
    public var responseObserver: ((Duration) -> Void)?
    /// When the latest `speech_stopped` went into the queue for the model, until a response's first audio.
    private var speechStoppedAt: Instant?

    /// Whether the caller's connection is up; until then the model's audio is held in the pacer (see
    /// `callConnected(now:)`).
    public private(set) var isCallConnected: Bool

    /// Starts the session: `session.start` is the first message out. `awaitingCall`: the caller has not connected
    /// yet (the relay creates the bridge when the offer comes in); until `callConnected(now:)` the model's audio
    /// queues in the pacer, held, so that a greeting sent at once is heard whole from the connection.
    public init(configuration: Configuration, now: Instant, awaitingCall: Bool = false) {
        self.configuration = configuration
        self.startedAt = now
        self.isCallConnected = !awaitingCall
        self.lastOutboundProgress = now
        self.readyDeadline = now + configuration.readyTimeout
        enqueueControl(.sessionStart(configuration.sessionStart), now: now, force: true)
    }

    public var statistics: Statistics {
        var statistics = counters
        statistics.state = state
        statistics.inputFramesQueued = queuedInputFrames
        statistics.end = end?.description
        if !turnarounds.isEmpty {
            let sorted = turnarounds.sorted()
            let ms: (Duration) -> Double = { Double($0.nanosecondsClamped) / 1e6 }
            let rank: (Double) -> Int = { p in min(sorted.count - 1, Int((p * Double(sorted.count - 1)).rounded())) }
            statistics.turnaroundSamples = sorted.count
            statistics.turnaroundP50Milliseconds = ms(sorted[rank(0.5)])
            statistics.turnaroundP99Milliseconds = ms(sorted[rank(0.99)])
            statistics.turnaroundMaxMilliseconds = ms(sorted[sorted.count - 1])
        }
        return statistics
    }

    /// The caller's connection is up (ICE and DTLS done): held model audio starts playing at `now`.
    public func callConnected(now: Instant) {
        guard !isCallConnected else { return }
        isCallConnected = true
        pacer?.release(now: now)
    }

    // MARK: - Relay → model

    /// One frame from the uplink jitter buffer (PCM input). Before `session.ready` it is not sent; when the input
    /// queue is full it is dropped and counted; either way the next frame sent has the `gap` flag.
    public func pushInput(_ frame: UplinkFrame, now: Instant) {
        guard state != .ended, case .pcm16(let format) = configuration.input else { return }
        let origin = mediaOrigin ?? frame.rtpTimestamp
        mediaOrigin = origin
        let ticksPerSample = Int64(opusRTPClockRate / format.sampleRate.hertz)
        let elapsed = frame.rtpTimestamp &- origin
        let mediaTime = UInt64(max(0, elapsed) / ticksPerSample)
        var flags: ModelAudioHeader.Flags = []
        if frame.source != .decoded { flags.insert(.concealed) }
        if frame.stretched { flags.insert(.timeStretched) }
        if frame.followsGap { flags.insert(.gapBefore) }
        enqueueInput(mediaTime: mediaTime, arrival: frame.arrival, flags: flags, now: now) { header in
            ModelAudioMessage(header: header, samples: frame.samples)
        }
    }

    /// One Opus packet (Opus input): sent as the caller sent it; a packet after missing ones has the `gap` flag.
    public func pushInput(_ packet: OpusReorderBuffer.Packet, now: Instant) {
        guard state != .ended, case .opus = configuration.input else { return }
        let origin = mediaOrigin ?? packet.rtpTimestamp
        mediaOrigin = origin
        let mediaTime = UInt64(max(0, packet.rtpTimestamp &- origin))
        let flags: ModelAudioHeader.Flags = packet.packetsMissingBefore > 0 ? [.gapBefore] : []
        enqueueInput(mediaTime: mediaTime, arrival: packet.arrival, flags: flags, now: now) { header in
            ModelAudioMessage(header: header, payload: packet.payload)
        }
    }

    private func enqueueInput(
        mediaTime: UInt64, arrival: Instant?, flags: ModelAudioHeader.Flags, now: Instant,
        message: (ModelAudioHeader) -> ModelAudioMessage
    ) {
        guard state == .running else {
            counters.inputFramesBeforeReady += 1
            gapPending = true
            return
        }
        guard queuedInputFrames < configuration.inputQueueFrames else {
            counters.inputFramesDroppedQueueFull += 1
            gapPending = true
            return
        }
        var flags = flags
        if gapPending { flags.insert(.gapBefore) }
        gapPending = false
        let relayTime = arrival.map { UInt64(max(0, ($0 - startedAt).nanosecondsClamped / 1000)) } ?? 0
        let header = ModelAudioHeader.input(
            sequence: inputSequence, mediaTime: mediaTime, relayTime: relayTime, flags: flags)
        inputSequence &+= 1
        if outbound.isEmpty { lastOutboundProgress = now }
        outbound.append(.audio(message(header)))
        queuedInputFrames += 1
        counters.inputFramesSent += 1
    }

    /// An event of the server VAD on this session's uplink: `speech_started` / `speech_stopped` for the model
    /// (after `session.ready`).
    public func pushVoiceActivity(_ event: VoiceActivityEvent, now: Instant) {
        guard state == .running, configuration.voiceActivity != nil else { return }
        switch event {
        case .speechStarted(let ms):
            counters.speechStartedSent += 1
            enqueueControl(.speechStarted(audioStartMs: Int(ms.rounded())), now: now)
        case .speechStopped(let ms):
            counters.speechStoppedSent += 1
            speechStoppedAt = now
            enqueueControl(.speechStopped(audioEndMs: Int(ms.rounded())), now: now)
        }
    }

    /// Whether a message waits for the model.
    public var hasOutbound: Bool { !outbound.isEmpty }

    /// Messages waiting for the model (input audio and control).
    public var outboundCount: Int { outbound.count }

    /// The next message for the model, left in the queue (a transport checks it has room before taking it).
    public var nextOutbound: ModelMessage? { outbound.first }

    /// The next message for the model; the caller takes one only when its transport can carry it, so a model
    /// that does not read leaves them here (bounded) until it is stalled.
    public func pollOutbound(now: Instant) -> ModelMessage? {
        guard let message = outbound.popFirst() else { return nil }
        lastOutboundProgress = now
        switch message {
        case .audio(let audio):
            queuedInputFrames -= 1
            inputSentAt[Int(audio.header.sequence % 512)] = (audio.header.sequence, now)
        case .control: queuedControlMessages -= 1
        }
        return message
    }

    /// The relay ends the session (the caller hung up, a timeout, shutdown): queued input is dropped and `stop`
    /// with `reason` is the last message out.
    public func stop(reason: String, now: Instant) {
        guard state != .ended else { return }
        finish(.stoppedByRelay(reason: reason), stopReason: reason, now: now)
    }

    /// The transport closed or failed (not after the bridge ended). Nothing more goes to the model.
    public func transportEnded(_ detail: String, now: Instant) {
        guard state != .ended else { return }
        finish(.transportEnded(detail), stopReason: nil, now: now)
    }

    /// The end, once: the relay polls it after each step to hang up the call or close the transport.
    public func pollEnd() -> End? {
        guard let end, !endReported else { return nil }
        endReported = true
        return end
    }

    // MARK: - Model → relay

    /// What the transport read but could not parse (or a framing error): answered with `error`; a fatal one ends
    /// the session.
    public func receiveInvalid(_ error: ModelProtocolError, now: Instant) {
        guard state != .ended else { return }
        if error.isFatal {
            fail(code: error.code, message: error.description, now: now)
        } else {
            sendError(error.code, error.description, now: now)
        }
    }

    /// A control message's JSON text from the model.
    public func receiveText(_ bytes: [UInt8], now: Instant) {
        guard bytes.count <= ModelMessage.maximumBodyLength else {
            receiveInvalid(.frameTooLarge(bytes.count), now: now)
            return
        }
        do throws(ModelProtocolError) {
            receive(.control(try ModelControlMessage(json: bytes)), now: now)
        } catch {
            receiveInvalid(error, now: now)
        }
    }

    /// An audio message's bytes from the model.
    public func receiveBinary(_ bytes: [UInt8], now: Instant) {
        guard bytes.count <= ModelMessage.maximumBodyLength else {
            receiveInvalid(.frameTooLarge(bytes.count), now: now)
            return
        }
        do throws(ModelProtocolError) {
            receive(.audio(try ModelAudioMessage(parsing: bytes)), now: now)
        } catch {
            receiveInvalid(error, now: now)
        }
    }

    /// One message from the model.
    public func receive(_ message: ModelMessage, now: Instant) {
        guard state != .ended else { return }
        switch message {
        case .audio(let audio):
            receiveAudio(audio, now: now)
        case .control(let control):
            counters.controlMessagesReceived += 1
            receiveControl(control, now: now)
        }
        drainPacerEvents(now: now)
    }

    private func receiveControl(_ control: ModelControlMessage, now: Instant) {
        guard control.isSentByModel else {
            sendError(.unknownType, "\"\(control.type)\" is a message the relay sends, not the model", now: now)
            return
        }
        switch control {
        case .sessionReady(let ready):
            guard state == .awaitingReady else {
                sendError(.unexpectedMessage, "session.ready was already received", now: now)
                return
            }
            accept(ready.outputAudioFormat, now: now)
        case .stop(let reason):
            finish(.stoppedByModel(reason: reason), stopReason: nil, now: now)
        case .error(let code, let message):
            finish(.modelError(code: code.rawValue, message: message), stopReason: "model_error", now: now)
        case .clear, .mark, .responseDone:
            guard let pacer else {
                sendError(.unexpectedMessage, "\"\(control.type)\" before session.ready", now: now)
                return
            }
            switch control {
            case .clear:
                counters.clearsReceived += 1
                pacer.clear(now: now)
                openResponse = nil
            case .mark(let name):
                counters.marksReceived += 1
                pacer.mark(name, now: now)
            case .responseDone(let id):
                counters.responsesDone += 1
                if id == openResponse {
                    pacer.endResponse(now: now)
                    openResponse = nil
                } else if id != 0, !recentResponses.contains(id) {
                    // A response without audio: nothing to play, reported at once.
                    enqueueControl(
                        .played(.init(responseID: id, playedMs: 0, playedSamples: 0, truncated: false)), now: now)
                }
            default: break
            }
        default:
            break
        }
    }

    private func accept(_ format: ModelControlMessage.OutputAudioFormat, now: Instant) {
        guard format.encoding == "pcm16", let rate = OpusSampleRate(rawValue: format.sampleRate),
            configuration.outputSampleRates.contains(rate)
        else {
            fail(
                code: .unsupportedFormat,
                message: "output format \(format.name) was not offered (offered: "
                    + configuration.outputSampleRates.map { "pcm16/\($0.hertz)" }.joined(separator: ", ") + ")",
                now: now)
            return
        }
        var pacerConfiguration = configuration.pacer
        pacerConfiguration.format.sampleRate = rate
        do throws(DownlinkPacerError) {
            let created = try DownlinkPacer(configuration: pacerConfiguration)
            if !isCallConnected { created.hold() }
            pacer = created
        } catch {
            fail(code: .unsupportedFormat, message: "output format \(format.name): \(error)", now: now)
            return
        }
        outputFormat = pacerConfiguration.format
        state = .running
        counters.outputFormat = format.name
        counters.readyMilliseconds = Double((now - startedAt).nanosecondsClamped) / 1e6
        nextStats = now + configuration.statsInterval
    }

    private func receiveAudio(_ audio: ModelAudioMessage, now: Instant) {
        guard let pacer, state == .running else {
            sendError(.badAudioHeader, "output audio before session.ready", now: now)
            return
        }
        guard audio.header.type == .output else {
            sendError(.badAudioHeader, "audio of type 0x01 (input) from the model", now: now)
            return
        }
        let samples: [Int16]
        do throws(ModelProtocolError) {
            samples = try audio.pcm16Samples()
        } catch {
            sendError(error.code, error.description, now: now)
            return
        }
        counters.outputMessagesReceived += 1
        counters.outputSamplesReceived += samples.count
        let sequence = audio.header.sequence
        if let expected = expectedOutputSequence, sequence != expected {
            counters.sequenceGaps += 1
            sendError(.sequenceGap, "output audio sequence \(sequence), expected \(expected)", now: now)
        }
        expectedOutputSequence = sequence &+ 1
        if let sent = inputSentAt[Int(sequence % 512)], sent.sequence == sequence {
            // Output n answers input n (an echo): the model's turnaround, transport both ways included.
            inputSentAt[Int(sequence % 512)] = nil
            recordTurnaround(now - sent.at)
        }
        let id = audio.header.responseID
        if id != openResponse {
            openResponse = id
            if id != 0, !recentResponses.contains(id), let stopped = speechStoppedAt {
                // A new response after the caller stopped speaking: the model's time to first audio.
                speechStoppedAt = nil
                responseObserver?(now - stopped)
            }
            if id != 0, !recentResponses.contains(id) {
                recentResponses.append(id)
                if recentResponses.count > Self.recentResponsesKept { recentResponses.removeFirst() }
            }
        }
        // Audio refused because its response was cleared is expected after a clear; only a full queue is reported.
        let droppedBefore = pacer.statistics.samplesDroppedQueueFull
        pacer.enqueue(samples, response: id == 0 ? nil : ResponseID(String(id)), now: now)
        let dropped = pacer.statistics.samplesDroppedQueueFull - droppedBefore
        if dropped > 0 { reportQueueFull(dropped: dropped, now: now) }
    }

    private func recordTurnaround(_ duration: Duration) {
        turnaroundObserver?(duration)
        if turnarounds.count < Self.turnaroundSamplesKept {
            turnarounds.append(duration)
        } else {
            turnarounds[turnaroundNext] = duration
            turnaroundNext = (turnaroundNext + 1) % Self.turnaroundSamplesKept
        }
    }

    private func reportQueueFull(dropped: Int, now: Instant) {
        if let last = lastQueueFullReport, now - last < configuration.queueFullReportInterval { return }
        lastQueueFullReport = now
        sendError(.queueFull, "output queue full (\(configuration.pacer.maxQueuedDuration) of audio): \(dropped) samples dropped", now: now)
    }

    // MARK: - Downlink

    /// The next paced, encoded frame for the caller, if one is due.
    public func pollFrame(now: Instant) -> PacedFrame? {
        guard let pacer else { return nil }
        let frame = pacer.poll(now: now)
        drainPacerEvents(now: now)
        return frame
    }

    private func drainPacerEvents(now: Instant) {
        guard let pacer else { return }
        while let event = pacer.pollEvent() {
            guard state != .ended else { continue }
            switch event {
            case .markSent(let name, let at, _):
                counters.marksPlayedSent += 1
                enqueueControl(.markPlayed(name: name, playedAtMs: Int((at - startedAt).nanosecondsClamped / 1_000_000)), now: now)
            case .markCancelled(let name):
                counters.marksCancelledSent += 1
                enqueueControl(.markCancelled(name: name), now: now)
            case .responseFinished(let response, let samplesPlayed):
                guard let id = response.flatMap({ UInt64($0.rawValue) }) else { continue }
                counters.playedSent += 1
                enqueueControl(.played(played(id, samples: samplesPlayed, truncated: false)), now: now)
            case .truncated(let report):
                for cut in report.responses {
                    guard let id = cut.response.flatMap({ UInt64($0.rawValue) }) else { continue }
                    counters.playedTruncatedSent += 1
                    enqueueControl(.played(played(id, samples: cut.samplesPlayed, truncated: true)), now: now)
                }
            }
        }
    }

    private func played(_ id: UInt64, samples: Int, truncated: Bool) -> ModelControlMessage.Played {
        let rate = outputFormat?.sampleRate.hertz ?? 48_000
        return .init(
            responseID: id, playedMs: (Double(samples) * 1000 / Double(rate) * 10).rounded() / 10,
            playedSamples: samples, truncated: truncated)
    }

    // MARK: - Timers

    /// The earliest time the bridge wants `handleTimeout`: the `session.ready` deadline, the stall deadline
    /// while messages wait, the next `stats`, the pacer's next frame.
    public var nextDeadline: Instant? {
        guard state != .ended else { return nil }
        var deadline: Instant? = state == .awaitingReady ? readyDeadline : nextStats
        if !outbound.isEmpty {
            let stall = lastOutboundProgress + configuration.stallTimeout
            deadline = deadline.map { min($0, stall) } ?? stall
        }
        if let frame = pacer?.nextDeadline { deadline = deadline.map { min($0, frame) } ?? frame }
        return deadline
    }

    /// Runs the bridge's timers at `now` (frames are taken with `pollFrame`).
    public func handleTimeout(now: Instant) {
        guard state != .ended else { return }
        if state == .awaitingReady, now >= readyDeadline {
            finish(.readyTimeout(configuration.readyTimeout), stopReason: "model_timeout", now: now)
            return
        }
        if !outbound.isEmpty, now - lastOutboundProgress >= configuration.stallTimeout {
            finish(.stalled(configuration.stallTimeout), stopReason: "model_stalled", now: now)
            return
        }
        if state == .running, let due = nextStats, now >= due {
            var next = due + configuration.statsInterval
            if next <= now { next = now + configuration.statsInterval }
            nextStats = next
            counters.statsSent += 1
            enqueueControl(.stats(statsMembers()), now: now)
        }
    }

    private func statsMembers() -> [String: JSONValue] {
        var uplink = uplinkStatistics?() ?? [:]
        uplink["framesDroppedQueueFull"] = JSONValue(counters.inputFramesDroppedQueueFull)
        uplink["framesSent"] = JSONValue(counters.inputFramesSent)
        var downlink: [String: JSONValue] = [:]
        if let statistics = pacer?.statistics {
            downlink["framesSent"] = JSONValue(statistics.framesSent)
            downlink["samplesSent"] = JSONValue(statistics.samplesSent)
            downlink["samplesDroppedQueueFull"] = JSONValue(statistics.samplesDroppedQueueFull)
            downlink["queuedMilliseconds"] = .number(statistics.queuedMilliseconds)
            downlink["clears"] = JSONValue(statistics.clears)
            downlink["underruns"] = JSONValue(statistics.underruns)
        }
        return ["uplink": .object(uplink), "downlink": .object(downlink)]
    }

    // MARK: - Queue and ending

    private func enqueueControl(_ message: ModelControlMessage, now: Instant, force: Bool = false) {
        guard force || queuedControlMessages < configuration.controlQueueLimit else {
            counters.controlMessagesDropped += 1
            return
        }
        if outbound.isEmpty { lastOutboundProgress = now }
        outbound.append(.control(message))
        queuedControlMessages += 1
        counters.controlMessagesSent += 1
    }

    private func sendError(_ code: ModelErrorCode, _ message: String, now: Instant, force: Bool = false) {
        counters.errorsSent += 1
        counters.lastErrorSent = code.rawValue
        enqueueControl(.error(code: code, message: message), now: now, force: force)
    }

    /// A fatal protocol error: `error`, `stop` (`protocol_error`), the end.
    private func fail(code: ModelErrorCode, message: String, now: Instant) {
        guard state != .ended else { return }
        finish(.protocolError(code: code.rawValue, message: message), stopReason: "protocol_error", now: now,
               error: (code, message))
    }

    private func finish(
        _ reason: End, stopReason: String?, now: Instant, error: (ModelErrorCode, String)? = nil
    ) {
        state = .ended
        end = reason
        outbound.removeAll()
        queuedInputFrames = 0
        queuedControlMessages = 0
        if let (code, message) = error { sendError(code, message, now: now, force: true) }
        if let stopReason { enqueueControl(.stop(reason: stopReason), now: now, force: true) }
    }
}

@available(*, unavailable, message: "A ModelBridge is confined to one session's event loop")
extension ModelBridge: Sendable {}

extension ModelErrorCode {
    /// A message that is valid but not at this point of the session (a second `session.ready`, `clear` before
    /// `session.ready`). Not fatal.
    public static let unexpectedMessage: ModelErrorCode = "unexpected_message"
}
