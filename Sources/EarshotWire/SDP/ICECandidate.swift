/// An ICE candidate as carried in `a=candidate` (RFC 8839 §5.1):
/// ```
/// candidate-attribute = "candidate" ":" foundation SP component-id SP transport SP priority SP
///                       connection-address SP port SP "typ" SP cand-type
///                       [SP "raddr" SP connection-address] [SP "rport" SP port] *(SP extension-att-name SP extension-att-value)
/// e.g. candidate:304158352 1 udp 2122260223 127.0.0.1 37038 typ host generation 0 network-id 1 network-cost 50
/// ```
public struct ICECandidate: Hashable, Sendable {
    public enum Transport: Hashable, Sendable, CustomStringConvertible {
        case udp
        /// RFC 6544 ICE-TCP; the relay does not use these (see `NegotiatedAudio.remoteCandidates`).
        case tcp
        case other(String)

        /// Transport tokens compare case-insensitively (Chromium writes `udp`, Firefox `UDP`).
        init(token: String) {
            switch token.sdpLowercased {
            case "udp": self = .udp
            case "tcp": self = .tcp
            default: self = .other(token)
            }
        }

        public var description: String {
            switch self {
            case .udp: return "UDP"
            case .tcp: return "TCP"
            case .other(let token): return token
            }
        }
    }

    public enum CandidateType: Hashable, Sendable, CustomStringConvertible {
        case host, serverReflexive, peerReflexive, relay
        case other(String)

        init(token: String) {
            switch token {
            case "host": self = .host
            case "srflx": self = .serverReflexive
            case "prflx": self = .peerReflexive
            case "relay": self = .relay
            default: self = .other(token)
            }
        }

        public var description: String {
            switch self {
            case .host: return "host"
            case .serverReflexive: return "srflx"
            case .peerReflexive: return "prflx"
            case .relay: return "relay"
            case .other(let token): return token
            }
        }

        /// RFC 8445 §5.1.2.2 recommended type preferences.
        public var recommendedTypePreference: UInt32 {
            switch self {
            case .host: return 126
            case .peerReflexive: return 110
            case .serverReflexive: return 100
            case .relay, .other: return 0
            }
        }
    }

    /// 1...32 ice-chars.
    public var foundation: String
    /// 1 for RTP (the only component with rtcp-mux), 2 for RTCP.
    public var component: UInt16
    public var transport: Transport
    public var priority: UInt32
    public var address: SDPAddress
    public var port: UInt16
    public var type: CandidateType
    public var relatedAddress: SDPAddress?
    public var relatedPort: UInt16?
    /// Extension attributes in order, e.g. `generation 0`, `ufrag c2tv`, `network-id 1`, `tcptype active`.
    public var extensions: [(name: String, value: String)]

    public init(foundation: String, component: UInt16 = 1, transport: Transport = .udp, priority: UInt32,
                address: SDPAddress, port: UInt16, type: CandidateType = .host, relatedAddress: SDPAddress? = nil,
                relatedPort: UInt16? = nil, extensions: [(name: String, value: String)] = []) {
        self.foundation = foundation
        self.component = component
        self.transport = transport
        self.priority = priority
        self.address = address
        self.port = port
        self.type = type
        self.relatedAddress = relatedAddress
        self.relatedPort = relatedPort
        self.extensions = extensions
    }

    /// A host candidate with the RFC 8445 §5.1.2.1 priority:
    /// `2^24 * type preference + 2^8 * local preference + (256 - component)`.
    public static func host(foundation: String, address: SDPAddress, port: UInt16, localPreference: UInt16 = 65535,
                            component: UInt16 = 1) -> ICECandidate {
        let clampedComponent = UInt32(min(max(component, 1), 256))
        let priority = CandidateType.host.recommendedTypePreference << 24 | UInt32(localPreference) << 8
            | (256 - clampedComponent)
        return ICECandidate(foundation: foundation, component: component, priority: priority, address: address,
                            port: port)
    }

    /// The value of extension `name` (e.g. `generation`, `ufrag`, `tcptype`).
    public func extensionValue(_ name: String) -> String? {
        extensions.first { $0.name == name }?.value
    }

    /// `generation` extension (a Chromium/legacy extension), if present and numeric.
    public var generation: UInt32? {
        guard let text = extensionValue("generation"), let value = text.sdpDecimal(maximum: UInt64(UInt32.max))
        else { return nil }
        return UInt32(value)
    }

    /// `ufrag` extension (the ICE ufrag the candidate belongs to), if present.
    public var ufrag: String? { extensionValue("ufrag") }

    /// `tcptype` extension (RFC 6544 §4.5): active, passive or so.
    public var tcpType: String? { extensionValue("tcptype") }

    /// The attribute value (after `candidate:`).
    public var attributeValue: String {
        var text = "\(foundation) \(component) \(transport) \(priority) \(address) \(port) typ \(type)"
        if let relatedAddress { text += " raddr \(relatedAddress)" }
        if let relatedPort { text += " rport \(relatedPort)" }
        for (name, value) in extensions { text += " \(name) \(value)" }
        return text
    }

    public static func == (lhs: ICECandidate, rhs: ICECandidate) -> Bool {
        lhs.foundation == rhs.foundation && lhs.component == rhs.component && lhs.transport == rhs.transport
            && lhs.priority == rhs.priority && lhs.address == rhs.address && lhs.port == rhs.port
            && lhs.type == rhs.type && lhs.relatedAddress == rhs.relatedAddress && lhs.relatedPort == rhs.relatedPort
            && lhs.extensions.elementsEqual(rhs.extensions) { $0.name == $1.name && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(foundation)
        hasher.combine(component)
        hasher.combine(transport)
        hasher.combine(priority)
        hasher.combine(address)
        hasher.combine(port)
        hasher.combine(type)
        hasher.combine(relatedAddress)
        hasher.combine(relatedPort)
        for (name, value) in extensions {
            hasher.combine(name)
            hasher.combine(value)
        }
    }

    /// Parses the value of an `a=candidate` line (without `candidate:`). A `candidate:` prefix is also accepted, as
    /// trickled candidates carry it. The error's reason says which field is wrong; the caller adds the line.
    public init(parsing text: String) throws(ICECandidateParseError) {
        let result = withSDPBytes(text) { bytes -> Result<ICECandidate, ICECandidateParseError> in
            let value = bytes.prefix(10).sdpEquals("candidate:") ? bytes.dropFirst(10) : bytes
            do throws(ICECandidateParseError) {
                return .success(try ICECandidate.parse(value))
            } catch {
                return .failure(error)
            }
        }
        self = try result.get()
    }

    static func parse(_ value: SDPBytes) throws(ICECandidateParseError) -> ICECandidate {
        let fields = value.sdpFields()
        guard fields.count >= 8 else {
            throw ICECandidateParseError("expected at least 8 fields (foundation component transport priority "
                                         + "address port typ type), found \(fields.count)")
        }
        let foundation = fields[0]
        guard foundation.count <= 32, foundation.allSatisfy(SDPASCII.isICEChar) else {
            throw ICECandidateParseError("foundation '\(foundation.sdpText)' must be 1 to 32 letters, digits, '+' or '/'")
        }
        // component-id = 1*3DIGIT; ICE components are 1...256 (RFC 8445 §5.1.1.1 caps at 256).
        guard let component = fields[1].sdpDecimal(maximum: 256), component >= 1 else {
            throw ICECandidateParseError("component '\(fields[1].sdpText)' must be a number from 1 to 256")
        }
        guard fields[2].sdpIsToken() else {
            throw ICECandidateParseError("transport '\(fields[2].sdpText)' is not a token")
        }
        // priority = 1*10DIGIT, a 32-bit value (RFC 8445 §5.1.2).
        guard let priority = fields[3].sdpDecimal(maximum: UInt64(UInt32.max)) else {
            throw ICECandidateParseError("priority '\(fields[3].sdpText)' must be a number from 0 to 4294967295")
        }
        guard let address = SDPAddress.parse(fields[4]) else {
            throw ICECandidateParseError("address '\(fields[4].sdpText)' is not an IPv4, IPv6 or host name")
        }
        guard let port = fields[5].sdpDecimal(maximum: UInt64(UInt16.max)) else {
            throw ICECandidateParseError("port '\(fields[5].sdpText)' must be a number from 0 to 65535")
        }
        guard fields[6].sdpEquals("typ") else {
            throw ICECandidateParseError("expected 'typ' after the port, found '\(fields[6].sdpText)'")
        }
        guard fields[7].sdpIsToken() else {
            throw ICECandidateParseError("candidate type '\(fields[7].sdpText)' is not a token")
        }
        var candidate = ICECandidate(
            foundation: foundation.sdpText, component: UInt16(component), transport: Transport(token: fields[2].sdpText),
            priority: UInt32(priority), address: address, port: UInt16(port), type: CandidateType(token: fields[7].sdpText))
        var index = 8
        guard (fields.count - index) % 2 == 0 else {
            throw ICECandidateParseError("extension '\(fields[fields.count - 1].sdpText)' has no value")
        }
        while index + 1 < fields.count {
            let name = fields[index], value = fields[index + 1]
            if name.sdpEquals("raddr") {
                guard candidate.relatedAddress == nil, let related = SDPAddress.parse(value) else {
                    throw ICECandidateParseError("bad raddr '\(value.sdpText)'")
                }
                candidate.relatedAddress = related
            } else if name.sdpEquals("rport") {
                guard candidate.relatedPort == nil, let related = value.sdpDecimal(maximum: UInt64(UInt16.max)) else {
                    throw ICECandidateParseError("bad rport '\(value.sdpText)'")
                }
                candidate.relatedPort = UInt16(related)
            } else {
                guard name.sdpIsToken(), value.allSatisfy(SDPASCII.isVisible) else {
                    throw ICECandidateParseError("bad extension '\(name.sdpText) \(value.sdpText)'")
                }
                candidate.extensions.append((name.sdpText, value.sdpText))
            }
            index += 2
        }
        return candidate
    }
}

/// Why an `a=candidate` value is malformed (the SDP parser turns it into `SDPError.badCandidate` with the line).
public struct ICECandidateParseError: Error, Hashable, Sendable, CustomStringConvertible {
    public var reason: String
    init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
