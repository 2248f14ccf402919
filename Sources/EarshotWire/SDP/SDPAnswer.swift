/// What the relay accepts in an audio m= section.
public struct SDPAudioPolicy: Hashable, Sendable {
    /// RFC 6464 client-to-mixer audio level.
    public static let audioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
    /// Absolute send time (a WebRTC extension used for receive-side bandwidth estimation).
    public static let absoluteSendTimeURI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
    /// Transport-wide sequence numbers for send-side bandwidth estimation.
    public static let transportWideCCURI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
    /// RFC 8843 §15.2 mid header extension (BUNDLE demultiplexing).
    public static let midURI = "urn:ietf:params:rtp-hdrext:sdes:mid"
    /// Absolute capture time (a WebRTC extension carrying the capture clock).
    public static let absoluteCaptureTimeURI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time"

    /// Header extension URIs accepted when offered, answered with the offered ids.
    public var headerExtensions: [String]
    /// Accept RED (RFC 2198) carrying Opus when offered.
    public var acceptsRED: Bool
    /// Accept telephone-event (RFC 4733) when offered.
    public var acceptsTelephoneEvent: Bool
    /// The Opus fmtp we put in the answer: what we want to receive.
    public var opusParameters: SDPOpusParameters
    /// The directions we are willing to use; the answer is the offer's direction reversed, intersected with this.
    public var direction: SDPDirection
    /// RTCP feedback types accepted for Opus when offered (transport-cc only together with its header extension).
    public var rtcpFeedback: [String]

    public init(headerExtensions: [String] = SDPAudioPolicy.defaultHeaderExtensions, acceptsRED: Bool = false,
                acceptsTelephoneEvent: Bool = true,
                opusParameters: SDPOpusParameters = SDPOpusParameters(minPTime: 10, stereo: false, useInbandFEC: true),
                direction: SDPDirection = .sendrecv, rtcpFeedback: [String] = ["transport-cc"]) {
        self.headerExtensions = headerExtensions
        self.acceptsRED = acceptsRED
        self.acceptsTelephoneEvent = acceptsTelephoneEvent
        self.opusParameters = opusParameters
        self.direction = direction
        self.rtcpFeedback = rtcpFeedback
    }

    public static let defaultHeaderExtensions = [audioLevelURI, absoluteSendTimeURI, transportWideCCURI, midURI,
                                                 absoluteCaptureTimeURI]
}

/// Our side of the answer.
public struct SDPAnswerParameters: Hashable, Sendable {
    /// RFC 8839 §5.4: 4...256 ice-chars.
    public var iceUfrag: String
    /// RFC 8839 §5.4: 22...256 ice-chars.
    public var icePwd: String
    /// Digest of our DTLS certificate.
    public var fingerprint: SDPFingerprint
    /// Our UDP host candidates (see `ICECandidate.host`); the first one is also put in the m= and c= lines. None is
    /// allowed: the answer then says `c=IN IP4 0.0.0.0` and port 9.
    public var candidates: [ICECandidate]
    public var sessionID: UInt64
    public var sessionVersion: UInt64
    public var policy: SDPAudioPolicy
    /// The SSRC we send with, its RTCP CNAME and msid (written only when the answer's direction sends).
    public var ssrc: UInt32
    public var cname: String
    public var mediaStreamID: SDPMediaStreamID?

    public init(iceUfrag: String, icePwd: String, fingerprint: SDPFingerprint, candidates: [ICECandidate],
                sessionID: UInt64, sessionVersion: UInt64 = 1, policy: SDPAudioPolicy = SDPAudioPolicy(), ssrc: UInt32,
                cname: String, mediaStreamID: SDPMediaStreamID? = nil) {
        self.iceUfrag = iceUfrag
        self.icePwd = icePwd
        self.fingerprint = fingerprint
        self.candidates = candidates
        self.sessionID = sessionID
        self.sessionVersion = sessionVersion
        self.policy = policy
        self.ssrc = ssrc
        self.cname = cname
        self.mediaStreamID = mediaStreamID
    }
}

/// Why an offer cannot be answered. `description` is a sentence for the person who sent the offer; these are the
/// "not acceptable" outcomes (the offer was valid SDP, `SDPError` covers invalid SDP).
public enum SDPNegotiationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No m=audio section, or every one is rejected (port 0).
    case noAudio
    case unsupportedTransportProtocol(mid: String?, transportProtocol: String)
    /// The audio section has no `opus/48000/2` rtpmap.
    case noOpus(mid: String?, offered: [String])
    case missingICECredentials(mid: String?)
    case missingFingerprint(mid: String?)
    /// Only fingerprints with hash functions we cannot check (e.g. md5).
    case unsupportedFingerprintAlgorithm(mid: String?, algorithms: [String])
    /// The offer's a=setup leaves us no role: we are always DTLS server (passive), so it must be actpass or active.
    case incompatibleSetupRole(mid: String?, offered: SDPSetupRole)
    case missingRTCPMux(mid: String?)
    /// Both sides would be ICE-lite; nobody would run connectivity checks.
    case offererIsICELite
    /// Our own parameters would make an invalid answer (a bug on our side, not the offerer's).
    case invalidLocalParameters(String)

    public var description: String {
        switch self {
        case .noAudio:
            return "the offer has no usable audio section: add an audio transceiver (m=audio with a non-zero port)"
        case .unsupportedTransportProtocol(let mid, let transportProtocol):
            return "the audio section \(SDPNegotiationError.name(mid)) uses '\(transportProtocol)'; only "
                + "UDP/TLS/RTP/SAVPF (DTLS-SRTP over ICE) is supported"
        case .noOpus(let mid, let offered):
            let list = offered.isEmpty ? "nothing" : offered.joined(separator: ", ")
            return "the audio section \(SDPNegotiationError.name(mid)) does not offer Opus (opus/48000/2); it offers \(list)"
        case .missingICECredentials(let mid):
            return "the audio section \(SDPNegotiationError.name(mid)) has no a=ice-ufrag and a=ice-pwd (neither has "
                + "the session)"
        case .missingFingerprint(let mid):
            return "the audio section \(SDPNegotiationError.name(mid)) has no DTLS certificate fingerprint "
                + "(a=fingerprint), at media or session level"
        case .unsupportedFingerprintAlgorithm(let mid, let algorithms):
            return "the audio section \(SDPNegotiationError.name(mid)) has fingerprints only with "
                + "\(algorithms.joined(separator: ", ")); sha-256, sha-384, sha-512, sha-224 or sha-1 is required"
        case .incompatibleSetupRole(let mid, let offered):
            return "the audio section \(SDPNegotiationError.name(mid)) says a=setup:\(offered.rawValue); this server is "
                + "always the DTLS server, so the offer must say a=setup:actpass or a=setup:active"
        case .missingRTCPMux(let mid):
            return "the audio section \(SDPNegotiationError.name(mid)) lacks a=rtcp-mux; RTP and RTCP must share one "
                + "port"
        case .offererIsICELite:
            return "the offer is ICE-lite (a=ice-lite) and so is this server; the offerer must be a full ICE agent"
        case .invalidLocalParameters(let reason):
            return "internal error building the answer: \(reason)"
        }
    }

    static func name(_ mid: String?) -> String {
        mid.map { "(mid \($0))" } ?? "(without mid)"
    }
}

/// The outcome of negotiating the first usable audio section of an offer: what both sides will use.
public struct NegotiatedAudio: Hashable, Sendable {
    /// Index of the accepted section among the offer's m= sections.
    public var mediaIndex: Int
    public var mid: String?
    /// Whether the answer puts the audio section in a BUNDLE group (the offer had it in one).
    public var isBundled: Bool
    /// Our direction, as written in the answer.
    public var direction: SDPDirection
    public var transportProtocol: String

    public var opusPayloadType: UInt8
    /// The offerer's Opus fmtp: how it wants to receive.
    public var remoteOpusParameters: SDPOpusParameters
    /// Our Opus fmtp: how we want to receive.
    public var localOpusParameters: SDPOpusParameters
    public var redPayloadType: UInt8?
    /// The RED fmtp we answered (e.g. `111/111`).
    public var redParameters: String?
    public var telephoneEventPayloadType: UInt8?
    public var telephoneEventClockRate: UInt32?
    /// The telephone-event fmtp we answered (the offered one, e.g. `0-15`), if any.
    public var telephoneEventParameters: String?
    /// Accepted header extensions: URI → id (the offer's ids).
    public var headerExtensionIDs: [String: UInt16]
    /// Accepted header extensions in the offer's order, with the direction written in the answer.
    public var headerExtensions: [SDPExtensionMap]
    /// Accepted RTCP feedback types for Opus (e.g. `transport-cc`).
    public var rtcpFeedback: [SDPRTCPFeedback]
    /// Both sides use reduced-size RTCP (RFC 5506): the offer had a=rtcp-rsize, and we answer it.
    public var reducedSizeRTCP: Bool

    public var remoteICEUfrag: String
    public var remoteICEPwd: String
    public var remoteICEOptions: [String]
    /// Every fingerprint of the offer for this section (any may match the certificate, RFC 8122 §5).
    public var remoteFingerprints: [SDPFingerprint]
    public var remoteSetup: SDPSetupRole
    /// Our DTLS role: always passive (DTLS server).
    public var localSetup: SDPSetupRole
    /// The offer's UDP candidates for component 1 (RTP; RTCP is muxed). Host names (mDNS) are kept as names.
    public var remoteCandidates: [ICECandidate]
    /// Candidates the relay will not use: TCP, other transports, component 2.
    public var ignoredRemoteCandidates: [ICECandidate]
    public var remoteEndOfCandidates: Bool
    /// The offerer's first SSRC in this section (nil when it signals none, e.g. recvonly).
    public var remoteSSRC: UInt32?
    public var remoteCNAME: String?
    public var remoteMediaStreamID: SDPMediaStreamID?

    /// Chooses the first audio section that is not rejected and checks it can be answered by an ICE-lite,
    /// DTLS-passive Opus relay following `policy`.
    public init(offer: SessionDescription, policy: SDPAudioPolicy = SDPAudioPolicy()) throws(SDPNegotiationError) {
        if offer.isICELite { throw .offererIsICELite }
        guard let index = offer.media.firstIndex(where: { $0.type == .audio && !$0.isRejected }) else {
            throw .noAudio
        }
        let media = offer.media[index]
        let mid = media.mid
        mediaIndex = index
        self.mid = mid
        transportProtocol = media.transportProtocol

        // RFC 8829 §5.1.2: WebRTC media uses UDP/TLS/RTP/SAVPF (TCP/DTLS/RTP/SAVPF is ICE-TCP, not supported).
        switch media.transportProtocol.uppercased() {
        case "UDP/TLS/RTP/SAVPF", "UDP/TLS/RTP/SAVP":
            break
        default:
            throw .unsupportedTransportProtocol(mid: mid, transportProtocol: media.transportProtocol)
        }

        guard let opus = media.opusPayloadType else {
            let offered = media.payloadTypes.map { payloadType in
                media.rtpMap(for: payloadType).map { "\($0.encodingName)/\($0.clockRate)" } ?? "payload type \(payloadType)"
            }
            throw .noOpus(mid: mid, offered: offered)
        }
        opusPayloadType = opus
        remoteOpusParameters = media.formatParameters(for: opus).map(SDPOpusParameters.init) ?? SDPOpusParameters()
        localOpusParameters = policy.opusParameters

        // When the section is bundle-only (port 0 in a BUNDLE offer), its transport is the BUNDLE tag's section.
        var transport = media
        if media.isBundleOnly, media.port == 0, let mid, let group = offer.bundleGroup(containing: mid),
           let tag = group.identificationTags.first, let tagged = offer.media.first(where: { $0.mid == tag }) {
            transport = tagged
        }

        guard let ufrag = offer.iceUfrag(for: media) ?? offer.iceUfrag(for: transport),
              let pwd = offer.icePwd(for: media) ?? offer.icePwd(for: transport) else {
            throw .missingICECredentials(mid: mid)
        }
        remoteICEUfrag = ufrag
        remoteICEPwd = pwd
        remoteICEOptions = offer.iceOptions(for: media)

        var fingerprints = offer.fingerprints(for: media)
        if fingerprints.isEmpty { fingerprints = offer.fingerprints(for: transport) }
        guard !fingerprints.isEmpty else { throw .missingFingerprint(mid: mid) }
        let checkable: Set<SDPFingerprint.Algorithm> = [.sha1, .sha224, .sha256, .sha384, .sha512]
        guard fingerprints.contains(where: { checkable.contains($0.algorithm) }) else {
            throw .unsupportedFingerprintAlgorithm(mid: mid, algorithms: fingerprints.map { $0.algorithm.description })
        }
        remoteFingerprints = fingerprints

        // RFC 5763 §5: the offerer must say actpass; active is acceptable too (it will be the DTLS client). A missing
        // a=setup is read as actpass, as implementations before RFC 5763 omitted it.
        let setup = offer.setup(for: media) ?? offer.setup(for: transport) ?? .actpass
        guard setup == .actpass || setup == .active else { throw .incompatibleSetupRole(mid: mid, offered: setup) }
        remoteSetup = setup
        localSetup = .passive

        // RFC 8829 §5.1.3: WebRTC multiplexes RTCP; this relay has one port per session.
        guard media.hasRTCPMux || media.hasRTCPMuxOnly else { throw .missingRTCPMux(mid: mid) }
        reducedSizeRTCP = media.hasRTCPReducedSize

        isBundled = mid.flatMap { offer.bundleGroup(containing: $0) } != nil
        direction = offer.direction(for: media).reversed.intersection(policy.direction)

        // RED carrying our Opus payload type only (RFC 2198 §5: the fmtp lists the redundant payload types).
        redPayloadType = nil
        redParameters = nil
        if policy.acceptsRED, let red = media.redPayloadType {
            let parameters = media.formatParameters(for: red)?.parameters ?? ""
            let listed = parameters.split(separator: "/").map(String.init)
            if !listed.isEmpty, listed.allSatisfy({ $0 == String(opus) }) {
                redPayloadType = red
                redParameters = parameters
            }
        }

        // telephone-event at Opus's clock rate preferred (RFC 4733 §2.1: same clock as the audio), else the first.
        telephoneEventPayloadType = nil
        telephoneEventClockRate = nil
        telephoneEventParameters = nil
        if policy.acceptsTelephoneEvent {
            let event = media.payloadType { $0.matches("telephone-event", clockRate: 48000) }
                ?? media.payloadType { $0.encodingName.sdpLowercased == "telephone-event" }
            if let event, let map = media.rtpMap(for: event) {
                telephoneEventPayloadType = event
                telephoneEventClockRate = map.clockRate
                telephoneEventParameters = media.formatParameters(for: event)?.parameters
            }
        }

        // Header extensions: same id, direction mirrored (RFC 8285 §7).
        var accepted: [SDPExtensionMap] = []
        var ids: [String: UInt16] = [:]
        for map in offer.extensionMaps(for: media)
        where policy.headerExtensions.contains(map.uri) && ids[map.uri] == nil && !accepted.contains(where: { $0.id == map.id }) {
            var answered = SDPExtensionMap(id: map.id, uri: map.uri)
            if let offered = map.direction {
                let mirrored = offered.reversed.intersection(direction == .inactive ? .inactive : .sendrecv)
                answered.direction = mirrored == .sendrecv ? nil : mirrored
            }
            accepted.append(answered)
            ids[map.uri] = map.id
        }
        headerExtensions = accepted
        headerExtensionIDs = ids

        var feedback: [SDPRTCPFeedback] = []
        for offered in media.rtcpFeedback(for: opus) where policy.rtcpFeedback.contains(offered.type) {
            if offered.type == "transport-cc", ids[SDPAudioPolicy.transportWideCCURI] == nil { continue }
            let answered = SDPRTCPFeedback(payloadType: opus, type: offered.type, parameter: offered.parameter)
            if !feedback.contains(answered) { feedback.append(answered) }
        }
        rtcpFeedback = feedback

        var usable: [ICECandidate] = []
        var ignored: [ICECandidate] = []
        var candidates = media.candidates
        if candidates.isEmpty, transport != media { candidates = transport.candidates }
        for candidate in candidates {
            if candidate.transport == .udp, candidate.component == 1 { usable.append(candidate) } else { ignored.append(candidate) }
        }
        remoteCandidates = usable
        ignoredRemoteCandidates = ignored
        remoteEndOfCandidates = media.hasEndOfCandidates || transport.hasEndOfCandidates

        let ssrc = media.ssrcs.first
        remoteSSRC = ssrc
        remoteCNAME = ssrc.flatMap { media.cname(for: $0) }
        remoteMediaStreamID = media.msid
    }
}

/// An answer for an ICE-lite, DTLS-passive audio relay (RFC 8829 §5.3.1 answer generation, reduced to what the relay
/// supports): the first usable audio section is accepted with Opus (and optionally RED and telephone-event), every
/// other section is rejected with port 0, keeping its position and mid.
public struct SDPAnswer: Hashable, Sendable {
    public var sessionDescription: SessionDescription
    public var negotiated: NegotiatedAudio

    public init(offer: SessionDescription, parameters: SDPAnswerParameters) throws(SDPNegotiationError) {
        try SDPAnswer.check(parameters)
        let negotiated = try NegotiatedAudio(offer: offer, policy: parameters.policy)
        self.negotiated = negotiated

        var session = SessionDescription(
            origin: SDPOrigin(sessionID: parameters.sessionID, sessionVersion: parameters.sessionVersion))
        session.attributes.append(.iceLite)
        if negotiated.isBundled, let mid = negotiated.mid {
            session.attributes.append(.group(SDPGroup(semantics: "BUNDLE", identificationTags: [mid])))
        }

        for (index, offered) in offer.media.enumerated() {
            if index == negotiated.mediaIndex {
                session.media.append(SDPAnswer.acceptedSection(negotiated, parameters: parameters))
            } else {
                session.media.append(SDPAnswer.rejectedSection(offered))
            }
        }
        sessionDescription = session
    }

    /// The answer as SDP text (CRLF line endings).
    public func serialized() -> String { sessionDescription.serialized() }

    /// RFC 3264 §6: a rejected stream keeps its media type, protocol and at least one format, with port 0. RFC 8829
    /// §5.3.1: no candidates; the mid stays so the offerer can match it; it is left out of the BUNDLE group.
    static func rejectedSection(_ offered: MediaDescription) -> MediaDescription {
        var section = MediaDescription(type: offered.type, port: 0, transportProtocol: offered.transportProtocol,
                                       formats: Array(offered.formats.prefix(1)),
                                       connections: [.unspecifiedIPv4])
        if let mid = offered.mid { section.attributes.append(.mid(mid)) }
        if offered.isRTP { section.attributes.append(.direction(.inactive)) }
        return section
    }

    static func acceptedSection(_ negotiated: NegotiatedAudio, parameters: SDPAnswerParameters) -> MediaDescription {
        var formats = [String(negotiated.opusPayloadType)]
        if let red = negotiated.redPayloadType { formats.append(String(red)) }
        if let event = negotiated.telephoneEventPayloadType { formats.append(String(event)) }

        // The default candidate goes into m= and c= (RFC 8839 §4.2.1.2); 9 and 0.0.0.0 when there is none (JSEP).
        let first = parameters.candidates.first
        var section = MediaDescription(
            type: .audio, port: first?.port ?? 9, transportProtocol: negotiated.transportProtocol, formats: formats,
            connections: [first.map { SDPConnection($0.address) } ?? .unspecifiedIPv4])

        var attributes: [SDPAttribute] = []
        if let mid = negotiated.mid { attributes.append(.mid(mid)) }
        attributes.append(.iceUfrag(parameters.iceUfrag))
        attributes.append(.icePwd(parameters.icePwd))
        attributes.append(.fingerprint(parameters.fingerprint))
        attributes.append(.setup(negotiated.localSetup))
        for candidate in parameters.candidates { attributes.append(.candidate(candidate)) }
        attributes.append(.endOfCandidates)
        for map in negotiated.headerExtensions { attributes.append(.extensionMap(map)) }
        attributes.append(.direction(negotiated.direction))
        let sends = negotiated.direction.sends
        if sends, let msid = parameters.mediaStreamID { attributes.append(.msid(msid)) }
        attributes.append(.rtcpMux)
        if negotiated.reducedSizeRTCP { attributes.append(.rtcpReducedSize) }

        let opus = negotiated.opusPayloadType
        attributes.append(.rtpMap(SDPRTPMap(payloadType: opus, encodingName: "opus", clockRate: 48000,
                                            encodingParameters: 2)))
        for feedback in negotiated.rtcpFeedback { attributes.append(.rtcpFeedback(feedback)) }
        let opusParameters = negotiated.localOpusParameters.formatted
        if !opusParameters.isEmpty {
            attributes.append(.formatParameters(SDPFormatParameters(payloadType: opus, parameters: opusParameters)))
        }
        if let red = negotiated.redPayloadType {
            attributes.append(.rtpMap(SDPRTPMap(payloadType: red, encodingName: "red", clockRate: 48000,
                                                encodingParameters: 2)))
            attributes.append(.formatParameters(SDPFormatParameters(payloadType: red,
                                                                    parameters: negotiated.redParameters ?? "")))
        }
        if let event = negotiated.telephoneEventPayloadType, let rate = negotiated.telephoneEventClockRate {
            attributes.append(.rtpMap(SDPRTPMap(payloadType: event, encodingName: "telephone-event", clockRate: rate)))
            if let events = negotiated.telephoneEventParameters, !events.isEmpty {
                attributes.append(.formatParameters(SDPFormatParameters(payloadType: event, parameters: events)))
            }
        }
        if sends {
            attributes.append(.ssrc(SDPSSRCAttribute(ssrc: parameters.ssrc, attribute: "cname", value: parameters.cname)))
            if let msid = parameters.mediaStreamID {
                let value = msid.trackID.map { "\(msid.streamID) \($0)" } ?? msid.streamID
                attributes.append(.ssrc(SDPSSRCAttribute(ssrc: parameters.ssrc, attribute: "msid", value: value)))
            }
        }
        section.attributes = attributes
        return section
    }

    /// Our own values must survive the round trip through SDP text unchanged.
    static func check(_ parameters: SDPAnswerParameters) throws(SDPNegotiationError) {
        func iceChars(_ text: String, _ range: ClosedRange<Int>) -> Bool {
            range.contains(text.utf8.count) && text.utf8.allSatisfy(SDPASCII.isICEChar)
        }
        // RFC 8839 §5.4 lengths.
        guard iceChars(parameters.iceUfrag, 4...256) else {
            throw .invalidLocalParameters("ice-ufrag must be 4 to 256 letters, digits, '+' or '/'")
        }
        guard iceChars(parameters.icePwd, 22...256) else {
            throw .invalidLocalParameters("ice-pwd must be 22 to 256 letters, digits, '+' or '/'")
        }
        if let size = parameters.fingerprint.algorithm.digestSize, size != parameters.fingerprint.digest.count {
            throw .invalidLocalParameters("a \(parameters.fingerprint.algorithm) fingerprint must have \(size) bytes")
        }
        guard !parameters.fingerprint.digest.isEmpty else { throw .invalidLocalParameters("empty fingerprint") }
        guard !parameters.cname.isEmpty, parameters.cname.utf8.allSatisfy(SDPASCII.isVisible) else {
            throw .invalidLocalParameters("cname must be non-empty without spaces")
        }
        for candidate in parameters.candidates where candidate.transport != .udp || candidate.component != 1 {
            throw .invalidLocalParameters("our candidates must be UDP, component 1 (found \(candidate.attributeValue))")
        }
        if let msid = parameters.mediaStreamID {
            let parts = [msid.streamID] + (msid.trackID.map { [$0] } ?? [])
            guard parts.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy(SDPASCII.isVisible) }) else {
                throw .invalidLocalParameters("msid stream and track ids must be non-empty without spaces")
            }
        }
    }
}
