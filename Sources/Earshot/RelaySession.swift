public import EarshotAudio
public import EarshotCore
public import EarshotCrypto
public import EarshotWire

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
    /// (a new one restarts the jitter buffer's timeline).
    private let jitterBuffer: JitterBuffer?
    private let pacer: DownlinkPacer?
    /// The server VAD on the uplink PCM (transcoding path), its recent events for the session JSON.
    private var voiceActivity: VoiceActivityDetector?
    private var voiceEvents: [VoiceActivityEvent] = []
    private var recentVoiceEvents: [SessionInfo.VoiceActivity.Event] = []
    private var uplinkSSRC: UInt32?
    private(set) var framesToModel = 0
    private(set) var framesFromModel = 0
    private(set) var echoFramesDropped = 0
    /// Speech start/stop events kept for the session JSON.
    static let voiceEventsKept = 16
    /// The most audio the echo lets wait in the pacer beyond the start delay: two 20 ms frames.
    static let echoMaximumBacklog: Duration = .milliseconds(40)

    init(
        id: String, number: UInt32, peer: PeerConnection, negotiated: NegotiatedAudio, createdAt: Instant,
        userAgentCandidates: Int, audio: AudioConfiguration
    ) throws {
        self.id = id
        self.number = number
        self.peer = peer
        self.negotiated = negotiated
        self.createdAt = createdAt
        self.remoteCandidateCount = userAgentCandidates
        self.audio = audio
        switch audio.codecPath {
        case .passthrough:
            jitterBuffer = nil
            pacer = nil
        case .transcode:
            jitterBuffer = try JitterBuffer(configuration: audio.jitterBuffer)
            pacer = try DownlinkPacer(configuration: audio.pacer)
            voiceActivity = try VoiceActivityDetector(configuration: .init(format: audio.modelFormat))
        }
        peer.audioHandler = { [unowned self] packet in self.receive(packet) }
    }

    /// Breaks the handler's reference back to this session when it ends.
    func detach() { peer.audioHandler = nil }

    /// The earliest instant the session wants to be woken: the peer connection's timers, the jitter buffer's
    /// playout or reorder deadline, the pacer's next frame.
    var nextDeadline: Instant? {
        [peer.nextDeadline, jitterBuffer?.nextDeadline, pacer?.nextDeadline].compactMap { $0 }.min()
    }

    /// Runs the session's timers at `now`.
    func handleTimeout(now: Instant) {
        peer.handleTimeout(now: now)
        runAudio(now: now)
    }

    private func receive(_ packet: borrowing PeerConnection.AudioPacketView) {
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
    private func runAudio(now: Instant) {
        guard let jitterBuffer, let pacer else { return }
        while let frame = jitterBuffer.poll(now: now) {
            framesToModel += 1
            voiceActivity?.process(frame, into: &voiceEvents)
            for event in voiceEvents {
                recentVoiceEvents.append(.init(event))
                if recentVoiceEvents.count > Self.voiceEventsKept { recentVoiceEvents.removeFirst() }
            }
            voiceEvents.removeAll(keepingCapacity: true)
            // The echo model: the PCM it is given is the PCM it answers with. Its input comes at the client's
            // real-time pace, so a backlog in the pacer (a burst of packets at the start of a call, a DTX gap
            // filled at once) would never drain and would add its length to every later echo; beyond
            // `echoMaximumBacklog` frames are dropped instead, and counted.
            if pacer.queuedDuration > audio.downlinkStartDelay + Self.echoMaximumBacklog {
                echoFramesDropped += 1
                continue
            }
            _ = frame.samples.withUnsafeBufferPointer { pacer.enqueue($0, response: nil, now: now) }
            framesFromModel += 1
        }
        while let frame = pacer.poll(now: now) {
            if peer.sendAudio(payload: frame.payload, timestamp: frame.rtpTimestamp, marker: frame.marker, now: now) {
                echoedPackets += 1
            }
        }
        // The echo does not use marks or truncation reports; the queue is drained so it never fills.
        while pacer.pollEvent() != nil {}
    }

    /// The built-in echo in passthrough form: the client's Opus packet goes straight back, re-stamped under the
    /// relay's own SSRC, sequence numbers and timestamps (the peer connection numbers and offsets them).
    func echo(_ audio: borrowing PeerConnection.AudioPacketView) {
        let origin = echoOrigin ?? audio.timestamp
        echoOrigin = origin
        if peer.sendAudio(
            payload: audio.payload, timestamp: audio.timestamp &- origin, marker: audio.marker, now: audio.arrival)
        {
            echoedPackets += 1
        }
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
            model: .init(name: "echo", codecPath: audio.codecPath.rawValue, packetsEchoed: echoedPackets,
                         framesToModel: framesToModel, framesFromModel: framesFromModel,
                         framesDropped: echoFramesDropped),
            jitterBuffer: jitterBuffer.map { .init(profile: audio.jitterProfile.rawValue, $0.statistics) },
            downlink: pacer?.statistics,
            voiceActivity: voiceActivity.map { .init($0, recent: recentVoiceEvents) }
        )
    }
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
        public var sendFailures: Int
        public var iceBadIntegrity: Int
        public var iceWrongUsername: Int

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
        /// Frames the model dropped rather than queue (the echo keeps its backlog short).
        public var framesDropped: Int
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
