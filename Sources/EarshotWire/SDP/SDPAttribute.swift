/// One `a=` line. The attributes WebRTC audio relies on are parsed into typed cases; every other attribute is kept
/// as `.other` with its name and value exactly as written, so nothing is lost on a round trip.
public enum SDPAttribute: Hashable, Sendable {
    /// `a=ice-ufrag:<ufrag>` (RFC 8839 §5.4)
    case iceUfrag(String)
    /// `a=ice-pwd:<password>` (RFC 8839 §5.4)
    case icePwd(String)
    /// `a=ice-options:<option> ...` e.g. `trickle`, `ice2` (RFC 8839 §5.6)
    case iceOptions([String])
    /// `a=ice-lite` (RFC 8839 §5.3)
    case iceLite
    /// `a=candidate:...` (RFC 8839 §5.1)
    case candidate(ICECandidate)
    /// `a=end-of-candidates` (RFC 8840 §8.2)
    case endOfCandidates
    /// `a=fingerprint:<hash-func> <XX:XX:...>` (RFC 8122 §5)
    case fingerprint(SDPFingerprint)
    /// `a=setup:<role>` (RFC 4145 §4)
    case setup(SDPSetupRole)
    /// `a=mid:<identification-tag>` (RFC 5888 §4)
    case mid(String)
    /// `a=group:<semantics> <tag> ...` (RFC 5888 §5), e.g. BUNDLE (RFC 8843)
    case group(SDPGroup)
    /// `a=bundle-only` (RFC 8843 §6)
    case bundleOnly
    /// `a=rtcp-mux` (RFC 5761 §5.1.1)
    case rtcpMux
    /// `a=rtcp-mux-only` (RFC 8858)
    case rtcpMuxOnly
    /// `a=rtcp-rsize` (RFC 5506 §5)
    case rtcpReducedSize
    /// `a=sendrecv`, `a=sendonly`, `a=recvonly`, `a=inactive` (RFC 8866 §6.7)
    case direction(SDPDirection)
    /// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]` (RFC 8866 §6.6)
    case rtpMap(SDPRTPMap)
    /// `a=fmtp:<payload type> <format specific parameters>` (RFC 8866 §6.15) for an RTP payload type.
    case formatParameters(SDPFormatParameters)
    /// `a=rtcp-fb:<payload type or *> <type> [<parameter>]` (RFC 4585 §4.2)
    case rtcpFeedback(SDPRTCPFeedback)
    /// `a=extmap:<id>[/<direction>] <URI> [<extension attributes>]` (RFC 8285 §8)
    case extensionMap(SDPExtensionMap)
    /// `a=extmap-allow-mixed` (RFC 8285 §6)
    case extensionMapAllowMixed
    /// `a=ssrc:<ssrc-id> <attribute>[:<value>]` (RFC 5576 §4.1)
    case ssrc(SDPSSRCAttribute)
    /// `a=msid:<stream id> [<track id>]` (RFC 8830 §2)
    case msid(SDPMediaStreamID)
    /// Any other attribute, with its value (nil for a property attribute such as `a=foo`).
    case other(name: String, value: String?)

    /// The attribute name as it appears after `a=`.
    public var name: String {
        switch self {
        case .iceUfrag: return "ice-ufrag"
        case .icePwd: return "ice-pwd"
        case .iceOptions: return "ice-options"
        case .iceLite: return "ice-lite"
        case .candidate: return "candidate"
        case .endOfCandidates: return "end-of-candidates"
        case .fingerprint: return "fingerprint"
        case .setup: return "setup"
        case .mid: return "mid"
        case .group: return "group"
        case .bundleOnly: return "bundle-only"
        case .rtcpMux: return "rtcp-mux"
        case .rtcpMuxOnly: return "rtcp-mux-only"
        case .rtcpReducedSize: return "rtcp-rsize"
        case .direction(let direction): return direction.rawValue
        case .rtpMap: return "rtpmap"
        case .formatParameters: return "fmtp"
        case .rtcpFeedback: return "rtcp-fb"
        case .extensionMap: return "extmap"
        case .extensionMapAllowMixed: return "extmap-allow-mixed"
        case .ssrc: return "ssrc"
        case .msid: return "msid"
        case .other(let name, _): return name
        }
    }
}

/// `a=setup` roles (RFC 4145 §4, RFC 5763 §5).
public enum SDPSetupRole: String, Hashable, Sendable {
    case active, passive, actpass, holdconn
}

/// Media direction attributes (RFC 8866 §6.7, RFC 3264 §6.1).
public enum SDPDirection: String, Hashable, Sendable {
    case sendrecv, sendonly, recvonly, inactive

    public var sends: Bool { self == .sendrecv || self == .sendonly }
    public var receives: Bool { self == .sendrecv || self == .recvonly }

    public init(sends: Bool, receives: Bool) {
        switch (sends, receives) {
        case (true, true): self = .sendrecv
        case (true, false): self = .sendonly
        case (false, true): self = .recvonly
        case (false, false): self = .inactive
        }
    }

    /// The same direction seen from the other side: sendonly ↔ recvonly.
    public var reversed: SDPDirection { SDPDirection(sends: receives, receives: sends) }

    /// Both sides' wishes combined: sends only if both allow it, and so on.
    public func intersection(_ other: SDPDirection) -> SDPDirection {
        SDPDirection(sends: sends && other.sends, receives: receives && other.receives)
    }
}

/// `a=fingerprint` (RFC 8122 §5): the hash function and the certificate digest.
public struct SDPFingerprint: Hashable, Sendable, CustomStringConvertible {
    /// Hash function names from the IANA "Hash Function Textual Names" registry (RFC 8122 §5); others kept as text.
    public enum Algorithm: Hashable, Sendable, CustomStringConvertible {
        case sha1, sha224, sha256, sha384, sha512, md5, md2
        case other(String)

        /// Case-insensitive (RFC 8122 §5: "hash-func ... case-insensitive").
        public init(_ name: String) {
            switch name.sdpLowercased {
            case "sha-1": self = .sha1
            case "sha-224": self = .sha224
            case "sha-256": self = .sha256
            case "sha-384": self = .sha384
            case "sha-512": self = .sha512
            case "md5": self = .md5
            case "md2": self = .md2
            default: self = .other(name.sdpLowercased)
            }
        }

        public var description: String {
            switch self {
            case .sha1: return "sha-1"
            case .sha224: return "sha-224"
            case .sha256: return "sha-256"
            case .sha384: return "sha-384"
            case .sha512: return "sha-512"
            case .md5: return "md5"
            case .md2: return "md2"
            case .other(let name): return name
            }
        }

        /// Digest size in bytes of a known algorithm.
        public var digestSize: Int? {
            switch self {
            case .sha1: return 20
            case .sha224: return 28
            case .sha256: return 32
            case .sha384: return 48
            case .sha512: return 64
            case .md5, .md2: return 16
            case .other: return nil
            }
        }
    }

    public var algorithm: Algorithm
    public var digest: [UInt8]

    public init(algorithm: Algorithm, digest: [UInt8]) {
        self.algorithm = algorithm
        self.digest = digest
    }

    /// `XX:XX:...` in upper-case hex, as RFC 8122 §5 writes it.
    public var hexDigest: String {
        let digits = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digest.count * 3)
        for (index, byte) in digest.enumerated() {
            if index > 0 { bytes.append(SDPASCII.colon) }
            bytes.append(digits[Int(byte >> 4)])
            bytes.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The attribute value: `sha-256 AB:CD:...`.
    public var description: String { "\(algorithm) \(hexDigest)" }
}

/// `a=group` (RFC 5888 §5).
public struct SDPGroup: Hashable, Sendable {
    /// e.g. `BUNDLE`, `LS`.
    public var semantics: String
    public var identificationTags: [String]

    public init(semantics: String, identificationTags: [String]) {
        self.semantics = semantics
        self.identificationTags = identificationTags
    }

    public var isBundle: Bool { semantics == "BUNDLE" }
}

/// `a=rtpmap` (RFC 8866 §6.6).
public struct SDPRTPMap: Hashable, Sendable {
    public var payloadType: UInt8
    /// As written (`opus`, `OPUS`); compare case-insensitively (RFC 4855 §3: media subtype names are).
    public var encodingName: String
    public var clockRate: UInt32
    /// For audio, the number of channels.
    public var encodingParameters: UInt32?

    public init(payloadType: UInt8, encodingName: String, clockRate: UInt32, encodingParameters: UInt32? = nil) {
        self.payloadType = payloadType
        self.encodingName = encodingName
        self.clockRate = clockRate
        self.encodingParameters = encodingParameters
    }

    /// Whether this maps `name/clockRate[/channels]`, comparing the name case-insensitively.
    public func matches(_ name: String, clockRate: UInt32, channels: UInt32? = nil) -> Bool {
        guard encodingName.sdpLowercased == name.sdpLowercased, self.clockRate == clockRate else { return false }
        guard let channels else { return true }
        return (encodingParameters ?? 1) == channels
    }
}

/// `a=fmtp` for an RTP payload type (RFC 8866 §6.15): the parameters are kept as written, and also readable as
/// `name=value` pairs separated by `;` (the usual form, e.g. `minptime=10;useinbandfec=1`). Formats such as
/// RED's `111/111` or telephone-event's `0-15` are not pairs; read them from `parameters`.
public struct SDPFormatParameters: Hashable, Sendable {
    public var payloadType: UInt8
    public var parameters: String

    public init(payloadType: UInt8, parameters: String) {
        self.payloadType = payloadType
        self.parameters = parameters
    }

    /// The `;`-separated `name=value` pairs, spaces around each trimmed; an item without `=` has an empty value.
    public var pairs: [(name: String, value: String)] {
        withSDPBytes(parameters) { bytes in
            bytes.split(separator: SDPASCII.semicolon).compactMap { item -> (name: String, value: String)? in
                let trimmed = item.sdpTrimmed()
                guard !trimmed.isEmpty else { return nil }
                let (name, value) = trimmed.sdpSplitOnce(SDPASCII.equals)
                return (name.sdpTrimmed().sdpText, value?.sdpTrimmed().sdpText ?? "")
            }
        }
    }

    /// The value of parameter `name` (names compared case-insensitively, RFC 8866 §6.15 leaves case to the format;
    /// the Opus ones are lower case).
    public func value(of name: String) -> String? {
        let wanted = name.sdpLowercased
        return pairs.first { $0.name.sdpLowercased == wanted }?.value
    }
}

/// `a=rtcp-fb` (RFC 4585 §4.2).
public struct SDPRTCPFeedback: Hashable, Sendable {
    /// nil for `*` (all payload types).
    public var payloadType: UInt8?
    /// e.g. `transport-cc`, `nack`, `ccm`, `goog-remb`.
    public var type: String
    /// e.g. `pli` in `nack pli`, `fir` in `ccm fir`.
    public var parameter: String?

    public init(payloadType: UInt8?, type: String, parameter: String? = nil) {
        self.payloadType = payloadType
        self.type = type
        self.parameter = parameter
    }
}

/// `a=extmap` (RFC 8285 §8).
public struct SDPExtensionMap: Hashable, Sendable {
    /// 1...14 for one-byte headers, up to 255 for two-byte headers.
    public var id: UInt16
    public var direction: SDPDirection?
    public var uri: String
    public var extensionAttributes: String?

    public init(id: UInt16, direction: SDPDirection? = nil, uri: String, extensionAttributes: String? = nil) {
        self.id = id
        self.direction = direction
        self.uri = uri
        self.extensionAttributes = extensionAttributes
    }
}

/// `a=ssrc` (RFC 5576 §4.1), e.g. `a=ssrc:3825362594 cname:vx8weda7ej2vmJFD`.
public struct SDPSSRCAttribute: Hashable, Sendable {
    public var ssrc: UInt32
    /// e.g. `cname`, `msid`, `label`.
    public var attribute: String
    /// Everything after the first ':' (may contain spaces, as in `msid:- 2794...`).
    public var value: String?

    public init(ssrc: UInt32, attribute: String, value: String? = nil) {
        self.ssrc = ssrc
        self.attribute = attribute
        self.value = value
    }
}

/// `a=msid` (RFC 8830 §2): stream id (`-` for none) and optional track id (appdata).
public struct SDPMediaStreamID: Hashable, Sendable {
    public var streamID: String
    public var trackID: String?

    public init(streamID: String, trackID: String? = nil) {
        self.streamID = streamID
        self.trackID = trackID
    }
}
