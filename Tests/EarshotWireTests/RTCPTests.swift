import Testing
@testable import EarshotWire

/// Hex with `#` comments, one field per line.
func annotatedHex(_ text: String) -> [UInt8] {
    hex(text.split(separator: "\n").map { String($0.split(separator: "#", omittingEmptySubsequences: false)[0]) }.joined())
}

@Suite("RTCP packets")
struct RTCPTests {
    /// SR with one report block and a negative cumulative loss.
    static let senderReport = annotatedHex("""
        81 c8 00 0c   # V=2 P=0 RC=1 | PT=200 | length 12 words (52 bytes)
        11 22 33 44   # SSRC of sender
        e8 d4 a5 10   # NTP seconds
        80 00 00 00   # NTP fraction (0.5 s)
        00 01 e2 40   # RTP timestamp 123456
        00 00 00 64   # packet count 100
        00 00 3e 80   # octet count 16000
        55 66 77 88   # report block: SSRC
        40 ff ff fe   # fraction lost 64/256 | cumulative lost −2
        00 01 00 0a   # extended highest sequence number: cycle 1, seq 10
        00 00 00 20   # jitter 32
        b7 05 20 00   # LSR
        00 05 40 00   # DLSR 5.25 s
        """)

    /// A browser-style compound packet: RR with one block, then SDES with a CNAME.
    static let receiverReportAndSDES = annotatedHex("""
        81 c9 00 07   # V=2 P=0 RC=1 | PT=201 | length 7 words
        00 00 00 01   # SSRC of reporter
        00 00 00 02   # report block: SSRC
        00 00 00 00   # fraction lost 0 | cumulative lost 0
        00 00 12 34   # extended highest sequence number
        00 00 00 05   # jitter
        00 00 00 00   # LSR (no SR yet)
        00 00 00 00   # DLSR
        81 ca 00 05   # V=2 P=0 SC=1 | PT=202 | length 5 words
        00 00 00 01   # chunk SSRC
        01 0a 61 62   # CNAME, 10 bytes: "ab
        63 64 65 66   # cdef
        67 68 69 6a   # ghij"
        00 00 00 00   # null terminator and padding
        """)

    /// Transport-wide feedback: 6 packets from sequence 5; statuses small, small, small, large, lost, small.
    static let transportFeedback = annotatedHex("""
        8f cd 00 07   # V=2 P=0 FMT=15 | PT=205 | length 7 words
        00 00 00 01   # sender SSRC
        00 00 00 02   # media SSRC
        00 05 00 06   # base sequence 5 | status count 6
        00 01 02 03   # reference time 0x000102 | feedback count 3
        20 03         # run length chunk: symbol 1 (small delta) × 3
        e1 00         # 2-bit vector: large, not received, small, (unused ×4)
        01 02 03      # three small deltas: 1, 2, 3 ticks
        ff 38         # one large delta: −200 ticks
        10            # one small delta: 16 ticks
        00 00         # zero padding
        """)

    @Test func senderReport() throws {
        let compound = try RTCPCompoundPacket(parsing: Self.senderReport)
        #expect(compound.startsWithReport)
        guard case .senderReport(let sr) = try #require(compound.packets.first) else {
            Issue.record("not an SR")
            return
        }
        #expect(sr.ssrc == 0x1122_3344)
        #expect(sr.ntpTimestamp == NTPTimestamp(seconds: 0xE8D4_A510, fraction: 0x8000_0000))
        #expect(sr.rtpTimestamp == 123_456)
        #expect(sr.packetCount == 100)
        #expect(sr.octetCount == 16000)
        #expect(sr.reportBlocks == [RTCPReportBlock(
            ssrc: 0x5566_7788, fractionLost: 64, cumulativeLost: -2, extendedHighestSequenceNumber: 0x1_000A,
            jitter: 32, lastSenderReport: 0xB705_2000, delaySinceLastSenderReport: 0x0005_4000)])
        #expect(sr.profileExtension.isEmpty)
        #expect(try compound.serialized() == Self.senderReport)
        #expect(compound.serializedSize == Self.senderReport.count)
    }

    @Test func receiverReportAndSourceDescription() throws {
        let compound = try RTCPCompoundPacket(parsing: Self.receiverReportAndSDES)
        #expect(compound.packets.count == 2)
        #expect(compound.startsWithReport)
        guard case .receiverReport(let rr) = compound.packets[0], case .sourceDescription(let sdes) = compound.packets[1]
        else {
            Issue.record("wrong packet types")
            return
        }
        #expect(rr.ssrc == 1)
        #expect(rr.reportBlocks.first?.extendedHighestSequenceNumber == 0x1234)
        #expect(rr.reportBlocks.first?.roundTripTime(arrival: NTPTimestamp(rawValue: 1 << 40)) == nil)  // no LSR
        #expect(sdes.chunks == [RTCPSourceDescription.Chunk(ssrc: 1, items: [.cname("abcdefghij")])])
        #expect(sdes.chunks.first?.cname == "abcdefghij")
        #expect(try compound.serialized() == Self.receiverReportAndSDES)
    }

    @Test func roundTripTimeFromRFC3550Figure2() {
        // RFC 3550 §6.4.1 Figure 2: A = 0xb710:8000, LSR = 0xb705:2000, DLSR = 0x0005:4000 → 0x0006:2000 (6.125 s).
        let block = RTCPReportBlock(ssrc: 0, fractionLost: 0, cumulativeLost: 0, extendedHighestSequenceNumber: 0,
                                    jitter: 0, lastSenderReport: 0xB705_2000, delaySinceLastSenderReport: 0x0005_4000)
        let arrival = NTPTimestamp(rawValue: UInt64(0xB710_8000) << 16)
        #expect(block.roundTripTime(arrival: arrival) == 0x0006_2000)
        #expect(block.roundTripDuration(arrival: arrival) == .milliseconds(6125))
        // An arrival before LSR + DLSR is clock trouble, not a huge RTT.
        #expect(block.roundTripTime(arrival: NTPTimestamp(rawValue: UInt64(0xB705_2000) << 16)) == nil)
        #expect(RTCPReportBlock.compactNTP(.milliseconds(5250)) == 0x0005_4000)
        #expect(RTCPReportBlock.compactNTP(.seconds(-1)) == 0)
        #expect(RTCPReportBlock.compactNTP(.seconds(70000)) == .max)
    }

    @Test func buildsSenderReportsFromAGivenNow() throws {
        let start = NTPTimestamp(sinceUnixEpoch: .seconds(1_700_000_000))
        let clock = RTPClockReference(time: start, rtpTimestamp: 1000, clockRate: 48000)
        let now = NTPTimestamp(sinceUnixEpoch: .seconds(1_700_000_000) + .milliseconds(20))
        #expect(clock.rtpTimestamp(at: now) == 1000 + 960)
        let before = NTPTimestamp(sinceUnixEpoch: .seconds(1_700_000_000) - .milliseconds(20))
        #expect(clock.rtpTimestamp(at: before) == 1000 - 960)
        let wrapping = RTPClockReference(time: start, rtpTimestamp: .max - 9, clockRate: 48000)
        #expect(wrapping.rtpTimestamp(at: now) == 950)
        let sr = RTCPSenderReport(ssrc: 9, now: now, clock: clock, packetCount: 1, octetCount: 2)
        #expect(sr.ntpTimestamp == now && sr.rtpTimestamp == 1960)
        let bytes = try RTCPPacket.senderReport(sr).serialized()
        #expect(bytes.count == 28)
        #expect(try RTCPCompoundPacket(parsing: bytes).packets == [.senderReport(sr)])
    }

    @Test func cumulativeLostSaturatesWhenWritten() throws {
        let block = RTCPReportBlock(ssrc: 1, fractionLost: 0, cumulativeLost: 10_000_000, extendedHighestSequenceNumber: 0,
                                    jitter: 0, lastSenderReport: 0, delaySinceLastSenderReport: 0)
        var low = block
        low.cumulativeLost = -10_000_000
        let rr = RTCPReceiverReport(ssrc: 0, reportBlocks: [block, low])
        let parsed = try RTCPCompoundPacket(parsing: try RTCPPacket.receiverReport(rr).serialized())
        guard case .receiverReport(let back) = parsed.packets[0] else { return }
        #expect(back.reportBlocks.map(\.cumulativeLost) == [0x7F_FFFF, -0x80_0000])
    }

    @Test func goodbye() throws {
        // BYE for two sources with the reason "bye": 1 length byte + 3 bytes exactly fill a word.
        let bytes = annotatedHex("""
            82 cb 00 03   # V=2 P=0 SC=2 | PT=203 | length 3 words
            00 00 00 01   # SSRC 1
            00 00 00 02   # SSRC 2
            03 62 79 65   # reason length 3, "bye"
            """)
        let compound = try RTCPCompoundPacket(parsing: bytes)
        #expect(compound.packets == [.goodbye(RTCPGoodbye(ssrcs: [1, 2], reason: "bye"))])
        #expect(!compound.startsWithReport)
        #expect(try compound.serialized() == bytes)
        let plain = RTCPGoodbye(ssrcs: [7])
        #expect(try RTCPPacket.goodbye(plain).serialized() == hex("81 cb 00 01 00 00 00 07"))
        let longer = RTCPGoodbye(ssrcs: [], reason: "leaving now")  // 1 + 11 bytes: 3 words
        let longerBytes = try RTCPPacket.goodbye(longer).serialized()
        #expect(longerBytes.count == 16)
        #expect(try RTCPCompoundPacket(parsing: longerBytes).packets == [.goodbye(longer)])
    }

    @Test func genericNACK() throws {
        let bytes = annotatedHex("""
            81 cd 00 03   # V=2 P=0 FMT=1 | PT=205 | length 3 words
            00 00 00 01   # sender SSRC
            00 00 00 02   # media SSRC
            00 64 00 05   # PID 100, BLP bits 0 and 2: 101 and 103
            """)
        let compound = try RTCPCompoundPacket(parsing: bytes)
        guard case .genericNACK(let nack) = compound.packets[0] else {
            Issue.record("not a NACK")
            return
        }
        #expect(nack.lostSequenceNumbers == [100, 101, 103])
        #expect(RTCPGenericNACK(senderSSRC: 1, mediaSSRC: 2, lostSequenceNumbers: [100, 101, 103]) == nack)
        #expect(try compound.serialized() == bytes)
        // Across the wrap, more than 16 apart, and with duplicates.
        let lost: [UInt16] = [65530, 65535, 0, 9, 9, 10, 40]
        let built = RTCPGenericNACK(senderSSRC: 1, mediaSSRC: 2, lostSequenceNumbers: lost)
        // 65535, 0, 9 and 10 are 5, 6, 15 and 16 after 65530: bits 4, 5, 14 and 15.
        #expect(built.items == [.init(packetID: 65530, bitmask: 0xC030),
                                .init(packetID: 40, bitmask: 0)])
        #expect(built.lostSequenceNumbers == [65530, 65535, 0, 9, 10, 40])
    }

    @Test func pictureLossIndicationIsReducedSize() throws {
        let bytes = hex("81 ce 00 02 00 00 00 01 00 00 00 02")  // FMT=1 PT=206, sender 1, media 2
        let compound = try RTCPCompoundPacket(parsing: bytes)
        #expect(compound.packets == [.pictureLossIndication(RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: 2))])
        #expect(!compound.startsWithReport)
        #expect(try compound.serialized() == bytes)
    }

    @Test func transportFeedback() throws {
        let compound = try RTCPCompoundPacket(parsing: Self.transportFeedback)
        guard case .transportFeedback(let feedback) = compound.packets[0] else {
            Issue.record("not transport feedback")
            return
        }
        #expect(feedback.senderSSRC == 1 && feedback.mediaSSRC == 2)
        #expect(feedback.baseSequenceNumber == 5)
        #expect(feedback.packetStatusCount == 6)
        #expect(feedback.referenceTime == 0x102)
        #expect(feedback.feedbackPacketCount == 3)
        #expect(feedback.packets.map(\.receiveDelta) == [1, 2, 3, -200, nil, 16])
        #expect(feedback.packets.map(\.sequenceNumber) == [5, 6, 7, 8, 9, 10])
        // Re-encoding picks a 2-bit vector for the whole mix (no run of 7), so bytes differ; the model does not.
        let bytes = try compound.serialized()
        #expect(bytes.count == compound.serializedSize)
        #expect(try RTCPCompoundPacket(parsing: bytes) == compound)
    }

    @Test func transportFeedbackEncodingChoices() throws {
        // Long runs, one-bit vectors, negative reference time, sequence wrap.
        var deltas: [Int16?] = Array(repeating: 4, count: 20)  // run of small
        deltas += Array(repeating: nil, count: 9000)  // run longer than one chunk can hold (8191)
        deltas += [1, nil, 1, nil, 1, 1, nil, nil, 1, 1, 1, 1, 1, nil]  // one-bit vector
        deltas += [300, -5, nil]  // two-bit vector with large deltas
        let feedback = RTCPTransportFeedback(senderSSRC: 1, mediaSSRC: 0, baseSequenceNumber: 65000,
                                             referenceTime: -5, feedbackPacketCount: 255, receiveDeltas: deltas)
        let packet = RTCPPacket.transportFeedback(feedback)
        let bytes = try packet.serialized()
        #expect(bytes.count == packet.serializedSize && bytes.count % 4 == 0)
        #expect(try RTCPCompoundPacket(parsing: bytes).packets == [packet])
        #expect(feedback.chunks().count == 5)
    }

    @Test func rawPacketsAreCarriedThrough() throws {
        let bytes = annotatedHex("""
            83 cc 00 03   # APP, subtype 3, 3 words
            00 00 00 01   # SSRC
            74 65 73 74   # name "test"
            01 02 03 04   # application data
            80 cf 00 01   # XR, 1 word
            00 00 00 09   # reporter SSRC, no blocks
            83 cd 00 02   # RTPFB FMT 3 (TMMBR): not decoded
            00 00 00 01
            00 00 00 00
            80 d2 00 00   # unknown PT 210, empty
            """)
        let compound = try RTCPCompoundPacket(parsing: bytes)
        #expect(compound.packets == [
            .application(RTCPRawPacket(count: 3, packetType: 204, body: hex("00 00 00 01 74 65 73 74 01 02 03 04"))),
            .extendedReport(RTCPRawPacket(count: 0, packetType: 207, body: hex("00 00 00 09"))),
            .other(RTCPRawPacket(count: 3, packetType: 205, body: hex("00 00 00 01 00 00 00 00"))),
            .other(RTCPRawPacket(count: 0, packetType: 210, body: [])),
        ])
        #expect(try compound.serialized() == bytes)
    }

    @Test func paddingIsRemoved() throws {
        // PLI with 4 bytes of padding: P=1, length 3 words.
        let bytes = hex("a1 ce 00 03 00 00 00 01 00 00 00 02 00 00 00 04")
        let compound = try RTCPCompoundPacket(parsing: bytes)
        #expect(compound.packets == [.pictureLossIndication(RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: 2))])
        #expect(try compound.serialized() == Array(hex("81 ce 00 02 00 00 00 01 00 00 00 02")))
    }

    @Test func roundTripsEveryType() throws {
        let block = RTCPReportBlock(ssrc: 3, fractionLost: 255, cumulativeLost: -0x80_0000,
                                    extendedHighestSequenceNumber: .max, jitter: 7, lastSenderReport: 8,
                                    delaySinceLastSenderReport: 9)
        let compound = RTCPCompoundPacket(packets: [
            .senderReport(RTCPSenderReport(ssrc: 1, ntpTimestamp: NTPTimestamp(rawValue: .max), rtpTimestamp: 2,
                                           packetCount: 3, octetCount: 4, reportBlocks: [block, block],
                                           profileExtension: [1, 2, 3, 4])),
            .receiverReport(RTCPReceiverReport(ssrc: 5, reportBlocks: Array(repeating: block, count: 31))),
            .sourceDescription(RTCPSourceDescription(chunks: [
                .init(ssrc: 1, items: [.cname("x"), .init(type: 8, value: [1, 2, 3])]),
                .init(ssrc: 2, items: []),
                .init(ssrc: 3, items: [.init(type: 2, value: Array(repeating: 0x41, count: 255))]),
            ])),
            .goodbye(RTCPGoodbye(ssrcs: Array(0..<31), reason: String(repeating: "z", count: 255))),
            .genericNACK(RTCPGenericNACK(senderSSRC: 1, mediaSSRC: 2, lostSequenceNumbers: Array(0..<100))),
            .pictureLossIndication(RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: 2)),
            .transportFeedback(RTCPTransportFeedback(senderSSRC: 1, mediaSSRC: 2, baseSequenceNumber: 0,
                                                     referenceTime: 0x7F_FFFF, feedbackPacketCount: 0,
                                                     receiveDeltas: [])),
        ])
        let bytes = try compound.serialized()
        #expect(bytes.count == compound.serializedSize)
        let parsed = try RTCPCompoundPacket(parsing: bytes)
        #expect(parsed == compound)
        #expect(try parsed.serialized() == bytes)
    }

    @Test func refusesFieldsThatDoNotFit() {
        #expect(throws: RTCPError.fieldOutOfRange) {
            try RTCPPacket.goodbye(RTCPGoodbye(ssrcs: Array(0..<32))).serialized()
        }
        #expect(throws: RTCPError.fieldOutOfRange) {
            try RTCPPacket.goodbye(RTCPGoodbye(ssrcs: [], reason: String(repeating: "z", count: 256))).serialized()
        }
        #expect(throws: RTCPError.fieldOutOfRange) {
            try RTCPPacket.other(RTCPRawPacket(count: 0, packetType: 210, body: [1])).serialized()
        }
        #expect(throws: RTCPError.fieldOutOfRange) {
            try RTCPPacket.sourceDescription(RTCPSourceDescription(chunks: [.init(ssrc: 1, items: [.init(type: 0, value: [])])]))
                .serialized()
        }
        var writer = ByteWriter()
        let compound = RTCPCompoundPacket(packets: [.pictureLossIndication(.init(senderSSRC: 1, mediaSSRC: 2)),
                                                    .other(RTCPRawPacket(count: 32, packetType: 210, body: []))])
        #expect(throws: RTCPError.fieldOutOfRange) { try compound.serialize(into: &writer) }
        #expect(writer.count == 0)
    }

    @Test func negativeVectors() throws {
        #expect(throws: RTCPError.truncated) { try RTCPCompoundPacket(parsing: []) }
        for length in 1..<4 {
            #expect(throws: RTCPError.truncated) { try RTCPCompoundPacket(parsing: Array(Self.senderReport[0..<length])) }
        }
        for length in 4..<Self.senderReport.count {
            #expect(throws: RTCPError.badLength) { try RTCPCompoundPacket(parsing: Array(Self.senderReport[0..<length])) }
        }
        // A second packet cut after its header's first bytes.
        #expect(throws: RTCPError.truncated) { try RTCPCompoundPacket(parsing: Self.senderReport + [0x81, 0xc9]) }
        for version: UInt8 in [0, 1, 3] {
            var bytes = Self.senderReport
            bytes[0] = bytes[0] & 0x3F | version << 6
            #expect(throws: RTCPError.badVersion(version)) { try RTCPCompoundPacket(parsing: bytes) }
        }
        // The version of the second packet is checked too.
        var second = Self.receiverReportAndSDES
        second[32] = 0x41
        #expect(throws: RTCPError.badVersion(1)) { try RTCPCompoundPacket(parsing: second) }
        // Padding count 0 and larger than the body.
        #expect(throws: RTCPError.badPadding) { try RTCPCompoundPacket(parsing: hex("a1 ce 00 02 00 00 00 01 00 00 00 00")) }
        #expect(throws: RTCPError.badPadding) { try RTCPCompoundPacket(parsing: hex("a1 ce 00 02 00 00 00 01 00 00 00 09")) }
        // SR announcing 2 report blocks with room for 1.
        var tooManyBlocks = Self.senderReport
        tooManyBlocks[0] = 0x82
        #expect(throws: RTCPError.badPacket(type: 200)) { try RTCPCompoundPacket(parsing: tooManyBlocks) }
        // SR and RR bodies shorter than their fixed parts.
        #expect(throws: RTCPError.truncated) { try RTCPCompoundPacket(parsing: hex("80 c8 00 01 00 00 00 01")) }
        #expect(throws: RTCPError.truncated) { try RTCPCompoundPacket(parsing: hex("80 c9 00 00")) }
        // SDES chunk whose item list never ends.
        #expect(throws: RTCPError.badPacket(type: 202)) {
            try RTCPCompoundPacket(parsing: hex("81 ca 00 02 00 00 00 01 01 02 61 62"))
        }
        // BYE announcing 2 SSRCs with one present, and a reason longer than the body.
        #expect(throws: RTCPError.badPacket(type: 203)) { try RTCPCompoundPacket(parsing: hex("82 cb 00 01 00 00 00 01")) }
        #expect(throws: RTCPError.badPacket(type: 203)) {
            try RTCPCompoundPacket(parsing: hex("81 cb 00 02 00 00 00 01 09 61 62 63"))
        }
        // NACK and PLI bodies too short.
        #expect(throws: RTCPError.truncated) { try RTCPCompoundPacket(parsing: hex("81 cd 00 01 00 00 00 01")) }
        #expect(throws: RTCPError.truncated) { try RTCPCompoundPacket(parsing: hex("81 ce 00 01 00 00 00 01")) }
        // Transport feedback: reserved symbol in a run-length chunk, and deltas missing.
        var reserved = Self.transportFeedback
        reserved[20] = 0x60  // run length with symbol 3
        #expect(throws: RTCPError.badPacket(type: 205)) { try RTCPCompoundPacket(parsing: reserved) }
        var missingDeltas = Self.transportFeedback
        missingDeltas[14] = 0x10  // 16 statuses announced: chunks run out
        #expect(throws: RTCPError.badPacket(type: 205)) { try RTCPCompoundPacket(parsing: missingDeltas) }
        #expect(throws: RTCPError.truncated) { try RTCPCompoundPacket(parsing: hex("8f cd 00 02 00 00 00 01 00 00 00 02")) }
    }
}

@Suite("RTCP padding rules")
struct RTCPPaddingTests {
    @Test func paddingMustBeAMultipleOfFour() {
        // RFC 3550 §6.4.1: the padding count "will be a multiple of four".
        #expect(throws: RTCPError.badPadding) { try RTCPCompoundPacket(parsing: hex("a1 ce 00 03 00 00 00 01 00 00 00 02 00 00 00 03")) }
    }
}
