import EarshotWire
import Foundation
import Testing

/// Answers to the real offers (Fixtures/sdp) and to synthetic variations that must be refused.
struct SDPAnswerTests {
    func answer(_ name: String, policy: SDPAudioPolicy = SDPAudioPolicy()) throws -> SDPAnswer {
        try SDPAnswer(offer: SDPFixtures.parse(name), parameters: SDPFixtures.answerParameters(policy: policy))
    }

    /// The full answer to the Chromium audio offer, line by line.
    @Test func chromiumAudioAnswerText() throws {
        #expect(try answer("chromium-audio").serialized() == """
            v=0\r
            o=- 4611686018427387904 2 IN IP4 0.0.0.0\r
            s=-\r
            t=0 0\r
            a=ice-lite\r
            a=group:BUNDLE 0\r
            m=audio 50000 UDP/TLS/RTP/SAVPF 111 110\r
            c=IN IP4 127.0.0.1\r
            a=mid:0\r
            a=ice-ufrag:EaRs\r
            a=ice-pwd:earshotPasswordEarshot0\r
            a=fingerprint:sha-256 00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F\r
            a=setup:passive\r
            a=candidate:1 1 UDP 2130706431 127.0.0.1 50000 typ host\r
            a=end-of-candidates\r
            a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r
            a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r
            a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r
            a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r
            a=sendrecv\r
            a=msid:earshot relay-audio\r
            a=rtcp-mux\r
            a=rtcp-rsize\r
            a=rtpmap:111 opus/48000/2\r
            a=rtcp-fb:111 transport-cc\r
            a=fmtp:111 minptime=10;useinbandfec=1;stereo=0\r
            a=rtpmap:110 telephone-event/48000\r
            a=ssrc:305419896 cname:earshot\r
            a=ssrc:305419896 msid:earshot relay-audio\r

            """)
    }

    /// Structure every answer must have, checked against each capture.
    @Test(arguments: SDPFixtures.captureNames)
    func answerStructure(_ name: String) throws {
        let offer = try SDPFixtures.parse(name)
        let answer = try answer(name)
        let parameters = SDPFixtures.answerParameters()
        let session = try SessionDescription(parsing: answer.serialized())
        #expect(session == answer.sessionDescription)

        #expect(session.isICELite)
        #expect(session.origin == SDPOrigin(sessionID: parameters.sessionID, sessionVersion: parameters.sessionVersion))
        #expect(session.media.count == offer.media.count)
        #expect(session.media.map(\.type) == offer.media.map(\.type))
        #expect(session.media.map(\.mid) == offer.media.map(\.mid))
        #expect(session.media.map(\.transportProtocol) == offer.media.map(\.transportProtocol))

        let accepted = session.media[0]
        #expect(answer.negotiated.mediaIndex == 0)
        #expect(session.bundleGroups == [SDPGroup(semantics: "BUNDLE", identificationTags: [try #require(offer.media[0].mid)])])
        #expect(accepted.port == 50000)
        #expect(accepted.connections == [SDPConnection(address: "127.0.0.1")])
        #expect(accepted.setup == .passive)
        #expect(accepted.fingerprints == [SDPFixtures.localFingerprint])
        #expect(accepted.iceUfrag == "EaRs")
        #expect(accepted.icePwd == "earshotPasswordEarshot0")
        #expect(accepted.candidates == parameters.candidates)
        #expect(accepted.hasEndOfCandidates)
        #expect(accepted.hasRTCPMux)
        #expect(accepted.hasRTCPReducedSize == offer.media[0].hasRTCPReducedSize)
        #expect(!accepted.isBundleOnly)

        // Codecs: Opus with the offer's payload type and our fmtp; telephone-event when offered; nothing else.
        let opus = try #require(offer.media[0].opusPayloadType)
        #expect(accepted.formats.first == String(opus))
        #expect(accepted.rtpMap(for: opus) == SDPRTPMap(payloadType: opus, encodingName: "opus", clockRate: 48000,
                                                        encodingParameters: 2))
        #expect(accepted.formatParameters(for: opus)?.parameters == "minptime=10;useinbandfec=1;stereo=0")
        let names = accepted.rtpMaps.map { $0.encodingName.lowercased() }
        let offersEvents = offer.media[0].rtpMaps.contains { $0.encodingName == "telephone-event" }
        #expect(names == (offersEvents ? ["opus", "telephone-event"] : ["opus"]))
        #expect(accepted.payloadTypes.count == names.count)

        // Extensions: a subset of the offered ones, with the offer's ids.
        let offered = Dictionary(offer.media[0].extensionMaps.map { ($0.uri, $0.id) }, uniquingKeysWith: { a, _ in a })
        for map in accepted.extensionMaps {
            #expect(offered[map.uri] == map.id)
            #expect(SDPAudioPolicy.defaultHeaderExtensions.contains(map.uri))
        }

        // Every other section is rejected: port 0, one of its formats, no transport attributes, same mid.
        for (index, section) in session.media.enumerated().dropFirst() {
            #expect(section.port == 0)
            #expect(section.isRejected)
            #expect(section.formats == Array(offer.media[index].formats.prefix(1)))
            #expect(section.candidates.isEmpty)
            #expect(section.fingerprints.isEmpty)
            #expect(section.iceUfrag == nil)
            #expect(section.mid == offer.media[index].mid)
            #expect(!(session.bundleGroups.first?.identificationTags.contains(section.mid ?? "") ?? false))
        }
    }

    /// The negotiated values read off each capture (compare with SDPCaptureTests' expectations).
    @Test func negotiatedValues() throws {
        let chromium = try answer("chromium-audio").negotiated
        #expect(chromium.mid == "0")
        #expect(chromium.isBundled)
        #expect(chromium.opusPayloadType == 111)
        #expect(chromium.remoteOpusParameters == SDPOpusParameters(minPTime: 10, useInbandFEC: true))
        #expect(chromium.localOpusParameters == SDPOpusParameters(minPTime: 10, stereo: false, useInbandFEC: true))
        #expect(chromium.redPayloadType == nil)
        #expect(chromium.telephoneEventPayloadType == 110)
        #expect(chromium.telephoneEventClockRate == 48000)
        #expect(chromium.headerExtensionIDs == [SDPAudioPolicy.audioLevelURI: 1, SDPAudioPolicy.absoluteSendTimeURI: 2,
                                                SDPAudioPolicy.transportWideCCURI: 3, SDPAudioPolicy.midURI: 4])
        #expect(chromium.rtcpFeedback == [SDPRTCPFeedback(payloadType: 111, type: "transport-cc")])
        #expect(chromium.reducedSizeRTCP)
        #expect(chromium.remoteICEUfrag == "yDcI")
        #expect(chromium.remoteICEPwd == "AfCppL2c3w/mtZN1gSNU3qiu")
        #expect(chromium.remoteICEOptions == ["trickle"])
        #expect(chromium.remoteFingerprints.count == 1)
        #expect(chromium.remoteFingerprints.first?.digest.prefix(2) == [0x64, 0xFA])
        #expect(chromium.remoteSetup == .actpass)
        #expect(chromium.localSetup == .passive)
        #expect(chromium.remoteCandidates.map(\.port) == [52755])
        #expect(chromium.ignoredRemoteCandidates.map(\.transport) == [.tcp])
        #expect(!chromium.remoteEndOfCandidates)
        #expect(chromium.remoteSSRC == 1_991_275_806)
        #expect(chromium.remoteCNAME == "bB2OuxV0MPqORPPN")
        #expect(chromium.remoteMediaStreamID?.trackID == "574c8e38-d170-4b08-80c2-27557c704c1b")
        #expect(chromium.direction == .sendrecv)

        let firefox = try answer("firefox-audio").negotiated
        #expect(firefox.opusPayloadType == 109)
        #expect(firefox.remoteOpusParameters == SDPOpusParameters(maxPlaybackRate: 48000, stereo: true, useInbandFEC: true))
        #expect(firefox.telephoneEventPayloadType == 101)
        #expect(firefox.telephoneEventClockRate == 8000)
        #expect(firefox.telephoneEventParameters == "0-15")
        #expect(firefox.headerExtensionIDs == [SDPAudioPolicy.audioLevelURI: 1, SDPAudioPolicy.midURI: 3,
                                               SDPAudioPolicy.transportWideCCURI: 7])
        #expect(!firefox.reducedSizeRTCP)
        #expect(firefox.remoteICEUfrag == "75e4cf57")
        #expect(firefox.remoteFingerprints.first?.digest.prefix(2) == [0xBC, 0x57])
        #expect(firefox.remoteCandidates.map(\.address) == [.hostname("3a52848f-29ed-4d34-b115-c38b33a68090.local"),
                                                          .hostname("fec3975c-47db-4a60-9b0d-bd2489fe66ff.local")])
        #expect(firefox.ignoredRemoteCandidates.count == 6)  // 2 TCP for RTP, 4 for component 2
        #expect(firefox.remoteEndOfCandidates)
        #expect(firefox.remoteSSRC == 4_007_002_132)

        let gstreamer = try answer("gstreamer-audio").negotiated
        #expect(gstreamer.mid == "audio0")
        #expect(gstreamer.opusPayloadType == 96)
        #expect(gstreamer.telephoneEventPayloadType == nil)
        #expect(gstreamer.headerExtensionIDs.isEmpty)
        #expect(gstreamer.rtcpFeedback.isEmpty)  // transport-cc offered, but not its header extension
        #expect(gstreamer.remoteCandidates.map(\.port) == [37087])
        #expect(gstreamer.ignoredRemoteCandidates.compactMap(\.tcpType) == ["active", "passive"])

        let empty = try answer("chromium-audio-nocandidates").negotiated
        #expect(empty.remoteCandidates.isEmpty)
        #expect(empty.ignoredRemoteCandidates.isEmpty)
    }

    @Test func sendonlyOfferGetsRecvonlyWithoutOurSSRC() throws {
        let answer = try answer("chromium-sendonly")
        let accepted = answer.sessionDescription.media[0]
        #expect(answer.negotiated.direction == .recvonly)
        #expect(accepted.direction == .recvonly)
        #expect(accepted.ssrcAttributes.isEmpty)
        #expect(accepted.msid == nil)
    }

    /// RFC 3264 §6.1 direction table, and our policy narrowing it.
    @Test func directions() throws {
        let base = try SDPFixtures.parse("chromium-audio")
        let cases: [(SDPDirection, SDPDirection, SDPDirection)] = [
            (.sendrecv, .sendrecv, .sendrecv), (.sendonly, .sendrecv, .recvonly), (.recvonly, .sendrecv, .sendonly),
            (.inactive, .sendrecv, .inactive), (.sendrecv, .recvonly, .recvonly), (.recvonly, .recvonly, .inactive),
            (.sendrecv, .sendonly, .sendonly), (.sendonly, .sendonly, .inactive),
        ]
        for (offered, ours, expected) in cases {
            var offer = base
            offer.media[0].attributes = offer.media[0].attributes.map {
                if case .direction = $0 { return .direction(offered) } else { return $0 }
            }
            var policy = SDPAudioPolicy()
            policy.direction = ours
            let answer = try SDPAnswer(offer: offer, parameters: SDPFixtures.answerParameters(policy: policy))
            #expect(answer.negotiated.direction == expected, "\(offered) with policy \(ours)")
            #expect(answer.sessionDescription.media[0].direction == expected)
            #expect(answer.sessionDescription.media[0].ssrcs.isEmpty == !expected.sends)
        }
        // Session-level direction (Firefox style) applies when the section has none.
        var offer = base
        offer.media[0].attributes.removeAll { if case .direction = $0 { return true } else { return false } }
        offer.attributes.append(.direction(.sendonly))
        #expect(try SDPAnswer(offer: offer, parameters: SDPFixtures.answerParameters()).negotiated.direction == .recvonly)
    }

    @Test func redWhenAccepted() throws {
        var policy = SDPAudioPolicy()
        policy.acceptsRED = true
        let answer = try answer("chromium-audio", policy: policy)
        let accepted = answer.sessionDescription.media[0]
        #expect(answer.negotiated.redPayloadType == 63)
        #expect(answer.negotiated.redParameters == "111/111")
        #expect(accepted.formats == ["111", "63", "110"])
        #expect(accepted.rtpMap(for: 63) == SDPRTPMap(payloadType: 63, encodingName: "red", clockRate: 48000,
                                                      encodingParameters: 2))
        #expect(accepted.formatParameters(for: 63)?.parameters == "111/111")

        // RED whose fmtp names another codec is not accepted.
        var offer = try SDPFixtures.parse("chromium-audio")
        offer.media[0].attributes = offer.media[0].attributes.map {
            if case .formatParameters(let fmtp) = $0, fmtp.payloadType == 63 {
                return .formatParameters(SDPFormatParameters(payloadType: 63, parameters: "9/9"))
            }
            return $0
        }
        let other = try SDPAnswer(offer: offer, parameters: SDPFixtures.answerParameters(policy: policy))
        #expect(other.negotiated.redPayloadType == nil)
    }

    @Test func telephoneEventCanBeRefused() throws {
        var policy = SDPAudioPolicy()
        policy.acceptsTelephoneEvent = false
        let answer = try answer("firefox-audio", policy: policy)
        #expect(answer.sessionDescription.media[0].formats == ["109"])
        #expect(answer.negotiated.telephoneEventPayloadType == nil)
    }

    @Test func customOpusParametersAndExtensions() throws {
        var policy = SDPAudioPolicy()
        policy.opusParameters = SDPOpusParameters(maxAverageBitrate: 32000, stereo: true, useInbandFEC: true, useDTX: true)
        policy.headerExtensions = [SDPAudioPolicy.midURI]
        policy.rtcpFeedback = []
        let accepted = try answer("chromium-audio", policy: policy).sessionDescription.media[0]
        #expect(accepted.formatParameters(for: 111)?.parameters == "useinbandfec=1;usedtx=1;stereo=1;maxaveragebitrate=32000")
        #expect(accepted.extensionMaps == [SDPExtensionMap(id: 4, uri: SDPAudioPolicy.midURI)])
        #expect(accepted.rtcpFeedback(for: 111).isEmpty)

        // Empty Opus parameters: no fmtp line at all.
        policy.opusParameters = SDPOpusParameters()
        let bare = try answer("chromium-audio", policy: policy).sessionDescription.media[0]
        #expect(bare.formatParameters(for: 111) == nil)
    }

    /// RFC 8285 §7: an extension offered with a direction is answered with the mirrored direction.
    @Test func extensionDirectionsAreMirrored() throws {
        var offer = try SDPFixtures.parse("chromium-audio")
        offer.media[0].attributes.append(.extensionMap(SDPExtensionMap(id: 9, direction: .sendonly,
                                                                       uri: SDPAudioPolicy.absoluteCaptureTimeURI)))
        offer.attributes.append(.extensionMap(SDPExtensionMap(id: 1, uri: "urn:session-level-duplicate-id")))
        let answer = try SDPAnswer(offer: offer, parameters: SDPFixtures.answerParameters())
        #expect(answer.negotiated.headerExtensions.last == SDPExtensionMap(id: 9, direction: .recvonly,
                                                                           uri: SDPAudioPolicy.absoluteCaptureTimeURI))
        #expect(answer.negotiated.headerExtensionIDs.count == 5)
    }

    @Test func candidatesInTheAnswer() throws {
        // IPv6 first: m= port and c=IN IP6 follow the first candidate.
        let parameters = SDPFixtures.answerParameters(candidates: [
            ICECandidate.host(foundation: "2", address: .ipv6Loopback, port: 40000),
            ICECandidate.host(foundation: "1", address: .ipv4Loopback, port: 40001, localPreference: 65534),
        ])
        let answer = try SDPAnswer(offer: SDPFixtures.parse("chromium-audio"), parameters: parameters)
        let accepted = answer.sessionDescription.media[0]
        #expect(accepted.port == 40000)
        #expect(accepted.connections == [SDPConnection(addressType: "IP6", address: "::1")])
        #expect(accepted.candidates.map(\.priority) == [2_130_706_431, 2_130_706_175])
        #expect(answer.serialized().contains("a=candidate:2 1 UDP 2130706431 ::1 40000 typ host\r\n"))

        // No candidates yet: JSEP's placeholder port 9 and 0.0.0.0.
        let none = try SDPAnswer(offer: SDPFixtures.parse("chromium-audio"),
                                 parameters: SDPFixtures.answerParameters(candidates: []))
        #expect(none.sessionDescription.media[0].port == 9)
        #expect(none.sessionDescription.media[0].connections == [.unspecifiedIPv4])
        #expect(none.sessionDescription.media[0].hasEndOfCandidates)
    }

    /// The second audio section of a two-audio offer is rejected; its mid leaves the BUNDLE group.
    @Test func secondAudioIsRejected() throws {
        let session = try answer("chromium-two-audio").sessionDescription
        #expect(session.bundleGroups.first?.identificationTags == ["0"])
        #expect(session.media[1].type == .audio)
        #expect(session.media[1].port == 0)
        #expect(session.media[1].mid == "1")
        #expect(session.media[1].direction == .inactive)
        #expect(session.media[1].rtpMaps.isEmpty)
    }

    /// A rejected first audio section (port 0, not bundle-only) is skipped; the next audio section is used.
    @Test func stoppedAudioIsSkipped() throws {
        var offer = try SDPFixtures.parse("chromium-two-audio")
        offer.media[0].port = 0
        let answer = try SDPAnswer(offer: offer, parameters: SDPFixtures.answerParameters())
        #expect(answer.negotiated.mediaIndex == 1)
        #expect(answer.negotiated.mid == "1")
        #expect(answer.sessionDescription.media[0].port == 0)
        #expect(answer.sessionDescription.media[1].port == 50000)
        #expect(answer.sessionDescription.bundleGroups.first?.identificationTags == ["1"])
    }

    /// Audio as a bundle-only section behind a video BUNDLE tag: accepted, transport values from the tag section.
    @Test func bundleOnlyAudioBehindVideo() throws {
        let offer = try SessionDescription(parsing: """
            v=0\r
            o=- 1 1 IN IP4 0.0.0.0\r
            s=-\r
            t=0 0\r
            a=group:BUNDLE v a\r
            m=video 5000 UDP/TLS/RTP/SAVPF 96\r
            c=IN IP4 192.0.2.1\r
            a=mid:v\r
            a=ice-ufrag:vvvv\r
            a=ice-pwd:vvvvvvvvvvvvvvvvvvvvvvvv\r
            a=fingerprint:sha-256 \((0..<32).map { _ in "AA" }.joined(separator: ":"))\r
            a=setup:actpass\r
            a=candidate:1 1 UDP 2130706431 192.0.2.1 5000 typ host\r
            a=rtcp-mux\r
            a=rtpmap:96 VP8/90000\r
            m=audio 0 UDP/TLS/RTP/SAVPF 111\r
            c=IN IP4 0.0.0.0\r
            a=mid:a\r
            a=bundle-only\r
            a=rtcp-mux\r
            a=rtpmap:111 opus/48000/2\r

            """)
        let answer = try SDPAnswer(offer: offer, parameters: SDPFixtures.answerParameters())
        #expect(answer.negotiated.mediaIndex == 1)
        #expect(answer.negotiated.remoteICEUfrag == "vvvv")
        #expect(answer.negotiated.remoteFingerprints.first?.digest.first == 0xAA)
        #expect(answer.negotiated.remoteCandidates.map(\.port) == [5000])
        #expect(answer.sessionDescription.bundleGroups.first?.identificationTags == ["a"])
        #expect(answer.sessionDescription.media.map(\.port) == [0, 50000])
        #expect(try answer.sessionDescription.reparsed() == answer.sessionDescription)
    }

    @Test func activeOfferIsAccepted() throws {
        var offer = try SDPFixtures.parse("chromium-audio")
        offer.media[0].attributes = offer.media[0].attributes.map {
            if case .setup = $0 { return .setup(.active) } else { return $0 }
        }
        let answer = try SDPAnswer(offer: offer, parameters: SDPFixtures.answerParameters())
        #expect(answer.negotiated.remoteSetup == .active)
        #expect(answer.sessionDescription.media[0].setup == .passive)

        // No a=setup at all: read as actpass.
        offer.media[0].attributes.removeAll { if case .setup = $0 { return true } else { return false } }
        #expect(try SDPAnswer(offer: offer, parameters: SDPFixtures.answerParameters()).negotiated.remoteSetup == .actpass)
    }

    // MARK: Offers that cannot be answered

    func negotiationError(_ offer: SessionDescription,
                          _ parameters: SDPAnswerParameters = SDPFixtures.answerParameters()) -> SDPNegotiationError? {
        do {
            _ = try SDPAnswer(offer: offer, parameters: parameters)
            return nil
        } catch {
            return error
        }
    }

    func removing(_ offer: SessionDescription, where predicate: (SDPAttribute) -> Bool) -> SessionDescription {
        var offer = offer
        offer.attributes.removeAll(where: predicate)
        for index in offer.media.indices { offer.media[index].attributes.removeAll(where: predicate) }
        return offer
    }

    @Test func noAudio() throws {
        var offer = try SDPFixtures.parse("chromium-bundle")
        offer.media.removeFirst()
        #expect(negotiationError(offer) == .noAudio)
        offer.media = []
        #expect(negotiationError(offer) == .noAudio)
        var stopped = try SDPFixtures.parse("chromium-audio")
        stopped.media[0].port = 0
        #expect(negotiationError(stopped) == .noAudio)
    }

    @Test func noOpus() throws {
        let offer = removing(try SDPFixtures.parse("chromium-audio")) {
            if case .rtpMap(let map) = $0 { return map.payloadType == 111 } else { return false }
        }
        let error = try #require(negotiationError(offer))
        #expect(error == .noOpus(mid: "0", offered: ["payload type 111", "red/48000", "G722/8000", "PCMU/8000",
                                                     "PCMA/8000", "CN/8000", "telephone-event/48000",
                                                     "telephone-event/8000"]))
        #expect(error.description.contains("does not offer Opus"))
        // Opus at another clock rate is not Opus.
        var wrongRate = try SDPFixtures.parse("gstreamer-audio")
        wrongRate.media[0].attributes = wrongRate.media[0].attributes.map {
            if case .rtpMap(var map) = $0 { map.clockRate = 16000; return .rtpMap(map) } else { return $0 }
        }
        #expect(negotiationError(wrongRate) == .noOpus(mid: "audio0", offered: ["OPUS/16000"]))
    }

    @Test func missingICECredentials() throws {
        let noUfrag = removing(try SDPFixtures.parse("firefox-audio")) { if case .iceUfrag = $0 { true } else { false } }
        #expect(negotiationError(noUfrag) == .missingICECredentials(mid: "0"))
        let noPwd = removing(try SDPFixtures.parse("chromium-audio")) { if case .icePwd = $0 { true } else { false } }
        #expect(negotiationError(noPwd) == .missingICECredentials(mid: "0"))
    }

    @Test func missingFingerprint() throws {
        // Firefox has it at session level, Chromium at media level: both places count.
        for name in ["firefox-audio", "chromium-audio"] {
            let offer = removing(try SDPFixtures.parse(name)) { if case .fingerprint = $0 { true } else { false } }
            #expect(negotiationError(offer) == .missingFingerprint(mid: "0"))
        }
        let md5 = try SDPFixtures.parse("chromium-audio")
        var weak = removing(md5) { if case .fingerprint = $0 { true } else { false } }
        weak.media[0].attributes.append(.fingerprint(SDPFingerprint(algorithm: .md5, digest: [UInt8](repeating: 1, count: 16))))
        #expect(negotiationError(weak) == .unsupportedFingerprintAlgorithm(mid: "0", algorithms: ["md5"]))
        // One checkable fingerprint among several is enough; all are reported.
        weak.media[0].attributes.append(.fingerprint(SDPFingerprint(algorithm: .sha512, digest: [UInt8](repeating: 2, count: 64))))
        #expect(try SDPAnswer(offer: weak, parameters: SDPFixtures.answerParameters()).negotiated.remoteFingerprints.count == 2)
    }

    @Test func incompatibleSetupRoles() throws {
        for role in [SDPSetupRole.passive, .holdconn] {
            var offer = try SDPFixtures.parse("chromium-audio")
            offer.media[0].attributes = offer.media[0].attributes.map {
                if case .setup = $0 { return .setup(role) } else { return $0 }
            }
            let error = negotiationError(offer)
            #expect(error == .incompatibleSetupRole(mid: "0", offered: role))
            #expect(error?.description.contains("a=setup:\(role.rawValue)") == true)
        }
    }

    @Test func missingRTCPMux() throws {
        let offer = removing(try SDPFixtures.parse("chromium-audio")) { $0 == .rtcpMux }
        #expect(negotiationError(offer) == .missingRTCPMux(mid: "0"))
        // rtcp-mux-only alone is enough.
        let only = removing(try SDPFixtures.parse("gstreamer-audio")) { $0 == .rtcpMux }
        #expect(negotiationError(only) == nil)
    }

    @Test func iceLiteOfferer() throws {
        var offer = try SDPFixtures.parse("chromium-audio")
        offer.attributes.append(.iceLite)
        #expect(negotiationError(offer) == .offererIsICELite)
    }

    @Test func unsupportedTransportProtocol() throws {
        var offer = try SDPFixtures.parse("chromium-audio")
        offer.media[0].transportProtocol = "RTP/AVP"
        #expect(negotiationError(offer) == .unsupportedTransportProtocol(mid: "0", transportProtocol: "RTP/AVP"))
        offer.media[0].transportProtocol = "TCP/DTLS/RTP/SAVPF"
        #expect(negotiationError(offer) == .unsupportedTransportProtocol(mid: "0", transportProtocol: "TCP/DTLS/RTP/SAVPF"))
    }

    @Test func invalidLocalParameters() throws {
        let offer = try SDPFixtures.parse("chromium-audio")
        var parameters = SDPFixtures.answerParameters()
        parameters.iceUfrag = "abc"
        #expect(negotiationError(offer, parameters)
                == .invalidLocalParameters("ice-ufrag must be 4 to 256 letters, digits, '+' or '/'"))
        parameters = SDPFixtures.answerParameters()
        parameters.icePwd = "short"
        #expect(negotiationError(offer, parameters)
                == .invalidLocalParameters("ice-pwd must be 22 to 256 letters, digits, '+' or '/'"))
        parameters = SDPFixtures.answerParameters()
        parameters.fingerprint.digest.removeLast()
        #expect(negotiationError(offer, parameters) == .invalidLocalParameters("a sha-256 fingerprint must have 32 bytes"))
        parameters = SDPFixtures.answerParameters()
        parameters.cname = "two words"
        #expect(negotiationError(offer, parameters) == .invalidLocalParameters("cname must be non-empty without spaces"))
        parameters = SDPFixtures.answerParameters()
        parameters.candidates[0].transport = .tcp
        #expect(negotiationError(offer, parameters)
                == .invalidLocalParameters("our candidates must be UDP, component 1 (found 1 1 TCP 2130706431 127.0.0.1 50000 typ host)"))
        parameters = SDPFixtures.answerParameters()
        parameters.mediaStreamID = SDPMediaStreamID(streamID: "")
        #expect(negotiationError(offer, parameters)
                == .invalidLocalParameters("msid stream and track ids must be non-empty without spaces"))
    }

    @Test func errorDescriptionsAreSentences() {
        let errors: [SDPNegotiationError] = [
            .noAudio, .unsupportedTransportProtocol(mid: "0", transportProtocol: "RTP/AVP"),
            .noOpus(mid: nil, offered: []), .missingICECredentials(mid: "0"), .missingFingerprint(mid: "0"),
            .unsupportedFingerprintAlgorithm(mid: "0", algorithms: ["md5"]),
            .incompatibleSetupRole(mid: "0", offered: .passive), .missingRTCPMux(mid: "0"), .offererIsICELite,
            .invalidLocalParameters("x"),
        ]
        for error in errors {
            #expect(error.description.count > 20, "\(error)")
        }
        #expect(SDPNegotiationError.missingRTCPMux(mid: "0").description.contains("(mid 0)"))
        #expect(SDPNegotiationError.noOpus(mid: nil, offered: []).description.contains("(without mid)"))
    }
}
