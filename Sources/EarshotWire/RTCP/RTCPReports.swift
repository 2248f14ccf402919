/// One reception report block of an SR or RR (RFC 3550 §6.4.1):
/// ```
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// |                 SSRC_1 (SSRC of first source)                 |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | fraction lost |       cumulative number of packets lost       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           extended highest sequence number received           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                      interarrival jitter                      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         last SR (LSR)                         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                   delay since last SR (DLSR)                  |
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// ```
public struct RTCPReportBlock: Hashable, Sendable {
    /// The source this block reports on.
    public var ssrc: UInt32
    /// Packets lost since the previous report, as a fraction of 256.
    public var fractionLost: UInt8
    /// Cumulative packets lost, a 24-bit signed value on the wire (negative with duplicates); written
    /// saturated to −8388608…8388607.
    public var cumulativeLost: Int32
    /// The highest sequence number received, extended with the cycle count in the high 16 bits.
    public var extendedHighestSequenceNumber: UInt32
    /// Interarrival jitter in timestamp units.
    public var jitter: UInt32
    /// The middle 32 bits of the NTP timestamp of the last SR received from this source (0: none yet).
    public var lastSenderReport: UInt32
    /// The delay between receiving that SR and sending this block, in units of 1/65536 s.
    public var delaySinceLastSenderReport: UInt32

    /// Creates a report block.
    public init(
        ssrc: UInt32, fractionLost: UInt8, cumulativeLost: Int32, extendedHighestSequenceNumber: UInt32,
        jitter: UInt32, lastSenderReport: UInt32, delaySinceLastSenderReport: UInt32
    ) {
        self.ssrc = ssrc
        self.fractionLost = fractionLost
        self.cumulativeLost = cumulativeLost
        self.extendedHighestSequenceNumber = extendedHighestSequenceNumber
        self.jitter = jitter
        self.lastSenderReport = lastSenderReport
        self.delaySinceLastSenderReport = delaySinceLastSenderReport
    }

    /// The round-trip time seen by the sender of the SR this block answers (RFC 3550 §6.4.1, Figure 2):
    /// `A − LSR − DLSR` with `A` the middle 32 bits of the block's arrival time, in units of 1/65536 s.
    /// `nil` when no SR was received yet (LSR 0) or the result would be negative (clock trouble).
    public func roundTripTime(arrival: NTPTimestamp) -> UInt32? {
        guard lastSenderReport != 0 else { return nil }
        let rtt = arrival.middle32 &- lastSenderReport &- delaySinceLastSenderReport
        return Int32(bitPattern: rtt) >= 0 ? rtt : nil
    }

    /// ``roundTripTime(arrival:)`` as a duration.
    public func roundTripDuration(arrival: NTPTimestamp) -> Duration? {
        roundTripTime(arrival: arrival).map(RTCPReportBlock.duration(compactNTP:))
    }

    /// Converts a duration to the 1/65536 s units of DLSR, saturating at 0 and UInt32.max.
    public static func compactNTP(_ duration: Duration) -> UInt32 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0, attoseconds >= 0 else { return 0 }
        guard seconds < 65536 else { return .max }
        // units = attoseconds × 65536 / 10^18, in 128-bit arithmetic (the product overflows 64 bits).
        let product = UInt64(attoseconds).multipliedFullWidth(by: 65536)
        let fraction = UInt64(1_000_000_000_000_000_000).dividingFullWidth(product).quotient
        return UInt32(seconds) << 16 | UInt32(truncatingIfNeeded: fraction)
    }

    /// Converts 1/65536 s units to a duration.
    public static func duration(compactNTP value: UInt32) -> Duration {
        .seconds(Int64(value >> 16)) + .nanoseconds(Int64(value & 0xFFFF) * 1_000_000_000 / 65536)
    }

    static let size = 24

    init(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        ssrc = bytes.loadBigEndianUInt32(at: offset)
        fractionLost = bytes[offset + 4]
        // Sign-extend the 24-bit cumulative count.
        let raw = bytes.loadBigEndianUInt32(at: offset + 4) & 0x00FF_FFFF
        cumulativeLost = Int32(bitPattern: raw << 8) >> 8
        extendedHighestSequenceNumber = bytes.loadBigEndianUInt32(at: offset + 8)
        jitter = bytes.loadBigEndianUInt32(at: offset + 12)
        lastSenderReport = bytes.loadBigEndianUInt32(at: offset + 16)
        delaySinceLastSenderReport = bytes.loadBigEndianUInt32(at: offset + 20)
    }

    func write(to writer: inout ByteWriter) {
        writer.writeUInt32(ssrc)
        writer.writeUInt8(fractionLost)
        let saturated = min(max(cumulativeLost, -0x80_0000), 0x7F_FFFF)
        writer.writeUInt24(UInt32(bitPattern: saturated))
        writer.writeUInt32(extendedHighestSequenceNumber)
        writer.writeUInt32(jitter)
        writer.writeUInt32(lastSenderReport)
        writer.writeUInt32(delaySinceLastSenderReport)
    }

    static func readBlocks(
        _ body: UnsafeRawBufferPointer, from offset: Int, count: UInt8, type: UInt8
    ) throws(RTCPError) -> (blocks: [RTCPReportBlock], end: Int) {
        let end = offset + Int(count) * size
        guard end <= body.count else { throw .badPacket(type: type) }
        let blocks = (0..<Int(count)).map { RTCPReportBlock(body, at: offset + $0 * size) }
        return (blocks, end)
    }
}

/// Maps NTP time to a stream's RTP timestamps: the RTP timestamp `rtpTimestamp` was sampled at `time`,
/// and the media clock runs at `clockRate` Hz. Used to put a consistent RTP timestamp in an SR.
public struct RTPClockReference: Hashable, Sendable {
    /// The reference NTP time.
    public var time: NTPTimestamp
    /// The RTP timestamp at ``time``.
    public var rtpTimestamp: UInt32
    /// The media clock rate (48000 for Opus).
    public var clockRate: UInt32

    /// Creates a reference.
    public init(time: NTPTimestamp, rtpTimestamp: UInt32, clockRate: UInt32) {
        self.time = time
        self.rtpTimestamp = rtpTimestamp
        self.clockRate = clockRate
    }

    /// The RTP timestamp at `now`, extrapolated from the reference and rounded to the nearest tick.
    public func rtpTimestamp(at now: NTPTimestamp) -> UInt32 {
        // Signed NTP difference in 2^-32 s units; valid within ±68 years of the reference.
        let difference = Int64(bitPattern: now.rawValue &- time.rawValue)
        let product = difference.magnitude.multipliedFullWidth(by: UInt64(clockRate))
        // ticks = round(|difference| × clockRate / 2^32): add half a tick (2^31) to the 128-bit product,
        // then shift right by 32.
        let (low, carry) = product.low.addingReportingOverflow(1 << 31)
        let high = product.high &+ (carry ? 1 : 0)
        let ticks = UInt32(truncatingIfNeeded: high << 32 | low >> 32)
        return difference >= 0 ? rtpTimestamp &+ ticks : rtpTimestamp &- ticks
    }
}

/// Sender report (RFC 3550 §6.4.1):
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |V=2|P|    RC   |   PT=SR=200   |             length            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         SSRC of sender                        |
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// |              NTP timestamp, most significant word             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |             NTP timestamp, least significant word             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         RTP timestamp                         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                     sender's packet count                     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                      sender's octet count                     |
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// |                 report blocks (RC × 24 bytes)                 |
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// |                  profile-specific extensions                  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
public struct RTCPSenderReport: Hashable, Sendable {
    /// The sender's SSRC.
    public var ssrc: UInt32
    /// The wallclock time the report was sent.
    public var ntpTimestamp: NTPTimestamp
    /// The same instant in the stream's RTP timestamp units.
    public var rtpTimestamp: UInt32
    /// Packets sent since the stream started.
    public var packetCount: UInt32
    /// Payload octets sent since the stream started.
    public var octetCount: UInt32
    /// Reception reports (at most 31).
    public var reportBlocks: [RTCPReportBlock]
    /// Profile-specific extension bytes after the report blocks (a multiple of 4).
    public var profileExtension: [UInt8]

    /// Creates a sender report.
    public init(
        ssrc: UInt32, ntpTimestamp: NTPTimestamp, rtpTimestamp: UInt32, packetCount: UInt32, octetCount: UInt32,
        reportBlocks: [RTCPReportBlock] = [], profileExtension: [UInt8] = []
    ) {
        self.ssrc = ssrc
        self.ntpTimestamp = ntpTimestamp
        self.rtpTimestamp = rtpTimestamp
        self.packetCount = packetCount
        self.octetCount = octetCount
        self.reportBlocks = reportBlocks
        self.profileExtension = profileExtension
    }

    /// Creates a sender report for `now` (read by the caller), with the RTP timestamp the stream's clock
    /// shows at that instant.
    public init(
        ssrc: UInt32, now: NTPTimestamp, clock: RTPClockReference, packetCount: UInt32, octetCount: UInt32,
        reportBlocks: [RTCPReportBlock] = []
    ) {
        self.init(ssrc: ssrc, ntpTimestamp: now, rtpTimestamp: clock.rtpTimestamp(at: now),
                  packetCount: packetCount, octetCount: octetCount, reportBlocks: reportBlocks)
    }

    init(body: UnsafeRawBufferPointer, reportCount: UInt8) throws(RTCPError) {
        guard body.count >= 24 else { throw .truncated }
        ssrc = body.loadBigEndianUInt32(at: 0)
        ntpTimestamp = NTPTimestamp(rawValue: body.loadBigEndianUInt64(at: 4))
        rtpTimestamp = body.loadBigEndianUInt32(at: 12)
        packetCount = body.loadBigEndianUInt32(at: 16)
        octetCount = body.loadBigEndianUInt32(at: 20)
        let (blocks, end) = try RTCPReportBlock.readBlocks(
            body, from: 24, count: reportCount, type: RTCPPacketType.senderReport)
        reportBlocks = blocks
        profileExtension = Array(body[end...])
    }

    var bodySize: Int { 24 + RTCPReportBlock.size * reportBlocks.count + profileExtension.count }

    func writeBody(to writer: inout ByteWriter) {
        writer.writeUInt32(ssrc)
        writer.writeUInt64(ntpTimestamp.rawValue)
        writer.writeUInt32(rtpTimestamp)
        writer.writeUInt32(packetCount)
        writer.writeUInt32(octetCount)
        for block in reportBlocks { block.write(to: &writer) }
        writer.write(profileExtension)
    }
}

/// Receiver report (RFC 3550 §6.4.2): header, the reporter's SSRC, report blocks, profile extensions.
public struct RTCPReceiverReport: Hashable, Sendable {
    /// The reporter's SSRC.
    public var ssrc: UInt32
    /// Reception reports (at most 31).
    public var reportBlocks: [RTCPReportBlock]
    /// Profile-specific extension bytes after the report blocks (a multiple of 4).
    public var profileExtension: [UInt8]

    /// Creates a receiver report.
    public init(ssrc: UInt32, reportBlocks: [RTCPReportBlock] = [], profileExtension: [UInt8] = []) {
        self.ssrc = ssrc
        self.reportBlocks = reportBlocks
        self.profileExtension = profileExtension
    }

    init(body: UnsafeRawBufferPointer, reportCount: UInt8) throws(RTCPError) {
        guard body.count >= 4 else { throw .truncated }
        ssrc = body.loadBigEndianUInt32(at: 0)
        let (blocks, end) = try RTCPReportBlock.readBlocks(
            body, from: 4, count: reportCount, type: RTCPPacketType.receiverReport)
        reportBlocks = blocks
        profileExtension = Array(body[end...])
    }

    var bodySize: Int { 4 + RTCPReportBlock.size * reportBlocks.count + profileExtension.count }

    func writeBody(to writer: inout ByteWriter) {
        writer.writeUInt32(ssrc)
        for block in reportBlocks { block.write(to: &writer) }
        writer.write(profileExtension)
    }
}
