/// Why a STUN message could not be parsed, verified or built.
public enum STUNError: Error, Hashable, Sendable {
    /// Fewer than the 20 bytes of a STUN header.
    case truncated
    /// The two most significant bits of the first byte are not zero (RFC 8489 §5): not a STUN message.
    case notSTUN
    /// The magic cookie is not 0x2112A442 (RFC 8489 §5): not an RFC 5389/8489 STUN message.
    case badMagicCookie
    /// The header length is not a multiple of 4, or claims more bytes than the buffer holds.
    case badLength
    /// The buffer holds bytes after the end the header length announces.
    case trailingBytes
    /// An attribute's length runs past the end of the message.
    case attributeOverflow(type: UInt16)
    /// A known attribute has a value of the wrong size or with impossible contents.
    case badAttributeValue(type: UInt16)
    /// An attribute follows FINGERPRINT, which must be last (RFC 8489 §14.7).
    case attributeAfterFingerprint(type: UInt16)
    /// The FINGERPRINT value does not match the CRC-32 of the message.
    case badFingerprint
    /// The message has no FINGERPRINT attribute, but one was required.
    case fingerprintMissing
    /// The message has no MESSAGE-INTEGRITY (or MESSAGE-INTEGRITY-SHA256) attribute to verify.
    case integrityMissing
    /// The MESSAGE-INTEGRITY (or MESSAGE-INTEGRITY-SHA256) value does not match the key.
    case badIntegrity
    /// Building: the attributes do not fit the 16-bit message length.
    case messageTooLarge
}
