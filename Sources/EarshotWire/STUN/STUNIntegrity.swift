/// The key for MESSAGE-INTEGRITY (HMAC-SHA1) and MESSAGE-INTEGRITY-SHA256 (HMAC-SHA256), with both HMAC
/// key schedules computed once so that every check of a session reuses them.
public struct STUNIntegrityKey: Sendable {
    /// The raw key bytes.
    public let keyBytes: [UInt8]
    let sha1: HMAC<SHA1>
    let sha256: HMAC<SHA256>

    /// A key from raw bytes.
    public init(key: [UInt8]) {
        keyBytes = key
        sha1 = HMAC(key: key)
        sha256 = HMAC(key: key)
    }

    /// A short-term credential key (RFC 8489 §9.1.1): the password's UTF-8 bytes. ICE passwords are
    /// ASCII `ice-char`s (RFC 8839 §5.4), so the OpaqueString profile changes nothing and is not applied.
    public init(shortTermPassword password: String) {
        self.init(key: Array(password.utf8))
    }

    /// A long-term credential key (RFC 8489 §9.2.2): `MD5(username ":" realm ":" password)`. The strings
    /// are used as given; OpaqueString/SASLprep preparation is the caller's business.
    public static func longTerm(username: String, realm: String, password: String) -> STUNIntegrityKey {
        STUNIntegrityKey(key: MD5.hash(Array("\(username):\(realm):\(password)".utf8)))
    }
}

extension STUNMessage {
    /// Verifies the first MESSAGE-INTEGRITY of a received message against `key`, on the original bytes.
    ///
    /// RFC 8489 §14.5: the HMAC-SHA1 covers the message up to the attribute, with the header length
    /// rewritten to end just after MESSAGE-INTEGRITY (so attributes after it, such as FINGERPRINT, are
    /// excluded). A MESSAGE-INTEGRITY after MESSAGE-INTEGRITY-SHA256 is ignored, as the parser ignores it
    /// (RFC 8489 §14.6). Throws ``STUNError/integrityMissing`` if there is none, ``STUNError/badIntegrity``
    /// if it does not match, or a header/attribute error if the message is malformed.
    public static func verifyIntegrity(of bytes: UnsafeRawBufferPointer, key: STUNIntegrityKey) throws(STUNError) {
        guard let (start, stored) = try findAttribute(
            STUNAttributeType.messageIntegrity.rawValue, in: bytes,
            before: STUNAttributeType.messageIntegritySHA256.rawValue)
        else {
            throw .integrityMissing
        }
        guard stored.count == 20 else { throw .badAttributeValue(type: STUNAttributeType.messageIntegrity.rawValue) }
        var context = key.sha1.makeContext()
        hashPrefix(bytes, upTo: start, endingAfter: start + 4 + stored.count, into: &context)
        let computed = context.finalize()
        guard computed.withUnsafeBytes({ constantTimeEquals($0, UnsafeRawBufferPointer(rebasing: bytes[stored])) })
        else { throw .badIntegrity }
    }

    /// Verifies MESSAGE-INTEGRITY of a received message (see the raw-buffer form).
    public static func verifyIntegrity(of bytes: [UInt8], key: STUNIntegrityKey) throws(STUNError) {
        try withRawBytes(bytes) { (raw) throws(STUNError) in try verifyIntegrity(of: raw, key: key) }
    }

    /// Verifies the first MESSAGE-INTEGRITY-SHA256 of a received message (RFC 8489 §14.6), which may be
    /// truncated to 16–32 bytes: the leading bytes of the HMAC-SHA256 are compared.
    public static func verifyIntegritySHA256(of bytes: UnsafeRawBufferPointer, key: STUNIntegrityKey) throws(STUNError) {
        let type = STUNAttributeType.messageIntegritySHA256.rawValue
        guard let (start, stored) = try findAttribute(type, in: bytes) else { throw .integrityMissing }
        guard stored.count >= 16, stored.count <= 32, stored.count % 4 == 0 else { throw .badAttributeValue(type: type) }
        var context = key.sha256.makeContext()
        hashPrefix(bytes, upTo: start, endingAfter: start + 4 + stored.count, into: &context)
        let computed = context.finalize()[0..<stored.count]
        guard computed.withUnsafeBytes({ constantTimeEquals($0, UnsafeRawBufferPointer(rebasing: bytes[stored])) })
        else { throw .badIntegrity }
    }

    /// Verifies MESSAGE-INTEGRITY-SHA256 of a received message (see the raw-buffer form).
    public static func verifyIntegritySHA256(of bytes: [UInt8], key: STUNIntegrityKey) throws(STUNError) {
        try withRawBytes(bytes) { (raw) throws(STUNError) in try verifyIntegritySHA256(of: raw, key: key) }
    }

    /// Verifies that the message ends with a FINGERPRINT matching its CRC-32 (RFC 8489 §14.7). Throws
    /// ``STUNError/fingerprintMissing`` when the last attribute is not FINGERPRINT.
    public static func verifyFingerprint(of bytes: UnsafeRawBufferPointer) throws(STUNError) {
        _ = try checkHeader(bytes)
        var last: (type: UInt16, value: Range<Int>, start: Int)?
        try walkAttributes(bytes) { (type, value, start) throws(STUNError) -> Bool in
            last = (type, value, start)
            return true
        }
        guard let last, last.type == STUNAttributeType.fingerprint.rawValue else { throw .fingerprintMissing }
        guard last.value.count == 4 else { throw .badAttributeValue(type: last.type) }
        let crc = CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<last.start]))
        guard crc ^ fingerprintXOR == bytes.loadBigEndianUInt32(at: last.value.lowerBound) else {
            throw .badFingerprint
        }
    }

    /// Verifies the FINGERPRINT of a received message (see the raw-buffer form).
    public static func verifyFingerprint(of bytes: [UInt8]) throws(STUNError) {
        try withRawBytes(bytes) { (raw) throws(STUNError) in try verifyFingerprint(of: raw) }
    }

    /// The start offset and value range of the first attribute of `type`, after checking the header; `nil`
    /// if there is none, or none before the first attribute of type `stop`.
    static func findAttribute(
        _ type: UInt16, in bytes: UnsafeRawBufferPointer, before stop: UInt16? = nil
    ) throws(STUNError) -> (start: Int, value: Range<Int>)? {
        _ = try checkHeader(bytes)
        var found: (Int, Range<Int>)?
        try walkAttributes(bytes) { (attributeType, value, start) throws(STUNError) -> Bool in
            if attributeType == type { found = (start, value); return false }
            return attributeType != stop
        }
        return found
    }

    /// Feeds `bytes[0..<end]` to an HMAC with the header length rewritten so that the message ends at
    /// `messageEnd` (the integrity attribute's end).
    static func hashPrefix<H>(
        _ bytes: UnsafeRawBufferPointer, upTo end: Int, endingAfter messageEnd: Int, into context: inout HMAC<H>.Context
    ) {
        let length = UInt16(truncatingIfNeeded: messageEnd - headerLength)
        // Message type and rewritten length, on the stack.
        var patched = (bytes.loadBigEndianUInt16(at: 0).bigEndian, length.bigEndian)
        withUnsafeBytes(of: &patched) { context.update($0) }
        context.update(UnsafeRawBufferPointer(rebasing: bytes[4..<end]))
    }
}
