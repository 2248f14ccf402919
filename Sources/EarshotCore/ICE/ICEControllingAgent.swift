public import EarshotWire

/// The full-ICE, controlling side of one candidate pair (RFC 8445 §7.2), as our test client uses it against an
/// ICE-lite relay: it sends Binding requests to the relay's one candidate, first without USE-CANDIDATE and then,
/// once a check has succeeded, with it (regular nomination), retransmitting on virtual time; after nomination it
/// keeps consent fresh (RFC 7675) with a check every `consentInterval`.
public struct ICEControllingAgent: Sendable {
    public let local: ICECredentials
    public let remote: ICECredentials
    public let remoteAddress: TransportAddress
    private let remoteKey: STUNIntegrityKey
    private let tieBreaker: UInt64
    private var rng: SplitMix64

    public private(set) var nominated = false
    public private(set) var succeeded = false
    public private(set) var lastResponse: Instant?
    private var pending: (id: STUNTransactionID, useCandidate: Bool, sent: Instant, attempts: Int)?
    private var nextCheck: Instant?
    /// Round-trip time of the last successful check.
    public private(set) var roundTripTime: Duration?

    public var initialRetransmit = Duration.milliseconds(100)
    public var consentInterval = Duration.seconds(5)
    /// A request unanswered after this many transmissions is abandoned and a new one started.
    public var maximumAttempts = 7

    public init(local: ICECredentials, remote: ICECredentials, remoteAddress: TransportAddress, seed: UInt64) {
        self.local = local
        self.remote = remote
        self.remoteAddress = remoteAddress
        self.remoteKey = STUNIntegrityKey(shortTermPassword: remote.password)
        self.rng = SplitMix64(seed: seed)
        self.tieBreaker = rng.next()
    }

    /// Starts checking: the first request goes out at `now`.
    public mutating func start(now: Instant) { nextCheck = now }

    public var nextDeadline: Instant? { nextCheck }

    /// Sends what is due at `now`: a new check or a retransmission.
    public mutating func poll(now: Instant) -> [UInt8]? {
        guard let due = nextCheck, now >= due else { return nil }
        if var request = pending {
            request.attempts += 1
            if request.attempts > maximumAttempts {
                pending = nil
            } else {
                pending = request
                // RFC 8489 §6.2.1: RTO doubles on each retransmission.
                nextCheck = now + initialRetransmit * (1 << min(request.attempts - 1, 6))
                return makeRequest(id: request.id, useCandidate: request.useCandidate)
            }
        }
        let id = STUNTransactionID.random(using: &rng)
        let useCandidate = succeeded  // regular nomination: nominate once a check has worked
        pending = (id, useCandidate, now, 1)
        nextCheck = now + initialRetransmit
        return makeRequest(id: id, useCandidate: useCandidate)
    }

    /// Handles a STUN datagram from the relay; returns true if it answered our pending check.
    public mutating func handle(stun bytes: UnsafeRawBufferPointer, now: Instant) -> Bool {
        guard let request = pending,
            let message = try? STUNMessage(parsing: bytes),
            message.transactionID == request.id,
            message.type == .bindingSuccessResponse,
            (try? STUNMessage.verifyIntegrity(of: bytes, key: remoteKey)) != nil
        else { return false }
        pending = nil
        lastResponse = now
        roundTripTime = now - request.sent
        if request.useCandidate {
            nominated = true
            nextCheck = now + consentInterval
        } else {
            succeeded = true
            nextCheck = now  // nominate right away
        }
        return true
    }

    private func makeRequest(id: STUNTransactionID, useCandidate: Bool) -> [UInt8]? {
        var attributes: [STUNAttribute] = [
            .username("\(remote.ufrag):\(local.ufrag)"),
            // RFC 8445 §5.1.2.1 priority of a host candidate: type preference 126, local preference 65535.
            .priority(UInt32(110) << 24 | UInt32(65535) << 8 | 255),
            .iceControlling(tieBreaker),
        ]
        if useCandidate { attributes.append(.useCandidate) }
        let message = STUNMessage(type: .bindingRequest, transactionID: id, attributes: attributes)
        return try? message.serialized(integrity: remoteKey, fingerprint: true)
    }
}
