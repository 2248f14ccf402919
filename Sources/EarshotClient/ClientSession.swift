public import EarshotCore
public import EarshotCrypto
public import EarshotImpairment
import EarshotNIO
public import EarshotWire
public import NIOCore
public import NIOPosix

/// One WebRTC audio client session against a WHIP endpoint, on the same sans-IO core as the relay: it offers,
/// runs ICE as the controlling agent, DTLS as the client, then sends Opus packets on a 20 ms clock and receives
/// what comes back. Its own UDP socket gives it its own 5-tuple.
///
/// Concurrency: the session lives on its socket's event loop; the async methods hop onto it.
public final class ClientSession: @unchecked Sendable {
    public struct Configuration: Sendable {
        /// The WHIP endpoint, e.g. `http://127.0.0.1:8080/v1/whip`.
        public var url: String
        public var token: String?
        /// Opus packets to send, cycled (each one 20 ms).
        public var packets: [[UInt8]]
        public var frameDuration: Duration = .milliseconds(20)
        /// Bound on the received-packet log kept for reports.
        public var maximumRecorded = 200_000
        /// Keep when each packet was sent and when each packet arrived (up to `maximumRecorded` each).
        public var recordTimeline = false
        /// A modelled network between this client and the relay, applied in-process to every datagram each way
        /// once the session is connected (so setup is not what is measured); seeded per `impairmentSession`.
        public var impairment: ImpairmentSpec?
        public var impairmentSession = 0

        public init(url: String, token: String? = nil, packets: [[UInt8]]) {
            self.url = url
            self.token = token
            self.packets = packets
        }
    }

    /// What a session measured: packets, and the round trip of each echoed packet (matched by its payload).
    public struct Report: Sendable {
        public var connected: Bool
        public var setupTime: Duration?
        public var packetsSent: Int
        public var packetsReceived: Int
        public var roundTrips: [Duration]
        public var rtcpRoundTripTime: Duration?
        public var closeReason: String?
        public var resource: String?
        public var drops: Int
        /// With `recordTimeline`: when packet n was sent, and the arrival of each packet received, in order.
        public var sendTimes: [Instant] = []
        public var arrivals: [Instant] = []
        /// Datagrams the impairment lost or duplicated, both directions together.
        public var impairedLost = 0
        public var impairedDuplicated = 0
        /// RFC 3550 interarrival jitter of the received stream, in seconds.
        public var jitter: Double = 0
    }

    public let configuration: Configuration
    public let resource: String
    public let eventLoop: any EventLoop
    private let socket: UDPSocket
    private let peer: PeerConnection
    private var timer: LoopTimer?
    private var linkTimer: LoopTimer?
    /// The media clock: packet n is sent at `mediaStart + n × frameDuration` (absolute deadlines, so the send
    /// rate does not drift with scheduling delays, as a capture device's clock does not).
    private var mediaStart: NIODeadline?
    private var mediaTicks: Int64 = 0
    private var mediaTask: Scheduled<Void>?
    private let createdAt: Instant
    private var connectedAt: Instant?
    private var sent = 0
    private var received = 0
    private var roundTrips: [Duration] = []
    private var sendTimes: [Instant] = []
    private var arrivals: [Instant] = []
    /// When each distinct payload was last sent: an echoed packet is matched to its send time by content.
    private var payloadIndex: [[UInt8]: Int] = [:]
    private var lastSent: [Instant?]
    private var rtpTimestamp: UInt32 = 0
    private var closeReason: String?
    private var connectedWaiters: [CheckedContinuation<Bool, Never>] = []
    /// Called on the loop for every packet sent (its index in the cycle of packets and when) and every audio
    /// packet received: what `earshot call` measures with. Set with `observe(sent:received:)`.
    private var sentObserver: ((Int, Instant) -> Void)?
    private var receivedObserver: ((PeerConnection.ReceivedAudio) -> Void)?
    private var receiveWaiters: [(count: Int, continuation: CheckedContinuation<Bool, Never>)] = []
    private var closedWaiters: [CheckedContinuation<Bool, Never>] = []
    /// The impaired network, each way (nil: datagrams go straight to the socket and the peer).
    private var links: ImpairedLinks?

    private init(
        configuration: Configuration, resource: String, socket: UDPSocket, peer: PeerConnection, now: Instant
    ) {
        self.configuration = configuration
        self.resource = resource
        self.socket = socket
        self.eventLoop = socket.eventLoop
        self.peer = peer
        self.createdAt = now
        if let spec = configuration.impairment, !spec.isClean {
            links = ImpairedLinks(spec: spec, session: configuration.impairmentSession)
        }
        for (index, packet) in configuration.packets.enumerated() where payloadIndex[packet] == nil {
            payloadIndex[packet] = index
        }
        lastSent = Array(repeating: nil, count: configuration.packets.count)
    }

    /// Offers, gets the answer, and starts ICE and DTLS. Returns once the WHIP exchange is done; call
    /// `waitUntilConnected` to wait for media.
    /// Exchanges an SDP offer for an answer some other way than WHIP (an in-process peer): the answer and a
    /// resource name for the session.
    public typealias Signaling = @Sendable (_ offer: String) async throws -> (answer: String, resource: String)

    public static func start(
        configuration: Configuration, dtlsContext: DTLSContext,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, seed: UInt64 = .random(in: 0...UInt64.max),
        signaling: Signaling? = nil
    ) async throws -> ClientSession {
        precondition(!configuration.packets.isEmpty, "the session needs packets to send")
        let box = ReceiverBox()
        let socket = try await UDPSocket.bind(host: "127.0.0.1", port: 0, group: group) { _ in box }
        var rng = SplitMix64(seed: seed)
        let local = ICECredentials.random(using: &rng)
        let ssrc = UInt32(truncatingIfNeeded: rng.next()) | 1
        let offer = ClientOffer.make(
            credentials: local, fingerprint: dtlsContext.fingerprint, address: socket.localAddress, ssrc: ssrc,
            sessionID: rng.next() >> 2)
        let remote: ClientOffer.Answer
        let resource: String
        do {
            let (answer, location) = try await (signaling ?? { try await whip(offer: $0, configuration: configuration) })(offer)
            remote = try ClientOffer.parseAnswer(answer)
            resource = location
        } catch {
            await socket.close()
            throw error
        }
        let now = Instant.now()
        let peer = try PeerConnection(
            configuration: .init(
                role: .client, localCredentials: local, remoteCredentials: remote.credentials,
                remoteFingerprints: remote.fingerprints, remoteAddress: remote.address, localSSRC: ssrc,
                payloadType: remote.payloadType, seed: rng.next()),
            dtlsContext: dtlsContext, now: now)
        let session = ClientSession(
            configuration: configuration, resource: resource, socket: socket, peer: peer, now: now)
        try await socket.eventLoop.submit {
            box.session = session
            session.timer = LoopTimer(eventLoop: socket.eventLoop) { [weak session] now in session?.timerFired(now: now) }
            if session.links != nil {
                session.linkTimer = LoopTimer(eventLoop: socket.eventLoop) { [weak session] now in
                    session?.deliverLinks(now: now)
                }
            }
            session.drive(now: .now())
        }.get()
        return session
    }

    /// WHIP: POST the offer, get the answer and the session's resource URL.
    private static func whip(offer: String, configuration: Configuration) async throws -> (answer: String, resource: String) {
        var headers = [("Content-Type", "application/sdp")]
        if let token = configuration.token { headers.append(("Authorization", "Bearer \(token)")) }
        let response = try await HTTPClient.request("POST", configuration.url, headers: headers, body: offer)
        guard response.status == 201 else {
            throw ClientError.rejected(status: response.status, message: response.body)
        }
        let location = response.header("Location") ?? ""
        return (response.body, location.hasPrefix("http") ? location : Self.origin(of: configuration.url) + location)
    }

    static func origin(of url: String) -> String {
        guard let split = try? HTTPClient.split(url) else { return "" }
        let host = split.host.contains(":") ? "[\(split.host)]" : split.host
        return "http://\(host):\(split.port)"
    }

    /// Waits until ICE and DTLS are done (true) or the session closed or `timeout` passed (false).
    public func waitUntilConnected(timeout: Duration = .seconds(15)) async -> Bool {
        await waitOnLoop(timeout: timeout, expire: { [self] in resumeWaiters(false) }) { [self] continuation in
            if peer.state == .connected {
                continuation.resume(returning: true)
            } else if peer.isClosed {
                continuation.resume(returning: false)
            } else {
                connectedWaiters.append(continuation)
            }
        }
    }

    /// Waits until `count` packets have been received (true), or the session closed or `timeout` passed (false).
    public func waitUntilReceived(_ count: Int, timeout: Duration = .seconds(15)) async -> Bool {
        await waitOnLoop(timeout: timeout, expire: { [self] in resumeReceiveWaiters(force: false) }) {
            [self] continuation in
            if received >= count {
                continuation.resume(returning: true)
            } else if peer.isClosed {
                continuation.resume(returning: false)
            } else {
                receiveWaiters.append((count, continuation))
            }
        }
    }

    /// Waits until the session closed, for whatever reason (true), or `timeout` passed (false): the peer's
    /// DTLS close_notify or RTCP BYE, a consent or connect timeout, or a local stop.
    public func waitUntilClosed(timeout: Duration = .seconds(15)) async -> Bool {
        await waitOnLoop(timeout: timeout, expire: { [self] in resumeClosedWaiters(false) }) { [self] continuation in
            if peer.isClosed {
                continuation.resume(returning: true)
            } else {
                closedWaiters.append(continuation)
            }
        }
    }

    /// On the loop, `register` resumes the continuation at once or keeps it to resume later; after `timeout`,
    /// `expire` (on the loop) resumes what is still kept.
    private func waitOnLoop(
        timeout: Duration, expire: @escaping @Sendable () -> Void,
        register: @escaping @Sendable (CheckedContinuation<Bool, Never>) -> Void
    ) async -> Bool {
        let deadline = eventLoop.scheduleTask(in: .nanoseconds(timeout.nanosecondsClamped), expire)
        defer { deadline.cancel() }
        return await withCheckedContinuation { continuation in
            eventLoop.execute { register(continuation) }
        }
    }

    private func resumeClosedWaiters(_ value: Bool) {
        let waiters = closedWaiters
        closedWaiters = []
        for waiter in waiters { waiter.resume(returning: value) }
    }

    /// Resumes receive waiters whose count is reached (or all of them with false, when `force` is false).
    private func resumeReceiveWaiters(force: Bool?) {
        var remaining: [(count: Int, continuation: CheckedContinuation<Bool, Never>)] = []
        for waiter in receiveWaiters {
            if received >= waiter.count {
                waiter.continuation.resume(returning: true)
            } else if force == false {
                waiter.continuation.resume(returning: false)
            } else {
                remaining.append(waiter)
            }
        }
        receiveWaiters = remaining
    }

    /// Installs observers, called on the session's loop: `sent` with the index (in `configuration.packets`) and
    /// time of each packet sent, `received` with each audio packet received.
    public func observe(
        sent: @escaping @Sendable (Int, Instant) -> Void,
        received: @escaping @Sendable (PeerConnection.ReceivedAudio) -> Void
    ) async {
        try? await eventLoop.submit { [self] in
            sentObserver = sent
            receivedObserver = received
        }.get()
    }

    /// Starts sending one packet every frame duration, on absolute deadlines.
    public func startMedia() {
        eventLoop.execute { [self] in
            guard mediaStart == nil, !peer.isClosed else { return }
            mediaStart = .now()
            mediaTicks = 0
            scheduleNextPacket()
        }
    }

    /// Stops sending (the connection stays up, RTCP goes on), so what is in flight can come back; `startMedia`
    /// sends again, the RTP timeline going on where it stopped.
    public func pauseMedia() async {
        try? await eventLoop.submit { [self] in stopMedia() }.get()
    }

    private func scheduleNextPacket() {
        guard let mediaStart else { return }
        let deadline = mediaStart + .nanoseconds(configuration.frameDuration.nanosecondsClamped * mediaTicks)
        mediaTask = eventLoop.scheduleTask(deadline: deadline) { [weak self] in
            guard let self else { return }
            mediaTicks += 1
            sendNext(now: .now())
            scheduleNextPacket()
        }
    }

    private func stopMedia() {
        mediaTask?.cancel()
        mediaTask = nil
        mediaStart = nil
    }

    /// Stops media, closes the connection (RTCP BYE, close_notify), deletes the WHIP resource, closes the socket.
    public func stop(deleteResource: Bool = true) async {
        try? await eventLoop.submit { [self] in
            stopMedia()
            peer.close(reason: .local("client hung up"), now: .now())
            drive(now: .now())
            timer?.cancel()
            timer = nil
            linkTimer?.cancel()
            linkTimer = nil
        }.get()
        if deleteResource, resource.hasPrefix("http") {
            var headers: [(String, String)] = []
            if let token = configuration.token { headers.append(("Authorization", "Bearer \(token)")) }
            _ = try? await HTTPClient.request("DELETE", resource, headers: headers)
        }
        await socket.close()
    }

    /// Packets sent so far and whether the session closed: the cheap part of `report()`.
    public func counts() async -> (packetsSent: Int, closed: Bool) {
        (try? await eventLoop.submit { [self] in (sent, closeReason != nil) }.get()) ?? (0, true)
    }

    public func report() async -> Report {
        (try? await eventLoop.submit { [self] in
            Report(
                connected: connectedAt != nil, setupTime: connectedAt.map { $0 - createdAt }, packetsSent: sent,
                packetsReceived: received, roundTrips: roundTrips, rtcpRoundTripTime: peer.roundTripTime,
                closeReason: closeReason, resource: resource, drops: peer.statistics.drops.total,
                sendTimes: sendTimes, arrivals: arrivals, impairedLost: links?.lost ?? 0,
                impairedDuplicated: links?.duplicated ?? 0, jitter: peer.receiveStatistics.jitterSeconds)
        }.get()) ?? Report(
            connected: false, setupTime: nil, packetsSent: 0, packetsReceived: 0, roundTrips: [],
            rtcpRoundTripTime: nil, closeReason: "unavailable", resource: resource, drops: 0)
    }

    // MARK: - On the loop

    private func sendNext(now: Instant) {
        guard peer.state == .connected else { return }
        let index = sent % configuration.packets.count
        lastSent[index] = now
        if configuration.recordTimeline, sendTimes.count < configuration.maximumRecorded { sendTimes.append(now) }
        peer.sendAudio(payload: configuration.packets[index], timestamp: rtpTimestamp, now: now)
        sentObserver?(index, now)
        rtpTimestamp &+= UInt32(configuration.frameDuration.nanosecondsClamped * 48 / 1_000_000)
        sent += 1
        drive(now: now)
        socket.flush()
    }

    fileprivate func receive(_ datagram: UnsafeMutableRawBufferPointer, from source: TransportAddress, now: Instant) {
        if links != nil, peer.state == .connected {
            links?.downlink(Array(UnsafeRawBufferPointer(datagram)), from: source, now: now)
            linkTimer?.arm(at: links?.nextDelivery)
            return
        }
        peer.handle(datagram: datagram, from: source, now: now)
        drive(now: now)
    }

    /// Delivers what the impaired links have due: uplink datagrams to the socket, downlink ones to the peer.
    private func deliverLinks(now: Instant) {
        guard var links else { return }
        let (up, down) = links.deliver(upTo: now)
        self.links = links
        for (bytes, destination) in up { socket.send(bytes, to: destination) }
        for (bytes, source) in down {
            var copy = bytes
            copy.withUnsafeMutableBytes { peer.handle(datagram: $0, from: source, now: now) }
        }
        drive(now: now)
        socket.flush()
    }

    fileprivate func batchComplete() { socket.flush() }

    private func timerFired(now: Instant) {
        peer.handleTimeout(now: now)
        drive(now: now)
        socket.flush()
    }

    private func drive(now: Instant) {
        while let event = peer.pollEvent() {
            switch event {
            case .audio(let audio):
                received += 1
                receivedObserver?(audio)
                if configuration.recordTimeline, arrivals.count < configuration.maximumRecorded {
                    arrivals.append(audio.arrival)
                }
                if !receiveWaiters.isEmpty { resumeReceiveWaiters(force: nil) }
                if let index = payloadIndex[audio.payload], let sentAt = lastSent[index],
                    roundTrips.count < configuration.maximumRecorded
                {
                    roundTrips.append(audio.arrival - sentAt)
                }
            case .connected:
                connectedAt = now
                resumeWaiters(true)
            case .closed(let reason):
                closeReason = reason.description
                stopMedia()
                resumeWaiters(false)
                resumeReceiveWaiters(force: false)
                resumeClosedWaiters(true)
            default:
                break
            }
        }
        while let transmit = peer.pollTransmit() {
            if links != nil, peer.state == .connected {
                links?.uplink(transmit.bytes, to: transmit.destination, now: now)
            } else {
                socket.send(transmit.bytes, to: transmit.destination)
            }
        }
        timer?.arm(at: peer.nextDeadline)
        if links != nil { linkTimer?.arm(at: links?.nextDelivery) }
    }

    private func resumeWaiters(_ value: Bool) {
        let waiters = connectedWaiters
        connectedWaiters = []
        for waiter in waiters { waiter.resume(returning: value) }
    }
}

public enum ClientError: Error, CustomStringConvertible {
    case rejected(status: Int, message: String)
    case badAnswer(String)

    public var description: String {
        switch self {
        case .rejected(let status, let message): "the relay refused the offer (\(status)): \(message)"
        case .badAnswer(let reason): "unusable SDP answer: \(reason)"
        }
    }
}

/// Hands the socket's datagrams to the session once it exists (the socket is bound before the offer is made).
private final class ReceiverBox: UDPDatagramReceiver, @unchecked Sendable {
    /// Weak: the caller owns the session; the socket's handler must not keep it alive.
    weak var session: ClientSession?
    func receive(_ datagram: UnsafeMutableRawBufferPointer, from source: TransportAddress, now: Instant) {
        session?.receive(datagram, from: source, now: now)
    }
    func receiveBatchComplete(now: Instant) { session?.batchComplete() }
}

/// The client's two impaired links (`ImpairmentSpec`), with duplication, which the network models do not do.
struct ImpairedLinks {
    typealias Datagram = (bytes: [UInt8], address: TransportAddress)
    /// Datagrams in flight each way at most (a router queue's worth); beyond it they are dropped and counted.
    static let capacity = 4096
    private var up: ImpairedLink<Datagram, NetworkChain>
    private var down: ImpairedLink<Datagram, NetworkChain>
    private var upDuplicates: SplitMix64
    private var downDuplicates: SplitMix64
    private let duplicate: Double
    private(set) var duplicated = 0

    init(spec: ImpairmentSpec, session: Int) {
        up = ImpairedLink(model: spec.network(session: session, direction: .uplink), capacity: Self.capacity)
        down = ImpairedLink(model: spec.network(session: session, direction: .downlink), capacity: Self.capacity)
        upDuplicates = spec.duplicationGenerator(session: session, direction: .uplink)
        downDuplicates = spec.duplicationGenerator(session: session, direction: .downlink)
        duplicate = spec.duplicate
    }

    var lost: Int { up.lostCount + up.droppedCount + down.lostCount + down.droppedCount }

    var nextDelivery: Instant? { [up.nextDelivery, down.nextDelivery].compactMap { $0 }.min() }

    mutating func uplink(_ bytes: [UInt8], to destination: TransportAddress, now: Instant) {
        let copies = upDuplicates.nextBernoulli(duplicate) ? 2 : 1
        for _ in 0..<copies { up.send((bytes, destination), at: now) }
        duplicated += copies - 1
    }

    mutating func downlink(_ bytes: [UInt8], from source: TransportAddress, now: Instant) {
        let copies = downDuplicates.nextBernoulli(duplicate) ? 2 : 1
        for _ in 0..<copies { down.send((bytes, source), at: now) }
        duplicated += copies - 1
    }

    mutating func deliver(upTo now: Instant) -> (up: [Datagram], down: [Datagram]) {
        (up.deliver(upTo: now), down.deliver(upTo: now))
    }
}
