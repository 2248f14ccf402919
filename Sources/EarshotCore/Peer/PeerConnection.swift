public import EarshotCrypto
public import EarshotWire

/// One WebRTC audio peer connection, sans-IO: ICE (lite or controlling), DTLS-SRTP, RTP and RTCP over one
/// bundled, rtcp-muxed UDP 5-tuple.
///
/// ```
///  handle(datagram:from:now:) ──▶ RFC 7983 demux ─┬─ STUN ──▶ ICE agent ───────────────▶ responses, nomination
///                                                 ├─ DTLS ──▶ DTLSEndpoint ────────────▶ keys ─▶ SRTP contexts
///                                                 └─ SRTP ──▶ unprotect ─▶ RTP / RTCP ─▶ events, statistics
///  sendAudio(payload:…) ──▶ RTP header ──▶ SRTP protect ──────────────────────────────▶ pollTransmit()
///  handleTimeout(now:)  ──▶ DTLS retransmission, RTCP reports, consent and connect timeouts
/// ```
///
/// Nothing here reads a clock or touches a socket: the owner passes `now` with every input, sends what
/// `pollTransmit()` returns, reacts to `pollEvent()`, and calls `handleTimeout(now:)` at `nextDeadline`.
/// Datagrams from an address that has not passed a valid ICE check are dropped and counted, never processed.
///
/// Concurrency: confined to one thread (its event loop); not `Sendable`.
public final class PeerConnection {
    public enum Role: Sendable, Hashable {
        /// The relay: ICE-lite (controlled), DTLS server (`a=setup:passive`).
        case relay
        /// A client: full ICE, controlling, to one remote candidate; DTLS client (`a=setup:active`).
        case client
    }

    public struct Configuration: Sendable {
        public var role: Role
        public var localCredentials: ICECredentials
        public var remoteCredentials: ICECredentials
        /// Fingerprints from the peer's SDP: its DTLS certificate must match one.
        public var remoteFingerprints: [CertificateFingerprint]
        /// The client role's one remote candidate (the relay's address). Ignored by the relay role.
        public var remoteAddress: TransportAddress?
        /// Our RTP SSRC for the audio we send.
        public var localSSRC: UInt32
        /// The negotiated Opus payload type.
        public var payloadType: UInt8
        /// RTP clock rate of the payload type (Opus: 48 kHz, RFC 7587).
        public var clockRate: Int
        /// Our RTCP CNAME (RFC 3550 §6.5.1).
        public var cname: String
        /// No valid STUN check or authenticated media for this long ends the session (RFC 7675 consent).
        public var consentTimeout: Duration
        /// ICE and DTLS must both complete within this long of creation.
        public var connectTimeout: Duration
        /// Interval between our RTCP reports once connected.
        public var rtcpInterval: Duration
        /// Maps `Instant` to wall-clock time: `Instant + wallClockOffset` is the time since the Unix epoch. Used
        /// only for NTP timestamps in sender reports (RTT needs only consistency, not accuracy).
        public var wallClockOffset: Duration
        /// Seed for the random parts (initial sequence number and timestamp, STUN transaction ids), so runs on
        /// virtual time repeat exactly.
        public var seed: UInt64
        /// Datagrams waiting for `pollTransmit()`; past this, new ones are dropped and counted.
        public var transmitQueueLimit: Int
        /// DTLS settings (timeouts and MTU); role and fingerprints are filled in from the fields above.
        public var dtlsInitialRetransmit: Duration
        public var dtlsHandshakeTimeout: Duration

        public init(
            role: Role,
            localCredentials: ICECredentials,
            remoteCredentials: ICECredentials,
            remoteFingerprints: [CertificateFingerprint],
            remoteAddress: TransportAddress? = nil,
            localSSRC: UInt32,
            payloadType: UInt8 = 111,
            clockRate: Int = 48_000,
            cname: String = "earshot",
            consentTimeout: Duration = .seconds(30),
            connectTimeout: Duration = .seconds(30),
            rtcpInterval: Duration = .seconds(1),
            wallClockOffset: Duration = .zero,
            seed: UInt64 = 0,
            transmitQueueLimit: Int = 256,
            dtlsInitialRetransmit: Duration = .milliseconds(100),
            dtlsHandshakeTimeout: Duration = .seconds(20)
        ) {
            self.role = role
            self.localCredentials = localCredentials
            self.remoteCredentials = remoteCredentials
            self.remoteFingerprints = remoteFingerprints
            self.remoteAddress = remoteAddress
            self.localSSRC = localSSRC
            self.payloadType = payloadType
            self.clockRate = clockRate
            self.cname = cname
            self.consentTimeout = consentTimeout
            self.connectTimeout = connectTimeout
            self.rtcpInterval = rtcpInterval
            self.wallClockOffset = wallClockOffset
            self.seed = seed
            self.transmitQueueLimit = transmitQueueLimit
            self.dtlsInitialRetransmit = dtlsInitialRetransmit
            self.dtlsHandshakeTimeout = dtlsHandshakeTimeout
        }
    }

    public enum State: Sendable, Hashable {
        /// ICE and DTLS under way.
        case connecting
        /// ICE nominated and DTLS done: SRTP flows.
        case connected
        case closed(CloseReason)
    }

    public enum CloseReason: Sendable, Hashable, CustomStringConvertible {
        case consentExpired
        case connectTimeout
        case dtlsFailed(DTLSError)
        /// The peer sent DTLS close_notify or RTCP BYE.
        case closedByPeer
        /// The owner closed it (DELETE, shutdown, model ended...).
        case local(String)

        public var description: String {
            switch self {
            case .consentExpired: "no valid STUN or media for the consent timeout"
            case .connectTimeout: "ICE and DTLS did not complete in time"
            case .dtlsFailed(let error): "DTLS failed: \(error)"
            case .closedByPeer: "closed by the peer"
            case .local(let reason): reason
            }
        }
    }

    public struct Transmit: Sendable {
        public var bytes: [UInt8]
        public var destination: TransportAddress
    }

    /// An Opus packet received and authenticated.
    public struct ReceivedAudio: Sendable {
        public var payload: [UInt8]
        public var payloadType: UInt8
        public var sequenceNumber: UInt16
        /// The sequence number extended to 64 bits.
        public var extendedSequenceNumber: Int64
        public var timestamp: UInt32
        public var marker: Bool
        public var ssrc: UInt32
        public var arrival: Instant
    }

    /// A received audio packet whose payload is borrowed from the receive buffer (see `audioHandler`).
    public struct AudioPacketView: ~Copyable {
        public let payload: UnsafeRawBufferPointer
        public let payloadType: UInt8
        public let sequenceNumber: UInt16
        public let extendedSequenceNumber: Int64
        public let timestamp: UInt32
        public let marker: Bool
        public let ssrc: UInt32
        public let arrival: Instant
    }

    public enum Event: Sendable {
        /// ICE nominated `address` (the first time, or a new address after a change).
        case iceConnected(TransportAddress)
        case dtlsConnected(DTLSEndpoint.Connection)
        /// ICE and DTLS are both done: media can flow.
        case connected
        case audio(ReceivedAudio)
        case rtcp(RTCPSummary)
        case closed(CloseReason)
    }

    /// What an RTCP compound packet told us.
    public struct RTCPSummary: Sendable, Hashable {
        public var senderReport: Bool
        public var receiverReportBlocks: Int
        public var roundTripTime: Duration?
        public var bye: Bool
    }

    public let configuration: Configuration
    public private(set) var state: State = .connecting
    public private(set) var statistics = PeerStatistics()

    /// ICE state of the relay role.
    public private(set) var liteAgent: ICELiteAgent?
    /// ICE state of the client role.
    public private(set) var controllingAgent: ICEControllingAgent?
    private let dtls: DTLSEndpoint
    private var srtpOutbound: SRTPContext?
    private var srtpInbound: SRTPContext?
    private var dtlsConnection: DTLSEndpoint.Connection?
    private var iceDone = false
    private var dtlsAddress: TransportAddress?

    /// Queued datagrams: their bytes back to back in one arena, and where each one starts and goes. Both keep
    /// their capacity, so the steady path queues without allocating.
    private var transmitArena: [UInt8] = []
    private var transmitRecords: [(start: Int, count: Int, destination: TransportAddress)] = []
    private var transmitHead = 0

    /// The zero-copy audio path: when set, each received audio packet is handed here, its payload borrowed from
    /// the receive buffer for the duration of the call, instead of being copied into an `.audio` event. The
    /// handler may call `sendAudio` (the relay's echo does).
    public var audioHandler: ((borrowing AudioPacketView) -> Void)?
    private var events: [Event] = []
    private var eventHead = 0

    private let createdAt: Instant
    private var lastActivity: Instant
    private var nextReport: Instant?

    // Sending.
    private var nextSequence: UInt16
    private let timestampBase: UInt32
    private var lastSent: (rtpTimestamp: UInt32, at: Instant)?
    private var sendBuffer = [UInt8](repeating: 0, count: 1500)

    // Receiving.
    public private(set) var receiveStatistics: RTPReceiveStatistics
    public private(set) var remoteSSRC: UInt32?
    /// The last sender report from the peer: its NTP time (middle 32 bits) and when it arrived, for LSR/DLSR.
    private var lastSenderReport: (ntpMiddle: UInt32, arrival: Instant)?
    /// The latest round-trip time from the peer's reception reports on our sender reports.
    public private(set) var roundTripTime: Duration?

    public init(configuration: Configuration, dtlsContext: DTLSContext, now: Instant) throws(OpenSSLError) {
        self.configuration = configuration
        var rng = SplitMix64(seed: configuration.seed)
        nextSequence = UInt16(truncatingIfNeeded: rng.next())
        timestampBase = UInt32(truncatingIfNeeded: rng.next())
        createdAt = now
        lastActivity = now
        receiveStatistics = RTPReceiveStatistics(clockRate: configuration.clockRate)
        let dtlsRole: DTLSEndpoint.Role = configuration.role == .relay ? .server : .client
        dtls = try DTLSEndpoint(
            context: dtlsContext,
            configuration: .init(
                role: dtlsRole, remoteFingerprints: configuration.remoteFingerprints,
                initialRetransmitTimeout: configuration.dtlsInitialRetransmit,
                handshakeTimeout: configuration.dtlsHandshakeTimeout))
        switch configuration.role {
        case .relay:
            liteAgent = ICELiteAgent(local: configuration.localCredentials, remote: configuration.remoteCredentials)
        case .client:
            precondition(configuration.remoteAddress != nil, "the client role needs the remote candidate")
            var agent = ICEControllingAgent(
                local: configuration.localCredentials, remote: configuration.remoteCredentials,
                remoteAddress: configuration.remoteAddress!, seed: rng.next())
            agent.start(now: now)
            controllingAgent = agent
        }
    }

    // MARK: - Routing

    /// Whether a datagram from `source` belongs to this connection: a STUN Binding request naming our ufrag, or
    /// anything from an address that passed a valid check (or, for the client, from the relay's address).
    public func accepts(datagram: UnsafeRawBufferPointer, from source: TransportAddress) -> Bool {
        if let first = datagram.first, first < 4, let range = STUNMessage.peekBindingRequestUsername(datagram) {
            let username = datagram[range]
            guard let colon = username.firstIndex(of: UInt8(ascii: ":")) else { return false }
            return username[..<colon].elementsEqual(configuration.localCredentials.ufrag.utf8)
        }
        return isVerified(source)
    }

    private func isVerified(_ source: TransportAddress) -> Bool {
        if let liteAgent { return liteAgent.isValid(source) }
        if let controllingAgent { return source == controllingAgent.remoteAddress && controllingAgent.succeeded }
        return false
    }

    /// Where media goes: the nominated address.
    public var selectedAddress: TransportAddress? {
        liteAgent?.selectedAddress ?? (controllingAgent?.nominated == true ? controllingAgent?.remoteAddress : nil)
    }

    // MARK: - Inputs

    /// Handles one received UDP payload. The buffer is modified in place (SRTP is removed).
    public func handle(datagram: UnsafeMutableRawBufferPointer, from source: TransportAddress, now: Instant) {
        guard !isClosed else {
            statistics.drops.afterClose += 1
            return
        }
        receive(datagram, from: source, now: now)
    }

    /// Convenience: handles a datagram held in an array (copied once).
    public func handle(datagram: [UInt8], from source: TransportAddress, now: Instant) {
        var copy = datagram
        copy.withUnsafeMutableBytes { handle(datagram: $0, from: source, now: now) }
    }

    private func receive(_ datagram: UnsafeMutableRawBufferPointer, from source: TransportAddress, now: Instant) {
        statistics.datagramsReceived += 1
        statistics.bytesReceived += datagram.count
        guard let first = datagram.first else {
            statistics.drops.unknownProtocol += 1
            return
        }
        // RFC 7983 §7: the first byte tells the protocol.
        switch first {
        case 0...3: receiveSTUN(UnsafeRawBufferPointer(datagram), from: source, now: now)
        case 20...63: receiveDTLS(UnsafeRawBufferPointer(datagram), from: source, now: now)
        case 128...191: receiveSRTP(datagram, from: source, now: now)
        default: statistics.drops.unknownProtocol += 1
        }
        afterInput(now: now)
    }

    private func receiveSTUN(_ bytes: UnsafeRawBufferPointer, from source: TransportAddress, now: Instant) {
        if var agent = liteAgent {
            let outcome = agent.handle(stun: bytes, from: source, now: now)
            liteAgent = agent
            if let response = outcome.response { enqueue(response, to: source) }
            if outcome.rejection != nil { statistics.drops.stunRejected += 1 }
            if let nominated = outcome.nominated {
                lastActivity = now
                events.append(.iceConnected(nominated))
                if !iceDone {
                    iceDone = true
                    dtls.start(now: now)
                    checkConnected()
                }
            } else if outcome.rejection == nil {
                lastActivity = now
            }
        } else if var agent = controllingAgent {
            guard source == agent.remoteAddress else {
                statistics.drops.unverifiedSource += 1
                return
            }
            let wasNominated = agent.nominated
            if agent.handle(stun: bytes, now: now) {
                lastActivity = now
                if agent.nominated && !wasNominated {
                    events.append(.iceConnected(agent.remoteAddress))
                    iceDone = true
                    controllingAgent = agent
                    dtls.start(now: now)
                    drainDTLS(now: now)
                }
            } else {
                statistics.drops.stunRejected += 1
            }
            controllingAgent = agent
        }
    }

    private func receiveDTLS(_ bytes: UnsafeRawBufferPointer, from source: TransportAddress, now: Instant) {
        guard isVerified(source) else {
            statistics.drops.unverifiedSource += 1
            return
        }
        dtlsAddress = source
        statistics.dtlsDatagramsReceived += 1
        dtls.handle(datagram: bytes, now: now)
        drainDTLS(now: now)
    }

    private func receiveSRTP(_ buffer: UnsafeMutableRawBufferPointer, from source: TransportAddress, now: Instant) {
        guard isVerified(source) else {
            statistics.drops.unverifiedSource += 1
            return
        }
        guard let inbound = srtpInbound else {
            statistics.drops.beforeKeys += 1
            return
        }
        // RFC 5761 §4: RTCP packet types 192–223 (second byte, marker bit included) are RTCP when muxed.
        let isRTCP = buffer.count >= 2 && (192...223).contains(buffer[1])
        do throws(SRTPError) {
            if isRTCP {
                let length = try inbound.unprotectRTCP(buffer: buffer, length: buffer.count)
                statistics.rtcpPacketsReceived += 1
                consentRefreshed(from: source, now: now)
                receiveRTCP(UnsafeRawBufferPointer(rebasing: buffer[0..<length]), now: now)
            } else {
                let length = try inbound.unprotectRTP(buffer: buffer, length: buffer.count)
                consentRefreshed(from: source, now: now)
                receiveRTP(UnsafeRawBufferPointer(rebasing: buffer[0..<length]), now: now)
            }
        } catch {
            switch error {
            case .authenticationFailed: statistics.drops.srtpAuthentication += 1
            case .replayed, .tooOld: statistics.drops.srtpReplay += 1
            default: statistics.drops.srtpOther += 1
            }
        }
    }

    private func consentRefreshed(from source: TransportAddress, now: Instant) {
        lastActivity = now
        liteAgent?.refreshConsent(from: source, now: now)
    }

    private func receiveRTP(_ bytes: UnsafeRawBufferPointer, now: Instant) {
        let layout: RTPPacketLayout
        do {
            layout = try RTPPacketLayout(parsing: bytes)
        } catch {
            statistics.drops.rtpMalformed += 1
            return
        }
        guard layout.payloadType == configuration.payloadType else {
            statistics.drops.unknownPayloadType += 1
            return
        }
        if let known = remoteSSRC, known != layout.ssrc {
            // A new SSRC (the peer restarted its sender): follow it with fresh statistics.
            receiveStatistics = RTPReceiveStatistics(clockRate: configuration.clockRate)
        }
        remoteSSRC = layout.ssrc
        let extended = receiveStatistics.record(
            sequenceNumber: layout.sequenceNumber, timestamp: layout.timestamp, arrival: now)
        statistics.rtpPacketsReceived += 1
        statistics.payloadBytesReceived += layout.payloadRange.count
        if let audioHandler {
            audioHandler(
                AudioPacketView(
                    payload: UnsafeRawBufferPointer(rebasing: bytes[layout.payloadRange]),
                    payloadType: layout.payloadType, sequenceNumber: layout.sequenceNumber,
                    extendedSequenceNumber: extended, timestamp: layout.timestamp, marker: layout.marker,
                    ssrc: layout.ssrc, arrival: now))
            return
        }
        events.append(
            .audio(
                ReceivedAudio(
                    payload: Array(bytes[layout.payloadRange]), payloadType: layout.payloadType,
                    sequenceNumber: layout.sequenceNumber, extendedSequenceNumber: extended,
                    timestamp: layout.timestamp, marker: layout.marker, ssrc: layout.ssrc, arrival: now)))
    }

    private func receiveRTCP(_ bytes: UnsafeRawBufferPointer, now: Instant) {
        let compound: RTCPCompoundPacket
        do {
            compound = try RTCPCompoundPacket(parsing: bytes)
        } catch {
            statistics.drops.rtcpMalformed += 1
            return
        }
        var summary = RTCPSummary(senderReport: false, receiverReportBlocks: 0, roundTripTime: nil, bye: false)
        func consider(_ blocks: [RTCPReportBlock]) {
            for block in blocks {
                summary.receiverReportBlocks += 1
                guard block.ssrc == configuration.localSSRC,
                    let rtt = block.roundTripDuration(arrival: ntp(now))
                else { continue }
                roundTripTime = rtt
                summary.roundTripTime = rtt
            }
        }
        for packet in compound.packets {
            switch packet {
            case .senderReport(let report):
                summary.senderReport = true
                lastSenderReport = (report.ntpTimestamp.middle32, now)
                consider(report.reportBlocks)
            case .receiverReport(let report):
                consider(report.reportBlocks)
            case .goodbye:
                summary.bye = true
            default:
                break  // SDES, feedback, XR, APP: nothing an audio relay acts on yet
            }
        }
        events.append(.rtcp(summary))
        if summary.bye { close(reason: .closedByPeer, now: now) }
    }

    /// Runs what is due at `now`: DTLS retransmission, ICE checks (client), RTCP reports, timeouts.
    public func handleTimeout(now: Instant) {
        guard !isClosed else { return }
        if state == .connecting, now >= createdAt + configuration.connectTimeout {
            close(reason: .connectTimeout, now: now)
            return
        }
        if now >= lastActivity + configuration.consentTimeout {
            close(reason: .consentExpired, now: now)
            return
        }
        if let deadline = dtls.nextDeadline, now >= deadline {
            dtls.handleTimeout(now: now)
            drainDTLS(now: now)
        }
        if var agent = controllingAgent, let deadline = agent.nextDeadline, now >= deadline {
            if let request = agent.poll(now: now) { enqueue(request, to: agent.remoteAddress) }
            controllingAgent = agent
        }
        if let due = nextReport, now >= due, state == .connected {
            sendReport(now: now)
            nextReport = now + configuration.rtcpInterval
        }
        afterInput(now: now)
    }

    /// When `handleTimeout(now:)` must next be called; nil once closed.
    public var nextDeadline: Instant? {
        guard !isClosed else { return nil }
        var deadline = lastActivity + configuration.consentTimeout
        if state == .connecting { deadline = min(deadline, createdAt + configuration.connectTimeout) }
        if let d = dtls.nextDeadline { deadline = min(deadline, d) }
        if let d = controllingAgent?.nextDeadline { deadline = min(deadline, d) }
        if let d = nextReport { deadline = min(deadline, d) }
        return deadline
    }

    // MARK: - Sending

    /// Sends one Opus packet. `timestamp` is on the caller's own 48 kHz timeline (it may start anywhere); the
    /// connection adds its random base (RFC 3550 §5.1). Returns false (and counts a drop) when there is no
    /// destination: before DTLS is done, or after the connection closed.
    ///
    /// Before ICE has selected a pair, media goes to the address DTLS completed with, which passed a connectivity
    /// check: RFC 8445 §12.1 lets an agent send on any valid pair until one is selected. A peer that runs DTLS over
    /// a checked pair before it nominates it (Chromium may) then hears its first packets echoed, not dropped.
    @discardableResult
    public func sendAudio(payload: UnsafeRawBufferPointer, timestamp: UInt32, marker: Bool = false, now: Instant)
        -> Bool
    {
        guard !isClosed, dtlsConnection != nil, let outbound = srtpOutbound,
            let destination = selectedAddress ?? dtlsAddress.flatMap({ isVerified($0) ? $0 : nil })
        else {
            statistics.drops.sendNotConnected += 1
            return false
        }
        let headerLength = 12
        let needed = headerLength + payload.count + outbound.profile.rtpOverhead
        guard needed <= sendBuffer.count else {
            statistics.drops.sendTooLarge += 1
            return false
        }
        let rtpTimestamp = timestampBase &+ timestamp
        let sequence = nextSequence
        nextSequence &+= 1
        let ssrc = configuration.localSSRC
        let payloadType = configuration.payloadType
        let result: Result<Int, SRTPError> = sendBuffer.withUnsafeMutableBytes { buffer in
            buffer[0] = 0x80  // V=2, no padding, no extension, no CSRC
            buffer[1] = (marker ? 0x80 : 0) | payloadType
            buffer.storeBytes(of: sequence.bigEndian, toByteOffset: 2, as: UInt16.self)
            buffer.storeBytes(of: rtpTimestamp.bigEndian, toByteOffset: 4, as: UInt32.self)
            buffer.storeBytes(of: ssrc.bigEndian, toByteOffset: 8, as: UInt32.self)
            if let base = payload.baseAddress, payload.count > 0 {
                (buffer.baseAddress! + headerLength).copyMemory(from: base, byteCount: payload.count)
            }
            return Result { () throws(SRTPError) -> Int in
                try outbound.protectRTP(buffer: buffer, length: headerLength + payload.count)
            }
        }
        switch result {
        case .success(let length):
            sendBuffer.withUnsafeBytes { enqueue(UnsafeRawBufferPointer(rebasing: $0[0..<length]), to: destination) }
            statistics.rtpPacketsSent += 1
            statistics.payloadBytesSent += payload.count
            lastSent = (rtpTimestamp, now)
            return true
        case .failure:
            statistics.drops.sendProtectFailed += 1
            return false
        }
    }

    /// Convenience for an array payload.
    @discardableResult
    public func sendAudio(payload: [UInt8], timestamp: UInt32, marker: Bool = false, now: Instant) -> Bool {
        payload.withUnsafeBytes { sendAudio(payload: $0, timestamp: timestamp, marker: marker, now: now) }
    }

    /// Ends the connection: DTLS close_notify and an RTCP BYE go out if connected.
    public func close(reason: CloseReason, now: Instant) {
        guard !isClosed else { return }
        if state == .connected {
            sendReport(now: now, bye: true)
            dtls.close()
            drainDTLS(now: now, closing: true)
        }
        state = .closed(reason)
        events.append(.closed(reason))
    }

    public var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    // MARK: - Outputs

    /// The next datagram to send, copied out of the queue (convenient; `drainTransmits` avoids the copy).
    public func pollTransmit() -> Transmit? {
        guard transmitHead < transmitRecords.count else {
            resetTransmitQueue()
            return nil
        }
        let record = transmitRecords[transmitHead]
        transmitHead += 1
        return Transmit(
            bytes: Array(transmitArena[record.start..<(record.start + record.count)]), destination: record.destination)
    }

    /// Hands every queued datagram to `body` without copying (the bytes are valid only during the call), then
    /// empties the queue.
    public func drainTransmits(_ body: (UnsafeRawBufferPointer, TransportAddress) -> Void) {
        guard transmitHead < transmitRecords.count else {
            resetTransmitQueue()
            return
        }
        transmitArena.withUnsafeBytes { arena in
            for record in transmitRecords[transmitHead...] {
                body(UnsafeRawBufferPointer(rebasing: arena[record.start..<(record.start + record.count)]), record.destination)
            }
        }
        transmitHead = transmitRecords.count
        resetTransmitQueue()
    }

    private func resetTransmitQueue() {
        guard !transmitRecords.isEmpty else { return }
        transmitRecords.removeAll(keepingCapacity: true)
        transmitArena.removeAll(keepingCapacity: true)
        transmitHead = 0
    }

    public func pollEvent() -> Event? {
        guard eventHead < events.count else {
            if !events.isEmpty {
                events.removeAll(keepingCapacity: true)
                eventHead = 0
            }
            return nil
        }
        defer { eventHead += 1 }
        return events[eventHead]
    }

    // MARK: - Internals

    private func enqueue(_ bytes: [UInt8], to destination: TransportAddress) {
        bytes.withUnsafeBytes { enqueue($0, to: destination) }
    }

    private func enqueue(_ bytes: UnsafeRawBufferPointer, to destination: TransportAddress) {
        guard transmitRecords.count - transmitHead < configuration.transmitQueueLimit else {
            statistics.drops.transmitQueueFull += 1
            return
        }
        statistics.datagramsSent += 1
        statistics.bytesSent += bytes.count
        transmitRecords.append((transmitArena.count, bytes.count, destination))
        transmitArena.append(contentsOf: bytes)
    }

    private func drainDTLS(now: Instant, closing: Bool = false) {
        let destination = dtlsAddress ?? selectedAddress
        while let datagram = dtls.pollTransmit() {
            if let destination { enqueue(datagram, to: destination) }
        }
        while let event = dtls.pollEvent() {
            switch event {
            case .connected(let connection):
                do throws(SRTPError) {
                    try installKeys(connection)
                    dtlsConnection = connection
                    events.append(.dtlsConnected(connection))
                    checkConnected()
                    nextReport = now + configuration.rtcpInterval
                } catch {
                    if !closing { close(reason: .dtlsFailed(.noSRTPProfile), now: now) }
                }
            case .failed(let error):
                if !closing { close(reason: .dtlsFailed(error), now: now) }
            case .closed:
                if !closing { close(reason: .closedByPeer, now: now) }
            }
        }
    }

    private func installKeys(_ connection: DTLSEndpoint.Connection) throws(SRTPError) {
        let role: DTLSEndpoint.Role = configuration.role == .relay ? .server : .client
        let keys = connection.keyingMaterial
        let out = keys.outbound(for: role)
        let into = keys.inbound(for: role)
        srtpOutbound = try SRTPContext(profile: connection.profile, key: out.key, salt: out.salt, direction: .outbound)
        srtpInbound = try SRTPContext(profile: connection.profile, key: into.key, salt: into.salt, direction: .inbound)
    }

    private func checkConnected() {
        guard state == .connecting, iceDone, dtlsConnection != nil else { return }
        state = .connected
        events.append(.connected)
    }

    private func afterInput(now: Instant) {}

    private func ntp(_ now: Instant) -> NTPTimestamp {
        NTPTimestamp(sinceUnixEpoch: .nanoseconds(now.nanoseconds) + configuration.wallClockOffset)
    }

    /// Sends our RTCP compound packet: a sender report if we have sent media (else a receiver report), with a
    /// reception report block for the peer's stream, and SDES CNAME (RFC 3550 §6.1 requires it in every
    /// compound packet); a BYE when closing.
    private func sendReport(now: Instant, bye: Bool = false) {
        guard let outbound = srtpOutbound, let destination = selectedAddress ?? dtlsAddress else { return }
        var blocks: [RTCPReportBlock] = []
        if let ssrc = remoteSSRC {
            let values = receiveStatistics.reportValues()
            var lsr: UInt32 = 0
            var dlsr: UInt32 = 0
            if let sr = lastSenderReport {
                lsr = sr.ntpMiddle
                dlsr = RTCPReportBlock.compactNTP(now - sr.arrival)
            }
            blocks.append(
                RTCPReportBlock(
                    ssrc: ssrc, fractionLost: values.fractionLost, cumulativeLost: values.cumulativeLost,
                    extendedHighestSequenceNumber: values.extendedHighest, jitter: values.jitter,
                    lastSenderReport: lsr, delaySinceLastSenderReport: dlsr))
        }
        let ssrc = configuration.localSSRC
        var packets: [RTCPPacket] = []
        if let last = lastSent {
            // The RTP timestamp our media clock shows at `now`.
            let elapsed = (now - last.at).nanosecondsClamped
            let advance = UInt32(truncatingIfNeeded: elapsed * Int64(configuration.clockRate) / 1_000_000_000)
            packets.append(
                .senderReport(
                    RTCPSenderReport(
                        ssrc: ssrc, ntpTimestamp: ntp(now), rtpTimestamp: last.rtpTimestamp &+ advance,
                        packetCount: UInt32(truncatingIfNeeded: statistics.rtpPacketsSent),
                        octetCount: UInt32(truncatingIfNeeded: statistics.payloadBytesSent), reportBlocks: blocks)))
        } else {
            packets.append(.receiverReport(RTCPReceiverReport(ssrc: ssrc, reportBlocks: blocks)))
        }
        // RFC 3550 §6.1: every compound packet carries SDES CNAME.
        packets.append(
            .sourceDescription(RTCPSourceDescription(chunks: [.init(ssrc: ssrc, items: [.cname(configuration.cname)])])))
        if bye { packets.append(.goodbye(RTCPGoodbye(ssrcs: [ssrc]))) }
        do {
            var packet = try RTCPCompoundPacket(packets: packets).serialized()
            try outbound.protectRTCP(&packet)
            enqueue(packet, to: destination)
            statistics.rtcpPacketsSent += 1
        } catch {
            statistics.drops.sendProtectFailed += 1
        }
    }
}

/// Counters of one peer connection; drops by reason (nothing is lost silently).
public struct PeerStatistics: Hashable, Sendable {
    public var datagramsReceived = 0
    public var bytesReceived = 0
    public var datagramsSent = 0
    public var bytesSent = 0
    public var dtlsDatagramsReceived = 0
    public var rtpPacketsReceived = 0
    public var payloadBytesReceived = 0
    public var rtpPacketsSent = 0
    public var payloadBytesSent = 0
    public var rtcpPacketsReceived = 0
    public var rtcpPacketsSent = 0
    public var drops = Drops()

    public struct Drops: Hashable, Sendable {
        /// First byte matched no protocol (RFC 7983).
        public var unknownProtocol = 0
        /// STUN that failed parsing, integrity, username, or was not a request.
        public var stunRejected = 0
        /// DTLS or SRTP from an address that has not passed a valid ICE check.
        public var unverifiedSource = 0
        /// SRTP before the DTLS handshake produced keys.
        public var beforeKeys = 0
        public var srtpAuthentication = 0
        public var srtpReplay = 0
        public var srtpOther = 0
        public var rtpMalformed = 0
        public var rtcpMalformed = 0
        public var unknownPayloadType = 0
        public var afterClose = 0
        public var transmitQueueFull = 0
        public var sendNotConnected = 0
        public var sendTooLarge = 0
        public var sendProtectFailed = 0

        public var total: Int {
            unknownProtocol + stunRejected + unverifiedSource + beforeKeys + srtpAuthentication + srtpReplay
                + srtpOther + rtpMalformed + rtcpMalformed + unknownPayloadType + afterClose + transmitQueueFull
                + sendNotConnected + sendTooLarge + sendProtectFailed
        }
    }
}
