public import EarshotWire

/// ICE credentials (RFC 8445 §5.3): the username fragment and password one side puts in its SDP.
public struct ICECredentials: Hashable, Sendable {
    public var ufrag: String
    public var password: String

    public init(ufrag: String, password: String) {
        self.ufrag = ufrag
        self.password = password
    }

    /// Characters allowed in ice-char (RFC 8839 §5.4): ALPHA / DIGIT / "+" / "/".
    static let iceCharacters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")

    /// Fresh credentials whose ufrag begins with `routingPrefix` (so a stateless front can route the first STUN
    /// packet by it) followed by random ice-chars; the password has 128 bits of randomness (22 ice-chars ≥ the
    /// 128 bits RFC 8445 §5.3 asks for).
    public static func random(routingPrefix: String = "", using generator: inout some RandomNumberGenerator)
        -> ICECredentials
    {
        func randomString(_ count: Int) -> String {
            String((0..<count).map { _ in iceCharacters.randomElement(using: &generator)! })
        }
        return ICECredentials(ufrag: routingPrefix + randomString(8), password: randomString(24))
    }
}

/// The ICE-lite side of connectivity checks (RFC 8445 §2.5, §7.3): Earshot never sends checks; it answers the
/// peer's Binding requests, learns which of the peer's addresses are valid, and selects the one the peer nominates
/// with USE-CANDIDATE (regular nomination: a first check without it, then one with it). A later valid check with
/// USE-CANDIDATE from another address moves the selection there (the client's address changed).
///
/// Every request must carry USERNAME `ourUfrag:theirUfrag` and a MESSAGE-INTEGRITY keyed with our password
/// (short-term credentials, RFC 8489 §9.1); answers carry XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY and FINGERPRINT.
/// Consent (RFC 7675): each valid check refreshes it; the owner also refreshes it on authenticated media.
public struct ICELiteAgent: Sendable {
    public let local: ICECredentials
    public let remote: ICECredentials?
    private let key: STUNIntegrityKey

    /// Addresses that passed a valid check, with when they last did. Bounded: a peer has few candidates.
    public private(set) var validAddresses: [TransportAddress: Instant] = [:]
    /// The nominated address: where media goes.
    public private(set) var selectedAddress: TransportAddress?
    /// When consent was last refreshed (a valid check, or authenticated media from the selected address).
    public private(set) var lastConsent: Instant?
    public private(set) var statistics = Statistics()

    /// At most this many peer addresses are remembered as valid; the stalest is forgotten first.
    public static let maximumValidAddresses = 8

    public struct Statistics: Hashable, Sendable {
        public var requestsReceived = 0
        public var responsesSent = 0
        public var errorResponsesSent = 0
        public var badIntegrity = 0
        public var wrongUsername = 0
        public var malformed = 0
        public var notRequests = 0
        /// Binding indications (keepalives), which need no answer.
        public var indications = 0
        public var nominations = 0
        public var addressChanges = 0
    }

    /// What handling one STUN datagram produced.
    public struct Outcome: Sendable {
        /// A response to send back to the source address, if any.
        public var response: [UInt8]?
        /// Set when this check nominated an address (a new or a changed selection).
        public var nominated: TransportAddress?
        /// Set when this check made an address valid for the first time.
        public var validated: TransportAddress?
        /// Why the datagram was refused, if it was.
        public var rejection: Rejection?
    }

    public enum Rejection: Hashable, Sendable {
        case malformed(STUNError)
        case notARequest
        case wrongUsername
        case missingIntegrity
        case badIntegrity
        case unknownComprehensionRequired([UInt16])
    }

    public init(local: ICECredentials, remote: ICECredentials?) {
        self.local = local
        self.remote = remote
        self.key = STUNIntegrityKey(shortTermPassword: local.password)
    }

    /// Whether `address` passed a valid check: media and DTLS from any other address are dropped.
    public func isValid(_ address: TransportAddress) -> Bool { validAddresses[address] != nil }

    /// Refreshes consent on authenticated traffic from a valid address.
    public mutating func refreshConsent(from address: TransportAddress, now: Instant) {
        guard validAddresses[address] != nil else { return }
        validAddresses[address] = now
        lastConsent = now
    }

    /// Handles one datagram that the demultiplexer classified as STUN.
    public mutating func handle(stun bytes: UnsafeRawBufferPointer, from source: TransportAddress, now: Instant)
        -> Outcome
    {
        var outcome = Outcome()
        let message: STUNMessage
        do {
            message = try STUNMessage(parsing: bytes, checkFingerprint: true)
        } catch {
            statistics.malformed += 1
            outcome.rejection = .malformed(error)
            return outcome
        }
        guard message.type == .bindingRequest else {
            if message.type.messageClass == .indication {
                // Binding indications are keepalives (RFC 8445 §11): nothing to answer, nothing wrong.
                statistics.indications += 1
                return outcome
            }
            // Responses to checks a lite agent never sends are refused.
            statistics.notRequests += 1
            outcome.rejection = .notARequest
            return outcome
        }
        statistics.requestsReceived += 1

        // RFC 8489 §6.3.1: unknown comprehension-required attributes → 420 with UNKNOWN-ATTRIBUTES.
        let unknown = message.unknownComprehensionRequiredAttributes
        if !unknown.isEmpty, let answer = message.unknownAttributesResponse() {
            outcome.response = try? answer.serialized(fingerprint: true)
            statistics.errorResponsesSent += 1
            outcome.rejection = .unknownComprehensionRequired(unknown)
            return outcome
        }
        // RFC 8489 §9.1.3: no USERNAME or MESSAGE-INTEGRITY → 400; wrong username or integrity → 401.
        guard let username = message.username, message.messageIntegrity != nil else {
            outcome.response = errorResponse(message, code: 400, reason: "Bad Request")
            outcome.rejection = .missingIntegrity
            statistics.malformed += 1
            return outcome
        }
        guard usernameMatches(username) else {
            outcome.response = errorResponse(message, code: 401, reason: "Unauthorized")
            outcome.rejection = .wrongUsername
            statistics.wrongUsername += 1
            return outcome
        }
        do {
            try STUNMessage.verifyIntegrity(of: bytes, key: key)
        } catch {
            outcome.response = errorResponse(message, code: 401, reason: "Unauthorized")
            outcome.rejection = .badIntegrity
            statistics.badIntegrity += 1
            return outcome
        }

        // A valid check.
        if validAddresses[source] == nil {
            outcome.validated = source
            if validAddresses.count >= Self.maximumValidAddresses,
                let stalest = validAddresses.filter({ $0.key != selectedAddress }).min(by: { $0.value < $1.value })
            {
                validAddresses[stalest.key] = nil
            }
        }
        validAddresses[source] = now
        lastConsent = now
        if message.useCandidate, selectedAddress != source {
            if selectedAddress != nil { statistics.addressChanges += 1 }
            selectedAddress = source
            statistics.nominations += 1
            outcome.nominated = source
        }
        let response = message.successResponse(attributes: [.xorMappedAddress(source)])
        outcome.response = try? response.serialized(integrity: key, fingerprint: true)
        statistics.responsesSent += 1
        return outcome
    }

    private func usernameMatches(_ username: String) -> Bool {
        // USERNAME is "receiver's ufrag:sender's ufrag" (RFC 8445 §7.2.2); we are the receiver.
        guard let colon = username.firstIndex(of: ":") else { return false }
        guard username[..<colon] == local.ufrag else { return false }
        if let remote { return username[username.index(after: colon)...] == remote.ufrag }
        return true
    }

    private mutating func errorResponse(_ request: STUNMessage, code: UInt16, reason: String) -> [UInt8]? {
        statistics.errorResponsesSent += 1
        let answer = request.errorResponse(STUNErrorCode(code: code, reason: reason))
        return try? answer.serialized(fingerprint: true)
    }
}
