import Foundation
import Testing
@testable import EarshotWire

/// One UDP datagram from a capture.
struct CapturedDatagram {
    var source: TransportAddress
    var destination: TransportAddress
    var payload: [UInt8]
}

/// Reads the UDP datagrams of a little-endian pcap file with Ethernet framing over IPv4 or IPv6.
func readCapture(_ bytes: [UInt8]) -> [CapturedDatagram] {
    func u16(_ at: Int) -> Int { Int(bytes[at]) << 8 | Int(bytes[at + 1]) }
    func le32(_ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(bytes[at + $1]) << (8 * $1) } }
    var datagrams: [CapturedDatagram] = []
    var offset = 24  // pcap global header
    while offset + 16 <= bytes.count {
        let length = le32(offset + 8)
        let frame = offset + 16
        offset = frame + length
        let ethertype = u16(frame + 12)
        let ip = frame + 14
        let source: IPAddress
        let destination: IPAddress
        let udp: Int
        if ethertype == 0x0800 {
            source = .v4(IPv4Address(bytes[ip + 12], bytes[ip + 13], bytes[ip + 14], bytes[ip + 15]))
            destination = .v4(IPv4Address(bytes[ip + 16], bytes[ip + 17], bytes[ip + 18], bytes[ip + 19]))
            udp = ip + Int(bytes[ip] & 0x0F) * 4
        } else {
            source = .v6(IPv6Address(bytes: bytes[(ip + 8)..<(ip + 24)])!)
            destination = .v6(IPv6Address(bytes: bytes[(ip + 24)..<(ip + 40)])!)
            udp = ip + 40
        }
        datagrams.append(CapturedDatagram(
            source: TransportAddress(address: source, port: UInt16(u16(udp))),
            destination: TransportAddress(address: destination, port: UInt16(u16(udp + 2))),
            payload: Array(bytes[(udp + 8)..<(udp + u16(udp + 4))])))
    }
    return datagrams
}

/// The package's Fixtures directory, found from this file's path.
func fixtureURL(_ relativePath: String) -> URL {
    var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
        directory.deleteLastPathComponent()
    }
    return directory.appendingPathComponent("Fixtures").appendingPathComponent(relativePath)
}

/// A real Chromium-to-Chromium audio call (see Fixtures/wire/README.md for how it was made).
@Suite("Capture: Chromium loopback audio call")
struct CaptureTests {
    let datagrams: [CapturedDatagram]
    /// ICE passwords by ufrag, from the offer (A) and answer (B).
    let passwords = ["Bbc6": "0UJWVozF4mkJgy+DFaDv5mZF", "y4iS": "bKwf36gLs6lSijAUcal14JVy"]
    let ssrcA: UInt32 = 844_762_064

    init() throws {
        datagrams = readCapture(Array(try Data(contentsOf: fixtureURL("wire/chromium-loopback-audio.pcap"))))
    }

    @Test func everyDatagramIsClassified() {
        var kinds: [DatagramKind: Int] = [:]
        for datagram in datagrams { kinds[DatagramKind(classifying: datagram.payload), default: 0] += 1 }
        #expect(kinds == [.stun: 40, .dtls: 6, .rtp: 32, .rtcp: 11])
    }

    @Test func stunMessagesParseVerifyAndRebuildByteForByte() throws {
        let stun = datagrams.filter { DatagramKind(classifying: $0.payload) == .stun }
        var keyByTransaction: [STUNTransactionID: STUNIntegrityKey] = [:]
        var requestSource: [STUNTransactionID: TransportAddress] = [:]
        var requests = 0
        var responses = 0
        for datagram in stun {
            let message = try STUNMessage(parsing: datagram.payload)
            try STUNMessage.verifyFingerprint(of: datagram.payload)
            let key: STUNIntegrityKey
            switch message.type {
            case .bindingRequest:
                requests += 1
                // USERNAME is "receiver-ufrag:sender-ufrag"; the receiver's password signs the request.
                let username = try #require(message.username)
                #expect(STUNMessage.peekBindingRequestUsername(datagram.payload) == username)
                let receiver = String(try #require(username.split(separator: ":").first))
                key = STUNIntegrityKey(shortTermPassword: try #require(passwords[receiver]))
                keyByTransaction[message.transactionID] = key
                requestSource[message.transactionID] = datagram.source
                #expect(message.priority != nil)
                #expect((message.iceControlling != nil) != (message.iceControlled != nil))
                #expect(message.unknownComprehensionRequiredAttributes.isEmpty)
            case .bindingSuccessResponse:
                responses += 1
                key = try #require(keyByTransaction[message.transactionID])
                // The reflexive address is where the request came from.
                #expect(message.xorMappedAddress == requestSource[message.transactionID])
                #expect(message.xorMappedAddress == datagram.destination)
            default:
                Issue.record("unexpected \(message.type)")
                continue
            }
            try STUNMessage.verifyIntegrity(of: datagram.payload, key: key)
            // Chromium pads with zeros, so rebuilding with the same key reproduces the datagram exactly.
            #expect(try message.serialized(integrity: key, fingerprint: true) == datagram.payload)
            #expect(message.serializedSize(integrity: true, fingerprint: true) == datagram.payload.count)
        }
        #expect(requests == 20 && responses == 20)
    }

    @Test func offererIsControllingAndNominates() throws {
        let requestsFromA = try datagrams
            .filter { DatagramKind(classifying: $0.payload) == .stun && [60083, 46521].contains($0.source.port) }
            .map { try STUNMessage(parsing: $0.payload) }
            .filter { $0.type == .bindingRequest }
        #expect(!requestsFromA.isEmpty)
        #expect(requestsFromA.allSatisfy { $0.iceControlling != nil && $0.username?.hasPrefix("y4iS:") == true })
        #expect(requestsFromA.contains { $0.useCandidate })
    }

    @Test func rtpHeadersAndExtensions() throws {
        let rtp = datagrams.filter { DatagramKind(classifying: $0.payload) == .rtp }
        var transportSequence: UInt16?
        var sequenceBySSRC: [UInt32: UInt16] = [:]
        for datagram in rtp {
            let layout = try RTPPacketLayout(parsing: datagram.payload)
            #expect(layout.payloadType == 111)  // opus/48000/2
            #expect(layout.ssrc == ssrcA)
            #expect(layout.extensionProfile == RTPHeaderExtension.oneByteProfile)
            if let previous = sequenceBySSRC[layout.ssrc] {
                #expect(layout.sequenceNumber == previous &+ 1)
            }
            sequenceBySSRC[layout.ssrc] = layout.sequenceNumber
            try datagram.payload.withUnsafeBytes { raw in
                let level = try #require(layout.extensionValue(AudioLevelExtension.self, id: 1, in: raw))
                #expect(level.level <= 127)
                #expect(layout.extensionValue(AbsoluteSendTimeExtension.self, id: 2, in: raw) != nil)
                let sequence = try #require(layout.extensionValue(TransportSequenceNumberExtension.self, id: 3, in: raw))
                if let previous = transportSequence {
                    #expect(sequence.sequenceNumber == previous &+ 1)
                }
                transportSequence = sequence.sequenceNumber
                if let mid = layout.extensionValue(MediaIdentifierExtension.self, id: 4, in: raw) {
                    #expect(mid.mid == "0")
                }
            }
            // Parse → serialize reproduces the datagram.
            #expect(try RTPPacket(parsing: datagram.payload).serialized() == datagram.payload)
        }
        #expect(rtp.count == 32)
    }

    @Test func srtcpHeadersAreInTheClear() throws {
        // SRTCP leaves the first 8 bytes (header and sender SSRC) unencrypted. A sends sender reports;
        // B sends reduced-size transport-wide feedback (RTPFB, FMT 15).
        let rtcp = datagrams.filter { DatagramKind(classifying: $0.payload) == .rtcp }
        var senderReports = 0
        var transportFeedback = 0
        for datagram in rtcp {
            let header = try #require(readFirstHeader(datagram.payload))
            let senderSSRC = datagram.payload.withUnsafeBytes { $0.loadBigEndianUInt32(at: 4) }
            switch (header.packetType, header.count) {
            case (RTCPPacketType.senderReport, _):
                senderReports += 1
                #expect(senderSSRC == ssrcA)
                #expect([60083, 46521].contains(datagram.source.port))
            case (RTCPPacketType.transportFeedback, 15):
                transportFeedback += 1
                #expect([54410, 50123].contains(datagram.source.port))
            default:
                Issue.record("unexpected RTCP packet type \(header.packetType)")
            }
            #expect(header.packetLength <= datagram.payload.count)
            _ = try? RTCPCompoundPacket(parsing: datagram.payload)  // encrypted remainder: must not trap
        }
        #expect(senderReports == 1 && transportFeedback == 10)
    }

    /// The first header alone, for packets whose encrypted remainder does not walk.
    func readFirstHeader(_ bytes: [UInt8]) -> RTCPPacketHeader? {
        guard bytes.count >= 8 else { return nil }
        return RTCPPacketHeader(hasPadding: bytes[0] & 0x20 != 0, count: bytes[0] & 0x1F, packetType: bytes[1],
                                packetLength: ((Int(bytes[2]) << 8 | Int(bytes[3])) + 1) * 4)
    }
}
