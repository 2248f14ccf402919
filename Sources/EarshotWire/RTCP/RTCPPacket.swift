/// The common header of every RTCP packet (RFC 3550 §6.4.1):
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |V=2|P|  count  |      PT       |             length            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
/// `count` is the report count, source count, FMT or subtype depending on PT; `length` is the packet
/// length in 32-bit words minus one.
public struct RTCPPacketHeader: Hashable, Sendable {
    /// The padding bit.
    public var hasPadding: Bool
    /// The 5-bit count / FMT / subtype field.
    public var count: UInt8
    /// The packet type.
    public var packetType: UInt8
    /// The whole packet length in bytes, header and padding included.
    public var packetLength: Int
}

/// RTCP packet type numbers (RFC 3550 §12.1, RFC 4585 §6.1, RFC 3611 §2).
public enum RTCPPacketType {
    /// SR (RFC 3550 §6.4.1).
    public static let senderReport: UInt8 = 200
    /// RR (RFC 3550 §6.4.2).
    public static let receiverReport: UInt8 = 201
    /// SDES (RFC 3550 §6.5).
    public static let sourceDescription: UInt8 = 202
    /// BYE (RFC 3550 §6.6).
    public static let goodbye: UInt8 = 203
    /// APP (RFC 3550 §6.7).
    public static let application: UInt8 = 204
    /// Transport-layer feedback (RTPFB).
    public static let transportFeedback: UInt8 = 205
    /// Payload-specific feedback (PSFB).
    public static let payloadFeedback: UInt8 = 206
    /// XR (RFC 3611).
    public static let extendedReport: UInt8 = 207
}

/// An RTCP packet kept as its header fields and body, for types this module does not decode (APP, XR,
/// other feedback formats, unknown types).
public struct RTCPRawPacket: Hashable, Sendable {
    /// The 5-bit count / FMT / subtype field.
    public var count: UInt8
    /// The packet type.
    public var packetType: UInt8
    /// The body after the 4-byte header, padding removed; a multiple of 4 bytes to be written.
    public var body: [UInt8]

    /// Creates a raw packet.
    public init(count: UInt8, packetType: UInt8, body: [UInt8]) {
        self.count = count
        self.packetType = packetType
        self.body = body
    }
}

/// One RTCP packet.
public enum RTCPPacket: Hashable, Sendable {
    /// SR (200).
    case senderReport(RTCPSenderReport)
    /// RR (201).
    case receiverReport(RTCPReceiverReport)
    /// SDES (202).
    case sourceDescription(RTCPSourceDescription)
    /// BYE (203).
    case goodbye(RTCPGoodbye)
    /// APP (204), carried through undecoded.
    case application(RTCPRawPacket)
    /// XR (207), carried through undecoded.
    case extendedReport(RTCPRawPacket)
    /// RTPFB FMT 1: generic NACK (RFC 4585 §6.2.1).
    case genericNACK(RTCPGenericNACK)
    /// RTPFB FMT 15: transport-wide congestion control feedback.
    case transportFeedback(RTCPTransportFeedback)
    /// PSFB FMT 1: picture loss indication (RFC 4585 §6.3.1).
    case pictureLossIndication(RTCPPictureLossIndication)
    /// Any other type or feedback format, carried through undecoded.
    case other(RTCPRawPacket)

    /// The packet type number.
    public var packetType: UInt8 {
        switch self {
        case .senderReport: RTCPPacketType.senderReport
        case .receiverReport: RTCPPacketType.receiverReport
        case .sourceDescription: RTCPPacketType.sourceDescription
        case .goodbye: RTCPPacketType.goodbye
        case .application(let raw), .extendedReport(let raw), .other(let raw): raw.packetType
        case .genericNACK, .transportFeedback: RTCPPacketType.transportFeedback
        case .pictureLossIndication: RTCPPacketType.payloadFeedback
        }
    }

    /// Decodes one packet body (padding already removed).
    static func decode(header: RTCPPacketHeader, body: UnsafeRawBufferPointer) throws(RTCPError) -> RTCPPacket {
        let count = header.count
        switch (header.packetType, count) {
        case (RTCPPacketType.senderReport, _):
            return .senderReport(try RTCPSenderReport(body: body, reportCount: count))
        case (RTCPPacketType.receiverReport, _):
            return .receiverReport(try RTCPReceiverReport(body: body, reportCount: count))
        case (RTCPPacketType.sourceDescription, _):
            return .sourceDescription(try RTCPSourceDescription(body: body, sourceCount: count))
        case (RTCPPacketType.goodbye, _):
            return .goodbye(try RTCPGoodbye(body: body, sourceCount: count))
        case (RTCPPacketType.application, _):
            return .application(RTCPRawPacket(count: count, packetType: header.packetType, body: Array(body)))
        case (RTCPPacketType.extendedReport, _):
            return .extendedReport(RTCPRawPacket(count: count, packetType: header.packetType, body: Array(body)))
        case (RTCPPacketType.transportFeedback, RTCPGenericNACK.format):
            return .genericNACK(try RTCPGenericNACK(body: body))
        case (RTCPPacketType.transportFeedback, RTCPTransportFeedback.format):
            return .transportFeedback(try RTCPTransportFeedback(body: body))
        case (RTCPPacketType.payloadFeedback, RTCPPictureLossIndication.format):
            return .pictureLossIndication(try RTCPPictureLossIndication(body: body))
        default:
            return .other(RTCPRawPacket(count: count, packetType: header.packetType, body: Array(body)))
        }
    }

    /// The count field and body writer of this packet.
    private var countField: UInt8 {
        switch self {
        case .senderReport(let report): UInt8(truncatingIfNeeded: report.reportBlocks.count)
        case .receiverReport(let report): UInt8(truncatingIfNeeded: report.reportBlocks.count)
        case .sourceDescription(let sdes): UInt8(truncatingIfNeeded: sdes.chunks.count)
        case .goodbye(let bye): UInt8(truncatingIfNeeded: bye.ssrcs.count)
        case .application(let raw), .extendedReport(let raw), .other(let raw): raw.count
        case .genericNACK: RTCPGenericNACK.format
        case .transportFeedback: RTCPTransportFeedback.format
        case .pictureLossIndication: RTCPPictureLossIndication.format
        }
    }

    /// The body length in bytes (a multiple of 4 for every valid packet).
    var bodySize: Int {
        switch self {
        case .senderReport(let report): report.bodySize
        case .receiverReport(let report): report.bodySize
        case .sourceDescription(let sdes): sdes.bodySize
        case .goodbye(let bye): bye.bodySize
        case .application(let raw), .extendedReport(let raw), .other(let raw): raw.body.count
        case .genericNACK(let nack): nack.bodySize
        case .transportFeedback(let feedback): feedback.bodySize
        case .pictureLossIndication: 8
        }
    }

    /// The packet length on the wire.
    public var serializedSize: Int { 4 + bodySize }

    func validate() throws(RTCPError) {
        guard countField <= 31, bodySize % 4 == 0, bodySize / 4 <= 0xFFFF else { throw .fieldOutOfRange }
        switch self {
        case .sourceDescription(let sdes): try sdes.validate()
        case .goodbye(let bye): try bye.validate()
        case .transportFeedback(let feedback): try feedback.validate()
        default: break
        }
    }

    /// Appends the packet (without padding) to `writer`. Nothing is written if a field does not fit.
    public func serialize(into writer: inout ByteWriter) throws(RTCPError) {
        try validate()
        writer.writeUInt8(2 << 6 | countField)  // version 2, no padding
        writer.writeUInt8(packetType)
        writer.writeUInt16(UInt16(truncatingIfNeeded: bodySize / 4))  // (4 + body) / 4 − 1 words
        switch self {
        case .senderReport(let report): report.writeBody(to: &writer)
        case .receiverReport(let report): report.writeBody(to: &writer)
        case .sourceDescription(let sdes): sdes.writeBody(to: &writer)
        case .goodbye(let bye): bye.writeBody(to: &writer)
        case .application(let raw), .extendedReport(let raw), .other(let raw): writer.write(raw.body)
        case .genericNACK(let nack): nack.writeBody(to: &writer)
        case .transportFeedback(let feedback): feedback.writeBody(to: &writer)
        case .pictureLossIndication(let pli): pli.writeBody(to: &writer)
        }
    }

    /// The packet as bytes.
    public func serialized() throws(RTCPError) -> [UInt8] {
        var writer = ByteWriter(capacity: serializedSize)
        try serialize(into: &writer)
        return writer.bytes
    }
}

/// A compound RTCP packet (RFC 3550 §6.1), or a reduced-size one (RFC 5506): one or more RTCP packets
/// stacked in one datagram.
///
/// Parsing checks every packet's version, length and padding, and that the packets exactly fill the
/// buffer. It does not insist that a compound packet starts with SR or RR, since reduced-size RTCP
/// (RFC 5506 §3.4.2, used by browsers for feedback) need not; ``startsWithReport`` tells the two apart.
/// Padding is accepted on any packet (RFC 3550 reserves it for the last, but senders differ) and removed.
public struct RTCPCompoundPacket: Hashable, Sendable {
    /// The packets in order.
    public var packets: [RTCPPacket]

    /// Creates a compound packet.
    public init(packets: [RTCPPacket]) {
        self.packets = packets
    }

    /// Whether the first packet is SR or RR, as a full compound packet requires (RFC 3550 §6.1).
    public var startsWithReport: Bool {
        switch packets.first {
        case .senderReport, .receiverReport: true
        default: false
        }
    }

    /// Calls `body` with the header and byte range (header to padding) of each packet in `bytes`, after
    /// checking version, length and padding, without decoding or copying.
    public static func forEachPacket(
        in bytes: UnsafeRawBufferPointer, _ body: (_ header: RTCPPacketHeader, _ range: Range<Int>) throws(RTCPError) -> Void
    ) throws(RTCPError) {
        guard !bytes.isEmpty else { throw .truncated }
        var offset = 0
        while offset < bytes.count {
            guard bytes.count - offset >= 4 else { throw .truncated }
            let first = bytes[offset]
            let version = first >> 6
            guard version == 2 else { throw .badVersion(version) }
            let length = (Int(bytes.loadBigEndianUInt16(at: offset + 2)) + 1) * 4
            guard length <= bytes.count - offset else { throw .badLength }
            let header = RTCPPacketHeader(
                hasPadding: first & 0x20 != 0, count: first & 0x1F, packetType: bytes[offset + 1], packetLength: length)
            if header.hasPadding {
                // The last byte counts the padding, itself included, "a multiple of four" (RFC 3550 §6.4.1).
                let padding = Int(bytes[offset + length - 1])
                guard padding > 0, padding % 4 == 0, padding <= length - 4 else { throw .badPadding }
            }
            try body(header, offset..<(offset + length))
            offset += length
        }
    }

    /// Parses every packet of the compound packet occupying all of `bytes`.
    public init(parsing bytes: UnsafeRawBufferPointer) throws(RTCPError) {
        var packets: [RTCPPacket] = []
        try Self.forEachPacket(in: bytes) { (header, range) throws(RTCPError) in
            let padding = header.hasPadding ? Int(bytes[range.upperBound - 1]) : 0
            let body = UnsafeRawBufferPointer(rebasing: bytes[(range.lowerBound + 4)..<(range.upperBound - padding)])
            packets.append(try RTCPPacket.decode(header: header, body: body))
        }
        self.init(packets: packets)
    }

    /// Parses every packet of the compound packet occupying all of `bytes`.
    public init(parsing bytes: [UInt8]) throws(RTCPError) {
        self = try withRawBytes(bytes) { (raw) throws(RTCPError) in try RTCPCompoundPacket(parsing: raw) }
    }

    /// Parses every packet of the compound packet occupying all of `bytes`.
    public init(parsing bytes: ArraySlice<UInt8>) throws(RTCPError) {
        self = try withRawBytes(bytes) { (raw) throws(RTCPError) in try RTCPCompoundPacket(parsing: raw) }
    }

    /// The length on the wire.
    public var serializedSize: Int {
        packets.reduce(0) { $0 + $1.serializedSize }
    }

    /// Appends every packet to `writer`; nothing is written if any packet has a field that does not fit.
    public func serialize(into writer: inout ByteWriter) throws(RTCPError) {
        for packet in packets { try packet.validate() }
        writer.reserveCapacity(additional: serializedSize)
        for packet in packets { try packet.serialize(into: &writer) }
    }

    /// The compound packet as bytes.
    public func serialized() throws(RTCPError) -> [UInt8] {
        var writer = ByteWriter(capacity: serializedSize)
        try serialize(into: &writer)
        return writer.bytes
    }
}
