import EarshotWire
import Foundation
import Testing

/// Real offers (Fixtures/sdp, provenance in Fixtures/README.md). Every expected value below was read off the file
/// by hand.
struct SDPCaptureTests {
    /// What each capture must parse to: the first (audio) section's key fields.
    struct Expectation: Sendable, CustomStringConvertible {
        var name: String
        var mediaTypes: [SDPMediaType]
        var mids: [String?]
        var bundle: [String]
        var ufrag: String
        var pwd: String
        /// First two and last bytes of the (only) SHA-256 fingerprint.
        var fingerprintEdges: (UInt8, UInt8, UInt8)
        var fingerprintAtSessionLevel: Bool
        var opusPayloadType: UInt8
        var opusFmtp: String
        var audioPort: UInt16
        var connection: String
        var extensions: [(UInt16, String)]
        /// (transport, component, address, port) of every candidate in the audio section.
        var candidates: [(ICECandidate.Transport, UInt16, String, UInt16)]
        var endOfCandidates: Bool
        var ssrc: UInt32
        var cname: String
        var direction: SDPDirection
        var rtcpReducedSize: Bool

        var description: String { name }
    }

    static let audioLevel = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
    static let absSendTime = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
    static let twcc = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
    static let midExtension = "urn:ietf:params:rtp-hdrext:sdes:mid"
    static let csrcAudioLevel = "urn:ietf:params:rtp-hdrext:csrc-audio-level"
    static let chromiumExtensions: [(UInt16, String)] = [(1, audioLevel), (2, absSendTime), (3, twcc), (4, midExtension)]
    static let firefoxExtensions: [(UInt16, String)] = [(1, audioLevel), (2, csrcAudioLevel), (3, midExtension),
                                                        (7, twcc)]

    static let expectations: [Expectation] = [
        Expectation(
            name: "chromium-audio", mediaTypes: [.audio], mids: ["0"], bundle: ["0"], ufrag: "yDcI",
            pwd: "AfCppL2c3w/mtZN1gSNU3qiu", fingerprintEdges: (0x64, 0xFA, 0xE8), fingerprintAtSessionLevel: false,
            opusPayloadType: 111, opusFmtp: "minptime=10;useinbandfec=1", audioPort: 52755, connection: "127.0.0.1",
            extensions: chromiumExtensions,
            candidates: [(.udp, 1, "127.0.0.1", 52755), (.tcp, 1, "127.0.0.1", 9)], endOfCandidates: false,
            ssrc: 1_991_275_806, cname: "bB2OuxV0MPqORPPN", direction: .sendrecv, rtcpReducedSize: true),
        Expectation(
            name: "chromium-audio-nocandidates", mediaTypes: [.audio], mids: ["0"], bundle: ["0"], ufrag: "PToL",
            pwd: "3bv9ZZ2vRJ4rqiDlVcU4b6rf", fingerprintEdges: (0xEB, 0x10, 0x80), fingerprintAtSessionLevel: false,
            opusPayloadType: 111, opusFmtp: "minptime=10;useinbandfec=1", audioPort: 9, connection: "0.0.0.0",
            extensions: chromiumExtensions, candidates: [], endOfCandidates: false,
            ssrc: 1_817_880_898, cname: "7ZthT4ctbOvnrtrc", direction: .sendrecv, rtcpReducedSize: true),
        Expectation(
            name: "chromium-gum", mediaTypes: [.audio], mids: ["0"], bundle: ["0"], ufrag: "m96m",
            pwd: "rgYU/u22Km4kfyuTReoTopNS", fingerprintEdges: (0xAB, 0xF4, 0xCF), fingerprintAtSessionLevel: false,
            opusPayloadType: 111, opusFmtp: "minptime=10;useinbandfec=1", audioPort: 56399, connection: "127.0.0.1",
            extensions: chromiumExtensions,
            candidates: [(.udp, 1, "127.0.0.1", 56399), (.tcp, 1, "127.0.0.1", 9)], endOfCandidates: false,
            ssrc: 2_858_929_298, cname: "DvWw1tBBnLyBHlrK", direction: .sendrecv, rtcpReducedSize: true),
        Expectation(
            name: "chromium-sendonly", mediaTypes: [.audio], mids: ["0"], bundle: ["0"], ufrag: "5kGJ",
            pwd: "P7FFVUFFiuDu3VDXe7iwme2K", fingerprintEdges: (0xC5, 0x14, 0xC4), fingerprintAtSessionLevel: false,
            opusPayloadType: 111, opusFmtp: "minptime=10;useinbandfec=1", audioPort: 35912, connection: "127.0.0.1",
            extensions: chromiumExtensions,
            candidates: [(.udp, 1, "127.0.0.1", 35912), (.tcp, 1, "127.0.0.1", 9)], endOfCandidates: false,
            ssrc: 522_398_758, cname: "YbAwokxqvqp1IYAR", direction: .sendonly, rtcpReducedSize: true),
        Expectation(
            name: "chromium-two-audio", mediaTypes: [.audio, .audio], mids: ["0", "1"], bundle: ["0", "1"],
            ufrag: "Im7w", pwd: "wsA7e4WR8hHgH+71wsr0//5M", fingerprintEdges: (0x87, 0x7F, 0xF9),
            fingerprintAtSessionLevel: false, opusPayloadType: 111, opusFmtp: "minptime=10;useinbandfec=1",
            audioPort: 44222, connection: "127.0.0.1", extensions: chromiumExtensions,
            candidates: [(.udp, 1, "127.0.0.1", 44222), (.tcp, 1, "127.0.0.1", 9)], endOfCandidates: false,
            ssrc: 1_089_949_762, cname: "L+xNuCGMv6IaguZM", direction: .sendrecv, rtcpReducedSize: true),
        Expectation(
            name: "chromium-bundle", mediaTypes: [.audio, .video, .application], mids: ["0", "1", "2"],
            bundle: ["0", "1", "2"], ufrag: "Ykzt", pwd: "607VUult3gmTezoGIbjoc8l6",
            fingerprintEdges: (0xE8, 0x51, 0x89), fingerprintAtSessionLevel: false, opusPayloadType: 111,
            opusFmtp: "minptime=10;useinbandfec=1", audioPort: 52450, connection: "127.0.0.1",
            extensions: chromiumExtensions,
            candidates: [(.udp, 1, "127.0.0.1", 52450), (.tcp, 1, "127.0.0.1", 9)], endOfCandidates: false,
            ssrc: 263_884_194, cname: "ydJuulc0QMP3KUrn", direction: .sendrecv, rtcpReducedSize: true),
        Expectation(
            name: "firefox-audio", mediaTypes: [.audio], mids: ["0"], bundle: ["0"], ufrag: "75e4cf57",
            pwd: "d1c5c2f774754eb1005f2fa7fc7f04c9", fingerprintEdges: (0xBC, 0x57, 0xE6),
            fingerprintAtSessionLevel: true, opusPayloadType: 109,
            opusFmtp: "maxplaybackrate=48000;stereo=1;useinbandfec=1", audioPort: 9, connection: "0.0.0.0",
            extensions: firefoxExtensions,
            candidates: [
                (.udp, 1, "3a52848f-29ed-4d34-b115-c38b33a68090.local", 54312),
                (.udp, 1, "fec3975c-47db-4a60-9b0d-bd2489fe66ff.local", 45141),
                (.tcp, 1, "3a52848f-29ed-4d34-b115-c38b33a68090.local", 9),
                (.tcp, 1, "fec3975c-47db-4a60-9b0d-bd2489fe66ff.local", 9),
                (.udp, 2, "3a52848f-29ed-4d34-b115-c38b33a68090.local", 48940),
                (.udp, 2, "fec3975c-47db-4a60-9b0d-bd2489fe66ff.local", 51845),
                (.tcp, 2, "3a52848f-29ed-4d34-b115-c38b33a68090.local", 9),
                (.tcp, 2, "fec3975c-47db-4a60-9b0d-bd2489fe66ff.local", 9),
            ],
            endOfCandidates: true, ssrc: 4_007_002_132, cname: "{196b744e-56d6-4589-ba0b-24a9d28316ef}",
            direction: .sendrecv, rtcpReducedSize: false),
        Expectation(
            name: "firefox-gum-loopback", mediaTypes: [.audio], mids: ["0"], bundle: ["0"], ufrag: "c4931259",
            pwd: "47e08482527bfa32ffaba22f11948b6b", fingerprintEdges: (0xB6, 0xCA, 0xAF),
            fingerprintAtSessionLevel: true, opusPayloadType: 109,
            opusFmtp: "maxplaybackrate=48000;stereo=1;useinbandfec=1", audioPort: 38546, connection: "127.0.0.1",
            extensions: firefoxExtensions,
            candidates: [
                (.udp, 1, "127.0.0.1", 38546), (.udp, 1, "::1", 46732), (.tcp, 1, "127.0.0.1", 9), (.tcp, 1, "::1", 9),
                (.udp, 2, "127.0.0.1", 48870), (.udp, 2, "::1", 58325), (.tcp, 2, "127.0.0.1", 9), (.tcp, 2, "::1", 9),
            ],
            endOfCandidates: true, ssrc: 3_710_734_701, cname: "{018577e1-0d41-41ca-87d5-2d64e816d9b3}",
            direction: .sendrecv, rtcpReducedSize: false),
        Expectation(
            name: "firefox-bundle", mediaTypes: [.audio, .video, .application], mids: ["0", "1", "2"],
            bundle: ["0", "1", "2"], ufrag: "2ad8ea49", pwd: "18004d83e2b14c09a24e81b31429372b",
            fingerprintEdges: (0xE8, 0x52, 0x59), fingerprintAtSessionLevel: true, opusPayloadType: 109,
            opusFmtp: "maxplaybackrate=48000;stereo=1;useinbandfec=1", audioPort: 9, connection: "0.0.0.0",
            extensions: firefoxExtensions,
            candidates: [
                (.udp, 1, "2217e174-dcc0-4507-8834-18de2cc2df09.local", 58147),
                (.udp, 1, "4866e083-b577-4cc9-bbc3-d5e2f2380351.local", 48292),
                (.tcp, 1, "2217e174-dcc0-4507-8834-18de2cc2df09.local", 9),
                (.tcp, 1, "4866e083-b577-4cc9-bbc3-d5e2f2380351.local", 9),
                (.udp, 2, "2217e174-dcc0-4507-8834-18de2cc2df09.local", 57325),
                (.udp, 2, "4866e083-b577-4cc9-bbc3-d5e2f2380351.local", 38024),
                (.tcp, 2, "2217e174-dcc0-4507-8834-18de2cc2df09.local", 9),
                (.tcp, 2, "4866e083-b577-4cc9-bbc3-d5e2f2380351.local", 9),
            ],
            endOfCandidates: true, ssrc: 3_768_415_408, cname: "{ee1cd854-0c2c-4537-bce0-61344bfa583b}",
            direction: .sendrecv, rtcpReducedSize: false),
        Expectation(
            name: "gstreamer-audio", mediaTypes: [.audio], mids: ["audio0"], bundle: ["audio0"],
            ufrag: "N9b/DAJbh8gq6KztIrqZx8d1gFP3g+q7", pwd: "D315jB25+tNYfOtR/6QKgkW2fHPZo74Y",
            fingerprintEdges: (0x30, 0x49, 0x7B), fingerprintAtSessionLevel: false, opusPayloadType: 96,
            opusFmtp: "sprop-stereo=0;sprop-maxcapturerate=48000", audioPort: 9, connection: "0.0.0.0", extensions: [],
            candidates: [(.udp, 1, "127.0.0.1", 37087), (.tcp, 1, "127.0.0.1", 9), (.tcp, 1, "127.0.0.1", 50561)],
            endOfCandidates: false, ssrc: 1_655_566_665, cname: "user1589840249@host-b04b9f2e", direction: .sendrecv,
            rtcpReducedSize: true),
    ]

    @Test func everyCaptureHasAnExpectation() {
        #expect(Self.expectations.map(\.name) == SDPFixtures.captureNames)
    }

    @Test(arguments: expectations)
    func captureParses(_ expected: Expectation) throws {
        let offer = try SDPFixtures.parse(expected.name)
        #expect(offer.media.map(\.type) == expected.mediaTypes)
        #expect(offer.media.map(\.mid) == expected.mids)
        #expect(offer.bundleGroups.count == 1)
        #expect(offer.bundleGroups.first?.identificationTags == expected.bundle)
        #expect(offer.timings == [SDPTiming(start: 0, stop: 0)])
        #expect(offer.sessionName == "-")
        #expect(!offer.isICELite)

        let audio = try #require(offer.media.first)
        #expect(audio.port == expected.audioPort)
        #expect(audio.transportProtocol == "UDP/TLS/RTP/SAVPF")
        #expect(offer.iceUfrag(for: audio) == expected.ufrag)
        #expect(offer.icePwd(for: audio) == expected.pwd)
        #expect(offer.iceOptions(for: audio) == ["trickle"])
        #expect(offer.setup(for: audio) == .actpass)
        #expect(offer.connection(for: audio)?.address == expected.connection)
        #expect(offer.direction(for: audio) == expected.direction)
        #expect(audio.hasRTCPMux)
        #expect(audio.hasRTCPReducedSize == expected.rtcpReducedSize)

        let fingerprints = offer.fingerprints(for: audio)
        #expect(fingerprints.count == 1)
        let fingerprint = try #require(fingerprints.first)
        #expect(fingerprint.algorithm == .sha256)
        #expect(fingerprint.digest.count == 32)
        #expect(fingerprint.digest.first == expected.fingerprintEdges.0)
        #expect(fingerprint.digest.dropFirst().first == expected.fingerprintEdges.1)
        #expect(fingerprint.digest.last == expected.fingerprintEdges.2)
        #expect(offer.fingerprints.isEmpty == !expected.fingerprintAtSessionLevel)
        #expect(audio.fingerprints.isEmpty == expected.fingerprintAtSessionLevel)

        #expect(audio.opusPayloadType == expected.opusPayloadType)
        #expect(audio.formatParameters(for: expected.opusPayloadType)?.parameters == expected.opusFmtp)

        let extensions = audio.extensionMaps.map { ($0.id, $0.uri) }
        #expect(extensions.elementsEqual(expected.extensions) { $0 == $1 })

        let candidates = audio.candidates.map { ($0.transport, $0.component, $0.address.description, $0.port) }
        #expect(candidates.elementsEqual(expected.candidates) { $0 == $1 })
        #expect(audio.candidates.allSatisfy { $0.type == .host })
        #expect(audio.hasEndOfCandidates == expected.endOfCandidates)

        #expect(audio.ssrcs.first == expected.ssrc)
        #expect(audio.cname(for: expected.ssrc) == expected.cname)
    }

    @Test(arguments: SDPFixtures.captureNames)
    func roundTripIsAFixedPoint(_ name: String) throws {
        let parsed = try SDPFixtures.parse(name)
        let text = parsed.serialized()
        let reparsed = try SessionDescription(parsing: text)
        #expect(reparsed == parsed)
        #expect(reparsed.serialized() == text)
        // Serialized text uses CRLF only.
        #expect(!text.utf8.enumerated().contains { index, byte in
            byte == UInt8(ascii: "\n") && (index == 0 || Array(text.utf8)[index - 1] != UInt8(ascii: "\r"))
        })
    }

    /// The captures are serialized back byte for byte (they already use the RFC order, CRLF and single spaces), except
    /// that candidate transports are written in upper case (`udp` → `UDP`, as RFC 8839's grammar spells it;
    /// Chromium writes lower case, Firefox and GStreamer upper case).
    @Test(arguments: SDPFixtures.captureNames)
    func serializationReproducesTheCapture(_ name: String) throws {
        let expected = try SDPFixtures.text(name).components(separatedBy: "\r\n").map { line in
            guard line.hasPrefix("a=candidate:") else { return line }
            var fields = line.components(separatedBy: " ")
            fields[2] = fields[2].uppercased()
            return fields.joined(separator: " ")
        }.joined(separator: "\r\n")
        #expect(try SDPFixtures.parse(name).serialized() == expected)
    }

    @Test(arguments: SDPFixtures.captureNames)
    func lineFeedOnlyEndingsParseTheSame(_ name: String) throws {
        let crlf = try SDPFixtures.parse(name)
        let lf = try SessionDescription(parsing: SDPFixtures.text(name).replacingOccurrences(of: "\r\n", with: "\n"))
        #expect(lf == crlf)
    }

    // MARK: Details of single captures

    @Test func chromiumCodecsAndCandidateExtensions() throws {
        let offer = try SDPFixtures.parse("chromium-audio")
        let audio = offer.media[0]
        #expect(audio.formats == ["111", "63", "9", "0", "8", "13", "110", "126"])
        #expect(audio.rtpMap(for: 63) == SDPRTPMap(payloadType: 63, encodingName: "red", clockRate: 48000,
                                                   encodingParameters: 2))
        #expect(audio.formatParameters(for: 63)?.parameters == "111/111")
        #expect(audio.rtpMap(for: 110) == SDPRTPMap(payloadType: 110, encodingName: "telephone-event",
                                                    clockRate: 48000))
        #expect(audio.rtpMap(for: 126)?.clockRate == 8000)
        #expect(audio.rtpMap(for: 9) == SDPRTPMap(payloadType: 9, encodingName: "G722", clockRate: 8000))
        #expect(audio.rtcpFeedback(for: 111) == [SDPRTCPFeedback(payloadType: 111, type: "transport-cc")])
        #expect(audio.redPayloadType == 63)
        #expect(audio.telephoneEventPayloadTypes == [110, 126])
        #expect(audio.isRTP)
        #expect(audio.msid == SDPMediaStreamID(streamID: "-", trackID: "574c8e38-d170-4b08-80c2-27557c704c1b"))
        #expect(audio.ssrcAttributes.last == SDPSSRCAttribute(ssrc: 1_991_275_806, attribute: "msid",
                                                               value: "- 574c8e38-d170-4b08-80c2-27557c704c1b"))
        #expect(offer.attributes.contains(.extensionMapAllowMixed))
        #expect(offer.attributes.contains(.other(name: "msid-semantic", value: " WMS")))
        #expect(audio.attributes.contains(.other(name: "rtcp-xr", value: "rcvr-rtt=all")))
        #expect(audio.attributes.contains(.other(name: "rtcp", value: "9 IN IP4 0.0.0.0")))
        #expect(offer.origin == SDPOrigin(username: "-", sessionID: "8687852177079873236", sessionVersion: "2",
                                          unicastAddress: "127.0.0.1"))

        let udp = audio.candidates[0]
        #expect(udp.foundation == "1247752504")
        #expect(udp.priority == 2_122_260_223)
        #expect(udp.address == SDPAddress(127, 0, 0, 1))
        #expect(udp.generation == 0)
        #expect(udp.extensionValue("network-id") == "1")
        #expect(udp.extensionValue("network-cost") == "50")
        let tcp = audio.candidates[1]
        #expect(tcp.transport == .tcp)
        #expect(tcp.tcpType == "active")
        #expect(tcp.priority == 1_518_280_447)

        let opus = SDPOpusParameters(try #require(audio.formatParameters(for: 111)))
        #expect(opus == SDPOpusParameters(minPTime: 10, useInbandFEC: true))
    }

    @Test func chromiumBundleVideoAndData() throws {
        let offer = try SDPFixtures.parse("chromium-bundle")
        let video = offer.media[1]
        #expect(video.formats.count == 23)
        #expect(video.port == 9)
        #expect(!video.isRejected)
        #expect(video.rtpMap(for: 96)?.encodingName == "VP8")
        #expect(video.rtpMap(for: 45)?.encodingName == "AV1")
        #expect(video.rtcpFeedback(for: 96).map(\.type) == ["goog-remb", "transport-cc", "ccm", "nack", "nack"])
        #expect(video.rtcpFeedback(for: 96)[2].parameter == "fir")
        #expect(video.extensionMaps.count == 11)
        #expect(video.extensionMaps.first == SDPExtensionMap(id: 14, uri: "urn:ietf:params:rtp-hdrext:toffset"))
        #expect(video.ssrcs == [3_113_018_791, 613_434_342])
        #expect(video.attributes.contains(.other(name: "ssrc-group", value: "FID 3113018791 613434342")))
        #expect(video.formatParameters(for: 102)?.value(of: "profile-level-id") == "42001f")

        let data = offer.media[2]
        #expect(data.type == .application)
        #expect(data.transportProtocol == "UDP/DTLS/SCTP")
        #expect(data.formats == ["webrtc-datachannel"])
        #expect(data.payloadTypes.isEmpty)
        #expect(data.redPayloadType == nil)
        #expect(!data.isRTP)
        #expect(data.attributes.contains(.other(name: "sctp-port", value: "5000")))
        #expect(data.attributes.contains(.other(name: "max-message-size", value: "262144")))
    }

    @Test func firefoxSessionLevelAttributesAndStereo() throws {
        let offer = try SDPFixtures.parse("firefox-audio")
        #expect(offer.origin.username == "mozilla...THIS_IS_SDPARTA-99.0")
        #expect(offer.origin.unicastAddress == "0.0.0.0")
        #expect(offer.direction == .sendrecv)
        #expect(offer.iceOptions == ["trickle"])
        let audio = offer.media[0]
        #expect(audio.iceOptions.isEmpty)
        #expect(audio.extensionMaps[1] == SDPExtensionMap(id: 2, direction: .recvonly, uri: Self.csrcAudioLevel))
        #expect(audio.rtpMap(for: 101) == SDPRTPMap(payloadType: 101, encodingName: "telephone-event", clockRate: 8000))
        #expect(audio.formatParameters(for: 101)?.parameters == "0-15")
        #expect(audio.telephoneEventPayloadTypes == [101])
        #expect(audio.redPayloadType == nil)
        #expect(audio.rtpMap(for: 9)?.encodingParameters == 1)
        #expect(audio.attributes.contains(.other(name: "rtcp",
                                                 value: "48940 IN IP4 3a52848f-29ed-4d34-b115-c38b33a68090.local")))
        #expect(audio.msid == SDPMediaStreamID(streamID: "-", trackID: "{2c76d96c-6932-4522-a1a1-60a6f025cbc9}"))
        let opus = SDPOpusParameters(try #require(audio.formatParameters(for: 109)))
        #expect(opus == SDPOpusParameters(maxPlaybackRate: 48000, stereo: true, useInbandFEC: true))
        #expect(audio.candidates[0].address == .hostname("3a52848f-29ed-4d34-b115-c38b33a68090.local"))
        #expect(audio.candidates[0].foundation == "0")
    }

    @Test func firefoxBundleOnlySections() throws {
        let offer = try SDPFixtures.parse("firefox-bundle")
        for section in offer.media.dropFirst() {
            #expect(section.port == 0)
            #expect(section.isBundleOnly)
            #expect(!section.isRejected)
        }
        #expect(offer.media[2].attributes.contains(.other(name: "max-message-size", value: "1073741823")))
    }

    @Test func firefoxIPv6Candidate() throws {
        let audio = try SDPFixtures.parse("firefox-gum-loopback").media[0]
        #expect(audio.candidates[1].address == .ipv6Loopback)
        #expect(audio.candidates[1].address.bytes == [UInt8](repeating: 0, count: 15) + [1])
        #expect(audio.msid == SDPMediaStreamID(streamID: "{298263c9-0db9-4268-9128-e39f4f312b09}",
                                               trackID: "{8d5a1f7f-9def-442a-b527-ca3b6c435705}"))
    }

    @Test func gstreamerUpperCaseOpusAndRTCPMuxOnly() throws {
        let audio = try SDPFixtures.parse("gstreamer-audio").media[0]
        #expect(audio.rtpMap(for: 96) == SDPRTPMap(payloadType: 96, encodingName: "OPUS", clockRate: 48000,
                                                   encodingParameters: 2))
        #expect(audio.hasRTCPMuxOnly)
        let opus = SDPOpusParameters(try #require(audio.formatParameters(for: 96)))
        #expect(opus == SDPOpusParameters(spropMaxCaptureRate: 48000, spropStereo: false))
        #expect(audio.candidates[2].tcpType == "passive")
        #expect(audio.ssrcAttributes[0] == SDPSSRCAttribute(ssrc: 1_655_566_665, attribute: "msid",
                                                            value: "user1589840249@host-b04b9f2e webrtctransceiver0"))
    }
}
