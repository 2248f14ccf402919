import Testing
@testable import EarshotWire

@Suite("Byte reader and writer")
struct ByteReaderWriterTests {
    @Test func readsBigEndianIntegers() throws {
        let bytes: [UInt8] = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C,
                              0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x12]
        try bytes.withUnsafeBytes { (raw) throws in
            var reader = ByteReader(raw)
            #expect(try reader.readUInt8() == 0x01)
            #expect(try reader.readUInt16() == 0x0203)
            #expect(try reader.readUInt24() == 0x04_0506)
            #expect(try reader.readUInt32() == 0x0708_090A)
            #expect(try reader.readUInt64() == 0x0B0C_0D0E_0F10_1112)
            #expect(reader.isAtEnd)
            #expect(throws: ByteReaderError.truncated) { try reader.readUInt8() }
        }
    }

    @Test func truncationThrowsTheChosenErrorAndConsumesNothing() throws {
        enum Custom: Error, Equatable { case short }
        let bytes: [UInt8] = [0xAA, 0xBB, 0xCC]
        try bytes.withUnsafeBytes { (raw) throws in
            var reader = ByteReader(raw, truncationError: Custom.short)
            #expect(throws: Custom.short) { try reader.readUInt32() }
            #expect(reader.offset == 0)
            #expect(throws: Custom.short) { try reader.readRange(count: -1) }
            #expect(try reader.readRange(count: 2) == 0..<2)
            #expect(try reader.peekUInt8() == 0xCC)
            #expect(throws: Custom.short) { try reader.peekUInt8(ahead: 1) }
            #expect(try reader.readArray(count: 1) == [0xCC])
            #expect(throws: Custom.short) { try reader.skip(1) }
        }
    }

    @Test func writerAppendsAndPatches() {
        var writer = ByteWriter()
        writer.writeUInt8(0x01)
        writer.writeUInt16(0x0203)
        writer.writeUInt24(0x04_0506)
        writer.writeUInt32(0x0708_090A)
        writer.writeUInt64(0x0B0C_0D0E_0F10_1112)
        writer.write([0xFF])
        writer.padToMultipleOfFour()
        #expect(writer.count == 20)
        writer.setUInt16(0xBEEF, at: 1)
        writer.setUInt32(0xDEAD_BEEF, at: 6)
        #expect(writer.bytes == [0x01, 0xBE, 0xEF, 0x04, 0x05, 0x06, 0xDE, 0xAD, 0xBE, 0xEF, 0x0B, 0x0C,
                                 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x12, 0xFF, 0x00])
    }
}

@Suite("Hashes, HMAC and CRC-32 against published vectors")
struct HashVectorTests {
    // FIPS 180-2 Appendix A (SHA-1) and B (SHA-256) examples.
    @Test func sha1() {
        #expect(hexString(SHA1.hash(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(hexString(SHA1.hash([])) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(hexString(SHA1.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
            == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
    }

    @Test func sha1OfOneMillionAInUnevenPieces() {
        var hasher = SHA1()
        let piece = [UInt8](repeating: 0x61, count: 997)  // a prime length exercises every buffer offset
        var left = 1_000_000
        while left > 0 {
            let take = min(left, piece.count)
            hasher.update(piece[0..<take])
            left -= take
        }
        #expect(hexString(hasher.finalize()) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    @Test func sha256() {
        #expect(hexString(SHA256.hash(Array("abc".utf8)))
            == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hexString(SHA256.hash([]))
            == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(hexString(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    // RFC 1321 §A.5 test suite.
    @Test func md5() {
        #expect(hexString(MD5.hash([])) == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(hexString(MD5.hash(Array("abc".utf8))) == "900150983cd24fb0d6963f7d28e17f72")
        #expect(hexString(MD5.hash(Array("message digest".utf8))) == "f96b697d7cb7938d525a2f31aaf161d0")
        #expect(hexString(MD5.hash(Array(
            "12345678901234567890123456789012345678901234567890123456789012345678901234567890".utf8)))
            == "57edf4a22be3c955ac49da2e2107b67a")
    }

    // RFC 2202 §3: all seven HMAC-SHA1 test cases.
    @Test(arguments: [
        (hex(String(repeating: "0b", count: 20)), Array("Hi There".utf8),
         "b617318655057264e28bc0b6fb378c8ef146be00"),
        (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
         "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
        (hex(String(repeating: "aa", count: 20)), [UInt8](repeating: 0xDD, count: 50),
         "125d7342b9ac11cd91a39af48aa17b4f63f175d3"),
        (Array(1...25), [UInt8](repeating: 0xCD, count: 50),
         "4c9007f4026250c6bc8414f9bf50c86c2d7235da"),
        (hex(String(repeating: "0c", count: 20)), Array("Test With Truncation".utf8),
         "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04"),
        (hex(String(repeating: "aa", count: 80)), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
         "aa4ae5e15272d00e95705637ce8a3b55ed402112"),
        (hex(String(repeating: "aa", count: 80)),
         Array("Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data".utf8),
         "e8e99d0f45237d786d6bbaa7965c7808bbff1a91"),
    ] as [([UInt8], [UInt8], String)])
    func hmacSHA1(key: [UInt8], data: [UInt8], expected: String) {
        #expect(hexString(HMAC<SHA1>(key: key).authenticationCode(for: data)) == expected)
    }

    // RFC 4231 §4.2, §4.3 and §4.7 (test cases 1, 2 and 6).
    @Test(arguments: [
        (hex(String(repeating: "0b", count: 20)), Array("Hi There".utf8),
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        (hex(String(repeating: "aa", count: 131)), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
    ] as [([UInt8], [UInt8], String)])
    func hmacSHA256(key: [UInt8], data: [UInt8], expected: String) {
        #expect(hexString(HMAC<SHA256>(key: key).authenticationCode(for: data)) == expected)
    }

    @Test func hmacContextInPiecesMatchesOneShot() {
        let hmac = HMAC<SHA1>(key: Array("Jefe".utf8))
        var context = hmac.makeContext()
        context.update(Array("what do ya ".utf8))
        context.update(Array("want for nothing?".utf8))
        #expect(hexString(context.finalize()) == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
        // The key object is reusable: a second code from the same precomputed key.
        #expect(hexString(hmac.authenticationCode(for: Array("what do ya want for nothing?".utf8)))
            == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
    }

    // The CRC-32 "check" value of the standard catalogue: CRC of the ASCII digits 1–9.
    @Test func crc32() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
        let whole = CRC32.checksum(Array("123456789".utf8))
        let split = Array("123456789".utf8).withUnsafeBytes { raw in
            CRC32.update(CRC32.update(0, UnsafeRawBufferPointer(rebasing: raw[0..<4])),
                         UnsafeRawBufferPointer(rebasing: raw[4...]))
        }
        #expect(split == whole)
    }

    @Test func constantTimeComparison() {
        #expect(constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2]))
    }
}

@Suite("IP addresses")
struct IPAddressTests {
    @Test func ipv4TextRoundTrip() throws {
        let address = try #require(IPv4Address("192.0.2.1"))
        #expect(address.rawValue == 0xC000_0201)
        #expect(address.description == "192.0.2.1")
        for bad in ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "a.b.c.d", "1.2.3.4 ", "+1.2.3.4"] {
            #expect(IPv4Address(bad) == nil, "\(bad)")
        }
    }

    @Test func ipv6TextFollowsRFC5952() throws {
        let cases: [(String, String)] = [
            ("2001:db8:1234:5678:11:2233:4455:6677", "2001:db8:1234:5678:11:2233:4455:6677"),
            ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
            ("::", "::"),
            ("::1", "::1"),
            ("fe80::", "fe80::"),
            ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),  // a single zero group is not shortened
            ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),  // the longer run wins
            ("::ffff:192.0.2.1", "::ffff:c000:201"),
        ]
        for (input, expected) in cases {
            let address = try #require(IPv6Address(input), "\(input)")
            #expect(address.description == expected)
            #expect(IPv6Address(expected) == address)
            #expect(IPv6Address(bytes: address.bytes) == address)
        }
        for bad in ["", ":", ":::", "1::2::3", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "12345::", "g::", "1:2:3:4:5:6:7::8"] {
            #expect(IPv6Address(bad) == nil, "\(bad)")
        }
    }

    @Test func transportAddressText() throws {
        #expect(TransportAddress(address: try #require(IPAddress("192.0.2.1")), port: 32853).description
            == "192.0.2.1:32853")
        #expect(TransportAddress(address: try #require(IPAddress("2001:db8::1")), port: 3478).description
            == "[2001:db8::1]:3478")
    }
}
