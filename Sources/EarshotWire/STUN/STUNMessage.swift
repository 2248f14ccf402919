/// A STUN message (RFC 8489, as used by ICE, RFC 8445).
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |0 0|     STUN Message Type     |         Message Length        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         Magic Cookie                          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// |                     Transaction ID (96 bits)                  |
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
/// followed by attributes, each a 16-bit type, a 16-bit value length and the value padded to 4 bytes.
///
/// Parsing keeps the attributes in wire order, including MESSAGE-INTEGRITY and FINGERPRINT as found.
/// Integrity is verified on the original bytes with ``verifyIntegrity(of:key:)``; building computes
/// MESSAGE-INTEGRITY and FINGERPRINT with ``serialize(into:integrity:fingerprint:)``.
public struct STUNMessage: Hashable, Sendable {
    /// The magic cookie in bytes 4–7 of every RFC 5389/8489 message.
    public static let magicCookie: UInt32 = 0x2112_A442
    /// The fixed header length.
    public static let headerLength = 20
    /// What the FINGERPRINT CRC-32 is xored with: the ASCII bytes "STUN" (RFC 8489 §14.7), so that a
    /// CRC over an embedded packet of another protocol does not match by accident.
    public static let fingerprintXOR: UInt32 = 0x5354_554E

    /// Method and class.
    public var type: STUNMessageType
    /// The transaction ID.
    public var transactionID: STUNTransactionID
    /// The attributes in wire order.
    public var attributes: [STUNAttribute]

    /// Creates a message.
    public init(type: STUNMessageType, transactionID: STUNTransactionID, attributes: [STUNAttribute] = []) {
        self.type = type
        self.transactionID = transactionID
        self.attributes = attributes
    }

    // MARK: Accessors (first occurrence wins)

    /// The USERNAME value.
    public var username: String? {
        for case .username(let value) in attributes { return value }
        return nil
    }

    /// The PRIORITY value.
    public var priority: UInt32? {
        for case .priority(let value) in attributes { return value }
        return nil
    }

    /// Whether USE-CANDIDATE is present.
    public var useCandidate: Bool {
        attributes.contains(.useCandidate)
    }

    /// The ICE-CONTROLLING tie-breaker.
    public var iceControlling: UInt64? {
        for case .iceControlling(let value) in attributes { return value }
        return nil
    }

    /// The ICE-CONTROLLED tie-breaker.
    public var iceControlled: UInt64? {
        for case .iceControlled(let value) in attributes { return value }
        return nil
    }

    /// The XOR-MAPPED-ADDRESS value.
    public var xorMappedAddress: TransportAddress? {
        for case .xorMappedAddress(let value) in attributes { return value }
        return nil
    }

    /// The MAPPED-ADDRESS value.
    public var mappedAddress: TransportAddress? {
        for case .mappedAddress(let value) in attributes { return value }
        return nil
    }

    /// The ERROR-CODE value.
    public var errorCode: STUNErrorCode? {
        for case .errorCode(let value) in attributes { return value }
        return nil
    }

    /// The SOFTWARE value.
    public var software: String? {
        for case .software(let value) in attributes { return value }
        return nil
    }

    /// The MESSAGE-INTEGRITY value as found on the wire.
    public var messageIntegrity: [UInt8]? {
        for case .messageIntegrity(let value) in attributes { return value }
        return nil
    }

    /// The FINGERPRINT value as found on the wire.
    public var fingerprint: UInt32? {
        for case .fingerprint(let value) in attributes { return value }
        return nil
    }

    /// The types of comprehension-required attributes (type < 0x8000) this parser does not understand,
    /// each once, in order of appearance: what a 420 response must list (RFC 8489 §6.3.1.1).
    public var unknownComprehensionRequiredAttributes: [UInt16] {
        var seen: [UInt16] = []
        for case .other(let type, _) in attributes where type < 0x8000 && !seen.contains(type) {
            seen.append(type)
        }
        return seen
    }

    // MARK: Responses

    /// A Binding request with the given attributes.
    public static func bindingRequest(
        transactionID: STUNTransactionID, attributes: [STUNAttribute] = []
    ) -> STUNMessage {
        STUNMessage(type: .bindingRequest, transactionID: transactionID, attributes: attributes)
    }

    /// A success response to this request: same method and transaction ID.
    public func successResponse(attributes: [STUNAttribute] = []) -> STUNMessage {
        STUNMessage(type: STUNMessageType(method: type.method, messageClass: .successResponse),
                    transactionID: transactionID, attributes: attributes)
    }

    /// An error response to this request carrying ERROR-CODE first, then `attributes`.
    public func errorResponse(_ code: STUNErrorCode, attributes: [STUNAttribute] = []) -> STUNMessage {
        STUNMessage(type: STUNMessageType(method: type.method, messageClass: .errorResponse),
                    transactionID: transactionID, attributes: [.errorCode(code)] + attributes)
    }

    /// The 420 (Unknown Attribute) error response listing ``unknownComprehensionRequiredAttributes``,
    /// or `nil` when this message has none (RFC 8489 §6.3.1.1). Only requests get a response; for other
    /// classes the caller discards the message instead.
    public func unknownAttributesResponse(attributes: [STUNAttribute] = []) -> STUNMessage? {
        let unknown = unknownComprehensionRequiredAttributes
        guard !unknown.isEmpty else { return nil }
        return errorResponse(.unknownAttribute, attributes: [.unknownAttributes(unknown)] + attributes)
    }
}
