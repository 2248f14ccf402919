// STUN serialization, RFC 8489 §5 and §14; MESSAGE-INTEGRITY §14.5, FINGERPRINT §14.7.

extension STUNMessage {
    /// Whether a stored attribute is written, given what will be computed: a new MESSAGE-INTEGRITY replaces
    /// stored integrity attributes and any stored FINGERPRINT (which would be stale); a new FINGERPRINT
    /// replaces a stored one.
    static func isWritten(_ attribute: STUNAttribute, integrity: Bool, fingerprint: Bool) -> Bool {
        switch attribute {
        case .messageIntegrity, .messageIntegritySHA256: !integrity
        case .fingerprint: !(integrity || fingerprint)
        default: true
        }
    }

    /// The value length of an attribute before padding.
    static func valueLength(_ attribute: STUNAttribute) -> Int {
        switch attribute {
        case .mappedAddress(let address), .xorMappedAddress(let address):
            if case .v4 = address.address { 8 } else { 20 }
        case .username(let text), .software(let text), .realm(let text), .nonce(let text):
            text.utf8.count
        case .messageIntegrity(let value), .messageIntegritySHA256(let value), .other(_, let value):
            value.count
        case .fingerprint, .priority: 4
        case .useCandidate: 0
        case .iceControlling, .iceControlled: 8
        case .errorCode(let code): 4 + code.reason.utf8.count
        case .unknownAttributes(let types): 2 * types.count
        }
    }

    /// The number of bytes ``serialize(into:integrity:fingerprint:)`` writes with (`integrity`) or without
    /// a key and with or without a fingerprint.
    public func serializedSize(integrity: Bool = false, fingerprint: Bool = false) -> Int {
        var size = Self.headerLength
        for attribute in attributes where Self.isWritten(attribute, integrity: integrity, fingerprint: fingerprint) {
            size += 4 + (Self.valueLength(attribute) + 3) / 4 * 4
        }
        if integrity { size += 4 + 20 }
        if fingerprint { size += 4 + 4 }
        return size
    }

    /// Checks every value before anything is written, so a failed serialization writes nothing.
    func validateForSerialization(integrity: Bool, fingerprint: Bool) throws(STUNError) {
        for attribute in attributes where Self.isWritten(attribute, integrity: integrity, fingerprint: fingerprint) {
            let type = attribute.type.rawValue
            guard Self.valueLength(attribute) <= 0xFFFF else { throw .messageTooLarge }
            switch attribute {
            case .messageIntegrity(let value):
                guard value.count == 20 else { throw .badAttributeValue(type: type) }
            case .messageIntegritySHA256(let value):
                guard value.count >= 16, value.count <= 32, value.count % 4 == 0 else {
                    throw .badAttributeValue(type: type)
                }
            case .errorCode(let code):
                guard (300...699).contains(code.code) else { throw .badAttributeValue(type: type) }
            default:
                break
            }
        }
        guard serializedSize(integrity: integrity, fingerprint: fingerprint) - Self.headerLength <= 0xFFFF else {
            throw .messageTooLarge
        }
    }

    /// Appends the message to `writer`, followed by a MESSAGE-INTEGRITY computed with `key` (if given) and a
    /// FINGERPRINT (if asked), in that order as RFC 8489 requires.
    ///
    /// Stored attributes are written in order, padded with zeros; integrity attributes and FINGERPRINT
    /// already in ``attributes`` are dropped when new ones are computed (see ``serializedSize(integrity:fingerprint:)``).
    /// Nothing is written if a value is invalid (an ERROR-CODE outside 300–699, a MESSAGE-INTEGRITY that is
    /// not 20 bytes) or the message exceeds the 16-bit length.
    public func serialize(
        into writer: inout ByteWriter, integrity key: STUNIntegrityKey? = nil, fingerprint: Bool = false
    ) throws(STUNError) {
        try validateForSerialization(integrity: key != nil, fingerprint: fingerprint)
        let start = writer.count
        writer.reserveCapacity(additional: serializedSize(integrity: key != nil, fingerprint: fingerprint))
        writer.writeUInt16(type.rawValue)
        writer.writeUInt16(0)  // length, patched below
        writer.writeUInt32(Self.magicCookie)
        writer.writeUInt32(transactionID.high)
        writer.writeUInt64(transactionID.low)
        for attribute in attributes where Self.isWritten(attribute, integrity: key != nil, fingerprint: fingerprint) {
            write(attribute, to: &writer)
        }
        if let key {
            // The length covers MESSAGE-INTEGRITY itself while it is computed (RFC 8489 §14.5).
            writer.setUInt16(UInt16(truncatingIfNeeded: writer.count - start - Self.headerLength + 24), at: start + 2)
            let mac = writer.withUnsafeBytes { raw in
                key.sha1.authenticationCode(for: UnsafeRawBufferPointer(rebasing: raw[start...]))
            }
            writer.writeUInt16(STUNAttributeType.messageIntegrity.rawValue)
            writer.writeUInt16(20)
            writer.write(mac)
        }
        if fingerprint {
            writer.setUInt16(UInt16(truncatingIfNeeded: writer.count - start - Self.headerLength + 8), at: start + 2)
            let crc = writer.withUnsafeBytes { raw in CRC32.checksum(UnsafeRawBufferPointer(rebasing: raw[start...])) }
            writer.writeUInt16(STUNAttributeType.fingerprint.rawValue)
            writer.writeUInt16(4)
            writer.writeUInt32(crc ^ Self.fingerprintXOR)
        }
        writer.setUInt16(UInt16(truncatingIfNeeded: writer.count - start - Self.headerLength), at: start + 2)
    }

    /// The message as bytes (see ``serialize(into:integrity:fingerprint:)``).
    public func serialized(integrity key: STUNIntegrityKey? = nil, fingerprint: Bool = false) throws(STUNError) -> [UInt8] {
        var writer = ByteWriter(capacity: serializedSize(integrity: key != nil, fingerprint: fingerprint))
        try serialize(into: &writer, integrity: key, fingerprint: fingerprint)
        return writer.bytes
    }

    private func write(_ attribute: STUNAttribute, to writer: inout ByteWriter) {
        let length = Self.valueLength(attribute)
        writer.writeUInt16(attribute.type.rawValue)
        writer.writeUInt16(UInt16(truncatingIfNeeded: length))
        switch attribute {
        case .mappedAddress(let address):
            writeAddress(address, xor: false, to: &writer)
        case .xorMappedAddress(let address):
            writeAddress(address, xor: true, to: &writer)
        case .username(let text), .software(let text), .realm(let text), .nonce(let text):
            writer.write(Array(text.utf8))
        case .messageIntegrity(let value), .messageIntegritySHA256(let value), .other(_, let value):
            writer.write(value)
        case .fingerprint(let value), .priority(let value):
            writer.writeUInt32(value)
        case .useCandidate:
            break
        case .iceControlling(let value), .iceControlled(let value):
            writer.writeUInt64(value)
        case .errorCode(let code):
            writer.writeUInt16(0)
            writer.writeUInt8(code.errorClass)
            writer.writeUInt8(code.number)
            writer.write(Array(code.reason.utf8))
        case .unknownAttributes(let types):
            for type in types { writer.writeUInt16(type) }
        }
        // Zero padding to the next multiple of 4 (RFC 8489 §14: padding bits are ignored on receipt).
        writer.writeZeros((4 - length % 4) % 4)
    }

    private func writeAddress(_ address: TransportAddress, xor: Bool, to writer: inout ByteWriter) {
        writer.writeUInt8(0)
        let cookieHigh = UInt16(truncatingIfNeeded: Self.magicCookie >> 16)
        switch address.address {
        case .v4(let v4):
            writer.writeUInt8(0x01)
            writer.writeUInt16(xor ? address.port ^ cookieHigh : address.port)
            writer.writeUInt32(xor ? v4.rawValue ^ Self.magicCookie : v4.rawValue)
        case .v6(let v6):
            writer.writeUInt8(0x02)
            writer.writeUInt16(xor ? address.port ^ cookieHigh : address.port)
            writer.writeUInt64(xor ? v6.high ^ (UInt64(Self.magicCookie) << 32 | UInt64(transactionID.high)) : v6.high)
            writer.writeUInt64(xor ? v6.low ^ transactionID.low : v6.low)
        }
    }
}
