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

    /// Echo: the first received RTP timestamp, so the echo's timestamps start at 0 on our own timeline.
    private var echoOrigin: UInt32?
    private(set) var echoedPackets = 0

    init(
        id: String, number: UInt32, peer: PeerConnection, negotiated: NegotiatedAudio, createdAt: Instant,
        userAgentCandidates: Int
    ) {
        self.id = id
        self.number = number
        self.peer = peer
        self.negotiated = negotiated
        self.createdAt = createdAt
        self.remoteCandidateCount = userAgentCandidates
        peer.audioHandler = { [unowned self] packet in self.echo(packet) }
    }

    /// Breaks the handler's reference back to this session when it ends.
    func detach() { peer.audioHandler = nil }

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
            model: .init(name: "echo", codecPath: "passthrough", packetsEchoed: echoedPackets)
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
    }
}
