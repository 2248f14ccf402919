/// A parsed session description (RFC 8866): the session section followed by the media sections, every line kept.
///
/// Line order within each section follows RFC 8866 §5 when serialized:
/// ```
/// v=  o=  s=  [i=] [u=] *e= *p= [c=] *b= 1*(t= *r=) [z=] [k=] *a=      session
/// m=  [i=] *c= *b= [k=] *a=                                             each media section
/// ```
/// Attributes keep their order; the ones WebRTC needs are parsed into typed cases of `SDPAttribute`, all others are
/// kept verbatim as `.other`.
public struct SessionDescription: Hashable, Sendable {
    public var origin: SDPOrigin
    /// `s=`; WebRTC uses `-`.
    public var sessionName: String
    /// `i=`
    public var information: String?
    /// `u=`
    public var uri: String?
    /// `e=` lines
    public var emails: [String]
    /// `p=` lines
    public var phones: [String]
    public var connection: SDPConnection?
    public var bandwidths: [SDPBandwidth]
    /// `t=` lines, each with its `r=` lines. At least one in a valid description; WebRTC uses `t=0 0`.
    public var timings: [SDPTiming]
    /// `z=`, kept as text.
    public var timeZones: String?
    /// `k=` (obsolete), kept as text.
    public var encryptionKey: String?
    public var attributes: [SDPAttribute]
    public var media: [MediaDescription]

    public init(origin: SDPOrigin, sessionName: String = "-", information: String? = nil, uri: String? = nil,
                emails: [String] = [], phones: [String] = [], connection: SDPConnection? = nil,
                bandwidths: [SDPBandwidth] = [], timings: [SDPTiming] = [SDPTiming(start: 0, stop: 0)],
                timeZones: String? = nil, encryptionKey: String? = nil, attributes: [SDPAttribute] = [],
                media: [MediaDescription] = []) {
        self.origin = origin
        self.sessionName = sessionName
        self.information = information
        self.uri = uri
        self.emails = emails
        self.phones = phones
        self.connection = connection
        self.bandwidths = bandwidths
        self.timings = timings
        self.timeZones = timeZones
        self.encryptionKey = encryptionKey
        self.attributes = attributes
        self.media = media
    }
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>` (RFC 8866 §5.2).
public struct SDPOrigin: Hashable, Sendable {
    public var username: String
    /// Decimal digits; kept as text because RFC 8866 does not bound its size.
    public var sessionID: String
    public var sessionVersion: String
    public var networkType: String
    public var addressType: String
    public var unicastAddress: String

    public init(username: String = "-", sessionID: String, sessionVersion: String, networkType: String = "IN",
                addressType: String = "IP4", unicastAddress: String = "0.0.0.0") {
        self.username = username
        self.sessionID = sessionID
        self.sessionVersion = sessionVersion
        self.networkType = networkType
        self.addressType = addressType
        self.unicastAddress = unicastAddress
    }

    /// An origin with numeric ids, as JSEP (RFC 8829 §5.2.1) writes it: `o=- <id> <version> IN IP4 0.0.0.0`.
    public init(sessionID: UInt64, sessionVersion: UInt64) {
        self.init(sessionID: String(sessionID), sessionVersion: String(sessionVersion))
    }
}

/// `c=<nettype> <addrtype> <connection-address>` (RFC 8866 §5.7). The address is kept as text because it may carry a
/// multicast TTL or count (`224.2.1.1/127/3`); `parsedAddress` reads a unicast one.
public struct SDPConnection: Hashable, Sendable {
    public var networkType: String
    public var addressType: String
    public var address: String

    public init(networkType: String = "IN", addressType: String = "IP4", address: String) {
        self.networkType = networkType
        self.addressType = addressType
        self.address = address
    }

    public init(_ address: SDPAddress) {
        self.init(addressType: address.sdpAddressType, address: address.description)
    }

    public var parsedAddress: SDPAddress? { SDPAddress(address) }

    /// `c=IN IP4 0.0.0.0` as used when the address is not known yet (RFC 8829 §5.2.1).
    public static let unspecifiedIPv4 = SDPConnection(address: "0.0.0.0")
}

/// `b=<bwtype>:<bandwidth>` (RFC 8866 §5.8).
public struct SDPBandwidth: Hashable, Sendable {
    public var type: String
    public var bandwidth: UInt64

    public init(type: String, bandwidth: UInt64) {
        self.type = type
        self.bandwidth = bandwidth
    }
}

/// `t=<start-time> <stop-time>` and its `r=` lines (kept as text) (RFC 8866 §5.9, §5.10).
public struct SDPTiming: Hashable, Sendable {
    public var start: UInt64
    public var stop: UInt64
    public var repeats: [String]

    public init(start: UInt64, stop: UInt64, repeats: [String] = []) {
        self.start = start
        self.stop = stop
        self.repeats = repeats
    }
}

/// The media type in an `m=` line.
public enum SDPMediaType: Hashable, Sendable, CustomStringConvertible {
    case audio, video, text, application, message
    case other(String)

    public init(_ token: String) {
        switch token {
        case "audio": self = .audio
        case "video": self = .video
        case "text": self = .text
        case "application": self = .application
        case "message": self = .message
        default: self = .other(token)
        }
    }

    public var description: String {
        switch self {
        case .audio: return "audio"
        case .video: return "video"
        case .text: return "text"
        case .application: return "application"
        case .message: return "message"
        case .other(let token): return token
        }
    }
}

/// One media section: `m=<media> <port>[/<number of ports>] <proto> <fmt> ...` and the lines under it
/// (RFC 8866 §5.14).
public struct MediaDescription: Hashable, Sendable {
    public var type: SDPMediaType
    /// 0 rejects the section (RFC 3264 §6) unless `a=bundle-only` is present (RFC 8843 §6); 9 is the discard port
    /// JSEP uses before candidates are known.
    public var port: UInt16
    public var numberOfPorts: UInt16?
    /// e.g. `UDP/TLS/RTP/SAVPF`, `UDP/DTLS/SCTP`.
    public var transportProtocol: String
    /// Payload type numbers for RTP profiles, other tokens (e.g. `webrtc-datachannel`) otherwise.
    public var formats: [String]
    public var information: String?
    public var connections: [SDPConnection]
    public var bandwidths: [SDPBandwidth]
    public var encryptionKey: String?
    public var attributes: [SDPAttribute]

    public init(type: SDPMediaType, port: UInt16, numberOfPorts: UInt16? = nil,
                transportProtocol: String = "UDP/TLS/RTP/SAVPF", formats: [String], information: String? = nil,
                connections: [SDPConnection] = [], bandwidths: [SDPBandwidth] = [], encryptionKey: String? = nil,
                attributes: [SDPAttribute] = []) {
        self.type = type
        self.port = port
        self.numberOfPorts = numberOfPorts
        self.transportProtocol = transportProtocol
        self.formats = formats
        self.information = information
        self.connections = connections
        self.bandwidths = bandwidths
        self.encryptionKey = encryptionKey
        self.attributes = attributes
    }

    /// Whether the transport protocol is an RTP profile, whose formats must be payload type numbers.
    public var isRTP: Bool {
        withSDPBytes(transportProtocol) { bytes in
            var index = bytes.startIndex
            while index + 4 <= bytes.endIndex {
                if bytes[index..<(index + 4)].sdpEquals("RTP/") { return true }
                index += 1
            }
            return false
        }
    }

    /// The formats as RTP payload types (formats that are not numbers 0...127 are skipped).
    public var payloadTypes: [UInt8] {
        formats.compactMap { format in
            guard let value = format.sdpDecimal(maximum: 127) else { return nil }
            return UInt8(value)
        }
    }
}
