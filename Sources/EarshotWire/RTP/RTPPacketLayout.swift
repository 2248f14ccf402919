/// The fields and byte ranges of an RTP packet, parsed without copying (RFC 3550 §5.1).
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |V=2|P|X|  CC   |M|     PT      |       sequence number         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                           timestamp                           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           synchronization source (SSRC) identifier            |
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// |            contributing source (CSRC) identifiers             |
/// |                             ....                              |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |      defined by profile       |           length              |  (if X, RFC 3550 §5.3.1;
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+   length in 32-bit words)
/// |                        header extension                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                  payload  ....  | padding ... | padding count |  (if P)
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// Ranges are byte offsets into the buffer that was parsed; pass the same buffer to the accessors.
/// This is the hot-path parser: it neither allocates nor copies.
public struct RTPPacketLayout: Hashable, Sendable {
    /// The marker bit.
    public var marker: Bool
    /// The 7-bit payload type.
    public var payloadType: UInt8
    /// The sequence number.
    public var sequenceNumber: UInt16
    /// The media timestamp.
    public var timestamp: UInt32
    /// The synchronization source.
    public var ssrc: UInt32
    /// The number of CSRC identifiers (0–15), found at offsets 12, 16, … .
    public var csrcCount: Int
    /// The extension profile ("defined by profile" field), or `nil` without the X bit.
    public var extensionProfile: UInt16?
    /// The extension data after its 4-byte header (empty without the X bit).
    public var extensionRange: Range<Int>
    /// The payload, between the header and any padding.
    public var payloadRange: Range<Int>
    /// The padding length including the count byte (0 without the P bit).
    public var paddingLength: Int

    /// The length of the header: fixed part, CSRCs and extension.
    public var headerLength: Int { payloadRange.lowerBound }

    /// Parses the header of the RTP packet occupying all of `bytes`.
    public init(parsing bytes: UnsafeRawBufferPointer) throws(RTPError) {
        guard bytes.count >= 12 else { throw .truncated }
        let first = bytes[0]
        let version = first >> 6
        guard version == 2 else { throw .badVersion(version) }
        let hasPadding = first & 0x20 != 0
        let hasExtension = first & 0x10 != 0
        csrcCount = Int(first & 0x0F)
        marker = bytes[1] & 0x80 != 0
        payloadType = bytes[1] & 0x7F
        sequenceNumber = bytes.loadBigEndianUInt16(at: 2)
        timestamp = bytes.loadBigEndianUInt32(at: 4)
        ssrc = bytes.loadBigEndianUInt32(at: 8)
        var offset = 12 + 4 * csrcCount
        guard offset <= bytes.count else { throw .truncated }
        if hasExtension {
            guard bytes.count - offset >= 4 else { throw .truncated }
            extensionProfile = bytes.loadBigEndianUInt16(at: offset)
            let length = 4 * Int(bytes.loadBigEndianUInt16(at: offset + 2))
            offset += 4
            guard length <= bytes.count - offset else { throw .badExtensionLength }
            extensionRange = offset..<(offset + length)
            offset += length
        } else {
            extensionProfile = nil
            extensionRange = offset..<offset
        }
        var end = bytes.count
        if hasPadding {
            // RFC 3550 §5.1: the last byte counts the padding bytes, itself included, so it cannot be 0.
            let count = Int(bytes[bytes.count - 1])
            guard count > 0, count <= bytes.count - offset else { throw .badPadding }
            end -= count
            paddingLength = count
        } else {
            paddingLength = 0
        }
        payloadRange = offset..<end
    }

    /// Parses the header of the RTP packet occupying all of `bytes`.
    public init(parsing bytes: [UInt8]) throws(RTPError) {
        self = try withRawBytes(bytes) { (raw) throws(RTPError) in try RTPPacketLayout(parsing: raw) }
    }

    /// Parses the header of the RTP packet occupying all of `bytes` (ranges relative to the slice start).
    public init(parsing bytes: ArraySlice<UInt8>) throws(RTPError) {
        self = try withRawBytes(bytes) { (raw) throws(RTPError) in try RTPPacketLayout(parsing: raw) }
    }

    /// The CSRC at `index`, or `nil` if out of range (or `bytes` is not the parsed buffer).
    public func csrc(at index: Int, in bytes: UnsafeRawBufferPointer) -> UInt32? {
        let offset = 12 + 4 * index
        guard index >= 0, index < csrcCount, offset + 4 <= bytes.count else { return nil }
        return bytes.loadBigEndianUInt32(at: offset)
    }

    /// Calls `body` with the ID and byte range of every RFC 8285 element of the header extension.
    /// Does nothing without an extension; throws for a non-RFC 8285 profile or a malformed element.
    public func forEachExtensionElement(
        in bytes: UnsafeRawBufferPointer, _ body: (_ id: UInt8, _ range: Range<Int>) -> Void
    ) throws(RTPError) {
        guard let profile = extensionProfile else { return }
        guard extensionRange.upperBound <= bytes.count else { throw .truncated }
        let base = extensionRange.lowerBound
        try RTPHeaderExtension.walkElements(
            profile: profile, data: UnsafeRawBufferPointer(rebasing: bytes[extensionRange])
        ) { id, range in
            body(id, (base + range.lowerBound)..<(base + range.upperBound))
            return true
        }
    }

    /// The byte range of the first extension element with `id`, or `nil` if absent or malformed.
    public func extensionElement(id: UInt8, in bytes: UnsafeRawBufferPointer) -> Range<Int>? {
        guard let profile = extensionProfile, extensionRange.upperBound <= bytes.count else { return nil }
        var found: Range<Int>?
        let base = extensionRange.lowerBound
        do {
            try RTPHeaderExtension.walkElements(
                profile: profile, data: UnsafeRawBufferPointer(rebasing: bytes[extensionRange])
            ) { elementID, range in
                guard elementID == id else { return true }
                found = (base + range.lowerBound)..<(base + range.upperBound)
                return false
            }
        } catch {
            return nil
        }
        return found
    }

    /// Decodes the first extension element with `id` as `Value`, or `nil` if absent or malformed.
    public func extensionValue<Value: RTPHeaderExtensionValue>(
        _ type: Value.Type, id: UInt8, in bytes: UnsafeRawBufferPointer
    ) -> Value? {
        guard let range = extensionElement(id: id, in: bytes) else { return nil }
        return try? Value(extensionData: UnsafeRawBufferPointer(rebasing: bytes[range]))
    }
}
