/// Why an RTP packet or header extension could not be parsed or built.
public enum RTPError: Error, Hashable, Sendable {
    /// Shorter than the 12-byte fixed header, or than the CSRC list or extension header it announces.
    case truncated
    /// The version field is not 2.
    case badVersion(UInt8)
    /// The padding bit is set but the padding count is 0 or larger than what follows the header.
    case badPadding
    /// The header extension's length runs past the end of the packet.
    case badExtensionLength
    /// The extension profile is neither one-byte (0xBEDE) nor two-byte (0x100X) (RFC 8285), so it has no elements.
    case unsupportedExtensionProfile(UInt16)
    /// An extension element runs past the end of the extension, or cannot be built (ID or length
    /// outside what the chosen form allows).
    case badExtensionElement(id: UInt8)
    /// A typed extension value has the wrong size or contents.
    case badExtensionValue
    /// Building: a field does not fit the wire format (payload type > 127, more than 15 CSRCs, extension data
    /// not a multiple of 4 bytes or over 262140 bytes, padding length 0 with padding requested).
    case fieldOutOfRange
    /// Writing into a fixed buffer that is too small.
    case bufferTooSmall
}
