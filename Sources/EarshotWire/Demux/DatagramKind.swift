/// What a datagram received on a multiplexed WebRTC port carries, told by its first byte
/// (RFC 7983 §7) and, for RTP versus RTCP, by its second (RFC 5761 §4).
///
/// ```
///              +----------------+
///              |        [0..3] -+--> STUN
///              |      [16..19] -+--> ZRTP (dropped by WebRTC)
///  packet -->  |      [20..63] -+--> DTLS
///              |      [64..79] -+--> TURN channel (dropped unless relaying)
///              |    [128..191] -+--> RTP / RTCP
///              +----------------+
/// ```
/// For 128–191 the second byte holds the marker bit and payload type. RTCP packet types 192–223 read,
/// with the marker bit folded away, as payload types 64–95, which RTP must therefore not use when
/// muxed with RTCP (RFC 5761 §4).
public enum DatagramKind: Hashable, Sendable {
    case stun
    case zrtp
    case dtls
    case turnChannel
    case rtp
    case rtcp
    /// Empty, a first byte outside every range, or an RTP/RTCP first byte without a second byte.
    case unknown

    /// Classifies a datagram from its first two bytes.
    public init(classifying bytes: UnsafeRawBufferPointer) {
        guard let first = bytes.first else {
            self = .unknown
            return
        }
        switch first {
        case 0...3: self = .stun
        case 16...19: self = .zrtp
        case 20...63: self = .dtls
        case 64...79: self = .turnChannel
        case 128...191:
            guard bytes.count >= 2 else {
                self = .unknown
                return
            }
            // Payload type with the marker bit cleared: 64–95 are RTCP packet types 192–223.
            self = (64...95).contains(bytes[1] & 0x7F) ? .rtcp : .rtp
        default: self = .unknown
        }
    }

    /// Classifies a datagram from its first two bytes.
    public init(classifying bytes: [UInt8]) {
        self = bytes.withUnsafeBytes { DatagramKind(classifying: $0) }
    }

    /// Classifies a datagram from its first two bytes.
    public init(classifying bytes: ArraySlice<UInt8>) {
        self = bytes.withUnsafeBytes { DatagramKind(classifying: $0) }
    }
}
