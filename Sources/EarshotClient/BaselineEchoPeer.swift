import EarshotCore
public import EarshotCrypto
import EarshotNIO
import EarshotOpus
import EarshotWire
public import NIOCore

/// The benchmark's baseline: the smallest WebRTC endpoint that echoes audio, on the same sans-IO core as the relay
/// (ICE-lite, DTLS server, SRTP) but with nothing of the relay around it: no routing table, no jitter buffer, no
/// pacer, no model, no HTTP. One UDP socket per session; signaling is a function call.
///
/// `passthrough`: each packet's payload goes straight back. `transcode`: each packet is decoded and encoded again
/// at once, the relay's codec work without its buffering. A client's round trip through this peer is the floor
/// the relay's round trip is compared with (`earshot bench`).
///
/// Concurrency: confined to its socket's event loop, like the relay's sessions.
public final class BaselineEchoPeer: @unchecked Sendable {
    public enum CodecPath: String, Sendable {
        case passthrough, transcode
    }

    private let socket: UDPSocket
    private let peer: PeerConnection
    private let transcoder: Transcoder?
    private var timer: LoopTimer?
    private var origin: UInt32?
    public private(set) var packetsEchoed = 0

    private init(socket: UDPSocket, peer: PeerConnection, transcoder: Transcoder?) {
        self.socket = socket
        self.peer = peer
        self.transcoder = transcoder
    }

    /// Answers `offer` with a new echo peer on its own loopback socket.
    public static func answer(
        offer offerText: String, codecPath: CodecPath, dtlsContext: DTLSContext, group: any EventLoopGroup
    ) async throws -> (peer: BaselineEchoPeer, answer: String) {
        let box = Box()
        let socket = try await UDPSocket.bind(host: "127.0.0.1", port: 0, group: group) { _ in box }
        do {
            var rng = SystemRandomNumberGenerator()
            let offer = try SessionDescription(parsing: offerText)
            let local = ICECredentials.random(using: &rng)
            let ssrc = UInt32.random(in: 1...UInt32.max, using: &rng)
            guard let address = SDPAddress(socket.localAddress.address.description) else {
                throw ClientError.badAnswer("no usable local address")
            }
            let parameters = SDPAnswerParameters(
                iceUfrag: local.ufrag, icePwd: local.password,
                fingerprint: SDPFingerprint(algorithm: .sha256, digest: dtlsContext.fingerprint.bytes),
                candidates: [.host(foundation: "1", address: address, port: socket.localAddress.port)],
                sessionID: UInt64.random(in: 1...UInt64(Int64.max), using: &rng), sessionVersion: 1, ssrc: ssrc,
                cname: "earshot-baseline")
            let answer = try SDPAnswer(offer: offer, parameters: parameters)
            let negotiated = answer.negotiated
            let peer = try PeerConnection(
                configuration: .init(
                    role: .relay, localCredentials: local,
                    remoteCredentials: ICECredentials(ufrag: negotiated.remoteICEUfrag, password: negotiated.remoteICEPwd),
                    remoteFingerprints: negotiated.remoteFingerprints.compactMap { CertificateFingerprint(sdpValue: $0.description) },
                    localSSRC: ssrc, payloadType: negotiated.opusPayloadType, cname: parameters.cname,
                    seed: UInt64.random(in: 0...UInt64.max, using: &rng)),
                dtlsContext: dtlsContext, now: .now())
            let echo = BaselineEchoPeer(
                socket: socket, peer: peer, transcoder: codecPath == .transcode ? try Transcoder() : nil)
            try await socket.eventLoop.submit {
                box.echo = echo
                echo.timer = LoopTimer(eventLoop: socket.eventLoop) { [weak echo] now in echo?.timerFired(now: now) }
                echo.drive(now: .now())
            }.get()
            return (echo, answer.serialized())
        } catch {
            await socket.close()
            throw error
        }
    }

    /// Packets echoed so far.
    public func echoedCount() async throws -> Int {
        try await socket.eventLoop.submit { self.packetsEchoed }.get()
    }

    /// Closes the connection and the socket.
    public func close() async {
        try? await socket.eventLoop.submit { [self] in
            peer.close(reason: .local("baseline finished"), now: .now())
            drive(now: .now())
            socket.flush()
            timer?.cancel()
            timer = nil
        }.get()
        await socket.close()
    }

    // MARK: - On the loop

    fileprivate func receive(_ datagram: UnsafeMutableRawBufferPointer, from source: TransportAddress, now: Instant) {
        peer.handle(datagram: datagram, from: source, now: now)
        drive(now: now)
    }

    fileprivate func batchComplete() { socket.flush() }

    private func timerFired(now: Instant) {
        peer.handleTimeout(now: now)
        drive(now: now)
        socket.flush()
    }

    private func drive(now: Instant) {
        while let event = peer.pollEvent() {
            guard case .audio(let audio) = event else { continue }
            let start = origin ?? audio.timestamp
            origin = start
            let payload = transcoder.flatMap { try? $0.transcode(audio.payload) } ?? audio.payload
            if peer.sendAudio(payload: payload, timestamp: audio.timestamp &- start, marker: audio.marker, now: now) {
                packetsEchoed += 1
            }
        }
        while let transmit = peer.pollTransmit() { socket.send(transmit.bytes, to: transmit.destination) }
        timer?.arm(at: peer.nextDeadline)
    }

    /// Decode and encode at once, as the relay's codec work without its buffers (48 kHz, 20 ms, the relay's
    /// default encoder settings).
    private final class Transcoder {
        let decoder: OpusDecoder
        let encoder: OpusEncoder

        init() throws {
            decoder = try OpusDecoder(sampleRate: .hz48000, channels: .mono)
            encoder = try OpusEncoder(.init(bitrate: .bitsPerSecond(32_000), complexity: 5, inBandFEC: true))
        }

        func transcode(_ packet: [UInt8]) throws -> [UInt8] {
            try encoder.encode(decoder.decode(packet))
        }
    }

    private final class Box: UDPDatagramReceiver, @unchecked Sendable {
        weak var echo: BaselineEchoPeer?
        func receive(_ datagram: UnsafeMutableRawBufferPointer, from source: TransportAddress, now: Instant) {
            echo?.receive(datagram, from: source, now: now)
        }
        func receiveBatchComplete(now: Instant) { echo?.batchComplete() }
    }
}
