/// The class of a STUN message (RFC 8489 §5): the two C bits of the message type.
public enum STUNClass: UInt8, Hashable, Sendable, CaseIterable {
    case request = 0b00
    case indication = 0b01
    case successResponse = 0b10
    case errorResponse = 0b11
}

/// A STUN method: the 12 M bits of the message type (RFC 8489 §5, registry in §18.2).
public struct STUNMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The 12-bit method number.
    public let rawValue: UInt16

    /// Creates a method; `nil` if `rawValue` does not fit 12 bits.
    public init?(rawValue: UInt16) {
        guard rawValue <= 0x0FFF else { return nil }
        self.rawValue = rawValue
    }

    private init(checked rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// Binding (0x001), the only method ICE uses.
    public static let binding = STUNMethod(checked: 0x001)

    public var description: String {
        self == .binding ? "Binding" : "method 0x" + String(rawValue, radix: 16)
    }
}

/// A STUN message type: method and class, interleaved on the wire.
///
/// RFC 8489 §5, the 14 low bits of the first 16-bit word (the top two bits are zero):
/// ```
///  0                 1
///  2  3  4 5 6 7 8 9 0 1 2 3 4 5
/// +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
/// |M |M |M|M|M|C|M|M|M|C|M|M|M|M|
/// |11|10|9|8|7|1|6|5|4|0|3|2|1|0|
/// +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
public struct STUNMessageType: Hashable, Sendable, CustomStringConvertible {
    /// The method.
    public var method: STUNMethod
    /// The class.
    public var messageClass: STUNClass

    /// Creates a type from its method and class.
    public init(method: STUNMethod, messageClass: STUNClass) {
        self.method = method
        self.messageClass = messageClass
    }

    /// Splits the 14-bit wire value (the top two bits are ignored).
    public init(rawValue: UInt16) {
        let m = rawValue & 0x000F | (rawValue & 0x00E0) >> 1 | (rawValue & 0x3E00) >> 2
        let c = UInt8(truncatingIfNeeded: (rawValue & 0x0010) >> 4 | (rawValue & 0x0100) >> 7)
        // m < 0x1000 and c < 4 by construction.
        method = STUNMethod(rawValue: m) ?? .binding
        messageClass = STUNClass(rawValue: c) ?? .request
    }

    /// The 14-bit wire value.
    public var rawValue: UInt16 {
        let m = method.rawValue
        let c = UInt16(messageClass.rawValue)
        return m & 0x000F | (m & 0x0070) << 1 | (m & 0x0F80) << 2 | (c & 1) << 4 | (c & 2) << 7
    }

    /// Binding request (0x0001).
    public static let bindingRequest = STUNMessageType(method: .binding, messageClass: .request)
    /// Binding success response (0x0101).
    public static let bindingSuccessResponse = STUNMessageType(method: .binding, messageClass: .successResponse)
    /// Binding error response (0x0111).
    public static let bindingErrorResponse = STUNMessageType(method: .binding, messageClass: .errorResponse)
    /// Binding indication (0x0011), the ICE keepalive.
    public static let bindingIndication = STUNMessageType(method: .binding, messageClass: .indication)

    public var description: String { "\(method) \(messageClass)" }
}

/// The 96-bit transaction ID that pairs a response with its request (RFC 8489 §5).
public struct STUNTransactionID: Hashable, Sendable, CustomStringConvertible {
    /// Bytes 0–3 of the ID (header bytes 8–11).
    public var high: UInt32
    /// Bytes 4–11 of the ID (header bytes 12–19).
    public var low: UInt64

    /// Creates an ID from its two parts.
    public init(high: UInt32, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Creates an ID from exactly 12 bytes; `nil` for any other count.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 12 else { return nil }
        var high: UInt32 = 0
        var low: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            if index < 4 { high = high << 8 | UInt32(byte) } else { low = low << 8 | UInt64(byte) }
        }
        self.init(high: high, low: low)
    }

    /// A fresh ID from `generator` (RFC 8489 §5 asks for a cryptographically random one).
    public static func random(using generator: inout some RandomNumberGenerator) -> STUNTransactionID {
        STUNTransactionID(high: UInt32.random(in: .min ... .max, using: &generator),
                          low: UInt64.random(in: .min ... .max, using: &generator))
    }

    /// A fresh ID from the system's secure random source.
    public static func random() -> STUNTransactionID {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    /// The 12 bytes in wire order.
    public var bytes: [UInt8] {
        var writer = ByteWriter(capacity: 12)
        writer.writeUInt32(high)
        writer.writeUInt64(low)
        return writer.bytes
    }

    public var description: String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

/// A STUN attribute type number (RFC 8489 §14, §18.3; RFC 8445 §16.1).
///
/// Types below 0x8000 are comprehension-required: an agent that does not understand one must reject
/// the request with 420 (Unknown Attribute).
public struct STUNAttributeType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
/// The 16-bit type number.
    public var rawValue: UInt16

    /// Creates a type from its number.
    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// Whether an agent must understand this attribute to process the message (type < 0x8000).
    public var isComprehensionRequired: Bool { rawValue < 0x8000 }

    /// MAPPED-ADDRESS (RFC 8489 §14.1).
    public static let mappedAddress = STUNAttributeType(rawValue: 0x0001)
    /// USERNAME (RFC 8489 §14.3).
    public static let username = STUNAttributeType(rawValue: 0x0006)
    /// MESSAGE-INTEGRITY (RFC 8489 §14.5).
    public static let messageIntegrity = STUNAttributeType(rawValue: 0x0008)
    /// ERROR-CODE (RFC 8489 §14.8).
    public static let errorCode = STUNAttributeType(rawValue: 0x0009)
    /// UNKNOWN-ATTRIBUTES (RFC 8489 §14.9).
    public static let unknownAttributes = STUNAttributeType(rawValue: 0x000A)
    /// REALM (RFC 8489 §14.9).
    public static let realm = STUNAttributeType(rawValue: 0x0014)
    /// NONCE (RFC 8489 §14.10).
    public static let nonce = STUNAttributeType(rawValue: 0x0015)
    /// MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6).
    public static let messageIntegritySHA256 = STUNAttributeType(rawValue: 0x001C)
    /// XOR-MAPPED-ADDRESS (RFC 8489 §14.2).
    public static let xorMappedAddress = STUNAttributeType(rawValue: 0x0020)
    /// PRIORITY (RFC 8445 §16.1).
    public static let priority = STUNAttributeType(rawValue: 0x0024)
    /// USE-CANDIDATE (RFC 8445 §16.1).
    public static let useCandidate = STUNAttributeType(rawValue: 0x0025)
    /// SOFTWARE (RFC 8489 §14.14).
    public static let software = STUNAttributeType(rawValue: 0x8022)
    /// FINGERPRINT (RFC 8489 §14.7).
    public static let fingerprint = STUNAttributeType(rawValue: 0x8028)
    /// ICE-CONTROLLED (RFC 8445 §16.1).
    public static let iceControlled = STUNAttributeType(rawValue: 0x8029)
    /// ICE-CONTROLLING (RFC 8445 §16.1).
    public static let iceControlling = STUNAttributeType(rawValue: 0x802A)

    public var description: String { "0x" + String(rawValue, radix: 16) }
}

/// The value of an ERROR-CODE attribute: a code 300–699 and a human-readable reason (RFC 8489 §14.8).
public struct STUNErrorCode: Hashable, Sendable {
    /// The code, class × 100 + number.
    public var code: UInt16
    /// The UTF-8 reason phrase.
    public var reason: String

    /// Creates an error code.
    public init(code: UInt16, reason: String) {
        self.code = code
        self.reason = reason
    }

    /// The hundreds digit (3–6).
    public var errorClass: UInt8 { UInt8(truncatingIfNeeded: code / 100) }
    /// The code modulo 100.
    public var number: UInt8 { UInt8(truncatingIfNeeded: code % 100) }

    /// 300: the client should contact ALTERNATE-SERVER.
    public static let tryAlternate = STUNErrorCode(code: 300, reason: "Try Alternate")
    /// 400: malformed request (e.g. MESSAGE-INTEGRITY without USERNAME).
    public static let badRequest = STUNErrorCode(code: 400, reason: "Bad Request")
    /// 401: missing or wrong credentials.
    public static let unauthorized = STUNErrorCode(code: 401, reason: "Unauthorized")
    /// 420: comprehension-required attributes not understood.
    public static let unknownAttribute = STUNErrorCode(code: 420, reason: "Unknown Attribute")
    /// 438: the NONCE is no longer valid.
    public static let staleNonce = STUNErrorCode(code: 438, reason: "Stale Nonce")
    /// ICE role conflict (RFC 8445 §7.3.1.1).
    public static let roleConflict = STUNErrorCode(code: 487, reason: "Role Conflict")
    /// 500: temporary server error.
    public static let serverError = STUNErrorCode(code: 500, reason: "Server Error")
}

/// One STUN attribute.
///
/// Known attributes are decoded; everything else is kept as ``other(type:value:)`` with its value bytes
/// (without padding) so it can be reported in UNKNOWN-ATTRIBUTES or written back unchanged.
public enum STUNAttribute: Hashable, Sendable {
    /// MAPPED-ADDRESS (0x0001), the RFC 3489 form of the reflexive address.
    case mappedAddress(TransportAddress)
    /// XOR-MAPPED-ADDRESS (0x0020): the reflexive transport address, obfuscated on the wire.
    case xorMappedAddress(TransportAddress)
    /// USERNAME (0x0006); for ICE `"remote-ufrag:local-ufrag"` (RFC 8445 §7.2.2).
    case username(String)
    /// MESSAGE-INTEGRITY (0x0008): 20-byte HMAC-SHA1 as found on the wire.
    case messageIntegrity([UInt8])
    /// MESSAGE-INTEGRITY-SHA256 (0x001C): 16–32-byte (possibly truncated) HMAC-SHA256.
    case messageIntegritySHA256([UInt8])
    /// FINGERPRINT (0x8028): CRC-32 of the message xor 0x5354554E.
    case fingerprint(UInt32)
    /// PRIORITY (0x0024): the priority a peer-reflexive candidate would get (RFC 8445 §7.1.1).
    case priority(UInt32)
    /// USE-CANDIDATE (0x0025): the controlling agent nominates this pair (RFC 8445 §7.1.2).
    case useCandidate
    /// ICE-CONTROLLING (0x802A) with the sender's tie-breaker (RFC 8445 §7.1.3).
    case iceControlling(UInt64)
    /// ICE-CONTROLLED (0x8029) with the sender's tie-breaker.
    case iceControlled(UInt64)
    /// ERROR-CODE (0x0009).
    case errorCode(STUNErrorCode)
    /// UNKNOWN-ATTRIBUTES (0x000A): the types a 420 response did not understand.
    case unknownAttributes([UInt16])
    /// SOFTWARE (0x8022): the agent's description.
    case software(String)
    /// REALM (0x0014), long-term credentials.
    case realm(String)
    /// NONCE (0x0015), long-term credentials.
    case nonce(String)
    /// Any other attribute, with its value (padding removed).
    case other(type: UInt16, value: [UInt8])

    /// The attribute's type number.
    public var type: STUNAttributeType {
        switch self {
        case .mappedAddress: .mappedAddress
        case .xorMappedAddress: .xorMappedAddress
        case .username: .username
        case .messageIntegrity: .messageIntegrity
        case .messageIntegritySHA256: .messageIntegritySHA256
        case .fingerprint: .fingerprint
        case .priority: .priority
        case .useCandidate: .useCandidate
        case .iceControlling: .iceControlling
        case .iceControlled: .iceControlled
        case .errorCode: .errorCode
        case .unknownAttributes: .unknownAttributes
        case .software: .software
        case .realm: .realm
        case .nonce: .nonce
        case .other(let type, _): STUNAttributeType(rawValue: type)
        }
    }
}
