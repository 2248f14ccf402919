// STUN parsing, RFC 8489 §5 (header), §14 (attributes), §14.7 (FINGERPRINT).
//
// Attribute layout (RFC 8489 §14):
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |         Type                  |            Length             |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                         Value (variable)                ....
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// Length is the value length before padding to a multiple of 4.

extension STUNMessage {
    /// Checks the fixed header and returns the message length (bytes after the header).
    ///
    /// The buffer must hold exactly one message (a UDP datagram): the header length must be a multiple of 4
    /// and match the buffer.
    static func checkHeader(_ bytes: UnsafeRawBufferPointer) throws(STUNError) -> Int {
        guard !bytes.isEmpty else { throw .truncated }
        // RFC 8489 §5: the two most significant bits of every STUN message are zero.
        guard bytes[0] & 0xC0 == 0 else { throw .notSTUN }
        guard bytes.count >= headerLength else { throw .truncated }
        guard bytes.loadBigEndianUInt32(at: 4) == magicCookie else { throw .badMagicCookie }
        let length = Int(bytes.loadBigEndianUInt16(at: 2))
        guard length % 4 == 0, headerLength + length <= bytes.count else { throw .badLength }
        guard headerLength + length == bytes.count else { throw .trailingBytes }
        return length
    }

    /// Walks the attributes of a message whose header passed ``checkHeader(_:)``, calling `body` with each
    /// attribute's type, value range and start offset until it returns `false`.
    static func walkAttributes(
        _ bytes: UnsafeRawBufferPointer,
        _ body: (_ type: UInt16, _ value: Range<Int>, _ start: Int) throws(STUNError) -> Bool
    ) throws(STUNError) {
        var offset = headerLength
        while offset < bytes.count {
            // The message length is a multiple of 4 and so is every padded attribute: 4 bytes remain.
            guard bytes.count - offset >= 4 else { throw .badLength }
            let type = bytes.loadBigEndianUInt16(at: offset)
            let length = Int(bytes.loadBigEndianUInt16(at: offset + 2))
            let valueStart = offset + 4
            guard length <= bytes.count - valueStart else { throw .attributeOverflow(type: type) }
            guard try body(type, valueStart..<(valueStart + length), offset) else { return }
            // Padding fits: what remains is a multiple of 4.
            offset = valueStart + (length + 3) / 4 * 4
        }
    }

    /// Parses one STUN message occupying all of `bytes`.
    ///
    /// Attributes that follow MESSAGE-INTEGRITY (other than MESSAGE-INTEGRITY-SHA256 and FINGERPRINT) or
    /// MESSAGE-INTEGRITY-SHA256 (other than FINGERPRINT) are ignored, as RFC 8489 §14.5–14.6 require.
    /// When `checkFingerprint` is true a FINGERPRINT, if present, must match. Integrity needs a key and is
    /// checked separately with ``verifyIntegrity(of:key:)``.
    public init(parsing bytes: UnsafeRawBufferPointer, checkFingerprint: Bool = true) throws(STUNError) {
        _ = try Self.checkHeader(bytes)
        let type = STUNMessageType(rawValue: bytes.loadBigEndianUInt16(at: 0))
        let transactionID = STUNTransactionID(high: bytes.loadBigEndianUInt32(at: 8),
                                              low: bytes.loadBigEndianUInt64(at: 12))
        var attributes: [STUNAttribute] = []
        var sawIntegrity = false
        var sawIntegritySHA256 = false
        var sawFingerprint = false
        try Self.walkAttributes(bytes) { (rawType, range, start) throws(STUNError) -> Bool in
            let value = UnsafeRawBufferPointer(rebasing: bytes[range])
            guard !sawFingerprint else { throw .attributeAfterFingerprint(type: rawType) }
            switch STUNAttributeType(rawValue: rawType) {
            case .fingerprint:
                guard value.count == 4 else { throw .badAttributeValue(type: rawType) }
                let stored = value.loadBigEndianUInt32(at: 0)
                if checkFingerprint {
                    let crc = CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<start]))
                    guard crc ^ Self.fingerprintXOR == stored else { throw .badFingerprint }
                }
                attributes.append(.fingerprint(stored))
                sawFingerprint = true
            case _ where sawIntegritySHA256:
                break
            case .messageIntegritySHA256:
                guard value.count >= 16, value.count <= 32, value.count % 4 == 0 else {
                    throw .badAttributeValue(type: rawType)
                }
                attributes.append(.messageIntegritySHA256(Array(value)))
                sawIntegritySHA256 = true
            case _ where sawIntegrity:
                break
            case .messageIntegrity:
                guard value.count == 20 else { throw .badAttributeValue(type: rawType) }
                attributes.append(.messageIntegrity(Array(value)))
                sawIntegrity = true
            default:
                attributes.append(try Self.decodeAttribute(type: rawType, value: value, transactionID: transactionID))
            }
            return true
        }
        self.init(type: type, transactionID: transactionID, attributes: attributes)
    }

    /// Parses one STUN message occupying all of `bytes`.
    public init(parsing bytes: [UInt8], checkFingerprint: Bool = true) throws(STUNError) {
        self = try withRawBytes(bytes) { (raw) throws(STUNError) in
            try STUNMessage(parsing: raw, checkFingerprint: checkFingerprint)
        }
    }

    /// Parses one STUN message occupying all of `bytes`.
    public init(parsing bytes: ArraySlice<UInt8>, checkFingerprint: Bool = true) throws(STUNError) {
        self = try withRawBytes(bytes) { (raw) throws(STUNError) in
            try STUNMessage(parsing: raw, checkFingerprint: checkFingerprint)
        }
    }

    /// Decodes one attribute value other than MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT.
    static func decodeAttribute(
        type rawType: UInt16, value: UnsafeRawBufferPointer, transactionID: STUNTransactionID
    ) throws(STUNError) -> STUNAttribute {
        let bad = STUNError.badAttributeValue(type: rawType)
        switch STUNAttributeType(rawValue: rawType) {
        case .mappedAddress:
            return .mappedAddress(try decodeAddress(value, xor: nil, error: bad))
        case .xorMappedAddress:
            return .xorMappedAddress(try decodeAddress(value, xor: transactionID, error: bad))
        case .username:
            return .username(String(decoding: value, as: UTF8.self))
        case .software:
            return .software(String(decoding: value, as: UTF8.self))
        case .realm:
            return .realm(String(decoding: value, as: UTF8.self))
        case .nonce:
            return .nonce(String(decoding: value, as: UTF8.self))
        case .priority:
            guard value.count == 4 else { throw bad }
            return .priority(value.loadBigEndianUInt32(at: 0))
        case .useCandidate:
            guard value.isEmpty else { throw bad }
            return .useCandidate
        case .iceControlling:
            guard value.count == 8 else { throw bad }
            return .iceControlling(value.loadBigEndianUInt64(at: 0))
        case .iceControlled:
            guard value.count == 8 else { throw bad }
            return .iceControlled(value.loadBigEndianUInt64(at: 0))
        case .errorCode:
            // RFC 8489 §14.8: 21 reserved bits, a 3-bit class (3–6) and an 8-bit number (0–99), then the reason.
            guard value.count >= 4 else { throw bad }
            let errorClass = UInt16(value[2] & 0x07)
            let number = UInt16(value[3])
            guard (3...6).contains(errorClass), number < 100 else { throw bad }
            let reason = String(decoding: UnsafeRawBufferPointer(rebasing: value[4...]), as: UTF8.self)
            return .errorCode(STUNErrorCode(code: errorClass * 100 + number, reason: reason))
        case .unknownAttributes:
            guard value.count % 2 == 0 else { throw bad }
            return .unknownAttributes(stride(from: 0, to: value.count, by: 2).map { value.loadBigEndianUInt16(at: $0) })
        default:
            return .other(type: rawType, value: Array(value))
        }
    }

    /// Decodes a (XOR-)MAPPED-ADDRESS value (RFC 8489 §14.1–14.2):
    /// ```
    ///  0                   1                   2                   3
    ///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// |0 0 0 0 0 0 0 0|    Family     |         (X-)Port              |
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// |                 (X-)Address (32 bits or 128 bits)             |
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// ```
    /// With `xor`, the port is xored with the cookie's top 16 bits and the address with the cookie
    /// (IPv4) or the cookie followed by the transaction ID (IPv6).
    static func decodeAddress(
        _ value: UnsafeRawBufferPointer, xor transactionID: STUNTransactionID?, error: STUNError
    ) throws(STUNError) -> TransportAddress {
        guard value.count >= 4 else { throw error }
        let family = value[1]
        var port = value.loadBigEndianUInt16(at: 2)
        if transactionID != nil { port ^= UInt16(truncatingIfNeeded: magicCookie >> 16) }
        switch family {
        case 0x01:  // IPv4
            guard value.count == 8 else { throw error }
            var address = value.loadBigEndianUInt32(at: 4)
            if transactionID != nil { address ^= magicCookie }
            return TransportAddress(address: .v4(IPv4Address(rawValue: address)), port: port)
        case 0x02:  // IPv6
            guard value.count == 20 else { throw error }
            var high = value.loadBigEndianUInt64(at: 4)
            var low = value.loadBigEndianUInt64(at: 12)
            if let id = transactionID {
                high ^= UInt64(magicCookie) << 32 | UInt64(id.high)
                low ^= id.low
            }
            return TransportAddress(address: .v6(IPv6Address(high: high, low: low)), port: port)
        default:
            throw error
        }
    }

    /// Whether `bytes` looks like one whole STUN message: zero top bits, the magic cookie, and a length
    /// that is a multiple of 4 and matches the buffer. Attributes are not examined.
    public static func hasValidHeader(_ bytes: UnsafeRawBufferPointer) -> Bool {
        do {
            _ = try checkHeader(bytes)
            return true
        } catch {
            return false
        }
    }

    /// The byte range of the USERNAME value of a Binding request, found without building a message:
    /// for a router that maps the local ufrag (after the colon) to a session. `nil` if `bytes` is not a
    /// well-formed Binding request header, has no USERNAME before MESSAGE-INTEGRITY or
    /// MESSAGE-INTEGRITY-SHA256 (after which the parser ignores it, RFC 8489 §14.5–14.6), or an attribute
    /// overflows. Integrity is not checked.
    public static func peekBindingRequestUsername(_ bytes: UnsafeRawBufferPointer) -> Range<Int>? {
        guard hasValidHeader(bytes), bytes.loadBigEndianUInt16(at: 0) == STUNMessageType.bindingRequest.rawValue
        else { return nil }
        var found: Range<Int>?
        do {
            try walkAttributes(bytes) { (type, range, _) throws(STUNError) -> Bool in
                if type == STUNAttributeType.username.rawValue { found = range; return false }
                return type != STUNAttributeType.messageIntegrity.rawValue
                    && type != STUNAttributeType.messageIntegritySHA256.rawValue
            }
        } catch {
            return nil
        }
        return found
    }

    /// The USERNAME of a Binding request as text, found without building a message (see the raw-buffer form).
    public static func peekBindingRequestUsername(_ bytes: [UInt8]) -> String? {
        bytes.withUnsafeBytes { raw in
            peekBindingRequestUsername(raw).map { String(decoding: raw[$0], as: UTF8.self) }
        }
    }
}
