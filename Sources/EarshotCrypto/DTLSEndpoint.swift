public import EarshotWire
internal import COpenSSL
internal import CEarshotShims

/// A DTLS 1.2 endpoint for DTLS-SRTP (RFC 5764), sans-IO: it takes received datagrams and the current time, and
/// yields datagrams to send, events and its next deadline. It never reads a clock, owns no socket and starts no
/// thread.
///
/// ```
///   handle(datagram:now:) ─┐                       ┌─▶ pollTransmit()  datagrams to send, boundaries kept
///   handleTimeout(now:)  ──┼─▶ OpenSSL (DTLS 1.2) ─┼─▶ pollEvent()     connected(keys) / failed / closed
///   start(now:)          ──┘                       └─▶ nextDeadline    when to call handleTimeout next
/// ```
///
/// Retransmission follows the `now` it is given (RFC 6347 §4.2.4: an initial timeout, doubled on each
/// retransmission up to a maximum). OpenSSL 3.0 runs its DTLS timer on `gettimeofday`; while this endpoint is inside
/// an OpenSSL call, that clock reports the endpoint's `now` on the calling thread (see `CEarshotShims`), and the
/// timer durations come from this endpoint's configuration through OpenSSL's timer callback. So the same inputs at
/// the same virtual times give the same datagrams, and a test can run a lossy handshake without sleeping.
///
/// The peer's certificate is accepted only if it matches one of the fingerprints taken from its SDP (RFC 8122),
/// checked during the handshake so a mismatch aborts it with a `bad_certificate` alert.
///
/// Concurrency: an endpoint is confined to one thread (a session's event loop) at a time; it is not `Sendable`.
public final class DTLSEndpoint {
    public enum Role: Sendable, Hashable {
        /// Sends the ClientHello (WebRTC `a=setup:active`; our test client).
        case client
        /// Answers it (WebRTC `a=setup:passive`; the relay).
        case server
    }

    public struct Configuration: Sendable {
        public var role: Role
        /// Fingerprints from the peer's SDP; the peer's certificate must match one whose hash function we support.
        public var remoteFingerprints: [CertificateFingerprint]
        /// Largest datagram we send. 1200 bytes keeps DTLS records below any path MTU of a WebRTC path.
        public var mtu: Int
        /// First retransmission timeout. RFC 6347 suggests 1 s; WebRTC stacks use 50–100 ms on today's networks.
        public var initialRetransmitTimeout: Duration
        /// Largest retransmission timeout after doubling (RFC 6347 §4.2.4.1 allows up to 60 s; calls cannot wait).
        public var maximumRetransmitTimeout: Duration
        /// The handshake fails if it has not completed this long after `start`.
        public var handshakeTimeout: Duration

        public init(
            role: Role,
            remoteFingerprints: [CertificateFingerprint],
            mtu: Int = 1200,
            initialRetransmitTimeout: Duration = .milliseconds(100),
            maximumRetransmitTimeout: Duration = .seconds(2),
            handshakeTimeout: Duration = .seconds(15)
        ) {
            self.role = role
            self.remoteFingerprints = remoteFingerprints
            self.mtu = mtu
            self.initialRetransmitTimeout = initialRetransmitTimeout
            self.maximumRetransmitTimeout = maximumRetransmitTimeout
            self.handshakeTimeout = handshakeTimeout
        }
    }

    /// What a completed handshake negotiated.
    public struct Connection: Sendable, Hashable {
        public var profile: SRTPProtectionProfile
        public var keyingMaterial: SRTPKeyingMaterial
        /// The fingerprint (from the peer's SDP) that the peer's certificate matched.
        public var remoteFingerprint: CertificateFingerprint
        /// Protocol version, e.g. "DTLSv1.2".
        public var version: String
        /// Cipher suite in OpenSSL's naming, e.g. "ECDHE-ECDSA-AES128-GCM-SHA256".
        public var cipherSuite: String
    }

    public enum Event: Sendable, Hashable {
        case connected(Connection)
        case failed(DTLSError)
        /// The peer sent close_notify after the handshake.
        case closed
    }

    public enum State: Sendable, Hashable {
        case idle, handshaking, connected, closed, failed
    }

    /// Counters for stats and tests.
    public struct Statistics: Sendable, Hashable {
        public var datagramsReceived = 0
        public var datagramsSent = 0
        /// Flights retransmitted because their timer expired.
        public var retransmissions = 0
        /// Datagrams received after the endpoint closed or failed.
        public var datagramsIgnored = 0
    }

    public let configuration: Configuration
    public private(set) var state: State = .idle
    public private(set) var statistics = Statistics()

    private let context: DTLSContext
    private let ssl: OpaquePointer  // SSL *
    private let io: DatagramIO
    private var events: [Event] = []
    private var handshakeDeadline: Instant?
    private var retransmitDeadline: Instant?

    public init(context: DTLSContext, configuration: Configuration) throws(OpenSSLError) {
        ERR_clear_error()
        guard let ssl = SSL_new(context.context) else { throw .drain("creating a DTLS endpoint") }
        guard let bio = BIO_new(DatagramIO.method) else {
            SSL_free(ssl)
            throw .drain("creating the DTLS datagram BIO")
        }
        let io = DatagramIO(configuration: configuration)
        let ioPointer = Unmanaged.passUnretained(io).toOpaque()
        BIO_set_data(bio, ioPointer)
        SSL_set_bio(ssl, bio, bio)  // one reference, owned by the SSL from here on
        guard SSL_set_ex_data(ssl, 0, ioPointer) == 1 else {
            SSL_free(ssl)
            throw .drain("attaching the DTLS endpoint state")
        }
        _ = earshot_ssl_set_no_query_mtu(ssl)
        _ = earshot_ssl_set_mtu(ssl, configuration.mtu)
        DTLS_set_timer_cb(ssl, DatagramIO.timerCallback)
        SSL_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, DatagramIO.verifyCallback)
        switch configuration.role {
        case .client: SSL_set_connect_state(ssl)
        case .server: SSL_set_accept_state(ssl)
        }
        self.context = context
        self.configuration = configuration
        self.ssl = ssl
        self.io = io
    }

    deinit {
        SSL_free(ssl)  // frees the BIO too; `io` outlives both because this object holds it until here
    }

    /// Starts the handshake: a client sends its ClientHello; a server starts waiting for one. The handshake
    /// deadline counts from here.
    public func start(now: Instant) {
        guard state == .idle else { return }
        state = .handshaking
        handshakeDeadline = now + configuration.handshakeTimeout
        if configuration.role == .client { driveHandshake(now: now) }
    }

    /// Feeds one received datagram (a DTLS record or several, as one UDP payload).
    public func handle(datagram: some Collection<UInt8>, now: Instant) {
        switch state {
        case .idle:
            // A server may receive the ClientHello before anyone called start.
            guard configuration.role == .server else {
                statistics.datagramsIgnored += 1
                return
            }
            start(now: now)
        case .handshaking, .connected:
            break
        case .closed, .failed:
            statistics.datagramsIgnored += 1
            return
        }
        guard !datagram.isEmpty else {
            // An empty read would look like end-of-file to OpenSSL; an empty UDP payload carries nothing.
            statistics.datagramsIgnored += 1
            return
        }
        statistics.datagramsReceived += 1
        io.incoming = Array(datagram)
        defer { io.incoming = nil }
        if state == .handshaking {
            driveHandshake(now: now)
        } else {
            readAfterHandshake(now: now)
        }
    }

    /// Runs what was due at or before `now`: a retransmission, or failure when the handshake deadline passed.
    public func handleTimeout(now: Instant) {
        guard state == .handshaking else { return }
        if let deadline = handshakeDeadline, now >= deadline {
            fail(.handshakeTimeout)
            return
        }
        guard let deadline = retransmitDeadline, now >= deadline else { return }
        ERR_clear_error()
        let result = withOpenSSLClock(at: now) { earshot_dtls_handle_timeout(ssl) }
        if result < 0 {
            fail(.handshakeFailed(reasons: drainErrorQueue()))
            return
        }
        updateRetransmitTimer(now: now)
    }

    /// Sends close_notify (if connected) and closes the endpoint.
    public func close() {
        if state == .connected {
            ERR_clear_error()
            _ = SSL_shutdown(ssl)
            ERR_clear_error()
        }
        if state != .failed { state = .closed }
        handshakeDeadline = nil
        retransmitDeadline = nil
    }

    /// The next datagram to send, in order; nil when there is none.
    public func pollTransmit() -> [UInt8]? {
        guard !io.outgoing.isEmpty else { return nil }
        statistics.datagramsSent += 1
        return io.outgoing.removeFirst()
    }

    /// The next event, in order; nil when there is none.
    public func pollEvent() -> Event? {
        events.isEmpty ? nil : events.removeFirst()
    }

    /// When `handleTimeout` must next be called; nil when nothing is pending (connected, closed or failed).
    public var nextDeadline: Instant? {
        guard state == .handshaking || state == .idle else { return nil }
        switch (retransmitDeadline, handshakeDeadline) {
        case (let r?, let h?): return min(r, h)
        case (let r?, nil): return r
        case (nil, let h?): return h
        case (nil, nil): return nil
        }
    }

    // MARK: - Driving OpenSSL

    /// Runs `body` with OpenSSL's clock reading `now` on this thread.
    private func withOpenSSLClock<T>(at now: Instant, _ body: () -> T) -> T {
        // An offset of 10^9 s keeps the timeline clear of 0, which OpenSSL reads as "no timer set".
        earshot_virtual_clock_enter(now.nanoseconds / 1000 + 1_000_000_000_000_000)
        defer { earshot_virtual_clock_exit() }
        return body()
    }

    private func driveHandshake(now: Instant) {
        ERR_clear_error()
        let result = withOpenSSLClock(at: now) { SSL_do_handshake(ssl) }
        if result == 1 {
            completeHandshake()
            return
        }
        let error = SSL_get_error(ssl, result)
        switch error {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            ERR_clear_error()
            updateRetransmitTimer(now: now)
        default:
            if let mismatch = io.verificationFailure {
                fail(mismatch)
            } else {
                fail(.handshakeFailed(reasons: drainErrorQueue()))
            }
        }
    }

    /// Mirrors OpenSSL's flight timer as our deadline.
    private func updateRetransmitTimer(now: Instant) {
        var seconds = 0
        var microseconds = 0
        let running = withOpenSSLClock(at: now) { earshot_dtls_get_timeout(ssl, &seconds, &microseconds) == 1 }
        retransmitDeadline = running ? now + .seconds(seconds) + .microseconds(microseconds) : nil
        statistics.retransmissions = io.retransmissions
    }

    private func completeHandshake() {
        guard let remoteFingerprint = io.verifiedFingerprint else {
            // The verify callback runs for every peer certificate; reaching here without a match means the
            // peer sent none, which SSL_VERIFY_FAIL_IF_NO_PEER_CERT already rejects. Fail closed regardless.
            fail(io.verificationFailure ?? .noPeerCertificate)
            return
        }
        guard let selected = SSL_get_selected_srtp_profile(ssl),
            let profile = SRTPProtectionProfile(rawValue: UInt16(truncatingIfNeeded: selected.pointee.id))
        else {
            fail(.noSRTPProfile)
            return
        }
        let length = 2 * (profile.masterKeyLength + profile.masterSaltLength)
        var exported = [UInt8](repeating: 0, count: length)
        let label = "EXTRACTOR-dtls_srtp"
        let ok = SSL_export_keying_material(ssl, &exported, length, label, label.utf8.count, nil, 0, 0) == 1
        guard ok, let keys = SRTPKeyingMaterial(profile: profile, exported: exported) else {
            fail(.keyExportFailed(reasons: drainErrorQueue()))
            return
        }
        let version = String(cString: SSL_get_version(ssl))
        let cipher = SSL_get_current_cipher(ssl).flatMap { SSL_CIPHER_get_name($0) }.map { String(cString: $0) } ?? ""
        state = .connected
        handshakeDeadline = nil
        retransmitDeadline = nil
        events.append(
            .connected(
                Connection(
                    profile: profile, keyingMaterial: keys, remoteFingerprint: remoteFingerprint, version: version,
                    cipherSuite: cipher)))
    }

    /// After the handshake, the only records a DTLS-SRTP peer sends are alerts and retransmitted handshake
    /// flights (answered by OpenSSL retransmitting its last flight). Application data is not used; it is read
    /// and discarded.
    private func readAfterHandshake(now: Instant) {
        var scratch = [UInt8](repeating: 0, count: 2048)
        while true {
            ERR_clear_error()
            let n = withOpenSSLClock(at: now) { SSL_read(ssl, &scratch, Int32(scratch.count)) }
            if n > 0 { continue }
            let error = SSL_get_error(ssl, n)
            switch error {
            case SSL_ERROR_ZERO_RETURN:
                state = .closed
                events.append(.closed)
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                break
            default:
                fail(.connectionFailed(reasons: drainErrorQueue()))
            }
            ERR_clear_error()
            return
        }
    }

    private func fail(_ error: DTLSError) {
        guard state != .failed && state != .closed else { return }
        state = .failed
        handshakeDeadline = nil
        retransmitDeadline = nil
        ERR_clear_error()
        events.append(.failed(error))
    }
}

/// Why a DTLS endpoint failed.
public enum DTLSError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The peer's certificate matched none of the fingerprints from its SDP.
    case fingerprintMismatch(actual: CertificateFingerprint?, expected: [CertificateFingerprint])
    /// The peer's SDP carried no fingerprint with a hash function we support.
    case noUsableFingerprint(offered: [CertificateFingerprint])
    /// The peer presented no certificate.
    case noPeerCertificate
    /// The handshake completed without an SRTP protection profile in common.
    case noSRTPProfile
    /// The handshake did not complete in time.
    case handshakeTimeout
    /// OpenSSL rejected the handshake (unsupported version, bad record, alert from the peer, ...).
    case handshakeFailed(reasons: [String])
    /// Exporting the SRTP keying material failed.
    case keyExportFailed(reasons: [String])
    /// A fatal error after the handshake.
    case connectionFailed(reasons: [String])

    public var description: String {
        switch self {
        case .fingerprintMismatch(let actual, let expected):
            "the peer's certificate (\(actual.map(\.description) ?? "unknown")) matches no fingerprint in its SDP "
                + "(\(expected.map(\.description).joined(separator: ", ")))"
        case .noUsableFingerprint(let offered):
            "the peer's SDP has no fingerprint with a supported hash function (offered: "
                + "\(offered.map(\.algorithm.rawValue).joined(separator: ", ")))"
        case .noPeerCertificate: "the peer presented no certificate"
        case .noSRTPProfile: "no SRTP protection profile in common with the peer"
        case .handshakeTimeout: "the DTLS handshake timed out"
        case .handshakeFailed(let reasons): "the DTLS handshake failed: \(reasons.joined(separator: "; "))"
        case .keyExportFailed(let reasons): "exporting SRTP keys failed: \(reasons.joined(separator: "; "))"
        case .connectionFailed(let reasons): "the DTLS connection failed: \(reasons.joined(separator: "; "))"
        }
    }
}

/// The state OpenSSL's callbacks reach through the BIO's data pointer and the SSL's ex_data slot 0: the datagram
/// being read, the datagrams written, and the certificate-verification and timer bookkeeping.
final class DatagramIO {
    var incoming: [UInt8]?
    var outgoing: [[UInt8]] = []
    let mtu: Int
    let remoteFingerprints: [CertificateFingerprint]
    let initialTimeoutMicroseconds: UInt32
    let maximumTimeoutMicroseconds: UInt32
    var retransmissions = 0

    var verifiedFingerprint: CertificateFingerprint?
    var verificationFailure: DTLSError?

    init(configuration: DTLSEndpoint.Configuration) {
        remoteFingerprints = configuration.remoteFingerprints
        mtu = configuration.mtu
        func microseconds(_ d: Duration) -> UInt32 {
            UInt32(clamping: max(1000, d.nanosecondsClamped / 1000))
        }
        initialTimeoutMicroseconds = microseconds(configuration.initialRetransmitTimeout)
        maximumTimeoutMicroseconds = max(initialTimeoutMicroseconds, microseconds(configuration.maximumRetransmitTimeout))
    }

    static func from(bio: OpaquePointer?) -> DatagramIO? {
        guard let bio, let data = BIO_get_data(bio) else { return nil }
        return Unmanaged<DatagramIO>.fromOpaque(data).takeUnretainedValue()
    }

    static func from(ssl: OpaquePointer?) -> DatagramIO? {
        guard let ssl, let data = SSL_get_ex_data(ssl, 0) else { return nil }
        return Unmanaged<DatagramIO>.fromOpaque(data).takeUnretainedValue()
    }

    /// The BIO method: one `write` call is one datagram out; one `read` call hands over the one datagram in.
    nonisolated(unsafe) static let method: OpaquePointer = {
        guard let method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "earshot-datagram") else {
            fatalError("OpenSSL could not allocate a BIO method")
        }
        BIO_meth_set_write(method) { bio, data, length in
            guard let io = DatagramIO.from(bio: bio), let data, length >= 0 else { return -1 }
            io.outgoing.append(Array(UnsafeRawBufferPointer(start: data, count: Int(length))))
            return length
        }
        BIO_meth_set_read(method) { bio, buffer, capacity in
            guard let bio, let io = DatagramIO.from(bio: bio), let buffer else { return -1 }
            earshot_bio_clear_retry_flags(bio)
            guard let datagram = io.incoming else {
                earshot_bio_set_retry_read(bio)
                return -1
            }
            io.incoming = nil
            // A datagram larger than OpenSSL's buffer is truncated, as a datagram socket would do.
            let count = min(datagram.count, Int(capacity))
            datagram.withUnsafeBytes { source in
                UnsafeMutableRawPointer(buffer).copyMemory(from: source.baseAddress!, byteCount: count)
            }
            return Int32(count)
        }
        BIO_meth_set_ctrl(method) { bio, command, _, _ in
            switch command {
            case BIO_CTRL_FLUSH: return 1
            case BIO_CTRL_DGRAM_QUERY_MTU, BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
                return DatagramIO.from(bio: bio).map { $0.mtu } ?? 1200
            default: return 0  // PENDING, WPENDING, MTU overhead, peer address, timeouts: nothing to report
            }
        }
        BIO_meth_set_create(method) { bio in
            BIO_set_init(bio, 1)
            return 1
        }
        BIO_meth_set_destroy(method) { _ in 1 }
        return method
    }()

    /// OpenSSL's DTLS timer callback: called with 0 when a flight's timer starts, and with the previous duration
    /// when the timer expired and OpenSSL retransmits. Returns the next duration: the configured initial timeout,
    /// then doubled up to the configured maximum.
    static let timerCallback: @convention(c) (OpaquePointer?, UInt32) -> UInt32 = { ssl, previous in
        guard let io = DatagramIO.from(ssl: ssl) else { return 1_000_000 }
        if previous == 0 { return io.initialTimeoutMicroseconds }
        io.retransmissions += 1
        let doubled = previous > UInt32.max / 2 ? UInt32.max : previous * 2
        return min(doubled, io.maximumTimeoutMicroseconds)
    }

    /// Certificate verification: the leaf certificate must match a fingerprint from the peer's SDP. Chains and
    /// issuers are irrelevant in DTLS-SRTP (certificates are self-signed).
    static let verifyCallback: @convention(c) (Int32, OpaquePointer?) -> Int32 = { _, store in
        guard let store, X509_STORE_CTX_get_error_depth(store) == 0,
            let ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()),
            let io = DatagramIO.from(ssl: OpaquePointer(ssl))
        else {
            return 1  // intermediate certificates of a chain: only the leaf is checked
        }
        guard let certificate = X509_STORE_CTX_get_current_cert(store) else {
            io.verificationFailure = .noPeerCertificate
            return 0
        }
        let usable = io.remoteFingerprints
        if usable.isEmpty {
            io.verificationFailure = .noUsableFingerprint(offered: [])
            return 0
        }
        for expected in usable {
            if let digest = DTLSCertificate.digest(of: certificate, algorithm: expected.algorithm),
                digest == expected.bytes
            {
                io.verifiedFingerprint = expected
                io.verificationFailure = nil
                return 1
            }
        }
        let actual = DTLSCertificate.digest(of: certificate, algorithm: .sha256).map {
            CertificateFingerprint(algorithm: .sha256, bytes: $0)
        }
        io.verificationFailure = .fingerprintMismatch(actual: actual, expected: usable)
        return 0
    }
}
