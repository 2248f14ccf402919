import Testing
@testable import EarshotWire

@Suite("RFC 7983 demultiplexing")
struct DemuxTests {
    @Test func firstByteRanges() {
        func kind(_ first: UInt8, _ second: UInt8 = 0) -> DatagramKind { DatagramKind(classifying: [first, second]) }
        for first in UInt8(0)...255 {
            let expected: DatagramKind
            switch first {
            case 0...3: expected = .stun
            case 16...19: expected = .zrtp
            case 20...63: expected = .dtls
            case 64...79: expected = .turnChannel
            case 128...191: expected = .rtp  // second byte 0: payload type 0
            default: expected = .unknown
            }
            #expect(kind(first) == expected, "first byte \(first)")
        }
    }

    @Test func rtcpIsToldFromRTPByTheSecondByte() {
        // RFC 5761 §4: marker folded, 64–95 (packet types 192–223) are RTCP.
        for second in UInt8(0)...255 {
            let payloadType = second & 0x7F
            let expected: DatagramKind = (64...95).contains(payloadType) ? .rtcp : .rtp
            #expect(DatagramKind(classifying: [0x80, second]) == expected, "second byte \(second)")
        }
        #expect(DatagramKind(classifying: [0x80, 200]) == .rtcp)  // SR
        #expect(DatagramKind(classifying: [0x81, 205]) == .rtcp)  // RTPFB
        #expect(DatagramKind(classifying: [0x80, 0xEF]) == .rtp)  // PT 111 with marker
        #expect(DatagramKind(classifying: [0x80, 0x6F]) == .rtp)  // PT 111
        #expect(DatagramKind(classifying: [0x80, 0xE0]) == .rtp)  // PT 96 with marker
    }

    @Test func shortDatagrams() {
        #expect(DatagramKind(classifying: [UInt8]()) == .unknown)
        #expect(DatagramKind(classifying: [0x80]) == .unknown)  // RTP/RTCP range but no second byte
        #expect(DatagramKind(classifying: [0x00]) == .stun)  // the first byte alone decides the rest
        #expect(DatagramKind(classifying: [0x16]) == .dtls)  // handshake content type 22
    }

    @Test func realMessagesOfEachProtocol() {
        #expect(DatagramKind(classifying: RFC5769.request) == .stun)
        #expect(DatagramKind(classifying: RFC5769.ipv4Response) == .stun)
        #expect(DatagramKind(classifying: RTPPacketTests.minimal) == .rtp)
        #expect(DatagramKind(classifying: RTPPacketTests.full) == .rtp)
        #expect(DatagramKind(classifying: RTCPTests.senderReport) == .rtcp)
        #expect(DatagramKind(classifying: RTCPTests.transportFeedback) == .rtcp)
        #expect(DatagramKind(classifying: RTCPTests.receiverReportAndSDES[...]) == .rtcp)
    }
}
