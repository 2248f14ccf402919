/// The header fields of an RTP packet (RFC 3550 §5.1; see ``RTPPacketLayout`` for the diagram).
public struct RTPHeader: Hashable, Sendable {
    /// The marker bit (for audio: the first packet after silence).
    public var marker: Bool
    /// The 7-bit payload type.
    public var payloadType: UInt8
    /// The sequence number.
    public var sequenceNumber: UInt16
    /// The media timestamp.
    public var timestamp: UInt32
    /// The synchronization source.
    public var ssrc: UInt32
    /// Contributing sources (at most 15).
    public var csrcs: [UInt32]
    /// The header extension, if the X bit is set.
    public var headerExtension: RTPHeaderExtension?

    /// Creates a header.
    public init(
        marker: Bool = false, payloadType: UInt8, sequenceNumber: UInt16, timestamp: UInt32, ssrc: UInt32,
        csrcs: [UInt32] = [], headerExtension: RTPHeaderExtension? = nil
    ) {
        self.marker = marker
        self.payloadType = payloadType
        self.sequenceNumber = sequenceNumber
        self.timestamp = timestamp
        self.ssrc = ssrc
        self.csrcs = csrcs
        self.headerExtension = headerExtension
    }

    /// The header length on the wire.
    public var serializedSize: Int {
        12 + 4 * csrcs.count + (headerExtension.map { 4 + $0.data.count } ?? 0)
    }

    func validate() throws(RTPError) {
        guard payloadType <= 127, csrcs.count <= 15 else { throw .fieldOutOfRange }
        if let headerExtension {
            // The extension length field counts 32-bit words in 16 bits.
            guard headerExtension.data.count % 4 == 0, headerExtension.data.count / 4 <= 0xFFFF else {
                throw .fieldOutOfRange
            }
        }
    }

    func write(to writer: inout ByteWriter, padding: Bool) {
        var first: UInt8 = 2 << 6  // version 2
        if padding { first |= 0x20 }
        if headerExtension != nil { first |= 0x10 }
        first |= UInt8(csrcs.count)
        writer.writeUInt8(first)
        writer.writeUInt8((marker ? 0x80 : 0) | payloadType)
        writer.writeUInt16(sequenceNumber)
        writer.writeUInt32(timestamp)
        writer.writeUInt32(ssrc)
        for csrc in csrcs { writer.writeUInt32(csrc) }
        if let headerExtension {
            writer.writeUInt16(headerExtension.profile)
            writer.writeUInt16(UInt16(truncatingIfNeeded: headerExtension.data.count / 4))
            writer.write(headerExtension.data)
        }
    }
}

/// An RTP packet with its header, payload and padding copied out of the wire buffer.
///
/// For the forwarding hot path prefer ``RTPPacketLayout``, which only records offsets.
public struct RTPPacket: Hashable, Sendable {
    /// The header.
    public var header: RTPHeader
    /// The payload.
    public var payload: [UInt8]
    /// Padding bytes after the payload, the count byte included (0 for none). Written as zeros followed
    /// by the count.
    public var paddingLength: UInt8

    /// Creates a packet.
    public init(header: RTPHeader, payload: [UInt8], paddingLength: UInt8 = 0) {
        self.header = header
        self.payload = payload
        self.paddingLength = paddingLength
    }

    /// Copies a packet out of a parsed layout and the buffer it was parsed from.
    public init(layout: RTPPacketLayout, bytes: UnsafeRawBufferPointer) throws(RTPError) {
        guard layout.payloadRange.upperBound + layout.paddingLength <= bytes.count else { throw .truncated }
        var csrcs: [UInt32] = []
        csrcs.reserveCapacity(layout.csrcCount)
        for index in 0..<layout.csrcCount {
            csrcs.append(bytes.loadBigEndianUInt32(at: 12 + 4 * index))
        }
        header = RTPHeader(
            marker: layout.marker, payloadType: layout.payloadType, sequenceNumber: layout.sequenceNumber,
            timestamp: layout.timestamp, ssrc: layout.ssrc, csrcs: csrcs,
            headerExtension: layout.extensionProfile.map {
                RTPHeaderExtension(profile: $0, data: Array(bytes[layout.extensionRange]))
            })
        payload = Array(bytes[layout.payloadRange])
        paddingLength = UInt8(truncatingIfNeeded: layout.paddingLength)
    }

    /// Parses and copies the RTP packet occupying all of `bytes`.
    public init(parsing bytes: UnsafeRawBufferPointer) throws(RTPError) {
        try self.init(layout: try RTPPacketLayout(parsing: bytes), bytes: bytes)
    }

    /// Parses and copies the RTP packet occupying all of `bytes`.
    public init(parsing bytes: [UInt8]) throws(RTPError) {
        self = try withRawBytes(bytes) { (raw) throws(RTPError) in try RTPPacket(parsing: raw) }
    }

    /// Parses and copies the RTP packet occupying all of `bytes`.
    public init(parsing bytes: ArraySlice<UInt8>) throws(RTPError) {
        self = try withRawBytes(bytes) { (raw) throws(RTPError) in try RTPPacket(parsing: raw) }
    }

    /// The packet length on the wire.
    public var serializedSize: Int {
        header.serializedSize + payload.count + Int(paddingLength)
    }

    /// Appends the packet to `writer`. Nothing is written if a field does not fit (``RTPError/fieldOutOfRange``).
    public func serialize(into writer: inout ByteWriter) throws(RTPError) {
        try header.validate()
        writer.reserveCapacity(additional: serializedSize)
        header.write(to: &writer, padding: paddingLength > 0)
        writer.write(payload)
        if paddingLength > 0 {
            writer.writeZeros(Int(paddingLength) - 1)
            writer.writeUInt8(paddingLength)
        }
    }

    /// The packet as bytes.
    public func serialized() throws(RTPError) -> [UInt8] {
        var writer = ByteWriter(capacity: serializedSize)
        try serialize(into: &writer)
        return writer.bytes
    }

    /// Writes the packet at the start of `buffer` without allocating and returns the number of bytes
    /// written (``serializedSize``).
    public func write(into buffer: UnsafeMutableRawBufferPointer) throws(RTPError) -> Int {
        try header.validate()
        let size = serializedSize
        guard size <= buffer.count else { throw .bufferTooSmall }
        var out = UnsafeByteWriter(buffer)
        var first: UInt8 = 2 << 6  // version 2
        if paddingLength > 0 { first |= 0x20 }
        if header.headerExtension != nil { first |= 0x10 }
        out.writeUInt8(first | UInt8(header.csrcs.count))
        out.writeUInt8((header.marker ? 0x80 : 0) | header.payloadType)
        out.writeUInt16(header.sequenceNumber)
        out.writeUInt32(header.timestamp)
        out.writeUInt32(header.ssrc)
        for csrc in header.csrcs { out.writeUInt32(csrc) }
        if let headerExtension = header.headerExtension {
            out.writeUInt16(headerExtension.profile)
            out.writeUInt16(UInt16(truncatingIfNeeded: headerExtension.data.count / 4))
            out.write(headerExtension.data)
        }
        out.write(payload)
        if paddingLength > 0 {
            for _ in 1..<paddingLength { out.writeUInt8(0) }
            out.writeUInt8(paddingLength)
        }
        return out.offset
    }
}
