public import EarshotCore
public import EarshotCrypto
public import EarshotWire

/// The SDP our client offers (JSEP-style: one bundled, rtcp-muxed sendrecv audio section with Opus, our host
/// candidate, `a=setup:actpass`), and what it needs from the relay's answer.
public enum ClientOffer {
    public static func make(
        credentials: ICECredentials, fingerprint: CertificateFingerprint, address: TransportAddress, ssrc: UInt32,
        sessionID: UInt64, cname: String = "earshot-client"
    ) -> String {
        let family = address.address.isIPv6 ? "IP6" : "IP4"
        let lines = [
            "v=0",
            "o=- \(sessionID) 2 IN \(family) \(address.address)",
            "s=-",
            "t=0 0",
            "a=group:BUNDLE 0",
            "a=msid-semantic: WMS earshot",
            "m=audio \(address.port) UDP/TLS/RTP/SAVPF 111",
            "c=IN \(family) \(address.address)",
            "a=candidate:1 1 udp 2130706431 \(address.address) \(address.port) typ host",
            "a=end-of-candidates",
            "a=ice-ufrag:\(credentials.ufrag)",
            "a=ice-pwd:\(credentials.password)",
            "a=fingerprint:\(fingerprint.sdpValue)",
            "a=setup:actpass",
            "a=mid:0",
            "a=sendrecv",
            "a=msid:earshot audio",
            "a=rtcp-mux",
            "a=rtcp-rsize",
            "a=rtpmap:111 opus/48000/2",
            "a=fmtp:111 minptime=10;useinbandfec=1",
            "a=ssrc:\(ssrc) cname:\(cname)",
        ]
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// What the client takes from the answer.
    public struct Answer: Sendable {
        public var credentials: ICECredentials
        public var fingerprints: [CertificateFingerprint]
        public var address: TransportAddress
        public var payloadType: UInt8
    }

    public static func parseAnswer(_ text: String) throws(ClientError) -> Answer {
        let session: SessionDescription
        do {
            session = try SessionDescription(parsing: text)
        } catch {
            throw .badAnswer(error.description)
        }
        guard let audio = session.media.first(where: { $0.type == .audio && !$0.isRejected }) else {
            throw .badAnswer("no accepted audio section")
        }
        guard let ufrag = audio.iceUfrag ?? session.iceUfrag, let password = audio.icePwd ?? session.icePwd
        else { throw .badAnswer("no ICE credentials") }
        let fingerprints = (audio.fingerprints.isEmpty ? session.fingerprints : audio.fingerprints)
            .compactMap { CertificateFingerprint(sdpValue: $0.description) }
        guard !fingerprints.isEmpty else { throw .badAnswer("no usable fingerprint") }
        guard let candidate = audio.candidates.first(where: { $0.transport == .udp && $0.component == 1 }),
            let ip = IPAddress(candidate.address.description)
        else { throw .badAnswer("no UDP candidate with an IP address") }
        guard let payloadType = audio.opusPayloadType else { throw .badAnswer("no Opus payload type") }
        return Answer(
            credentials: ICECredentials(ufrag: ufrag, password: password), fingerprints: fingerprints,
            address: TransportAddress(address: ip, port: candidate.port), payloadType: payloadType)
    }
}

extension IPAddress {
    var isIPv6: Bool {
        if case .v6 = self { return true }
        return false
    }
}
