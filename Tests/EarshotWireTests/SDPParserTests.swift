import EarshotWire
import Foundation
import Testing

/// RFC examples first, then synthetic cases; negative cases beside the positive ones.
struct SDPParserTests {
    // MARK: RFC examples

    /// RFC 8866 §5 example session description.
    static let rfc8866Example = """
        v=0\r
        o=jdoe 3724394400 3724394405 IN IP4 198.51.100.1\r
        s=Call to John Smith\r
        i=SDP Offer #1\r
        u=http://www.jdoe.example.com/home.html\r
        e=Jane Doe <jane@jdoe.example.com>\r
        p=+1 617 555-6011\r
        c=IN IP4 198.51.100.1\r
        t=0 0\r
        m=audio 49170 RTP/AVP 0\r
        m=audio 49180 RTP/AVP 0\r
        m=video 51372 RTP/AVP 99\r
        c=IN IP6 2001:db8::2\r
        a=rtpmap:99 h263-1998/90000\r

        """

    @Test func rfc8866Example() throws {
        let session = try SessionDescription(parsing: Self.rfc8866Example)
        #expect(session.origin == SDPOrigin(username: "jdoe", sessionID: "3724394400", sessionVersion: "3724394405",
                                            unicastAddress: "198.51.100.1"))
        #expect(session.sessionName == "Call to John Smith")
        #expect(session.information == "SDP Offer #1")
        #expect(session.uri == "http://www.jdoe.example.com/home.html")
        #expect(session.emails == ["Jane Doe <jane@jdoe.example.com>"])
        #expect(session.phones == ["+1 617 555-6011"])
        #expect(session.connection == SDPConnection(address: "198.51.100.1"))
        #expect(session.timings == [SDPTiming(start: 0, stop: 0)])
        #expect(session.media.count == 3)
        #expect(session.media[0] == MediaDescription(type: .audio, port: 49170, transportProtocol: "RTP/AVP",
                                                     formats: ["0"]))
        #expect(session.media[1].port == 49180)
        let video = session.media[2]
        #expect(video.type == .video)
        #expect(video.payloadTypes == [99])
        #expect(video.connections == [SDPConnection(addressType: "IP6", address: "2001:db8::2")])
        #expect(video.connections.first?.parsedAddress == .ipv6(high: 0x2001_0db8_0000_0000, low: 2))
        #expect(video.rtpMap(for: 99) == SDPRTPMap(payloadType: 99, encodingName: "h263-1998", clockRate: 90000))
        #expect(session.connection(for: session.media[0]) == session.connection)
        #expect(session.serialized() == Self.rfc8866Example)
    }

    /// RFC 7587 §7 Opus example (fmtp with spaces after the semicolons).
    @Test func rfc7587OpusExample() throws {
        let session = try SessionDescription(parsing: """
            v=0
            o=- 1 1 IN IP4 192.0.2.1
            s=-
            t=0 0
            m=audio 54312 RTP/AVP 101
            a=rtpmap:101 opus/48000/2
            a=fmtp:101 maxplaybackrate=16000; sprop-maxcapturerate=16000; maxaveragebitrate=20000; stereo=1; useinbandfec=1; usedtx=0
            a=ptime:40
            a=maxptime:40
            """)
        let audio = session.media[0]
        #expect(audio.opusPayloadType == 101)
        let fmtp = try #require(audio.formatParameters(for: 101))
        #expect(fmtp.pairs.map(\.name) == ["maxplaybackrate", "sprop-maxcapturerate", "maxaveragebitrate", "stereo",
                                           "useinbandfec", "usedtx"])
        let opus = SDPOpusParameters(fmtp)
        #expect(opus == SDPOpusParameters(maxPlaybackRate: 16000, spropMaxCaptureRate: 16000, maxAverageBitrate: 20000,
                                          stereo: true, useInbandFEC: true, useDTX: false))
        #expect(opus.formatted == "useinbandfec=1;usedtx=0;stereo=1;maxaveragebitrate=20000;maxplaybackrate=16000;"
                + "sprop-maxcapturerate=16000")
        #expect(audio.attributes.contains(.other(name: "ptime", value: "40")))
    }

    /// RFC 8839 §5.1 / Appendix B candidate examples: host, server-reflexive with raddr/rport, IPv6.
    @Test func rfc8839Candidates() throws {
        let host = try ICECandidate(parsing: "1 1 UDP 2130706431 203.0.113.141 8998 typ host")
        #expect(host == ICECandidate(foundation: "1", priority: 2_130_706_431, address: SDPAddress(203, 0, 113, 141),
                                     port: 8998))
        let srflx = try ICECandidate(parsing: "candidate:2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 203.0.113.141 rport 8998")
        #expect(srflx.type == .serverReflexive)
        #expect(srflx.relatedAddress == SDPAddress(203, 0, 113, 141))
        #expect(srflx.relatedPort == 8998)
        #expect(srflx.attributeValue == "2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 203.0.113.141 rport 8998")
        let v6 = try ICECandidate(parsing: "1 1 UDP 2130706431 2001:db8:a0b:12f0::1 8998 typ host")
        #expect(v6.address == .ipv6(high: 0x2001_0db8_0a0b_12f0, low: 1))
        let relay = try ICECandidate(parsing: "3 1 udp 16777215 198.51.100.7 3478 typ relay raddr 0.0.0.0 rport 0 generation 2 ufrag abcd")
        #expect(relay.type == .relay)
        #expect(relay.generation == 2)
        #expect(relay.ufrag == "abcd")
        let prflx = try ICECandidate(parsing: "4 1 UDP 1845501695 192.0.2.9 5000 typ prflx")
        #expect(prflx.type == .peerReflexive)
        let other = try ICECandidate(parsing: "5 1 SCTP 1 192.0.2.9 5000 typ future")
        #expect(other.transport == .other("SCTP"))
        #expect(other.type == .other("future"))
    }

    /// RFC 8445 §5.1.2.1 priority for a host candidate, component 1, local preference 65535.
    @Test func hostCandidatePriority() {
        let candidate = ICECandidate.host(foundation: "1", address: .ipv4Loopback, port: 4000)
        // 126 << 24 | 65535 << 8 | (256 - 1) = 2113929216 + 16776960 + 255
        #expect(candidate.priority == 2_130_706_431)
        #expect(candidate.attributeValue == "1 1 UDP 2130706431 127.0.0.1 4000 typ host")
    }

    /// RFC 8285 §8 extmap examples (one with direction and extension attributes).
    @Test func rfc8285ExtensionMaps() throws {
        let session = try SessionDescription(parsing: """
            v=0\r
            o=- 1 1 IN IP4 0.0.0.0\r
            s=-\r
            t=0 0\r
            a=extmap:1 http://example.com/082005/ext.htm#ttime\r
            m=audio 9 RTP/AVP 0\r
            a=extmap:2/sendrecv http://example.com/082005/ext.htm#xmeta short\r

            """)
        #expect(session.extensionMaps == [SDPExtensionMap(id: 1, uri: "http://example.com/082005/ext.htm#ttime")])
        #expect(session.media[0].extensionMaps == [
            SDPExtensionMap(id: 2, direction: .sendrecv, uri: "http://example.com/082005/ext.htm#xmeta",
                            extensionAttributes: "short"),
        ])
        #expect(session.extensionMaps(for: session.media[0]).map(\.id) == [2, 1])
        #expect(try session.reparsed() == session)
    }

    /// RFC 8122 §5: hash function names are case-insensitive; every registered function and its digest size.
    @Test func fingerprintAlgorithms() throws {
        let cases: [(String, SDPFingerprint.Algorithm, Int)] = [
            ("sha-1", .sha1, 20), ("SHA-224", .sha224, 28), ("sha-256", .sha256, 32), ("Sha-384", .sha384, 48),
            ("sha-512", .sha512, 64), ("md5", .md5, 16), ("md2", .md2, 16), ("x-future", .other("x-future"), 3),
        ]
        for (name, algorithm, size) in cases {
            let digest = (0..<size).map { String(format: "%02x", $0 * 7 % 256) }.joined(separator: ":")
            let session = try SessionDescription(parsing: "v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\na=fingerprint:\(name) \(digest)\n")
            let fingerprint = try #require(session.fingerprints.first)
            #expect(fingerprint.algorithm == algorithm)
            #expect(fingerprint.digest == (0..<size).map { UInt8($0 * 7 % 256) })
            #expect(fingerprint.hexDigest == digest.uppercased())
            #expect(try session.reparsed() == session)
        }
    }

    // MARK: Synthetic cases

    /// A minimal WebRTC-like offer exercising the attributes the parser types.
    static let synthetic = """
        v=0\r
        o=- 42 7 IN IP4 127.0.0.1\r
        s=-\r
        b=AS:64\r
        t=0 0\r
        a=ice-lite\r
        a=ice-ufrag:sess\r
        a=ice-pwd:sessionpasswordsessionpw\r
        a=ice-options:trickle ice2\r
        a=group:BUNDLE a v\r
        a=setup:active\r
        a=sendonly\r
        m=audio 5004/2 UDP/TLS/RTP/SAVPF 100 101\r
        i=voice\r
        c=IN IP6 ::1\r
        c=IN IP4 192.0.2.1\r
        b=TIAS:64000\r
        a=mid:a\r
        a=rtpmap:100 opus/48000/2\r
        a=fmtp:100 usedtx=1;ptime=20;maxptime=60;cbr=1;minptime=10\r
        a=rtpmap:101 telephone-event/48000\r
        a=rtcp-fb:* nack\r
        a=rtcp-fb:100 ccm fir\r
        a=ssrc:4294967295 cname:x\r
        a=ssrc:4294967295 label\r
        a=msid:stream\r
        a=recvonly\r
        a=bundle-only\r
        a=rtcp-mux-only\r
        a=future-attribute:with: colons  and  spaces\r
        a=flag\r
        m=video 0 UDP/TLS/RTP/SAVPF 96\r
        a=mid:v\r
        a=inactive\r

        """

    @Test func syntheticOffer() throws {
        let session = try SessionDescription(parsing: Self.synthetic)
        #expect(session.isICELite)
        #expect(session.bandwidths == [SDPBandwidth(type: "AS", bandwidth: 64)])
        #expect(session.iceUfrag == "sess")
        #expect(session.iceOptions == ["trickle", "ice2"])
        #expect(session.groups == [SDPGroup(semantics: "BUNDLE", identificationTags: ["a", "v"])])
        #expect(session.setup == .active)
        #expect(session.direction == .sendonly)
        let audio = session.media[0]
        #expect(audio.port == 5004)
        #expect(audio.numberOfPorts == 2)
        #expect(audio.information == "voice")
        #expect(audio.connections.count == 2)
        #expect(audio.bandwidths == [SDPBandwidth(type: "TIAS", bandwidth: 64000)])
        #expect(session.iceUfrag(for: audio) == "sess")
        #expect(session.setup(for: audio) == .active)
        #expect(session.direction(for: audio) == .recvonly)
        #expect(session.direction(for: session.media[1]) == .inactive)
        #expect(audio.rtcpFeedback(for: 100) == [SDPRTCPFeedback(payloadType: nil, type: "nack"),
                                                 SDPRTCPFeedback(payloadType: 100, type: "ccm", parameter: "fir")])
        #expect(audio.rtcpFeedback(for: 101) == [SDPRTCPFeedback(payloadType: nil, type: "nack")])
        #expect(audio.ssrcs == [UInt32.max])
        #expect(audio.cname(for: UInt32.max) == "x")
        #expect(audio.ssrcAttributes[1] == SDPSSRCAttribute(ssrc: UInt32.max, attribute: "label"))
        #expect(audio.msid == SDPMediaStreamID(streamID: "stream"))
        #expect(audio.isBundleOnly)
        #expect(!audio.isRejected)
        #expect(audio.hasRTCPMuxOnly)
        #expect(!audio.hasRTCPMux)
        #expect(audio.attributes.contains(.other(name: "future-attribute", value: "with: colons  and  spaces")))
        #expect(audio.attributes.contains(.other(name: "flag", value: nil)))
        let opus = SDPOpusParameters(try #require(audio.formatParameters(for: 100)))
        #expect(opus == SDPOpusParameters(maxPTime: 60, ptime: 20, minPTime: 10, cbr: true, useDTX: true))
        #expect(session.media[1].isRejected)
        #expect(session.serialized() == Self.synthetic)
        #expect(try session.reparsed() == session)
    }

    @Test func buildingAndSerializingFromScratch() throws {
        var session = SessionDescription(origin: SDPOrigin(sessionID: 1, sessionVersion: 2))
        session.attributes = [.iceLite, .group(SDPGroup(semantics: "BUNDLE", identificationTags: ["0"]))]
        session.media = [MediaDescription(
            type: .audio, port: 9, formats: ["111"], connections: [.unspecifiedIPv4],
            attributes: [.mid("0"), .rtpMap(SDPRTPMap(payloadType: 111, encodingName: "opus", clockRate: 48000,
                                                      encodingParameters: 2)),
                         .formatParameters(SDPFormatParameters(payloadType: 111, parameters: "")),
                         .direction(.sendrecv), .rtcpMux])]
        let text = session.serialized()
        #expect(text == """
            v=0\r
            o=- 1 2 IN IP4 0.0.0.0\r
            s=-\r
            t=0 0\r
            a=ice-lite\r
            a=group:BUNDLE 0\r
            m=audio 9 UDP/TLS/RTP/SAVPF 111\r
            c=IN IP4 0.0.0.0\r
            a=mid:0\r
            a=rtpmap:111 opus/48000/2\r
            a=fmtp:111\r
            a=sendrecv\r
            a=rtcp-mux\r

            """)
        #expect(try SessionDescription(parsing: text) == session)
    }

    @Test func lineEndings() throws {
        let lf = "v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\nm=audio 9 RTP/AVP 0\na=rtcp-mux"
        let crlf = lf.replacingOccurrences(of: "\n", with: "\r\n")
        let mixed = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\ns=-\r\nt=0 0\nm=audio 9 RTP/AVP 0\r\na=rtcp-mux\r\n\r\n"
        let expected = try SessionDescription(parsing: lf)
        #expect(try SessionDescription(parsing: crlf) == expected)
        #expect(try SessionDescription(parsing: crlf + "\r\n") == expected)
        #expect(try SessionDescription(parsing: mixed) == expected)
        #expect(try SessionDescription(parsing: Array(lf.utf8)) == expected)
        #expect(expected.media[0].hasRTCPMux)
    }

    @Test func repeatAndOtherSessionFields() throws {
        let text = """
            v=0\r
            o=- 1 1 IN IP4 0.0.0.0\r
            s=-\r
            t=3034423619 3042462419\r
            r=604800 3600 0 90000\r
            t=0 0\r
            z=2882844526 -1h 2898848070 0\r
            k=prompt\r
            m=audio 9 RTP/AVP 0\r
            k=clear:x\r

            """
        let session = try SessionDescription(parsing: text)
        #expect(session.timings == [SDPTiming(start: 3_034_423_619, stop: 3_042_462_419, repeats: ["604800 3600 0 90000"]),
                                    SDPTiming(start: 0, stop: 0)])
        #expect(session.timeZones == "2882844526 -1h 2898848070 0")
        #expect(session.encryptionKey == "prompt")
        #expect(session.media[0].encryptionKey == "clear:x")
        #expect(session.serialized() == text)
    }

    // MARK: Addresses

    @Test func ipv4Addresses() {
        #expect(SDPAddress("127.0.0.1") == .ipv4Loopback)
        #expect(SDPAddress("0.0.0.0") == .ipv4Any)
        #expect(SDPAddress("255.255.255.255") == .ipv4(UInt32.max))
        #expect(SDPAddress(192, 0, 2, 1).description == "192.0.2.1")
        #expect(SDPAddress(192, 0, 2, 1).bytes == [192, 0, 2, 1])
        #expect(SDPAddress(192, 0, 2, 1).sdpAddressType == "IP4")
        for bad in ["256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1..2.3", "1.2.3.-4", "", "1.2.3.4 "] {
            #expect(SDPAddress(bad) == nil, "\(bad)")
        }
    }

    @Test func ipv6Addresses() {
        let cases: [(String, SDPAddress, String)] = [
            ("::", .ipv6(high: 0, low: 0), "::"),
            ("::1", .ipv6Loopback, "::1"),
            ("2001:db8::2", .ipv6(high: 0x2001_0db8_0000_0000, low: 2), "2001:db8::2"),
            ("2001:0DB8:0000:0000:0000:0000:0002:0001", .ipv6(high: 0x2001_0db8_0000_0000, low: 0x0000_0000_0002_0001),
             "2001:db8::2:1"),
            // RFC 5952 §4.2.2: a single zero group is not compressed; §4.2.3: the longest run (first on a tie).
            ("2001:db8:0:1:1:1:1:1", .ipv6(high: 0x2001_0db8_0000_0001, low: 0x0001_0001_0001_0001),
             "2001:db8:0:1:1:1:1:1"),
            ("2001:db8:0:0:1:0:0:1", .ipv6(high: 0x2001_0db8_0000_0000, low: 0x0001_0000_0000_0001), "2001:db8::1:0:0:1"),
            ("2001:0:0:1:0:0:0:1", .ipv6(high: 0x2001_0000_0000_0001, low: 1), "2001:0:0:1::1"),
            ("fe80::", .ipv6(high: 0xfe80_0000_0000_0000, low: 0), "fe80::"),
            ("::ffff:192.0.2.1", .ipv6(high: 0, low: 0x0000_ffff_c000_0201), "::ffff:c000:201"),
            ("1:2:3:4:5:6:7:8", .ipv6(high: 0x0001_0002_0003_0004, low: 0x0005_0006_0007_0008), "1:2:3:4:5:6:7:8"),
        ]
        for (text, address, canonical) in cases {
            #expect(SDPAddress(text) == address, "\(text)")
            #expect(address.description == canonical, "\(text)")
            #expect(SDPAddress(canonical) == address, "\(canonical)")
            #expect(address.sdpAddressType == "IP6")
            #expect(address.bytes?.count == 16)
        }
        for bad in [":::", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "g::", ":1", "1:", "1:2:3:4:5:6:7", "::1.2.3",
                    "1::2:3:4:5:6:7:8", "::ffff:1.2.3.4:5", "fe80::1%eth0"] {
            #expect(SDPAddress(bad) == nil, "\(bad)")
        }
    }

    @Test func hostnames() {
        #expect(SDPAddress("3a52848f-29ed-4d34-b115-c38b33a68090.local")
                == .hostname("3a52848f-29ed-4d34-b115-c38b33a68090.local"))
        #expect(SDPAddress("example.com")?.sdpAddressType == "IP4")
        #expect(SDPAddress("example.com")?.bytes == nil)
        for bad in ["foo bar", ".local", "a/b", "x@y", String(repeating: "a", count: 254)] {
            #expect(SDPAddress(bad) == nil, "\(bad)")
        }
    }

    // MARK: Negative cases: each error, with its line

    static let head = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"

    /// Parses `text`; returns the error (nil if it parsed).
    func error(_ text: String, limits: SDPParserLimits = .default) -> SDPError? {
        do {
            _ = try SessionDescription(parsing: text, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    @Test func emptyInput() {
        #expect(error("") == .empty)
        #expect(error("\r\n\r\n") == .empty)
        #expect(error("\n") == .empty)
    }

    @Test func mandatoryLines() {
        #expect(error("o=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n") == .missingVersion)
        #expect(error("v=1\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n") == .unsupportedVersion(line: 1, value: "1"))
        #expect(error("v=0\r\ns=-\r\nt=0 0\r\n") == .missingOrigin(line: 2))
        #expect(error("v=0\r\n") == .missingOrigin(line: 2))
        #expect(error("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nt=0 0\r\n") == .missingSessionName(line: 3))
        #expect(error("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n") == .missingSessionName(line: 3))
        #expect(error("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nm=audio 9 RTP/AVP 0\r\n") == .missingTiming)
        #expect(error("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n") == .missingTiming)
    }

    @Test func malformedLines() {
        #expect(error(Self.head + "hello\r\n") == .malformedLine(line: 5, reason: "no '=' after the type letter"))
        #expect(error(Self.head + "A=foo\r\n") == .malformedLine(line: 5, reason: "the type must be one lower-case letter"))
        #expect(error(Self.head + "=x\r\n") == .malformedLine(line: 5, reason: "no '=' after the type letter"))
        #expect(error(Self.head + "1=x\r\n") == .malformedLine(line: 5, reason: "the type must be one lower-case letter"))
        #expect(error(Self.head + "a\r\n") == .malformedLine(line: 5, reason: "no '=' after the type letter"))
        #expect(error(Self.head + "a =x\r\n") == .malformedLine(line: 5, reason: "no '=' after the type letter"))
        #expect(error(Self.head + "\r\na=rtcp-mux\r\n") == .malformedLine(line: 5, reason: "empty line inside the description"))
        #expect(error(Self.head + "a=\r\n") == .malformedLine(line: 5, reason: "attribute name '' is not a token"))
        #expect(error(Self.head + "a=rtcp-mux \r\n") == .malformedLine(line: 5, reason: "attribute name 'rtcp-mux ' is not a token"))
        #expect(error(Self.head + "x=foo\r\n") == .unknownLineType(line: 5, type: "x"))
        #expect(error(Self.head + "m=audio 9 RTP/AVP 0\r\ny=1\r\n") == .unknownLineType(line: 6, type: "y"))
    }

    @Test func misplacedLines() {
        #expect(error(Self.head + "m=audio 9 RTP/AVP 0\r\nt=0 0\r\n")
                == .misplacedLine(line: 6, type: "t", reason: "is not allowed in a media section"))
        #expect(error(Self.head + "s=again\r\n")
                == .misplacedLine(line: 5, type: "s", reason: "is not allowed in the session section"))
        #expect(error(Self.head + "v=0\r\n")
                == .misplacedLine(line: 5, type: "v", reason: "is not allowed in the session section"))
        #expect(error("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nr=1 2 3\r\nt=0 0\r\n")
                == .misplacedLine(line: 4, type: "r", reason: "must follow a 't=' line"))
        #expect(error(Self.head + "c=IN IP4 0.0.0.0\r\nc=IN IP4 0.0.0.0\r\n")
                == .misplacedLine(line: 6, type: "c", reason: "may appear only once in its section"))
        #expect(error(Self.head + "m=audio 9 RTP/AVP 0\r\ni=a\r\ni=b\r\n")
                == .misplacedLine(line: 7, type: "i", reason: "may appear only once in its section"))
    }

    @Test func invalidText() {
        #expect(error(Self.head + "a=foo:\u{0}\r\n") == .invalidText(line: 5, reason: "the line contains a NUL byte"))
        #expect(error(Self.head + "a=foo:x\ry\r\n")
                == .invalidText(line: 5, reason: "the line contains a carriage return that does not end it"))
        #expect(error(Self.head + "a=foo:x\r\r\n")
                == .invalidText(line: 5, reason: "the line contains a carriage return that does not end it"))
        var bytes = Array((Self.head + "a=foo:").utf8)
        bytes += [0xC3, 0x28, 0x0D, 0x0A]  // 0xC3 starts a two-byte sequence; 0x28 is not a continuation byte
        #expect(throws: SDPError.invalidText(line: 5, reason: "the line is not valid UTF-8")) {
            try SessionDescription(parsing: bytes)
        }
        // Valid UTF-8 in a free-text field is fine.
        #expect(error("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=Grüße\r\nt=0 0\r\n") == nil)
    }

    /// The line scanner reads eight bytes at a time: a special byte must be found at every offset within a word.
    @Test func specialBytesAtEveryOffset() {
        for offset in 0..<17 {
            let padding = String(repeating: "y", count: offset)
            let tail = String(repeating: "z", count: 23)
            #expect(error(Self.head + "a=x:\(padding)\u{0}\(tail)\r\n")
                    == .invalidText(line: 5, reason: "the line contains a NUL byte"), "offset \(offset)")
            #expect(error(Self.head + "a=x:\(padding)\r\(tail)\r\n")
                    == .invalidText(line: 5, reason: "the line contains a carriage return that does not end it"))
            var bytes = Array((Self.head + "a=x:\(padding)").utf8) + [0xFF] + Array("\(tail)\r\n".utf8)
            #expect(throws: SDPError.invalidText(line: 5, reason: "the line is not valid UTF-8")) {
                try SessionDescription(parsing: bytes)
            }
            // A line feed at each offset ends the line there.
            bytes = Array((Self.head + "a=x:\(padding)\na=y:\(tail)\r\n").utf8)
            let session = try? SessionDescription(parsing: bytes)
            #expect(session?.attributes == [.other(name: "x", value: padding), .other(name: "y", value: tail)])
            // Non-ASCII but valid UTF-8 passes.
            #expect(error(Self.head + "a=x:\(padding)é\(tail)\r\n") == nil)
        }
    }

    @Test func originErrors() {
        #expect(error("v=0\r\no=- 1 1 IN IP4\r\ns=-\r\nt=0 0\r\n") == .badOrigin(
            line: 2, reason: "expected 6 fields (username sess-id sess-version nettype addrtype address), found 5"))
        #expect(error("v=0\r\no=- x 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n")
                == .badOrigin(line: 2, reason: "session id 'x' is not a number"))
        #expect(error("v=0\r\no=- 1 -1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n")
                == .badOrigin(line: 2, reason: "session version '-1' is not a number"))
        // Session ids longer than 64 bits are valid SDP.
        #expect(error("v=0\r\no=- 123456789012345678901234567890 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n") == nil)
    }

    @Test func fieldErrors() {
        let head = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n"
        #expect(error(head + "t=now 0\r\n") == .badTiming(line: 4, reason: "expected two numbers, e.g. 't=0 0'"))
        #expect(error(head + "t=0\r\n") == .badTiming(line: 4, reason: "expected two numbers, e.g. 't=0 0'"))
        #expect(error(Self.head + "c=IN IP4\r\n")
                == .badConnection(line: 5, reason: "expected 3 fields (nettype addrtype address), found 2"))
        #expect(error(Self.head + "b=AS\r\n") == .badBandwidth(line: 5, reason: "expected '<type>:<number>'"))
        #expect(error(Self.head + "b=AS:-1\r\n") == .badBandwidth(line: 5, reason: "expected '<type>:<number>'"))
        #expect(error(Self.head + "b=:5\r\n") == .badBandwidth(line: 5, reason: "bandwidth type '' is not a token"))
    }

    @Test func mediaLineErrors() {
        #expect(error(Self.head + "m=audio\r\n")
                == .badMediaLine(line: 5, reason: "expected '<media> <port> <proto> <fmt> ...', found 1 field"))
        #expect(error(Self.head + "m=audio 9 RTP/AVP\r\n")
                == .badMediaLine(line: 5, reason: "expected '<media> <port> <proto> <fmt> ...', found 3 fields"))
        #expect(error(Self.head + "m=audio 65536 RTP/AVP 0\r\n") == .badPort(line: 5, value: "65536"))
        #expect(error(Self.head + "m=audio -1 RTP/AVP 0\r\n") == .badPort(line: 5, value: "-1"))
        #expect(error(Self.head + "m=audio x RTP/AVP 0\r\n") == .badPort(line: 5, value: "x"))
        #expect(error(Self.head + "m=audio 9/0 RTP/AVP 0\r\n") == .badPort(line: 5, value: "9/0"))
        #expect(error(Self.head + "m=audio 99999999999999999999999 RTP/AVP 0\r\n")
                == .badPort(line: 5, value: "99999999999999999999999"))
        #expect(error(Self.head + "m=audio 9 UDP/TLS/RTP/SAVPF opus\r\n")
                == .badMediaLine(line: 5, reason: "format 'opus' is not an RTP payload type (0 to 127)"))
        #expect(error(Self.head + "m=audio 9 UDP/TLS/RTP/SAVPF 128\r\n")
                == .badMediaLine(line: 5, reason: "format '128' is not an RTP payload type (0 to 127)"))
        #expect(error(Self.head + "m=au:dio 9 RTP/AVP 0\r\n")
                == .badMediaLine(line: 5, reason: "media type 'au:dio' is not a token"))
        #expect(error(Self.head + "m=audio 9 RTP:AVP 0\r\n")
                == .badMediaLine(line: 5, reason: "transport protocol 'RTP:AVP' is malformed"))
    }

    @Test func fingerprintErrors() {
        let digest = (0..<32).map { _ in "AB" }.joined(separator: ":")
        #expect(error(Self.head + "a=fingerprint:sha-256\r\n")
                == .badFingerprint(line: 5, reason: "expected '<hash function> <XX:XX:...>'"))
        #expect(error(Self.head + "a=fingerprint:\r\n")
                == .badAttribute(line: 5, name: "fingerprint", reason: "a value is required"))
        #expect(error(Self.head + "a=fingerprint:sha-256 \(digest) extra\r\n")
                == .badFingerprint(line: 5, reason: "expected '<hash function> <XX:XX:...>'"))
        #expect(error(Self.head + "a=fingerprint:sha-256 " + digest.dropLast(3) + "\r\n")
                == .badFingerprint(line: 5, reason: "a sha-256 digest is 32 bytes long, found 31"))
        #expect(error(Self.head + "a=fingerprint:sha-256 " + digest.replacingOccurrences(of: "AB:AB", with: "AB:ZZ") + "\r\n")
                == .badFingerprint(line: 5, reason: "the digest must be pairs of hex digits separated by ':', found 'ZZ'"))
        #expect(error(Self.head + "a=fingerprint:sha-256 " + digest.replacingOccurrences(of: ":", with: "") + "\r\n")
                == .badFingerprint(line: 5, reason: "the digest must be pairs of hex digits separated by ':', found '"
                                   + String(repeating: "AB", count: 32) + "'"))
        #expect(error(Self.head + "a=fingerprint:sha-256 AB::CD\r\n")
                == .badFingerprint(line: 5, reason: "the digest must be pairs of hex digits separated by ':', found ''"))
        #expect(error(Self.head + "a=fingerprint:x-new " + (0..<65).map { _ in "01" }.joined(separator: ":") + "\r\n")
                == .badFingerprint(line: 5, reason: "the digest is 65 bytes long; at most 64 expected"))
        #expect(error(Self.head + "a=fingerprint:sha(256) AB\r\n")
                == .badFingerprint(line: 5, reason: "hash function 'sha(256)' is not a token"))
    }

    @Test func candidateErrors() {
        let cases: [(String, String)] = [
            ("1 1 udp 1 127.0.0.1 9 typ", "expected at least 8 fields (foundation component transport priority "
                + "address port typ type), found 7"),
            ("1 1 udp 1 127.0.0.1 70000 typ host", "port '70000' must be a number from 0 to 65535"),
            ("1 0 udp 1 127.0.0.1 9 typ host", "component '0' must be a number from 1 to 256"),
            ("1 1 udp 4294967296 127.0.0.1 9 typ host", "priority '4294967296' must be a number from 0 to 4294967295"),
            ("1 1 udp 1 127.0.0.1 9 type host", "expected 'typ' after the port, found 'type'"),
            ("1 1 udp 1 not_an@address 9 typ host", "address 'not_an@address' is not an IPv4, IPv6 or host name"),
            ("1 1 udp 1 127.0.0.1 9 typ host generation", "extension 'generation' has no value"),
            ("1 1 udp 1 127.0.0.1 9 typ srflx raddr 1.2.3 rport 9", "bad raddr '1.2.3'"),
            ("1 1 udp 1 127.0.0.1 9 typ srflx raddr 1.2.3.4 rport x", "bad rport 'x'"),
            ("f\u{F6}o 1 udp 1 127.0.0.1 9 typ host", "foundation 'f\u{F6}o' must be 1 to 32 letters, digits, '+' or '/'"),
            (String(repeating: "1", count: 33) + " 1 udp 1 127.0.0.1 9 typ host",
             "foundation '\(String(repeating: "1", count: 33))' must be 1 to 32 letters, digits, '+' or '/'"),
            ("1 1 u:dp 1 127.0.0.1 9 typ host", "transport 'u:dp' is not a token"),
        ]
        for (value, reason) in cases {
            #expect(error(Self.head + "a=candidate:\(value)\r\n") == .badCandidate(line: 5, reason: reason), "\(value)")
        }
        #expect(error(Self.head + "a=candidate\r\n") == .badAttribute(line: 5, name: "candidate", reason: "a value is required"))
    }

    @Test func attributeErrors() {
        let cases: [(String, String, String)] = [
            ("setup:server", "setup", "role must be active, passive, actpass or holdconn"),
            ("rtcp-mux:1", "rtcp-mux", "takes no value"),
            ("ice-lite:yes", "ice-lite", "takes no value"),
            ("sendrecv:x", "sendrecv", "takes no value"),
            ("ice-ufrag:", "ice-ufrag", "a value is required"),
            ("ice-pwd:a b", "ice-pwd", "must not contain spaces"),
            ("ice-options: ", "ice-options", "expected one or more option tokens"),
            ("mid:a b", "mid", "identification tag must not contain spaces"),
            ("group: ", "group", "expected a semantics token"),
            ("rtpmap:96", "rtpmap", "expected '<payload type> <encoding name>/<clock rate>[/<channels>]'"),
            ("rtpmap:128 opus/48000/2", "rtpmap", "payload type '128' must be 0 to 127"),
            ("rtpmap:96 opus", "rtpmap", "expected '<encoding name>/<clock rate>[/<channels>]', found 'opus'"),
            ("rtpmap:96 opus/0/2", "rtpmap", "clock rate '0' must be a positive number"),
            ("rtpmap:96 opus/48000/two", "rtpmap", "encoding parameters 'two' must be a number"),
            ("rtcp-fb:96", "rtcp-fb", "expected '<payload type> <type> [<parameter>]'"),
            ("rtcp-fb:x nack", "rtcp-fb", "payload type 'x' must be '*' or 0 to 127"),
            ("extmap:0 urn:x", "extmap", "id '0' must be 1 to 255"),
            ("extmap:256 urn:x", "extmap", "id '256' must be 1 to 255"),
            ("extmap:1/both urn:x", "extmap", "direction 'both' must be sendrecv, sendonly, recvonly or inactive"),
            ("extmap:1", "extmap", "the extension URI is missing"),
            ("ssrc:x cname:y", "ssrc", "ssrc 'x' must be a number from 0 to 4294967295"),
            ("ssrc:4294967296 cname:y", "ssrc", "ssrc '4294967296' must be a number from 0 to 4294967295"),
            ("ssrc:1", "ssrc", "expected '<ssrc> <attribute>[:<value>]'"),
            ("msid:a b c", "msid", "expected '<stream id> [<track id>]'"),
        ]
        for (line, name, reason) in cases {
            #expect(error(Self.head + "a=\(line)\r\n") == .badAttribute(line: 5, name: name, reason: reason), "\(line)")
        }
    }

    /// The line number points at the broken line of a real capture.
    @Test func lineNumberInACapture() throws {
        var lines = try SDPFixtures.text("chromium-audio").components(separatedBy: "\r\n")
        #expect(lines[15] == "a=fingerprint:sha-256 64:FA:14:2E:A0:6C:2E:F4:EE:C2:CD:94:C5:E6:DC:DE:6F:3F:6F:13:F5:C1:79:A9:03:84:D5:8C:68:E3:A3:E8")
        lines[15] = "a=fingerprint:sha-256 64:FA"
        let broken = lines.joined(separator: "\r\n")
        #expect(error(broken) == .badFingerprint(line: 16, reason: "a sha-256 digest is 32 bytes long, found 2"))
        #expect(error(broken)?.line == 16)
        #expect(error(broken)?.description == "line 16: bad 'a=fingerprint': a sha-256 digest is 32 bytes long, found 2")
    }

    @Test func limits() {
        let limits = SDPParserLimits(maximumSize: 200, maximumLineLength: 40, maximumMediaDescriptions: 2)
        #expect(error(Self.head + String(repeating: "i", count: 300), limits: limits) == .tooLarge(size: Self.head.utf8.count + 300, limit: 200))
        #expect(error(Self.head + "a=" + String(repeating: "x", count: 39) + "\r\n", limits: limits)
                == .lineTooLong(line: 5, length: 41, limit: 40))
        let three = Self.head + String(repeating: "m=audio 9 RTP/AVP 0\r\n", count: 3)
        #expect(error(three, limits: limits) == .tooManyMediaDescriptions(line: 7, limit: 2))
        #expect(error(Self.head + String(repeating: "m=audio 9 RTP/AVP 0\r\n", count: 2), limits: limits) == nil)
        // Defaults: a 100 kB line is refused without looking at it further.
        #expect(error(Self.head + "a=x:" + String(repeating: "y", count: 100_000) + "\r\n")
                == .lineTooLong(line: 5, length: 100_004, limit: 8192))
        #expect(error(String(repeating: "a=x\r\n", count: 60_000)) == .tooLarge(size: 300_000, limit: 262_144))
    }

    @Test func garbage() {
        #expect(error("not sdp at all") == .malformedLine(line: 1, reason: "no '=' after the type letter"))
        #expect(error("m=audio 9 RTP/AVP 0") == .missingVersion)
        #expect(error("\u{1}\u{2}\u{3}") == .malformedLine(line: 1, reason: "no '=' after the type letter"))
        #expect(error("v=0") == .missingOrigin(line: 2))
        #expect(throws: SDPError.self) { try SessionDescription(parsing: [UInt8](repeating: 0xFF, count: 64)) }
        #expect(throws: SDPError.self) { try SessionDescription(parsing: [UInt8](repeating: 0, count: 64)) }
    }

    @Test func errorDescriptionsNameTheLine() {
        let errors: [SDPError] = [
            .lineTooLong(line: 3, length: 10, limit: 5), .malformedLine(line: 3, reason: "r"),
            .unknownLineType(line: 3, type: "x"), .misplacedLine(line: 3, type: "t", reason: "r"),
            .unsupportedVersion(line: 3, value: "1"), .missingOrigin(line: 3), .badOrigin(line: 3, reason: "r"),
            .missingSessionName(line: 3), .badTiming(line: 3, reason: "r"), .badConnection(line: 3, reason: "r"),
            .badBandwidth(line: 3, reason: "r"), .badMediaLine(line: 3, reason: "r"), .badPort(line: 3, value: "x"),
            .badAttribute(line: 3, name: "n", reason: "r"), .badFingerprint(line: 3, reason: "r"),
            .badCandidate(line: 3, reason: "r"), .invalidText(line: 3, reason: "r"),
            .tooManyMediaDescriptions(line: 3, limit: 1),
        ]
        for error in errors {
            #expect(error.line == 3)
            #expect(error.description.hasPrefix("line 3"), "\(error.description)")
        }
        for error in [SDPError.empty, .missingVersion, .missingTiming, .tooLarge(size: 2, limit: 1)] {
            #expect(error.line == nil)
            #expect(!error.description.isEmpty)
        }
    }
}
