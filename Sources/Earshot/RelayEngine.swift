import EarshotCore
public import EarshotCrypto
public import EarshotNIO
public import EarshotWire
import Logging
import NIOCore

/// The relay's sessions and their routing, living on the event loop of the one UDP socket.
///
/// Datagrams are routed by the USERNAME ufrag of STUN Binding requests (each session's ufrag carries a routing
/// token) and, for everything else, by the source address once that address passed a valid ICE check. One
/// `LoopTimer` wakes the loop at the earliest session deadline; sessions never schedule timers of their own.
///
/// Concurrency: every stored property is confined to `eventLoop`; the async methods hop onto it. That confinement
/// is what makes the `@unchecked Sendable` true.
public final class RelayEngine: @unchecked Sendable {
    public let configuration: RelayConfiguration
    let eventLoop: any EventLoop
    public let dtlsContext: DTLSContext
    let logger: Logger

    private var socket: UDPSocket?
    private var timer: LoopTimer?
    private var sessions: [String: RelaySession] = [:]
    private var byUfrag: [String: String] = [:]
    private var byAddress: [TransportAddress: String] = [:]
    private var deadlines = DeadlineQueue<String>()
    private var ended: [SessionInfo] = []
    private var nextSessionNumber: UInt32 = 1
    private var rng = SystemRandomNumberGenerator()
    private let wallClockOffset: Duration
    public private(set) var counters = Counters()
    /// The relay's metrics (`GET /metrics`).
    public let metrics: RelayMetrics
    private let counterPublisher: CounterPublisher
    private let processGauges: ProcessGauges
    /// What ended sessions counted, for the cumulative counters.
    private var endedTotals = RelayTotals()
    /// Sessions with datagrams queued since the socket's last flush (their `egress` hops close at the flush).
    private var awaitingFlush: [RelaySession] = []
    /// The exec: model processes this relay started; ended with the relay.
    public let modelProcesses = ModelProcesses()
    /// Where in-process models' sessions run (set by the service before it accepts offers).
    var inProcessRunner: InProcessModelRunner?
    /// The sidecar's pipes, with `--model stdio` (set by the service before it accepts offers).
    var stdio: StdioMultiplexer?
    private var accepting = true
    /// Queued datagrams that trigger a flush in the middle of a read batch or a timer run.
    static let flushThreshold = 8
    /// How long a queued datagram may wait for the rest of its batch before it is flushed on its own.
    static let flushAge: Duration = .microseconds(250)

    public struct Counters: Sendable, Hashable, Codable {
        public var sessionsCreated = 0
        public var sessionsEnded = 0
        /// Datagrams that matched no session (unknown ufrag or unverified address).
        public var datagramsUnrouted = 0
        public var offersRejected = 0
    }

    init(
        configuration: RelayConfiguration, eventLoop: any EventLoop, dtlsContext: DTLSContext, logger: Logger,
        metrics: RelayMetrics = RelayMetrics()
    ) {
        self.configuration = configuration
        self.metrics = metrics
        self.counterPublisher = CounterPublisher(factory: metrics.factory)
        self.processGauges = ProcessGauges(factory: metrics.factory)
        self.eventLoop = eventLoop
        self.dtlsContext = dtlsContext
        self.logger = logger
        // Instant is NIO's monotonic clock; NTP timestamps in RTCP need wall-clock time.
        let wall = Duration.nanoseconds(Int64(Double(clockRealtimeNanoseconds())))
        wallClockOffset = wall - .nanoseconds(Instant.now().nanoseconds)
    }

    /// Attaches the UDP socket and the loop's timer (called on the loop by the service).
    func attach(socket: UDPSocket) {
        eventLoop.preconditionInEventLoop()
        self.socket = socket
        self.timer = LoopTimer(eventLoop: eventLoop) { [unowned self] now in self.timerFired(now: now) }
    }

    public var udpAddress: TransportAddress? { socket?.localAddress }

    // MARK: - Sessions from signaling

    /// Creates a session for an SDP offer and returns its id and our answer. `model` picks one of the
    /// configuration's `namedModels` (nil: the default model); `userAgent` goes to the model in `session.start`.
    public func offer(_ sdp: String, model: String? = nil, userAgent: String? = nil) async throws(WHIPError)
        -> (id: String, answer: String)
    {
        let choice: ModelChoice
        if let model {
            guard let named = configuration.namedModels[model] else {
                throw .unknownModel(model, known: configuration.namedModels.keys.sorted())
            }
            choice = named
        } else {
            choice = configuration.model
        }
        let result = try? await eventLoop.submit { () -> Result<(String, String), WHIPError> in
            do throws(WHIPError) {
                return .success(try self.createSession(
                    offerText: sdp, model: choice, modelName: model, userAgent: userAgent))
            } catch {
                return .failure(error)
            }
        }.get()
        switch result {
        case .success(let value)?: return value
        case .failure(let error)?: throw error
        case nil: throw .unavailable
        }
    }

    /// Ends a session; false if there is no such live session. `reason` is logged and kept as the session's close
    /// reason; `modelReason` is what its model hears in `stop` (the protocol's reason codes: `client_hangup` for
    /// WHIP DELETE, `host_ended` for a host program).
    public func end(id: String, reason: String, modelReason: String = "client_hangup") async -> Bool {
        (try? await eventLoop.submit { self.endSession(id: id, reason: reason, modelReason: modelReason) }.get())
            ?? false
    }

    /// A snapshot of every live session and the recently ended ones.
    public func sessionInfos() async -> [SessionInfo] {
        (try? await eventLoop.submit {
            self.sessions.values.sorted { $0.number < $1.number }.map { $0.info(now: .now()) } + self.ended
        }.get()) ?? []
    }

    public func sessionInfo(id: String) async -> SessionInfo? {
        try? await eventLoop.submit {
            self.sessions[id]?.info(now: .now()) ?? self.ended.last { $0.id == id }
        }.get()
    }

    public func liveSessionCount() async -> Int {
        (try? await eventLoop.submit { self.sessions.count }.get()) ?? 0
    }

    /// Stops accepting offers and ends every session (BYE and close_notify go out).
    public func shutdown(reason: String) async {
        try? await eventLoop.submit {
            self.accepting = false
            for id in Array(self.sessions.keys) {
                _ = self.endSession(id: id, reason: reason, modelReason: "relay_shutdown")
            }
            self.flushSocket()
            self.timer?.cancel()
        }.get()
    }

    private func createSession(offerText: String, model: ModelChoice, modelName: String?, userAgent: String?)
        throws(WHIPError)
        -> (String, String)
    {
        eventLoop.preconditionInEventLoop()
        guard accepting, let socket else { throw .unavailable }
        guard sessions.count < configuration.maxSessions else {
            counters.offersRejected += 1
            throw .atCapacity(limit: configuration.maxSessions)
        }
        let offer: SessionDescription
        do {
            offer = try SessionDescription(parsing: offerText)
        } catch {
            counters.offersRejected += 1
            throw .malformedSDP(error.description)
        }
        let now = Instant.now()
        let number = nextSessionNumber
        nextSessionNumber &+= 1
        let token = RoutingToken(nodeID: configuration.nodeID, sessionNumber: number)
        let local = ICECredentials.random(routingPrefix: token.ufragPrefix, using: &rng)
        let ssrc = UInt32.random(in: 1...UInt32.max, using: &rng)
        let id = (0..<16).map { _ in String(UInt8.random(in: 0...15, using: &rng), radix: 16) }.joined()
        let candidateAddress = configuration.publicAddress ?? socket.localAddress.address.description
        guard let sdpAddress = SDPAddress(candidateAddress) else {
            throw .internalError("the candidate address '\(candidateAddress)' is not an IP address")
        }
        let parameters = SDPAnswerParameters(
            iceUfrag: local.ufrag, icePwd: local.password,
            fingerprint: SDPFingerprint(certificate: dtlsContext.fingerprint),
            candidates: [.host(foundation: "1", address: sdpAddress, port: socket.localAddress.port)],
            sessionID: UInt64.random(in: 1...UInt64(Int64.max), using: &rng), sessionVersion: 1,
            ssrc: ssrc, cname: "earshot-\(id.prefix(8))")
        let answer: SDPAnswer
        do {
            answer = try SDPAnswer(offer: offer, parameters: parameters)
        } catch {
            counters.offersRejected += 1
            throw .unusableOffer(error.description)
        }
        let negotiated = answer.negotiated
        let fingerprints = negotiated.remoteFingerprints.compactMap(CertificateFingerprint.init(sdp:))
        let peer: PeerConnection
        do {
            peer = try PeerConnection(
                configuration: .init(
                    role: .relay, localCredentials: local,
                    remoteCredentials: ICECredentials(ufrag: negotiated.remoteICEUfrag, password: negotiated.remoteICEPwd),
                    remoteFingerprints: fingerprints, localSSRC: ssrc, payloadType: negotiated.opusPayloadType,
                    cname: parameters.cname, consentTimeout: configuration.consentTimeout,
                    connectTimeout: configuration.connectTimeout, wallClockOffset: wallClockOffset,
                    seed: UInt64.random(in: 0...UInt64.max, using: &rng)),
                dtlsContext: dtlsContext, now: now)
        } catch {
            throw .internalError(error.description)
        }
        let session: RelaySession
        do {
            session = try RelaySession(
                id: id, number: number, peer: peer, negotiated: negotiated, createdAt: now,
                userAgentCandidates: negotiated.remoteCandidates.count, audio: configuration.audio,
                model: model, modelSettings: .init(
                    voiceActivity: configuration.voiceActivity, readyTimeout: configuration.modelReadyTimeout,
                    stallTimeout: configuration.modelStallTimeout, userAgent: userAgent,
                    trustRootsFile: configuration.modelTrustRootsFile, modelName: modelName),
                metrics: metrics, logger: logger)
        } catch {
            throw .internalError("audio pipeline: \(error)")
        }
        sessions[id] = session
        byUfrag[local.ufrag] = id
        session.startModel(
            eventLoop: eventLoop,
            resources: .init(inProcessRunner: inProcessRunner, stdio: stdio, processes: modelProcesses)
        ) { [unowned self] session, now in self.modelActivity(session, now: now) }
        counters.sessionsCreated += 1
        deadlines.set(id, deadline: session.nextDeadline)
        armTimer()
        logger.info(
            "session started",
            metadata: [
                "session": "\(id)", "opus_pt": "\(negotiated.opusPayloadType)", "model": "\(model)",
                "remote_candidates": "\(negotiated.remoteCandidates.count)",
            ])
        return (id, answer.serialized())
    }

    private func endSession(id: String, reason: String, modelReason: String) -> Bool {
        guard let session = sessions[id] else { return false }
        session.modelStopReason = modelReason
        session.peer.close(reason: .local(reason), now: .now())
        process(session, now: .now())
        return true
    }

    // MARK: - The packet path

    private func route(_ datagram: UnsafeMutableRawBufferPointer, from source: TransportAddress) -> RelaySession? {
        if let first = datagram.first, first < 4 {
            if let range = STUNMessage.peekBindingRequestUsername(UnsafeRawBufferPointer(datagram)) {
                let username = datagram[range]
                let end = username.firstIndex(of: UInt8(ascii: ":")) ?? username.endIndex
                let ufrag = String(decoding: username[..<end], as: UTF8.self)
                if let id = byUfrag[ufrag] { return sessions[id] }
                return nil
            }
        }
        return byAddress[source].flatMap { sessions[$0] }
    }

    func process(_ session: RelaySession, now: Instant) {
        let peer = session.peer
        if let reason = session.pendingHangUp {
            session.pendingHangUp = nil
            peer.close(reason: .local(reason), now: now)
        }
        while let event = peer.pollEvent() {
            switch event {
            case .audio:
                break  // audio goes through the session's zero-copy handler instead
            case .iceConnected(let address):
                logger.debug("ice nominated", metadata: ["session": "\(session.id)", "address": "\(address)"])
            case .connected:
                session.connectedAt = now
                session.callConnected(now: now)
                logger.info(
                    "session connected",
                    metadata: [
                        "session": "\(session.id)", "address": "\(peer.selectedAddress.map(\.description) ?? "-")",
                        "srtp": "\(session.srtpProfile.map(\.description) ?? "-")",
                        "setup_ms": "\((now - session.createdAt).milliseconds)",
                    ])
            case .dtlsConnected(let connection):
                session.srtpProfile = connection.profile
                session.dtlsCipher = connection.cipherSuite
            case .rtcp:
                break
            case .closed(let reason):
                session.closeReason = reason
            }
        }
        if let socket {
            peer.drainTransmits { bytes, destination in socket.send(bytes, to: destination) }
        }
        if session.hasPendingEgress, !session.awaitingFlush {
            session.awaitingFlush = true
            awaitingFlush.append(session)
        }
        if peer.isClosed {
            remove(session, now: now)
        } else {
            syncAddresses(of: session)
            deadlines.set(session.id, deadline: session.nextDeadline)
        }
    }

    private func syncAddresses(of session: RelaySession) {
        guard let valid = session.peer.liteAgent?.validAddresses, valid.count != session.routedAddresses.count
            || !valid.keys.allSatisfy(session.routedAddresses.contains)
        else { return }
        for address in session.routedAddresses where valid[address] == nil && byAddress[address] == session.id {
            byAddress[address] = nil
        }
        session.routedAddresses = Set(valid.keys)
        for address in valid.keys { byAddress[address] = session.id }
    }

    /// The model sent something (or its transport ended): run the session and send what it produced.
    private func modelActivity(_ session: RelaySession, now: Instant) {
        guard sessions[session.id] === session else { return }
        session.runAudio(now: now)
        process(session, now: now)
        flushSocket()
        armTimer()
    }

    private func remove(_ session: RelaySession, now: Instant) {
        // What the session queued last leaves now, so its egress hops close before its figures are frozen (the
        // ended session's record and the relay's metrics then agree).
        if session.awaitingFlush { flushSocket() }
        session.detach(now: now)
        sessions[session.id] = nil
        byUfrag[session.peer.configuration.localCredentials.ufrag] = nil
        for address in session.routedAddresses where byAddress[address] == session.id { byAddress[address] = nil }
        deadlines.set(session.id, deadline: nil)
        counters.sessionsEnded += 1
        endedTotals += session.totals()
        let info = session.info(now: now)
        ended.append(info)
        if ended.count > configuration.endedSessionsKept { ended.removeFirst(ended.count - configuration.endedSessionsKept) }
        let stats = session.peer.statistics
        logger.info(
            "session ended",
            metadata: [
                "session": "\(session.id)", "reason": "\(session.closeReason.map(\.description) ?? "-")",
                "duration_ms": "\((now - session.createdAt).milliseconds)",
                "rtp_in": "\(stats.rtpPacketsReceived)", "rtp_out": "\(stats.rtpPacketsSent)",
                "lost": "\(session.peer.receiveStatistics.packetsLost)",
                "drops": "\(stats.drops.total)",
                "rtt_ms": "\(session.peer.roundTripTime.map { String($0.milliseconds) } ?? "-")",
                "model_end": "\(session.modelEnd.map(\.code) ?? "-")",
            ])
    }

    private func armTimer() {
        timer?.arm(at: deadlines.earliest())
    }

    private func timerFired(now: Instant) {
        for id in deadlines.popDue(now: now) {
            guard let session = sessions[id] else { continue }
            session.handleTimeout(now: now)
            process(session, now: now)
            flushIfWaiting()
        }
        flushSocket()
        armTimer()
    }

    /// Within a long read batch or timer run (many sessions due at once, each encoding a frame), what is queued
    /// leaves once `flushThreshold` datagrams wait or the oldest has waited `flushAge`, rather than at the end:
    /// sendmmsg still batches, and no frame waits behind a whole batch of other sessions' work.
    private func flushIfWaiting() {
        guard let socket, socket.pendingWrites > 0 else { return }
        if socket.pendingWrites >= Self.flushThreshold {
            flushSocket()
        } else if let oldest = awaitingFlush.first?.oldestPendingEgress, Instant.now() - oldest >= Self.flushAge {
            flushSocket()
        }
    }

    /// Writes every queued datagram, then closes the `egress` hops of what was written.
    private func flushSocket() {
        socket?.flush()
        guard !awaitingFlush.isEmpty else { return }
        let written = Instant.now()
        for session in awaitingFlush { session.socketWritten(at: written) }
        awaitingFlush.removeAll(keepingCapacity: true)
    }

    // MARK: - Metrics

    /// Brings the metrics up to date: the sessions gauge, the cumulative counters (ended sessions plus live
    /// ones, published as increments) and the process figures. Called by `GET /metrics` before it emits.
    public func publishMetrics() async {
        try? await eventLoop.submit {
            var totals = self.endedTotals
            for session in self.sessions.values { totals += session.totals() }
            totals.integers["earshot_sessions_created_total"] = self.counters.sessionsCreated
            totals.integers["earshot_sessions_ended_total"] = self.counters.sessionsEnded
            totals.integers["earshot_offers_rejected_total"] = self.counters.offersRejected
            totals.integers["earshot_drops_total{reason=\"unrouted\"}"] = self.counters.datagramsUnrouted
            if let sidecar = self.stdio?.statistics {
                // Frames from a sidecar parent the relay could not use: counted, never silent.
                totals.integers["earshot_drops_total{reason=\"sidecar_unknown_session\"}"] = sidecar.framesForUnknownSessions
                totals.integers["earshot_drops_total{reason=\"sidecar_bad_frame\"}"] = sidecar.badFrames
                totals.integers["earshot_drops_total{reason=\"sidecar_relay_level\"}"] = sidecar.relayLevelFramesReceived
            }
            let process = ProcessFigures.read()
            if let process { totals.seconds["process_cpu_seconds_total"] = process.cpuSeconds }
            self.counterPublisher.publish(totals)
            self.metrics.sessions.record(self.sessions.count)
            if let process { self.processGauges.record(process) }
        }.get()
    }
}

extension RelayEngine: UDPDatagramReceiver {
    public func receive(_ datagram: UnsafeMutableRawBufferPointer, from source: TransportAddress, now: Instant) {
        guard let session = route(datagram, from: source) else {
            counters.datagramsUnrouted += 1
            return
        }
        session.peer.handle(datagram: datagram, from: source, now: now)
        process(session, now: now)
        flushIfWaiting()
    }

    public func receiveBatchComplete(now: Instant) {
        flushSocket()
        armTimer()
    }
}

/// Why an offer was refused; each maps to an HTTP status with a message a user can act on.
public enum WHIPError: Error, Hashable, Sendable, CustomStringConvertible {
    case malformedSDP(String)
    case unusableOffer(String)
    case atCapacity(limit: Int)
    case unavailable
    case internalError(String)
    case unknownModel(String, known: [String])

    public var description: String {
        switch self {
        case .malformedSDP(let reason): "malformed SDP offer: \(reason)"
        case .unusableOffer(let reason): "unusable SDP offer: \(reason)"
        case .atCapacity(let limit): "the relay is at capacity (\(limit) sessions); retry later"
        case .unavailable: "the relay is not accepting sessions (starting or shutting down)"
        case .internalError(let reason): "internal error: \(reason)"
        case .unknownModel(let name, let known):
            "no model named '\(name)' is configured" + (known.isEmpty ? "" : " (known: \(known.joined(separator: ", ")))")
        }
    }
}

extension Duration {
    var milliseconds: Int64 { nanosecondsClamped / 1_000_000 }
}

extension SDPFingerprint {
    init(certificate: CertificateFingerprint) {
        self.init(algorithm: .sha256, digest: certificate.bytes)
    }
}

extension CertificateFingerprint {
    /// The fingerprint of an SDP line, if its hash function is one we can check.
    init?(sdp: SDPFingerprint) {
        self.init(sdpValue: sdp.description)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func clockRealtimeNanoseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}
