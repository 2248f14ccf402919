/// Why an RTCP packet could not be parsed or built.
public enum RTCPError: Error, Hashable, Sendable {
    /// Fewer than 4 bytes where a packet header is expected (including an empty buffer), or a packet body
    /// shorter than its type's fixed part.
    case truncated
    /// The version field is not 2.
    case badVersion(UInt8)
    /// A header's length field runs past the end of the buffer.
    case badLength
    /// The padding bit is set but the padding count is 0, not a multiple of 4, or larger than the packet body.
    case badPadding
    /// The body contradicts its header or itself: report blocks, chunks, SSRCs or feedback items that do
    /// not fit, an SDES chunk without its terminating null item, a reserved transport-cc symbol.
    case badPacket(type: UInt8)
    /// Building: a field does not fit the wire format (more than 31 reports/chunks/SSRCs, a body that is not
    /// a multiple of 4 bytes, an SDES item or BYE reason over 255 bytes, a packet over 262144 bytes).
    case fieldOutOfRange
}
