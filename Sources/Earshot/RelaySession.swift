public import EarshotAudio
import EarshotCore
import EarshotCrypto
public import EarshotLatency
public import EarshotModelBridge
import EarshotModelProtocol
public import EarshotNIO
import EarshotReferenceModels
import EarshotWire
import Logging
import NIOCore

/// One relay session: its peer connection, what was negotiated, and the built-in echo model's state.
/// Confined to the relay engine's event loop.
final class RelaySession {
    let id: String
    let number: UInt32
    let peer: PeerConnection
    let negotiated: NegotiatedAudio
    let createdAt: Instant
    let remoteCandidateCount: Int
    var connectedAt: Instant?
    var srtpProfile: SRTPProtectionProfile?
    var dtlsCipher: String?
    var closeReason: PeerConnection.CloseReason?
    var routedAddresses: Set<TransportAddress> = []

    let audio: AudioConfiguration

    /// Echo: the first received RTP timestamp, so the echo's timestamps start at 0 on our own timeline.
    private var echoOrigin: UInt32?
    private(set) var echoedPackets = 0

    /// The transcoding path (nil in passthrough): uplink jitter buffer, downlink pacer, and the client's SSRC
    /// (a new one restarts the jitter buffer's timeline). With a protocol model the pacer is the bridge's.
    private let jitterBuffer: JitterBuffer?
    private let pacer: DownlinkPacer?
    /// A protocol model: the bridge (sans-IO protocol state, the model's pacer) and what carries its messages.
    /// Passthrough with a protocol model sends the model Opus packets, put in order by `reorderBuffer`.
    let bridge: ModelBridge?
    private var connection: ModelConnection?
    private var modelTrustRootsFile: String?
    private let reorderBuffer: OpusReorderBuffer?
    /// How the model's side ended, if it did.
    private(set) var modelEnd: ModelBridge.End?
    /// The model ended the session: the engine closes the peer connection with this reason.
    var pendingHangUp: String?
    /// The server VAD on the uplink PCM (transcoding path), its recent events for the session JSON.
    private var voiceActivity: VoiceActivityDetector?
    private var voiceEvents: [VoiceActivityEvent] = []
    private var recentVoiceEvents: [SessionInfo.VoiceActivity.Event] = []
    private var uplinkSSRC: UInt32?
    private(set) var framesToModel = 0
    private(set) var framesFromModel = 0
    private(set) var echoFramesDropped = 0
    /// The echo's backlog that stands (see `runAudio`).
    private var echoTrimmer: StandingBacklogTrimmer
    /// Speech start/stop events kept for the session JSON.
    static let voiceEventsKept = 16
    /// The most audio the echo lets wait in the pacer beyond the start delay: two 20 ms frames.
    static let echoMaximumBacklog: Duration = .milliseconds(40)

    let model: ModelChoice
    let logger: Logger

    /// The per-hop latency histograms (Docs/latency.md).
    private var hops: SessionHops
    /// Datagrams handed to the socket since its last flush: when each frame was ready and, for the passthrough
    /// echo, when its packet was read. `socketWritten(at:)` closes their `egress` and `transit` hops.
    private var pendingEgress: [(ready: Instant, arrival: Instant?)] = []
    /// The engine listed this session for the next flush.
    var awaitingFlush = false
    /// Frames out of the buffer in this step, waiting for the model hand-over (`toModel`).
    private var framesOut: [Instant] = []

    init(
        id: String, number: UInt32, peer: PeerConnection, negotiated: NegotiatedAudio, createdAt: Instant,
        userAgentCandidates: Int, audio: AudioConfiguration, model: ModelChoice, modelSettings: ModelSettings,
        metrics: RelayMetrics?, logger: Logger
    ) throws {
        self.id = id
        self.number = number
        self.peer = peer
        self.negotiated = negotiated
        self.createdAt = createdAt
        self.remoteCandidateCount = userAgentCandidates
        self.audio = audio
        self.model = model
        self.logger = logger
        self.hops = SessionHops(metrics: metrics)
        var vad = modelSettings.voiceActivity
        vad.format = audio.modelFormat
        echoTrimmer = StandingBacklogTrimmer(
            target: audio.downlinkStartDelay, frame: audio.modelFormat.frameDuration.duration)
        switch audio.codecPath {
        case .passthrough:
            jitterBuffer = nil
            pacer = nil
            reorderBuffer = model.usesProtocol ? OpusReorderBuffer() : nil
        case .transcode:
            jitterBuffer = try JitterBuffer(configuration: audio.jitterBuffer)
            pacer = model.usesProtocol ? nil : try DownlinkPacer(configuration: audio.pacer)
            voiceActivity = try VoiceActivityDetector(configuration: vad)
            reorderBuffer = nil
        }
        if model.usesProtocol {
            var configuration = ModelBridge.Configuration(
                sessionID: id,
                input: audio.codecPath == .transcode
                    ? .pcm16(audio.modelFormat) : .opus(frameDuration: audio.modelFormat.frameDuration),
                pacer: audio.pacer)
            configuration.voiceActivity = audio.codecPath == .transcode ? vad : nil
            configuration.client = .init(userAgent: modelSettings.userAgent, codec: "opus/48000/2")
            configuration.modelName = modelSettings.modelName
            configuration.readyTimeout = modelSettings.readyTimeout
            configuration.stallTimeout = modelSettings.stallTimeout
            modelTrustRootsFile = modelSettings.trustRootsFile
            bridge = ModelBridge(configuration: configuration, now: createdAt, awaitingCall: true)
        } else {
            bridge = nil
        }
        peer.audioHandler = { [unowned self] packet in self.receive(packet) }
        bridge?.uplinkStatistics = { [unowned self] in self.uplinkStatistics() }
        bridge?.turnaroundObserver = { [unowned self] turnaround in self.hops.record(.modelTurnaround, turnaround) }
        bridge?.responseObserver = { [unowned self] response in self.hops.record(.modelResponse, response) }
    }

    /// Starts the model's side: the built-in model, or the transport (dial or start the process). `activity` is
    /// called on the loop whenever the model sent something, so the engine runs the session.
    func startModel(
        eventLoop: any EventLoop, resources: ModelConnection.Resources,
        activity: @escaping (RelaySession, Instant) -> Void
    ) {
        guard let bridge else { return }
        var tagged = logger
        tagged[metadataKey: "session"] = "\(id)"
        var resources = resources
        resources.trustRootsFile = modelTrustRootsFile
        connection = ModelConnection(
            model: model, bridge: bridge, sessionID: id, eventLoop: eventLoop, logger: tagged, resources: resources
        ) { [weak self] now in
            guard let self else { return }
            activity(self, now)
        }
        connection?.pump(now: .now())
    }

    /// The call connected (ICE and DTLS done).
    /// ICE and DTLS are done: the model hears it (in-process models get `.connected`) and its held audio plays.
    func callConnected(now: Instant) {
        bridge?.callConnected(now: now)
        connection?.callConnected()
    }

    /// Breaks the handler's reference back to this session when it ends, and ends the model's side: `stop` with
    /// the reason the call ended, then the transport closes.
    func detach(now: Instant) {
        peer.audioHandler = nil
        bridge?.uplinkStatistics = nil
        bridge?.turnaroundObserver = nil
        bridge?.responseObserver = nil
        if let bridge, bridge.state != .ended {
            bridge.stop(reason: stopReason, now: now)
        }
        if let end = bridge?.pollEnd() { modelEnd = end }
        connection?.close(now: now)
    }

    /// What the model hears in `stop` when the relay ended the call itself (set before the peer closes).
    var modelStopReason: String?

    private var stopReason: String {
        switch closeReason {
        case .consentExpired?, .connectTimeout?: "client_timeout"
        default: modelStopReason ?? "client_hangup"
        }
    }

    /// The earliest instant the session wants to be woken: the peer connection's timers, the jitter buffer's
    /// playout or reorder deadline, the pacer's next frame, the bridge's deadlines.
    var nextDeadline: Instant? {
        [peer.nextDeadline, jitterBuffer?.nextDeadline, pacer?.nextDeadline, bridge?.nextDeadline,
         reorderBuffer?.nextDeadline].compactMap { $0 }.min()
    }

    /// Runs the session's timers at `now`.
    func handleTimeout(now: Instant) {
        peer.handleTimeout(now: now)
        bridge?.handleTimeout(now: now)
        runAudio(now: now)
    }

    private func receive(_ packet: borrowing PeerConnection.AudioPacketView) {
        hops.record(.ingress, Instant.now() - packet.arrival)
        if let reorderBuffer {
            reorderBuffer.insert(sequenceNumber: packet.sequenceNumber, timestamp: packet.timestamp,
                                 payload: packet.payload, arrival: packet.arrival)
            runAudio(now: packet.arrival)
            return
        }
        guard let jitterBuffer else {
            echo(packet)
            return
        }
        if uplinkSSRC != packet.ssrc {
            if uplinkSSRC != nil { jitterBuffer.reset() }
            uplinkSSRC = packet.ssrc
        }
        jitterBuffer.insert(sequenceNumber: packet.sequenceNumber, timestamp: packet.timestamp,
                            payload: packet.payload, arrival: packet.arrival)
        runAudio(now: packet.arrival)
    }

    /// Moves audio through the transcoding path: frames out of the jitter buffer go to the model (the echo hands
    /// them straight to the pacer), and the pacer's due frames go to the client.
    func runAudio(now: Instant) {
        if let bridge {
            runModel(bridge, now: now)
            return
        }
        guard let jitterBuffer, let pacer else { return }
        while let frame = pollJitterBuffer(jitterBuffer, now: now) {
            framesToModel += 1
            analyseVoice(frame)
            voiceEvents.removeAll(keepingCapacity: true)
            // The echo model: the PCM it is given is the PCM it answers with. Its input comes at the client's
            // real-time pace, so a backlog in the pacer (a burst of packets at the start of a call, a DTX gap
            // filled at once) would never drain and would add its length to every later echo. What stands beyond
            // the start delay for a whole second is trimmed from the start of the next frame (at most a frame at a
            // time; `StandingBacklogTrimmer`); beyond `echoMaximumBacklog` frames are dropped at once. Both are
            // counted.
            if pacer.queuedDuration > audio.downlinkStartDelay + Self.echoMaximumBacklog {
                echoFramesDropped += 1
                continue
            }
            var skip = 0
            if let wait = pacer.expectedWait(now: now) {
                let cut = echoTrimmer.trim(wait: wait, now: now)
                skip = Int(cut.nanosecondsClamped * Int64(audio.modelFormat.sampleRate.hertz) / 1_000_000_000)
            } else {
                echoTrimmer.reset()
            }
            if skip >= frame.samples.count {
                echoFramesDropped += 1
                continue
            }
            _ = frame.samples.withUnsafeBufferPointer {
                pacer.enqueue(UnsafeBufferPointer(rebasing: $0[skip...]), response: nil, now: now)
            }
            framesFromModel += 1
        }
        handedToModel()
        while let frame = pollPaced(now: now, pacer.poll(now:)) {
            send(frame, now: now)
        }
        // The echo does not use marks or truncation reports; the queue is drained so it never fills.
        while pacer.pollEvent() != nil {}
    }

    // MARK: - Hop timing

    /// One frame out of the jitter buffer, timing its work (`decode`) and its wait (`jitterBuffer`).
    private func pollJitterBuffer(_ jitterBuffer: JitterBuffer, now: Instant) -> UplinkFrame? {
        let before = Instant.now()
        guard let frame = jitterBuffer.poll(now: now) else { return nil }
        let out = Instant.now()
        hops.record(.decode, out - before)
        if let arrival = frame.arrival { hops.record(.jitterBuffer, before - arrival) }
        framesOut.append(out)
        return frame
    }

    /// The frames out of the buffer in this step have been handed to the model (`toModel`).
    private func handedToModel() {
        guard !framesOut.isEmpty else { return }
        let handed = Instant.now()
        for out in framesOut { hops.record(.toModel, handed - out) }
        framesOut.removeAll(keepingCapacity: true)
    }

    /// One frame from a pacer, timing its work (`encode`) and how long its audio waited (`pacer`).
    private func pollPaced(now: Instant, _ poll: (Instant) -> PacedFrame?) -> (frame: PacedFrame, ready: Instant)? {
        let before = Instant.now()
        guard let frame = poll(now) else { return nil }
        let ready = Instant.now()
        hops.record(.encode, ready - before)
        if let enqueued = frame.enqueued { hops.record(.pacer, frame.due - enqueued) }
        return (frame, ready)
    }

    private func send(_ paced: (frame: PacedFrame, ready: Instant), now: Instant) {
        let frame = paced.frame
        if peer.sendAudio(payload: frame.payload, timestamp: frame.rtpTimestamp, marker: frame.marker, now: now) {
            echoedPackets += 1
            pendingEgress.append((paced.ready, nil))
        }
    }

    /// Datagrams queued since the last flush are waiting to be written.
    var hasPendingEgress: Bool { !pendingEgress.isEmpty }
    /// When the oldest of them was ready.
    var oldestPendingEgress: Instant? { pendingEgress.first?.ready }

    /// The socket wrote what was queued: closes the `egress` (and passthrough `transit`) hops.
    func socketWritten(at written: Instant) {
        for entry in pendingEgress {
            hops.record(.egress, written - entry.ready)
            if let arrival = entry.arrival { hops.record(.transit, written - arrival) }
        }
        pendingEgress.removeAll(keepingCapacity: true)
        awaitingFlush = false
    }

    private func analyseVoice(_ frame: UplinkFrame) {
        voiceActivity?.process(frame, into: &voiceEvents)
        for event in voiceEvents {
            recentVoiceEvents.append(.init(event))
            if recentVoiceEvents.count > Self.voiceEventsKept { recentVoiceEvents.removeFirst() }
        }
    }

    // MARK: - A protocol model

    /// The protocol-model path: uplink frames (or Opus packets) and VAD events into the bridge, messages between
    /// the bridge and the model, the model's paced audio to the client; a model that ended hangs up the call.
    private func runModel(_ bridge: ModelBridge, now: Instant) {
        if let jitterBuffer {
            while let frame = pollJitterBuffer(jitterBuffer, now: now) {
                framesToModel += 1
                analyseVoice(frame)
                bridge.pushInput(frame, now: now)
                for event in voiceEvents { bridge.pushVoiceActivity(event, now: now) }
                voiceEvents.removeAll(keepingCapacity: true)
            }
        } else if let reorderBuffer {
            while let packet = reorderBuffer.poll(now: now) {
                let out = Instant.now()
                hops.record(.jitterBuffer, out - packet.arrival)
                framesOut.append(out)
                framesToModel += 1
                bridge.pushInput(packet, now: now)
            }
        }
        connection?.pump(now: now)
        handedToModel()
        while let frame = pollPaced(now: now, bridge.pollFrame(now:)) {
            send(frame, now: now)
        }
        // Marks and played reports the frames just sent produced.
        connection?.pump(now: now)
        if let end = bridge.pollEnd() {
            modelEnd = end
            connection?.close(now: now)
            if end.endedByModel {
                logger.notice(
                    "model ended the session",
                    metadata: ["session": "\(id)", "model": "\(model)", "reason": "\(end)"])
                // Closed by the engine after this step: this may run inside the peer connection's packet handler.
                pendingHangUp = "model ended: \(end)"
            }
        }
    }

    /// The uplink figures for the model's `stats` (webrtc-stats names).
    private func uplinkStatistics() -> [String: JSONValue] {
        let stats = peer.statistics
        let receive = peer.receiveStatistics
        var members: [String: JSONValue] = [
            "packetsReceived": JSONValue(stats.rtpPacketsReceived),
            "bytesReceived": JSONValue(stats.payloadBytesReceived),
            "packetsLost": JSONValue(Int(receive.packetsLost)),
            "jitter": .number(receive.jitterSeconds),
        ]
        if let jitter = jitterBuffer?.statistics {
            members["concealedSamples"] = JSONValue(jitter.concealedSamples)
            members["totalSamplesReceived"] = JSONValue(jitter.totalSamplesReceived)
            members["jitterBufferDelay"] = .number(jitter.jitterBufferDelay)
            members["jitterBufferEmittedCount"] = JSONValue(jitter.jitterBufferEmittedCount)
            members["jitterBufferTargetDelay"] = .number(jitter.jitterBufferTargetDelay)
        }
        return members
    }

    /// The built-in echo in passthrough form: the client's Opus packet goes straight back, re-stamped under the
    /// relay's own SSRC, sequence numbers and timestamps (the peer connection numbers and offsets them).
    func echo(_ audio: borrowing PeerConnection.AudioPacketView) {
        let origin = echoOrigin ?? audio.timestamp
        echoOrigin = origin
        let ready = Instant.now()
        if peer.sendAudio(
            payload: audio.payload, timestamp: audio.timestamp &- origin, marker: audio.marker, now: audio.arrival)
        {
            echoedPackets += 1
            pendingEgress.append((ready, audio.arrival))
        }
    }

    /// The session's cumulative counts for the relay's Prometheus counters (`RelayEngine.publishMetrics`).
    func totals() -> RelayTotals {
        let stats = peer.statistics
        var totals = RelayTotals()
        totals.integers = [
            "earshot_rtp_packets_total{direction=\"in\"}": stats.rtpPacketsReceived,
            "earshot_rtp_packets_total{direction=\"out\"}": stats.rtpPacketsSent,
            "earshot_rtcp_packets_total{direction=\"in\"}": stats.rtcpPacketsReceived,
            "earshot_rtcp_packets_total{direction=\"out\"}": stats.rtcpPacketsSent,
            "earshot_datagrams_total{direction=\"in\"}": stats.datagramsReceived,
            "earshot_datagrams_total{direction=\"out\"}": stats.datagramsSent,
            "earshot_bytes_total{direction=\"in\"}": stats.bytesReceived,
            "earshot_bytes_total{direction=\"out\"}": stats.bytesSent,
            "earshot_packets_lost_total": Int(peer.receiveStatistics.packetsLost),
            "earshot_drops_total{reason=\"model_input_queue_full\"}":
                bridge?.statistics.inputFramesDroppedQueueFull ?? 0,
            "earshot_drops_total{reason=\"echo_backlog\"}": echoFramesDropped,
        ]
        for (reason, count) in SessionInfo.Drops(stats.drops, ice: peer.liteAgent?.statistics).byReason {
            totals.integers["earshot_drops_total{reason=\"\(reason)\"}"] = count
        }
        if let jitter = jitterBuffer?.statistics {
            totals.integers["earshot_jitter_buffer_emitted_count_total"] = jitter.jitterBufferEmittedCount
            totals.integers["earshot_jitter_buffer_concealed_samples_total"] = jitter.concealedSamples
            totals.integers["earshot_jitter_buffer_total_samples_received_total"] = jitter.totalSamplesReceived
            totals.integers["earshot_jitter_buffer_packets_late_total"] = jitter.packetsLate
            totals.integers["earshot_jitter_buffer_fec_packets_recovered_total"] = jitter.fecPacketsRecovered
            totals.seconds["earshot_jitter_buffer_delay_seconds_total"] = jitter.jitterBufferDelay
            totals.seconds["earshot_jitter_buffer_target_delay_seconds_total"] = jitter.jitterBufferTargetDelay
        }
        return totals
    }

    func info(now: Instant) -> SessionInfo {
        let stats = peer.statistics
        let receive = peer.receiveStatistics
        let state: String
        switch peer.state {
        case .connecting: state = "connecting"
        case .connected: state = "connected"
        case .closed: state = "closed"
        }
        let bridgeStatistics = bridge?.statistics
        return SessionInfo(
            id: id,
            state: state,
            closeReason: closeReason?.description,
            createdSecondsAgo: (now - createdAt).seconds,
            setupMilliseconds: connectedAt.map { Double(($0 - createdAt).nanosecondsClamped) / 1e6 },
            localAddress: nil,
            remoteAddress: peer.selectedAddress?.description,
            iceLocalUfrag: peer.configuration.localCredentials.ufrag,
            srtpCipher: srtpProfile?.description,
            dtlsCipher: dtlsCipher,
            codec: .init(mimeType: "audio/opus", payloadType: Int(negotiated.opusPayloadType), clockRate: 48_000),
            inbound: .init(
                ssrc: peer.remoteSSRC,
                packetsReceived: stats.rtpPacketsReceived,
                bytesReceived: stats.payloadBytesReceived,
                packetsLost: Int(receive.packetsLost),
                jitter: receive.jitterSeconds),
            outbound: .init(
                ssrc: peer.configuration.localSSRC,
                packetsSent: stats.rtpPacketsSent,
                bytesSent: stats.payloadBytesSent),
            transport: .init(
                datagramsReceived: stats.datagramsReceived, datagramsSent: stats.datagramsSent,
                bytesReceived: stats.bytesReceived, bytesSent: stats.bytesSent,
                rtcpPacketsReceived: stats.rtcpPacketsReceived, rtcpPacketsSent: stats.rtcpPacketsSent),
            roundTripTime: peer.roundTripTime.map { $0.seconds },
            drops: .init(stats.drops, ice: peer.liteAgent?.statistics),
            model: .init(name: model.description, codecPath: audio.codecPath.rawValue, packetsEchoed: echoedPackets,
                         framesToModel: framesToModel,
                         framesFromModel: bridgeStatistics?.outputMessagesReceived ?? framesFromModel,
                         framesDropped: bridgeStatistics?.inputFramesDroppedQueueFull ?? echoFramesDropped,
                         backlogTrims: pacer == nil ? nil : echoTrimmer.trims,
                         backlogTrimmedMs: pacer == nil ? nil : Double(echoTrimmer.trimmed.nanosecondsClamped) / 1e6,
                         bridge: bridgeStatistics, transport: connection?.transportStatistics),
            jitterBuffer: jitterBuffer.map { .init(profile: audio.jitterProfile.rawValue, $0.statistics) },
            downlink: (pacer ?? bridge?.pacer)?.statistics,
            voiceActivity: voiceActivity.map { .init($0, recent: recentVoiceEvents) },
            latency: .init(hops: hops.summaries)
        )
    }
}

/// The per-session model settings from the relay's configuration and the WHIP request.
struct ModelSettings {
    var voiceActivity: VoiceActivityDetector.Configuration
    var readyTimeout: Duration
    var stallTimeout: Duration
    var userAgent: String?
    var trustRootsFile: String?
    /// The model name the WHIP offer picked (`?model=NAME`), for `session.start`.
    var modelName: String?
}

/// The JSON form of a session for `GET /v1/sessions` and `GET /v1/sessions/{id}`. Field names follow W3C
/// webrtc-stats where one fits (packetsReceived, packetsLost, jitter in seconds, roundTripTime in seconds).
public struct SessionInfo: Codable, Sendable, Hashable {
    public var id: String
    public var state: String
    public var closeReason: String?
    public var createdSecondsAgo: Double
    public var setupMilliseconds: Double?
    public var localAddress: String?
    public var remoteAddress: String?
    public var iceLocalUfrag: String
    public var srtpCipher: String?
    public var dtlsCipher: String?
    public var codec: Codec
    public var inbound: Inbound
    public var outbound: Outbound
    public var transport: Transport
    public var roundTripTime: Double?
    public var drops: Drops
    public var model: Model
    /// The uplink jitter buffer (transcoding path only).
    public var jitterBuffer: JitterBufferInfo?
    /// The downlink pacer (transcoding path only).
    public var downlink: DownlinkStatistics?
    /// The server VAD on the uplink (transcoding path only).
    public var voiceActivity: VoiceActivity?
    /// The relay's per-hop latency for this session (Docs/latency.md).
    public var latency: Latency?

    /// Per-hop latency histograms: every hop that saw a value, in path order.
    public struct Latency: Codable, Sendable, Hashable {
        public var hops: [HopLatency]
    }

    public struct HopLatency: Codable, Sendable, Hashable {
        /// A `RelayHop` name: ingress, jitterBuffer, decode, toModel, modelTurnaround, modelResponse, pacer, encode,
        /// egress, transit.
        public var name: String
        public var span: String
        /// Relay processing (counted in relay-added latency) rather than buffering by design or the model.
        public var relayProcessing: Bool
        public var latency: LatencySummary
    }

    /// What the server VAD has heard: talkspurts, speech time, the noise floor, and the latest events (media time of
    /// the client's stream, in ms, as the model protocol's speech_started / speech_stopped carry them).
    public struct VoiceActivity: Codable, Sendable, Hashable {
        public struct Event: Codable, Sendable, Hashable {
            /// `speech_started` or `speech_stopped`.
            public var type: String
            public var audioMs: Double

            init(_ event: VoiceActivityEvent) {
                switch event {
                case .speechStarted(let ms):
                    type = "speech_started"
                    audioMs = ms
                case .speechStopped(let ms):
                    type = "speech_stopped"
                    audioMs = ms
                }
            }
        }

        public var speaking: Bool
        public var speechSegments: Int
        public var speechMilliseconds: Double
        public var noiseFloorDBFS: Double?
        public var recentEvents: [Event]

        init(_ detector: VoiceActivityDetector, recent: [Event]) {
            speaking = detector.isSpeaking
            speechSegments = detector.statistics.speechSegments
            speechMilliseconds = detector.statistics.speechMilliseconds
            noiseFloorDBFS = detector.statistics.noiseFloorDBFS
            recentEvents = recent
        }
    }

    public struct Codec: Codable, Sendable, Hashable {
        public var mimeType: String
        public var payloadType: Int
        public var clockRate: Int
    }

    /// webrtc-stats `inbound-rtp` subset.
    public struct Inbound: Codable, Sendable, Hashable {
        public var ssrc: UInt32?
        public var packetsReceived: Int
        public var bytesReceived: Int
        public var packetsLost: Int
        public var jitter: Double
    }

    /// webrtc-stats `outbound-rtp` subset.
    public struct Outbound: Codable, Sendable, Hashable {
        public var ssrc: UInt32
        public var packetsSent: Int
        public var bytesSent: Int
    }

    /// webrtc-stats `transport` subset.
    public struct Transport: Codable, Sendable, Hashable {
        public var datagramsReceived: Int
        public var datagramsSent: Int
        public var bytesReceived: Int
        public var bytesSent: Int
        public var rtcpPacketsReceived: Int
        public var rtcpPacketsSent: Int
    }

    public struct Drops: Codable, Sendable, Hashable {
        public var unknownProtocol: Int
        public var stunRejected: Int
        public var unverifiedSource: Int
        public var beforeKeys: Int
        public var srtpAuthentication: Int
        public var srtpReplay: Int
        public var srtpOther: Int
        public var rtpMalformed: Int
        public var rtcpMalformed: Int
        public var unknownPayloadType: Int
        public var transmitQueueFull: Int
        /// Media the relay could not send: the sum of the three below.
        public var sendFailures: Int
        /// Before the connection was up or after it closed; larger than the send buffer; refused by SRTP protect.
        public var sendNotConnected: Int
        public var sendTooLarge: Int
        public var sendProtectFailed: Int
        public var iceBadIntegrity: Int
        public var iceWrongUsername: Int

        /// Each reason's count under a Prometheus label value (snake case).
        var byReason: [(String, Int)] {
            [("unknown_protocol", unknownProtocol), ("stun_rejected", stunRejected),
             ("unverified_source", unverifiedSource), ("before_keys", beforeKeys),
             ("srtp_authentication", srtpAuthentication), ("srtp_replay", srtpReplay), ("srtp_other", srtpOther),
             ("rtp_malformed", rtpMalformed), ("rtcp_malformed", rtcpMalformed),
             ("unknown_payload_type", unknownPayloadType), ("transmit_queue_full", transmitQueueFull),
             ("send_failure", sendFailures), ("ice_bad_integrity", iceBadIntegrity),
             ("ice_wrong_username", iceWrongUsername)]
        }

        init(_ drops: PeerStatistics.Drops, ice: ICELiteAgent.Statistics?) {
            unknownProtocol = drops.unknownProtocol
            stunRejected = drops.stunRejected
            unverifiedSource = drops.unverifiedSource
            beforeKeys = drops.beforeKeys
            srtpAuthentication = drops.srtpAuthentication
            srtpReplay = drops.srtpReplay
            srtpOther = drops.srtpOther
            rtpMalformed = drops.rtpMalformed
            rtcpMalformed = drops.rtcpMalformed
            unknownPayloadType = drops.unknownPayloadType
            transmitQueueFull = drops.transmitQueueFull
            sendFailures = drops.sendNotConnected + drops.sendTooLarge + drops.sendProtectFailed
            sendNotConnected = drops.sendNotConnected
            sendTooLarge = drops.sendTooLarge
            sendProtectFailed = drops.sendProtectFailed
            iceBadIntegrity = ice?.badIntegrity ?? 0
            iceWrongUsername = ice?.wrongUsername ?? 0
        }
    }

    public struct Model: Codable, Sendable, Hashable {
        public var name: String
        public var codecPath: String
        public var packetsEchoed: Int
        /// PCM frames handed to the model, and taken from it (transcoding path).
        public var framesToModel: Int
        public var framesFromModel: Int
        /// Frames the model dropped rather than queue (the echo keeps its backlog short), or input frames a
        /// protocol model did not take in time (its input queue was full).
        public var framesDropped: Int
        /// The built-in echo on the transcoding path: how often it trimmed a backlog that stood in its pacer, and
        /// the audio those trims dropped (whole frames among them are in `framesDropped` too).
        public var backlogTrims: Int?
        public var backlogTrimmedMs: Double?
        /// A protocol model: the session's side of the protocol (state, output format, counters, why it ended).
        public var bridge: ModelBridge.Statistics?
        /// A model over a transport: messages and bytes each way.
        public var transport: ModelTransport.Statistics?
    }

    /// The uplink jitter buffer under W3C webrtc-stats names (`RTCInboundRtpStreamStats`), plus the profile.
    public struct JitterBufferInfo: Codable, Sendable, Hashable {
        public var profile: String
        public var statistics: JitterBufferStatistics

        init(profile: String, _ statistics: JitterBufferStatistics) {
            self.profile = profile
            self.statistics = statistics
        }
    }
}
