import Foundation
import Testing
@testable import EarshotWire

/// Every parser gets 100,000 buffers from a fixed-seed generator, half random bytes shaped to pass the
/// first checks of its format, half mutations of valid messages. Nothing may trap; whatever parses must
/// serialize and parse back to the same value.
@Suite("Robustness: random and mutated input")
struct RobustnessTests {
    static let iterations = 100_000

    /// Payloads of the real capture of a given kind, as extra mutation seeds.
    static func captured(_ kind: DatagramKind) -> [[UInt8]] {
        guard let data = try? Data(contentsOf: fixtureURL("wire/chromium-loopback-audio.pcap")) else { return [] }
        return readCapture(Array(data)).map(\.payload).filter { DatagramKind(classifying: $0) == kind }
    }

    /// Produces the i-th input: even i random, odd i a mutation of a seed message.
    static func input(_ index: Int, seeds: [[UInt8]], shape: (inout [UInt8]) -> Void,
                      generator: inout SplitMix64) -> [UInt8] {
        if index % 2 == 0 {
            var bytes = generator.bytes(count: Int.random(in: 0...160, using: &generator))
            if Bool.random(using: &generator) { shape(&bytes) }
            return bytes
        }
        return generator.mutate(seeds[Int.random(in: 0..<seeds.count, using: &generator)])
    }

    @Test func stun() throws {
        let key = STUNIntegrityKey(shortTermPassword: RFC5769.password)
        let built = try STUNMessage.bindingRequest(
            transactionID: STUNTransactionID(high: 1, low: 2),
            attributes: [.username("a:b"), .errorCode(.roleConflict), .unknownAttributes([1, 2]),
                         .xorMappedAddress(TransportAddress(address: .v6(IPv6Address(high: 1, low: 2)), port: 3))]
        ).serialized(integrity: key, fingerprint: true)
        let seeds = [RFC5769.request, RFC5769.ipv4Response, RFC5769.ipv6Response, RFC5769.longTermRequest, built]
            + Self.captured(.stun)
        var generator = SplitMix64(seed: 0x5354_554E)
        var parsed = 0
        for index in 0..<Self.iterations {
            let bytes = Self.input(index, seeds: seeds, shape: { bytes in
                // A plausible header: zero top bits, the cookie, a length matching the buffer.
                while bytes.count < 20 || bytes.count % 4 != 0 { bytes.append(0) }
                bytes[0] &= 0x01
                bytes[2] = UInt8((bytes.count - 20) >> 8)
                bytes[3] = UInt8((bytes.count - 20) & 0xFF)
                bytes.replaceSubrange(4..<8, with: [0x21, 0x12, 0xA4, 0x42])
            }, generator: &generator)
            _ = STUNMessage.peekBindingRequestUsername(bytes)
            _ = try? STUNMessage.verifyIntegrity(of: bytes, key: key)
            _ = try? STUNMessage.verifyIntegritySHA256(of: bytes, key: key)
            _ = try? STUNMessage.verifyFingerprint(of: bytes)
            _ = try? STUNMessage(parsing: bytes)
            guard let message = try? STUNMessage(parsing: bytes, checkFingerprint: false) else { continue }
            parsed += 1
            guard let again = try? message.serialized() else { continue }
            #expect(again.count == message.serializedSize())
            #expect(try STUNMessage(parsing: again, checkFingerprint: false) == message)
        }
        #expect(parsed > 1000)  // the shaping reaches the attribute parser often
    }

    @Test func rtp() throws {
        let seeds = [RTPPacketTests.minimal, RTPPacketTests.full,
                     try RTPPacket(header: RTPHeader(payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3,
                                                     headerExtension: try RTPHeaderExtension(elements: [
                                                        RTPHeaderExtensionElement(id: 20, data: [1, 2, 3]),
                                                        RTPHeaderExtensionElement(id: 1, data: []),
                                                     ])),
                                   payload: [1, 2, 3]).serialized()] + Self.captured(.rtp)
        var generator = SplitMix64(seed: 3550)
        var parsed = 0
        for index in 0..<Self.iterations {
            let bytes = Self.input(index, seeds: seeds, shape: { bytes in
                if !bytes.isEmpty { bytes[0] = bytes[0] & 0x3F | 0x80 }  // version 2
            }, generator: &generator)
            guard let layout = try? RTPPacketLayout(parsing: bytes) else {
                #expect(throws: RTPError.self) { try RTPPacket(parsing: bytes) }
                continue
            }
            parsed += 1
            #expect(layout.payloadRange.upperBound + layout.paddingLength == bytes.count)
            bytes.withUnsafeBytes { raw in
                try? layout.forEachExtensionElement(in: raw) { _, range in
                    #expect(range.upperBound <= layout.extensionRange.upperBound)
                }
                for id in [UInt8(1), 3, 5, 20] {
                    if let range = layout.extensionElement(id: id, in: raw) {
                        #expect(range.lowerBound >= layout.extensionRange.lowerBound)
                    }
                    _ = layout.extensionValue(AudioLevelExtension.self, id: id, in: raw)
                    _ = layout.extensionValue(AbsoluteCaptureTimeExtension.self, id: id, in: raw)
                    _ = layout.extensionValue(MediaIdentifierExtension.self, id: id, in: raw)
                }
            }
            let packet = try RTPPacket(parsing: bytes)
            _ = try? packet.header.headerExtension?.elements()
            let again = try packet.serialized()
            #expect(again.count == bytes.count)
            #expect(try RTPPacket(parsing: again) == packet)
        }
        #expect(parsed > 1000)
    }

    @Test func rtcp() throws {
        let seeds = [RTCPTests.senderReport, RTCPTests.receiverReportAndSDES, RTCPTests.transportFeedback,
                     hex("82 cb 00 03 00 00 00 01 00 00 00 02 03 62 79 65"),
                     hex("81 cd 00 03 00 00 00 01 00 00 00 02 00 64 00 05"),
                     hex("a1 ce 00 03 00 00 00 01 00 00 00 02 00 00 00 04")] + Self.captured(.rtcp)
        var generator = SplitMix64(seed: 4585)
        var parsed = 0
        for index in 0..<Self.iterations {
            let bytes = Self.input(index, seeds: seeds, shape: { bytes in
                // One packet header that spans the buffer, version 2, a known type.
                while bytes.count < 4 || bytes.count % 4 != 0 { bytes.append(0) }
                bytes[0] = bytes[0] & 0x1F | 0x80
                bytes[1] = [200, 201, 202, 203, 204, 205, 206, 207][Int(bytes[1] % 8)]
                bytes[2] = UInt8((bytes.count / 4 - 1) >> 8)
                bytes[3] = UInt8((bytes.count / 4 - 1) & 0xFF)
            }, generator: &generator)
            guard let compound = try? RTCPCompoundPacket(parsing: bytes) else { continue }
            parsed += 1
            guard let again = try? compound.serialized() else { continue }
            #expect(again.count == compound.serializedSize)
            #expect(try RTCPCompoundPacket(parsing: again) == compound)
        }
        #expect(parsed > 1000)
    }

    @Test func opusAndDemux() throws {
        let seeds: [[UInt8]] = [[0xF8, 1, 2], [0xF9, 1, 2], [0xFA, 1, 9, 8], [0xFB, 0x03, 1, 1, 2, 2, 3, 3],
                                [0xFB, 0xC2, 0x01, 0x00, 0x55, 0x00], [0xFB, 0x41, 255, 1, 7, 7]]
        var generator = SplitMix64(seed: 6716)
        var parsed = 0
        for index in 0..<Self.iterations {
            let bytes = Self.input(index, seeds: seeds, shape: { _ in }, generator: &generator)
            _ = DatagramKind(classifying: bytes)
            guard let packet = try? OpusPacketLayout(parsing: bytes) else { continue }
            parsed += 1
            #expect((1...48).contains(packet.frameCount))
            #expect(packet.samplesAt48kHz <= 5760)
            var end = 0
            for frame in packet.frames {
                #expect(frame.lowerBound >= end && frame.upperBound <= bytes.count && frame.count <= 1275)
                end = frame.upperBound
            }
        }
        #expect(parsed > 1000)
    }

    @Test func textAndExtensionParsers() {
        var generator = SplitMix64(seed: 8285)
        let alphabet = Array("0123456789abcdefABCDEF:.:: x%".utf8)
        for _ in 0..<Self.iterations {
            let length = Int.random(in: 0...20, using: &generator)
            let text = String(decoding: (0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] },
                              as: UTF8.self)
            if let address = IPAddress(text) {
                #expect(IPAddress(address.description) == address)
            }
            let data = generator.bytes(count: Int.random(in: 0...24, using: &generator))
            for profile: UInt16 in [0xBEDE, 0x1000, 0x1003, 0xABCD] {
                let ext = RTPHeaderExtension(profile: profile, data: data)
                if let elements = try? ext.elements(), let form = ext.form,
                   let rebuilt = try? RTPHeaderExtension(elements: elements, form: form) {
                    #expect((try? rebuilt.elements()) == elements)
                }
            }
        }
    }
}
