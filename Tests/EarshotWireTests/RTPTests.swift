import Testing
@testable import EarshotWire

@Suite("RTP packets")
struct RTPPacketTests {
    /// A minimal Opus packet: no CSRC, no extension, no padding.
    static let minimal = hex("""
        80 6f 12 34   # V=2 P=0 X=0 CC=0 | M=0 PT=111 | sequence 0x1234
        00 00 03 e8   # timestamp 1000
        de ad be ef   # SSRC
        f8 ff fe      # Opus payload (TOC 0xf8: CELT FB 20 ms, then two bytes)
        """.split(separator: "\n").map { $0.split(separator: "#")[0] }.joined())

    /// Two CSRCs, marker set, a one-byte-form extension and 4 bytes of padding.
    static let full = hex("""
        b2 ef 00 01   # V=2 P=1 X=1 CC=2 | M=1 PT=111 | sequence 1
        00 01 e2 40   # timestamp 123456
        11 22 33 44   # SSRC
        00 00 00 0a   # CSRC 10
        00 00 00 0b   # CSRC 11
        be de 00 03   # one-byte extension profile, 3 words
        10 aa         # id 1 len 0: audio level V=1 level 42
        32 12 34 56   # id 3 len 2: abs-send-time 0x123456
        51 ab cd      # id 5 len 1: transport-wide sequence 0xabcd
        00 00 00      # padding to the word boundary
        01 02 03 04 05   # payload
        00 00 00 04   # 4 bytes of padding, the last one counting them
        """.split(separator: "\n").map { $0.split(separator: "#")[0] }.joined())

    @Test func parsesAMinimalPacket() throws {
        let layout = try RTPPacketLayout(parsing: Self.minimal)
        #expect(!layout.marker)
        #expect(layout.payloadType == 111)
        #expect(layout.sequenceNumber == 0x1234)
        #expect(layout.timestamp == 1000)
        #expect(layout.ssrc == 0xDEAD_BEEF)
        #expect(layout.csrcCount == 0)
        #expect(layout.extensionProfile == nil)
        #expect(layout.payloadRange == 12..<15)
        #expect(layout.paddingLength == 0)
        let packet = try RTPPacket(parsing: Self.minimal)
        #expect(packet.payload == [0xF8, 0xFF, 0xFE])
        #expect(try packet.serialized() == Self.minimal)
        #expect(packet.serializedSize == Self.minimal.count)
    }

    @Test func parsesCSRCsExtensionAndPadding() throws {
        let bytes = Self.full
        let layout = try RTPPacketLayout(parsing: bytes)
        #expect(layout.marker)
        #expect(layout.payloadType == 111)
        #expect(layout.csrcCount == 2)
        #expect(layout.extensionProfile == 0xBEDE)
        #expect(layout.extensionRange == 24..<36)
        #expect(layout.headerLength == 36)
        #expect(layout.payloadRange == 36..<41)
        #expect(layout.paddingLength == 4)
        bytes.withUnsafeBytes { raw in
            #expect(layout.csrc(at: 0, in: raw) == 10)
            #expect(layout.csrc(at: 1, in: raw) == 11)
            #expect(layout.csrc(at: 2, in: raw) == nil)
            #expect(layout.extensionElement(id: 3, in: raw) == 27..<30)
            #expect(layout.extensionElement(id: 4, in: raw) == nil)
            #expect(layout.extensionValue(AudioLevelExtension.self, id: 1, in: raw)
                == AudioLevelExtension(voiceActivity: true, level: 42))
            #expect(layout.extensionValue(AbsoluteSendTimeExtension.self, id: 3, in: raw)?.rawValue == 0x12_3456)
            #expect(layout.extensionValue(TransportSequenceNumberExtension.self, id: 5, in: raw)?.sequenceNumber == 0xABCD)
            var seen: [UInt8] = []
            try? layout.forEachExtensionElement(in: raw) { id, _ in seen.append(id) }
            #expect(seen == [1, 3, 5])
        }
        let packet = try RTPPacket(parsing: bytes)
        #expect(packet.header.csrcs == [10, 11])
        #expect(packet.payload == [1, 2, 3, 4, 5])
        #expect(packet.paddingLength == 4)
        #expect(try packet.header.headerExtension?.elements() == [
            RTPHeaderExtensionElement(id: 1, data: [0xAA]),
            RTPHeaderExtensionElement(id: 3, data: [0x12, 0x34, 0x56]),
            RTPHeaderExtensionElement(id: 5, data: [0xAB, 0xCD]),
        ])
        // Serializing gives back the same bytes (the padding is zeros then the count, as on the wire here).
        #expect(try packet.serialized() == bytes)
        #expect(packet.serializedSize == bytes.count)
    }

    @Test func buildsTheSameExtensionFromTypedValues() throws {
        let built = try RTPHeaderExtension(elements: [
            RTPHeaderExtensionElement(id: 1, value: AudioLevelExtension(voiceActivity: true, level: 42)),
            RTPHeaderExtensionElement(id: 3, value: AbsoluteSendTimeExtension(rawValue: 0x12_3456)),
            RTPHeaderExtensionElement(id: 5, value: TransportSequenceNumberExtension(sequenceNumber: 0xABCD)),
        ])
        #expect(built.profile == 0xBEDE)
        #expect(built.data == Array(Self.full[24..<36]))
    }

    @Test func twoByteExtensionForLargeIDsAndEmptyElements() throws {
        let mid = MediaIdentifierExtension(mid: "0")
        let capture = AbsoluteCaptureTimeExtension(
            captureTimestamp: NTPTimestamp(seconds: 0xE000_0000, fraction: 0x8000_0000),
            estimatedCaptureClockOffset: -1)
        let elements = [
            RTPHeaderExtensionElement(id: 16, value: mid),  // ID above 14 forces the two-byte form
            RTPHeaderExtensionElement(id: 2, data: []),  // empty data: two-byte form only
            RTPHeaderExtensionElement(id: 7, value: capture),
        ]
        let ext = try RTPHeaderExtension(elements: elements)
        #expect(ext.profile == 0x1000)
        #expect(ext.form == .twoByte(appBits: 0))
        // 16 01 "0" | 02 00 | 07 10 <16 bytes> | padding to 24 bytes
        #expect(ext.data.count == 24)
        #expect(Array(ext.data[0..<5]) == [16, 1, 0x30, 2, 0])
        #expect(try ext.elements() == elements)
        #expect(ext.value(MediaIdentifierExtension.self, id: 16) == mid)
        #expect(ext.value(AbsoluteCaptureTimeExtension.self, id: 7) == capture)
        #expect(throws: RTPError.badExtensionElement(id: 16)) {
            try RTPHeaderExtension(elements: [RTPHeaderExtensionElement(id: 16, data: [1])], form: .oneByte)
        }
        #expect(throws: RTPError.badExtensionElement(id: 1)) {
            try RTPHeaderExtension(elements: [RTPHeaderExtensionElement(id: 1, data: [])], form: .oneByte)
        }
        #expect(throws: RTPError.badExtensionElement(id: 0)) {
            try RTPHeaderExtension(elements: [RTPHeaderExtensionElement(id: 0, data: [])])
        }
        let appBits = try RTPHeaderExtension(elements: [], form: .twoByte(appBits: 0x5))
        #expect(appBits.profile == 0x1005 && appBits.data.isEmpty)
    }

    @Test func oneByteParsingSkipsPaddingAndStopsAtID15() throws {
        // 00 (padding) | 10 01 (id 1, 1 byte) | f0 (id 15: stop) | 20 ff (never read)
        let ext = RTPHeaderExtension(profile: 0xBEDE, data: hex("00 10 01 f0 20 ff 00 00"))
        #expect(try ext.elements() == [RTPHeaderExtensionElement(id: 1, data: [1])])
    }

    @Test func roundTripsBuiltPackets() throws {
        let ext = try RTPHeaderExtension(elements: [RTPHeaderExtensionElement(id: 9, data: [1, 2, 3, 4, 5])])
        let packets = [
            RTPPacket(header: RTPHeader(payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0), payload: []),
            RTPPacket(header: RTPHeader(marker: true, payloadType: 127, sequenceNumber: 65535, timestamp: .max,
                                        ssrc: .max, csrcs: Array(1...15), headerExtension: ext),
                      payload: Array(repeating: 7, count: 100), paddingLength: 255),
            RTPPacket(header: RTPHeader(payloadType: 96, sequenceNumber: 5, timestamp: 6, ssrc: 7,
                                        headerExtension: RTPHeaderExtension(profile: 0x1234, data: [])),
                      payload: [9], paddingLength: 1),
        ]
        for packet in packets {
            let bytes = try packet.serialized()
            #expect(bytes.count == packet.serializedSize)
            let parsed = try RTPPacket(parsing: bytes)
            #expect(parsed == packet)
            #expect(try parsed.serialized() == bytes)
            var buffer = [UInt8](repeating: 0xEE, count: bytes.count)
            let written = try buffer.withUnsafeMutableBytes { (raw) throws(RTPError) in try packet.write(into: raw) }
            #expect(written == bytes.count && buffer == bytes)
            var small = [UInt8](repeating: 0, count: bytes.count - 1)
            #expect(throws: RTPError.bufferTooSmall) {
                try small.withUnsafeMutableBytes { (raw) throws(RTPError) in try packet.write(into: raw) }
            }
        }
    }

    @Test func refusesFieldsThatDoNotFit() {
        let tooManyCSRCs = RTPPacket(header: RTPHeader(payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0,
                                                        csrcs: Array(0...15)), payload: [])
        #expect(throws: RTPError.fieldOutOfRange) { try tooManyCSRCs.serialized() }
        let badPT = RTPPacket(header: RTPHeader(payloadType: 128, sequenceNumber: 0, timestamp: 0, ssrc: 0), payload: [])
        #expect(throws: RTPError.fieldOutOfRange) { try badPT.serialized() }
        let oddExtension = RTPPacket(header: RTPHeader(payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0,
                                                        headerExtension: RTPHeaderExtension(profile: 0xBEDE, data: [1])),
                                     payload: [])
        #expect(throws: RTPError.fieldOutOfRange) { try oddExtension.serialized() }
    }

    @Test func negativeVectors() throws {
        // Truncated: every prefix shorter than the fixed header, the CSRC list or the extension header.
        for length in 0..<12 {
            #expect(throws: RTPError.truncated) { try RTPPacketLayout(parsing: Array(Self.full[0..<length])) }
        }
        #expect(throws: RTPError.truncated) { try RTPPacketLayout(parsing: Array(Self.full[0..<19])) }  // CSRC cut
        #expect(throws: RTPError.truncated) { try RTPPacketLayout(parsing: Array(Self.full[0..<22])) }  // ext header cut
        // Bad version: 0, 1 and 3.
        for version: UInt8 in [0, 1, 3] {
            var bytes = Self.minimal
            bytes[0] = bytes[0] & 0x3F | version << 6
            #expect(throws: RTPError.badVersion(version)) { try RTPPacketLayout(parsing: bytes) }
        }
        // Bad padding: count 0, and count larger than what follows the header.
        var zeroPadding = Self.minimal
        zeroPadding[0] |= 0x20
        zeroPadding[zeroPadding.count - 1] = 0
        #expect(throws: RTPError.badPadding) { try RTPPacketLayout(parsing: zeroPadding) }
        var bigPadding = Self.minimal
        bigPadding[0] |= 0x20
        bigPadding[bigPadding.count - 1] = 4  // only 3 bytes follow the header
        #expect(throws: RTPError.badPadding) { try RTPPacketLayout(parsing: bigPadding) }
        var exactPadding = Self.minimal
        exactPadding[0] |= 0x20
        exactPadding[exactPadding.count - 1] = 3  // the whole payload is padding: allowed, empty payload
        #expect(try RTPPacketLayout(parsing: exactPadding).payloadRange.isEmpty)
        // Bad extension length: 3 words announced, 2 present.
        var longExtension = Array(Self.full[0..<32])
        longExtension[0] &= ~0x20
        #expect(throws: RTPError.badExtensionLength) { try RTPPacketLayout(parsing: longExtension) }
        // Malformed elements: id 3 claims 3 bytes but only 2 remain in a one-word extension.
        let cut = RTPHeaderExtension(profile: 0xBEDE, data: hex("10 aa 32 12"))
        #expect(throws: RTPError.badExtensionElement(id: 3)) { try cut.elements() }
        let twoByteCut = RTPHeaderExtension(profile: 0x1000, data: hex("05 04 01 02"))
        #expect(throws: RTPError.badExtensionElement(id: 5)) { try twoByteCut.elements() }
        let twoByteHeaderCut = RTPHeaderExtension(profile: 0x1000, data: hex("00 00 00 05"))
        #expect(throws: RTPError.badExtensionElement(id: 5)) { try twoByteHeaderCut.elements() }
        #expect(throws: RTPError.unsupportedExtensionProfile(0x1234)) {
            try RTPHeaderExtension(profile: 0x1234, data: []).elements()
        }
    }

    @Test func typedExtensionValues() throws {
        #expect(AudioLevelExtension(voiceActivity: true, level: 42).extensionData == [0xAA])
        #expect(AudioLevelExtension(voiceActivity: false, level: 200).level == 127)
        #expect(try AudioLevelExtension(extensionData: [0x7F]) == AudioLevelExtension(voiceActivity: false, level: 127))
        #expect(throws: RTPError.badExtensionValue) { try AudioLevelExtension(extensionData: [1, 2]) }
        // abs-send-time takes bits 14–37 of the NTP time: 1.5 s → 0x060000 (6.18: 1 << 18 | 1 << 17).
        #expect(AbsoluteSendTimeExtension(NTPTimestamp(seconds: 1, fraction: 0x8000_0000)).rawValue == 0x06_0000)
        #expect(AbsoluteSendTimeExtension(NTPTimestamp(seconds: 64 + 1, fraction: 0)).rawValue == 0x04_0000)
        #expect(throws: RTPError.badExtensionValue) { try AbsoluteSendTimeExtension(extensionData: [1, 2]) }
        #expect(throws: RTPError.badExtensionValue) { try TransportSequenceNumberExtension(extensionData: [1]) }
        let capture = AbsoluteCaptureTimeExtension(captureTimestamp: NTPTimestamp(rawValue: 0x0102_0304_0506_0708))
        #expect(capture.extensionData == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(try AbsoluteCaptureTimeExtension(extensionData: capture.extensionData) == capture)
        #expect(throws: RTPError.badExtensionValue) { try AbsoluteCaptureTimeExtension(extensionData: [1, 2, 3]) }
        #expect(throws: RTPError.badExtensionValue) { try MediaIdentifierExtension(extensionData: []) }
        #expect(try MediaIdentifierExtension(extensionData: Array("audio".utf8)).mid == "audio")
    }
}

@Suite("RTP sequence numbers and timestamps")
struct RTPSequenceTests {
    @Test func wrapAwareComparison() {
        #expect(UInt16(1).isNewer(than: 0))
        #expect(UInt16(0).isNewer(than: 65535))
        #expect(!UInt16(65535).isNewer(than: 0))
        #expect(!UInt16(5).isNewer(than: 5))
        #expect(UInt16(0x7FFF).isNewer(than: 0))
        #expect(!UInt16(0x8001).isNewer(than: 0))
        // Exactly half apart: the numerically larger is newer, so exactly one of the two is.
        #expect(UInt16(0x8000).isNewer(than: 0) && !UInt16(0).isNewer(than: 0x8000))
        #expect(UInt32(0).isNewer(than: .max))
        #expect(UInt32(0x8000_0000).isNewer(than: 0) && !UInt32(0).isNewer(than: 0x8000_0000))
        var generator = SplitMix64(seed: 1)
        for _ in 0..<10000 {
            let a = UInt16.random(in: 0...UInt16.max, using: &generator)
            let b = UInt16.random(in: 0...UInt16.max, using: &generator)
            #expect(a == b || a.isNewer(than: b) != b.isNewer(than: a))
        }
    }

    @Test func unwrapsSequenceNumbersAcrossTheWrap() {
        var unwrapper = RTPSequenceNumberUnwrapper()
        #expect(unwrapper.unwrap(65534) == 65534)
        #expect(unwrapper.unwrap(65535) == 65535)
        #expect(unwrapper.unwrap(0) == 65536)
        #expect(unwrapper.unwrap(65533) == 65533)  // late packet from before the wrap
        #expect(unwrapper.unwrap(2) == 65538)
        #expect(unwrapper.highest == 65538)
        #expect(unwrapper.peek(1) == 65537)
        #expect(unwrapper.highest == 65538)
        // A long forward run keeps counting.
        var value: UInt16 = 2
        var expected: Int64 = 65538
        for _ in 0..<200_000 {
            value &+= 7
            expected += 7
            #expect(unwrapper.unwrap(value) == expected)
        }
    }

    @Test func unwrapsBackwardsBeforeTheFirstValue() {
        var unwrapper = RTPSequenceNumberUnwrapper()
        #expect(unwrapper.unwrap(0) == 0)
        #expect(unwrapper.unwrap(65535) == -1)
        #expect(unwrapper.highest == 0)
    }

    @Test func unwrapsTimestamps() {
        var unwrapper = RTPTimestampUnwrapper()
        #expect(unwrapper.unwrap(0xFFFF_FF00) == 0xFFFF_FF00)
        #expect(unwrapper.unwrap(0x0000_0100) == 0x1_0000_0100)
        #expect(unwrapper.unwrap(0xFFFF_FFF0) == 0xFFFF_FFF0)
        #expect(unwrapper.unwrap(0x7FFF_0000) == 0x1_7FFF_0000)
    }
}

@Suite("NTP timestamps")
struct NTPTimestampTests {
    @Test func unixEpochConversion() {
        let epoch = NTPTimestamp(sinceUnixEpoch: .zero)
        #expect(epoch.seconds == 2_208_988_800)
        #expect(epoch.fraction == 0)
        let half = NTPTimestamp(sinceUnixEpoch: .milliseconds(1500))
        #expect(half.seconds == 2_208_988_801)
        #expect(half.fraction == 0x8000_0000)
        #expect(half.middle32 == UInt32(truncatingIfNeeded: 2_208_988_801 << 16) | 0x8000)
        #expect(half.sinceUnixEpoch == .milliseconds(1500))
        // 2024-01-01T00:00:00Z = 1704067200 s since 1970.
        let t = NTPTimestamp(sinceUnixEpoch: .seconds(1_704_067_200) + .microseconds(250))
        #expect(t.seconds == 3_913_056_000)
        #expect(t.fraction == 1_073_741)  // 250 µs × 2^32 / 10^6, truncated
        #expect(NTPTimestamp(sinceUnixEpoch: .milliseconds(-500)).seconds == 2_208_988_799)
    }
}
