// Typed views of the attributes WebRTC audio needs. Media-level accessors read one media section; the
// `SessionDescription` ones taking a media section fall back to the session level where the RFCs allow an attribute
// at both levels (ice-ufrag, ice-pwd, ice-options, fingerprint, setup, direction, extmap, c=).

/// A session or media section: both carry attributes, and several attributes may stand at either level.
public protocol SDPAttributeCarrier {
    var attributes: [SDPAttribute] { get }
}

extension MediaDescription: SDPAttributeCarrier {}
extension SessionDescription: SDPAttributeCarrier {}

extension SDPAttributeCarrier {
    public var iceUfrag: String? {
        for case .iceUfrag(let value) in attributes { return value }
        return nil
    }

    public var icePwd: String? {
        for case .icePwd(let value) in attributes { return value }
        return nil
    }

    public var iceOptions: [String] {
        var options: [String] = []
        for case .iceOptions(let values) in attributes { options += values }
        return options
    }

    /// The fingerprints at this level (Firefox puts its fingerprint at session level, Chromium at media level).
    public var fingerprints: [SDPFingerprint] {
        var result: [SDPFingerprint] = []
        for case .fingerprint(let fingerprint) in attributes { result.append(fingerprint) }
        return result
    }

    public var setup: SDPSetupRole? {
        for case .setup(let role) in attributes { return role }
        return nil
    }

    /// The direction attribute at this level, if any (see `SessionDescription.direction(for:)`).
    public var direction: SDPDirection? {
        for case .direction(let direction) in attributes { return direction }
        return nil
    }

    public var extensionMaps: [SDPExtensionMap] {
        var result: [SDPExtensionMap] = []
        for case .extensionMap(let map) in attributes { result.append(map) }
        return result
    }
}

extension MediaDescription {
    public var mid: String? {
        for case .mid(let mid) in attributes { return mid }
        return nil
    }

    /// All `a=candidate` lines of this section, every transport and component.
    public var candidates: [ICECandidate] {
        var result: [ICECandidate] = []
        for case .candidate(let candidate) in attributes { result.append(candidate) }
        return result
    }

    public var hasEndOfCandidates: Bool { attributes.contains(.endOfCandidates) }
    public var hasRTCPMux: Bool { attributes.contains(.rtcpMux) }
    public var hasRTCPMuxOnly: Bool { attributes.contains(.rtcpMuxOnly) }
    public var hasRTCPReducedSize: Bool { attributes.contains(.rtcpReducedSize) }
    public var isBundleOnly: Bool { attributes.contains(.bundleOnly) }

    /// Port 0 without `a=bundle-only`: the section is rejected or stopped (RFC 3264 §6, RFC 8843 §6).
    public var isRejected: Bool { port == 0 && !isBundleOnly }

    public var rtpMaps: [SDPRTPMap] {
        var result: [SDPRTPMap] = []
        for case .rtpMap(let map) in attributes { result.append(map) }
        return result
    }

    public func rtpMap(for payloadType: UInt8) -> SDPRTPMap? {
        for case .rtpMap(let map) in attributes where map.payloadType == payloadType { return map }
        return nil
    }

    public func formatParameters(for payloadType: UInt8) -> SDPFormatParameters? {
        for case .formatParameters(let fmtp) in attributes where fmtp.payloadType == payloadType { return fmtp }
        return nil
    }

    /// `a=rtcp-fb` lines that apply to `payloadType` (its own and the `*` ones).
    public func rtcpFeedback(for payloadType: UInt8) -> [SDPRTCPFeedback] {
        var result: [SDPRTCPFeedback] = []
        for case .rtcpFeedback(let feedback) in attributes
        where feedback.payloadType == nil || feedback.payloadType == payloadType {
            result.append(feedback)
        }
        return result
    }

    public var ssrcAttributes: [SDPSSRCAttribute] {
        var result: [SDPSSRCAttribute] = []
        for case .ssrc(let attribute) in attributes { result.append(attribute) }
        return result
    }

    /// The distinct SSRCs named by `a=ssrc` lines, in order of first appearance.
    public var ssrcs: [UInt32] {
        var result: [UInt32] = []
        for attribute in ssrcAttributes where !result.contains(attribute.ssrc) { result.append(attribute.ssrc) }
        return result
    }

    /// `a=ssrc:<ssrc> cname:<cname>`.
    public func cname(for ssrc: UInt32) -> String? {
        ssrcAttributes.first { $0.ssrc == ssrc && $0.attribute == "cname" }?.value
    }

    public var msid: SDPMediaStreamID? {
        for case .msid(let msid) in attributes { return msid }
        return nil
    }

    /// The payload type of the first `opus/48000/2` rtpmap among the m= line formats (RFC 7587 §7: the media
    /// subtype is `opus`, clock rate 48000 and two channels whatever the actual channel count).
    public var opusPayloadType: UInt8? {
        payloadType { $0.matches("opus", clockRate: 48000, channels: 2) }
    }

    /// The payload type of the first `red/48000` rtpmap (RFC 2198 redundancy at Opus's clock rate); its fmtp lists
    /// the redundant payload types, e.g. `111/111`.
    public var redPayloadType: UInt8? {
        payloadType { $0.matches("red", clockRate: 48000) }
    }

    /// The payload types of every `telephone-event` rtpmap (RFC 4733), in m= line order (one per clock rate).
    public var telephoneEventPayloadTypes: [UInt8] {
        let maps = rtpMaps
        return payloadTypes.filter { payloadType in
            maps.contains { $0.payloadType == payloadType && $0.encodingName.sdpLowercased == "telephone-event" }
        }
    }

    /// The first m= line payload type whose rtpmap satisfies `predicate`.
    public func payloadType(where predicate: (SDPRTPMap) -> Bool) -> UInt8? {
        let maps = rtpMaps
        for payloadType in payloadTypes {
            if let map = maps.first(where: { $0.payloadType == payloadType }), predicate(map) { return payloadType }
        }
        return nil
    }
}

extension SessionDescription {
    /// `a=ice-lite` at session level (RFC 8839 §5.3).
    public var isICELite: Bool { attributes.contains(.iceLite) }

    public var groups: [SDPGroup] {
        var result: [SDPGroup] = []
        for case .group(let group) in attributes { result.append(group) }
        return result
    }

    /// The `a=group:BUNDLE` groups (usually one).
    public var bundleGroups: [SDPGroup] { groups.filter(\.isBundle) }

    /// The BUNDLE group that contains `mid`, if any.
    public func bundleGroup(containing mid: String) -> SDPGroup? {
        bundleGroups.first { $0.identificationTags.contains(mid) }
    }

    /// Media-level ice-ufrag, else session-level (RFC 8839 §5.4).
    public func iceUfrag(for media: MediaDescription) -> String? { media.iceUfrag ?? iceUfrag }
    public func icePwd(for media: MediaDescription) -> String? { media.icePwd ?? icePwd }

    /// Media-level ice-options, else session-level.
    public func iceOptions(for media: MediaDescription) -> [String] {
        let options = media.iceOptions
        return options.isEmpty ? iceOptions : options
    }

    /// Media-level fingerprints if there are any, else the session-level ones (RFC 8122 §5).
    public func fingerprints(for media: MediaDescription) -> [SDPFingerprint] {
        let own = media.fingerprints
        return own.isEmpty ? fingerprints : own
    }

    public func setup(for media: MediaDescription) -> SDPSetupRole? { media.setup ?? setup }

    /// Media-level direction, else session-level, else sendrecv (RFC 8866 §6.7).
    public func direction(for media: MediaDescription) -> SDPDirection { media.direction ?? direction ?? .sendrecv }

    /// Media-level extmaps plus the session-level ones whose id the media section does not use (RFC 8285 §8).
    public func extensionMaps(for media: MediaDescription) -> [SDPExtensionMap] {
        var maps = media.extensionMaps
        for map in extensionMaps where !maps.contains(where: { $0.id == map.id }) { maps.append(map) }
        return maps
    }

    /// The first media-level c= line, else the session-level one (RFC 8866 §5.7).
    public func connection(for media: MediaDescription) -> SDPConnection? { media.connections.first ?? connection }
}

/// Opus `a=fmtp` parameters (RFC 7587 §6.1). Unknown parameters and values that are not numbers are ignored when
/// reading; `formatted` writes the known ones in a fixed order.
public struct SDPOpusParameters: Hashable, Sendable {
    /// Maximum audio bandwidth the receiver can render, Hz.
    public var maxPlaybackRate: UInt32?
    /// Maximum sampling rate the sender produces, Hz.
    public var spropMaxCaptureRate: UInt32?
    /// Maximum packet duration the receiver accepts, ms.
    public var maxPTime: UInt32?
    /// Preferred packet duration, ms.
    public var ptime: UInt32?
    /// Minimum packet duration, ms (a WebRTC addition).
    public var minPTime: UInt32?
    /// Maximum average bitrate the receiver wants, bit/s.
    public var maxAverageBitrate: UInt32?
    /// The receiver prefers stereo.
    public var stereo: Bool?
    /// The sender is likely to send stereo.
    public var spropStereo: Bool?
    /// The receiver prefers constant bitrate.
    public var cbr: Bool?
    /// The receiver can use in-band FEC.
    public var useInbandFEC: Bool?
    /// The receiver wants discontinuous transmission.
    public var useDTX: Bool?

    public init(maxPlaybackRate: UInt32? = nil, spropMaxCaptureRate: UInt32? = nil, maxPTime: UInt32? = nil,
                ptime: UInt32? = nil, minPTime: UInt32? = nil, maxAverageBitrate: UInt32? = nil, stereo: Bool? = nil,
                spropStereo: Bool? = nil, cbr: Bool? = nil, useInbandFEC: Bool? = nil, useDTX: Bool? = nil) {
        self.maxPlaybackRate = maxPlaybackRate
        self.spropMaxCaptureRate = spropMaxCaptureRate
        self.maxPTime = maxPTime
        self.ptime = ptime
        self.minPTime = minPTime
        self.maxAverageBitrate = maxAverageBitrate
        self.stereo = stereo
        self.spropStereo = spropStereo
        self.cbr = cbr
        self.useInbandFEC = useInbandFEC
        self.useDTX = useDTX
    }

    public init(_ fmtp: SDPFormatParameters) {
        self.init()
        for (name, value) in fmtp.pairs {
            let number = value.sdpDecimal(maximum: UInt64(UInt32.max)).map { UInt32($0) }
            // RFC 7587 §6.1: the boolean parameters are 0 or 1.
            let flag: Bool? = value == "1" ? true : value == "0" ? false : nil
            switch name.sdpLowercased {
            case "maxplaybackrate": maxPlaybackRate = number
            case "sprop-maxcapturerate": spropMaxCaptureRate = number
            case "maxptime": maxPTime = number
            case "ptime": ptime = number
            case "minptime": minPTime = number
            case "maxaveragebitrate": maxAverageBitrate = number
            case "stereo": stereo = flag
            case "sprop-stereo": spropStereo = flag
            case "cbr": cbr = flag
            case "useinbandfec": useInbandFEC = flag
            case "usedtx": useDTX = flag
            default: break
            }
        }
    }

    /// `name=value;...` with the set parameters, e.g. `minptime=10;useinbandfec=1;stereo=0`.
    public var formatted: String {
        var items: [String] = []
        func add(_ name: String, _ value: UInt32?) { if let value { items.append("\(name)=\(value)") } }
        func add(_ name: String, _ value: Bool?) { if let value { items.append("\(name)=\(value ? 1 : 0)") } }
        add("minptime", minPTime)
        add("ptime", ptime)
        add("maxptime", maxPTime)
        add("useinbandfec", useInbandFEC)
        add("usedtx", useDTX)
        add("stereo", stereo)
        add("sprop-stereo", spropStereo)
        add("cbr", cbr)
        add("maxaveragebitrate", maxAverageBitrate)
        add("maxplaybackrate", maxPlaybackRate)
        add("sprop-maxcapturerate", spropMaxCaptureRate)
        return items.joined(separator: ";")
    }
}
