/// A typed header-extension value with the URI SDP negotiates it by (`a=extmap:<id> <uri>`).
public protocol RTPHeaderExtensionValue: Hashable, Sendable {
    /// The extension's URI.
    static var uri: String { get }
    /// Decodes the element data.
    init(extensionData: UnsafeRawBufferPointer) throws(RTPError)
    /// The element data.
    var extensionData: [UInt8] { get }
}

extension RTPHeaderExtensionValue {
    /// Decodes the element data.
    public init(extensionData: [UInt8]) throws(RTPError) {
        self = try withRawBytes(extensionData) { (raw) throws(RTPError) in try Self(extensionData: raw) }
    }
}

/// Client-to-mixer audio level (RFC 6464): voice activity flag and level in −dBov.
///
/// ```
///  0 1 2 3 4 5 6 7
/// +-+-+-+-+-+-+-+-+
/// |V|    level    |
/// +-+-+-+-+-+-+-+-+
/// ```
public struct AudioLevelExtension: RTPHeaderExtensionValue {
    /// The `a=extmap` URI.
    public static let uri = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

    /// The V bit: the sender believes the packet contains voice.
    public var voiceActivity: Bool
    /// The level, 0 (loudest, 0 dBov) to 127 (−127 dBov, silence).
    public var level: UInt8

    /// Creates a value; `level` is clamped to 0–127.
    public init(voiceActivity: Bool, level: UInt8) {
        self.voiceActivity = voiceActivity
        self.level = min(level, 127)
    }

    /// Decodes the element data; throws ``RTPError/badExtensionValue`` for a wrong size.
    public init(extensionData data: UnsafeRawBufferPointer) throws(RTPError) {
        guard data.count == 1 else { throw .badExtensionValue }
        voiceActivity = data[0] & 0x80 != 0
        level = data[0] & 0x7F
    }

    /// The element data.
    public var extensionData: [UInt8] {
        [(voiceActivity ? 0x80 : 0) | (level & 0x7F)]
    }
}

/// Absolute send time: 24 bits of an NTP time in 6.18 fixed point (6 bits of seconds, 18 of fraction),
/// wrapping every 64 s; used by receive-side bandwidth estimation.
public struct AbsoluteSendTimeExtension: RTPHeaderExtensionValue {
    /// The `a=extmap` URI.
    public static let uri = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"

    /// The 24-bit 6.18 fixed-point value.
    public var rawValue: UInt32

    /// Creates a value from its 24 bits (higher bits dropped).
    public init(rawValue: UInt32) {
        self.rawValue = rawValue & 0x00FF_FFFF
    }

    /// Creates a value from an NTP time: bits 14–37 of the 64-bit timestamp (6 low bits of seconds,
    /// 18 high bits of fraction).
    public init(_ time: NTPTimestamp) {
        self.init(rawValue: UInt32(truncatingIfNeeded: time.rawValue >> 14))
    }

    /// Decodes the element data; throws ``RTPError/badExtensionValue`` for a wrong size.
    public init(extensionData data: UnsafeRawBufferPointer) throws(RTPError) {
        guard data.count == 3 else { throw .badExtensionValue }
        rawValue = UInt32(data[0]) << 16 | UInt32(data[1]) << 8 | UInt32(data[2])
    }

    /// The element data.
    public var extensionData: [UInt8] {
        [UInt8(truncatingIfNeeded: rawValue >> 16), UInt8(truncatingIfNeeded: rawValue >> 8),
         UInt8(truncatingIfNeeded: rawValue)]
    }
}

/// Transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2): one counter
/// over every packet of the transport, which transport-cc feedback refers to.
public struct TransportSequenceNumberExtension: RTPHeaderExtensionValue {
    /// The `a=extmap` URI.
    public static let uri = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

    /// The 16-bit transport-wide sequence number.
    public var sequenceNumber: UInt16

    /// Creates a value.
    public init(sequenceNumber: UInt16) {
        self.sequenceNumber = sequenceNumber
    }

    /// Decodes the element data; throws ``RTPError/badExtensionValue`` for a wrong size.
    public init(extensionData data: UnsafeRawBufferPointer) throws(RTPError) {
        guard data.count == 2 else { throw .badExtensionValue }
        sequenceNumber = data.loadBigEndianUInt16(at: 0)
    }

    /// The element data.
    public var extensionData: [UInt8] {
        [UInt8(truncatingIfNeeded: sequenceNumber >> 8), UInt8(truncatingIfNeeded: sequenceNumber)]
    }
}

/// Absolute capture time: the NTP time the first sample was captured, optionally with the sender's
/// estimate of the offset between its clock and the capturer's (both 64-bit, the offset signed Q32.32).
public struct AbsoluteCaptureTimeExtension: RTPHeaderExtensionValue {
    /// The `a=extmap` URI.
    public static let uri = "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time"

    /// The capture time.
    public var captureTimestamp: NTPTimestamp
    /// The estimated capture clock offset, signed Q32.32 seconds.
    public var estimatedCaptureClockOffset: Int64?

    /// Creates a value.
    public init(captureTimestamp: NTPTimestamp, estimatedCaptureClockOffset: Int64? = nil) {
        self.captureTimestamp = captureTimestamp
        self.estimatedCaptureClockOffset = estimatedCaptureClockOffset
    }

    /// Decodes the element data; throws ``RTPError/badExtensionValue`` for a wrong size.
    public init(extensionData data: UnsafeRawBufferPointer) throws(RTPError) {
        guard data.count == 8 || data.count == 16 else { throw .badExtensionValue }
        captureTimestamp = NTPTimestamp(rawValue: data.loadBigEndianUInt64(at: 0))
        estimatedCaptureClockOffset = data.count == 16
            ? Int64(bitPattern: data.loadBigEndianUInt64(at: 8)) : nil
    }

    /// The element data.
    public var extensionData: [UInt8] {
        var writer = ByteWriter(capacity: 16)
        writer.writeUInt64(captureTimestamp.rawValue)
        if let offset = estimatedCaptureClockOffset { writer.writeUInt64(UInt64(bitPattern: offset)) }
        return writer.bytes
    }
}

/// The media identification (`a=mid`) the packet belongs to (RFC 8843 §15.1): a non-empty string.
public struct MediaIdentifierExtension: RTPHeaderExtensionValue {
    /// The `a=extmap` URI.
    public static let uri = "urn:ietf:params:rtp-hdrext:sdes:mid"

    /// The MID.
    public var mid: String

    /// Creates a value.
    public init(mid: String) {
        self.mid = mid
    }

    /// Decodes the element data; throws ``RTPError/badExtensionValue`` for a wrong size.
    public init(extensionData data: UnsafeRawBufferPointer) throws(RTPError) {
        guard !data.isEmpty else { throw .badExtensionValue }
        mid = String(decoding: data, as: UTF8.self)
    }

    /// The element data.
    /// The element data.
    public var extensionData: [UInt8] { Array(mid.utf8) }
}
