import Testing
@testable import EarshotWire

/// RFC 5769 test vectors, byte for byte as the RFC prints them (note the 0x20 padding bytes in 2.1–2.3,
/// which the RFC uses on purpose: receivers must ignore padding contents).
enum RFC5769 {
    /// Short-term password of 2.1–2.3.
    static let password = "VOkJxbRl1RmTxUk/WvJxBt"
    static let transactionID = STUNTransactionID(bytes: hex("b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"))

    /// 2.1 Sample Request.
    static let request = hex("""
        00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
        00 24 00 04 6e 00 01 ff
        80 29 00 08 93 2f f9 b1 51 26 3b 36
        00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
        00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
        80 28 00 04 e5 7a 3b cf
        """)

    /// 2.2 Sample IPv4 Response.
    static let ipv4Response = hex("""
        01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
        00 20 00 08 00 01 a1 47 e1 12 a6 43
        00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
        80 28 00 04 c0 7d 4c 96
        """)

    /// 2.3 Sample IPv6 Response.
    static let ipv6Response = hex("""
        01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
        00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
        00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
        80 28 00 04 c8 fb 0b 4c
        """)

    /// 2.4 Sample Request with Long-Term Authentication (no FINGERPRINT).
    static let longTermRequest = hex("""
        00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
        00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
        00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41
        00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
        00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66
        """)
    /// 2.4 parameters: the username is U+30DE U+30C8 U+30EA U+30C3 U+30AF U+30B9; "TheMatrIX" is the
    /// password after SASLprep.
    static let longTermUsername = "\u{30DE}\u{30C8}\u{30EA}\u{30C3}\u{30AF}\u{30B9}"
    static let longTermRealm = "example.org"
    static let longTermNonce = "f//499k954d6OL34oL9FSTvy64sA"
    static let longTermPassword = "TheMatrIX"
}

@Suite("STUN: RFC 5769 test vectors")
struct STUNVectorTests {
    let key = STUNIntegrityKey(shortTermPassword: RFC5769.password)

    @Test func sampleRequest() throws {
        let message = try STUNMessage(parsing: RFC5769.request)
        #expect(message.type == .bindingRequest)
        #expect(message.transactionID == RFC5769.transactionID)
        #expect(message.software == "STUN test client")
        #expect(message.priority == 0x6E00_01FF)
        #expect(message.iceControlled == 0x932F_F9B1_5126_3B36)
        #expect(message.username == "evtj:h6vY")
        #expect(message.messageIntegrity == hex("9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2"))
        #expect(message.fingerprint == 0xE57A_3BCF)
        #expect(message.attributes.count == 6)
        #expect(message.unknownComprehensionRequiredAttributes.isEmpty)
        try STUNMessage.verifyIntegrity(of: RFC5769.request, key: key)
        try STUNMessage.verifyFingerprint(of: RFC5769.request)
        #expect(throws: STUNError.badIntegrity) {
            try STUNMessage.verifyIntegrity(of: RFC5769.request, key: STUNIntegrityKey(shortTermPassword: "wrong"))
        }
    }

    @Test func sampleIPv4Response() throws {
        let message = try STUNMessage(parsing: RFC5769.ipv4Response)
        #expect(message.type == .bindingSuccessResponse)
        #expect(message.transactionID == RFC5769.transactionID)
        #expect(message.software == "test vector")
        #expect(message.xorMappedAddress == TransportAddress(address: .v4(IPv4Address(192, 0, 2, 1)), port: 32853))
        #expect(message.fingerprint == 0xC07D_4C96)
        try STUNMessage.verifyIntegrity(of: RFC5769.ipv4Response, key: key)
        try STUNMessage.verifyFingerprint(of: RFC5769.ipv4Response)
    }

    @Test func sampleIPv6Response() throws {
        let message = try STUNMessage(parsing: RFC5769.ipv6Response)
        #expect(message.type == .bindingSuccessResponse)
        let expected = try #require(IPv6Address("2001:db8:1234:5678:11:2233:4455:6677"))
        #expect(message.xorMappedAddress == TransportAddress(address: .v6(expected), port: 32853))
        #expect(message.fingerprint == 0xC8FB_0B4C)
        try STUNMessage.verifyIntegrity(of: RFC5769.ipv6Response, key: key)
        try STUNMessage.verifyFingerprint(of: RFC5769.ipv6Response)
    }

    @Test func sampleLongTermRequest() throws {
        let message = try STUNMessage(parsing: RFC5769.longTermRequest)
        #expect(message.type == .bindingRequest)
        #expect(message.transactionID == STUNTransactionID(bytes: hex("78 ad 34 33 c6 ad 72 c0 29 da 41 2e")))
        #expect(message.username == RFC5769.longTermUsername)
        #expect(message.attributes == [
            .username(RFC5769.longTermUsername),
            .nonce(RFC5769.longTermNonce),
            .realm(RFC5769.longTermRealm),
            .messageIntegrity(hex("f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66")),
        ])
        #expect(message.fingerprint == nil)
        #expect(throws: STUNError.fingerprintMissing) { try STUNMessage.verifyFingerprint(of: RFC5769.longTermRequest) }
        let longTermKey = STUNIntegrityKey.longTerm(
            username: RFC5769.longTermUsername, realm: RFC5769.longTermRealm, password: RFC5769.longTermPassword)
        #expect(hexString(longTermKey.keyBytes) == "e8ca7ad59d5eb0518e312911d2dab2a9")
        try STUNMessage.verifyIntegrity(of: RFC5769.longTermRequest, key: longTermKey)
        // The padding of 2.4 is zero, so rebuilding it with the same key reproduces the vector exactly.
        var unsigned = message
        unsigned.attributes.removeLast()
        #expect(try unsigned.serialized(integrity: longTermKey) == RFC5769.longTermRequest)
    }

    @Test func rebuiltVectorsVerifyAndParseToTheSameMessage() throws {
        for vector in [RFC5769.request, RFC5769.ipv4Response, RFC5769.ipv6Response] {
            let parsed = try STUNMessage(parsing: vector)
            let rebuilt = try parsed.serialized(integrity: key, fingerprint: true)
            #expect(rebuilt.count == vector.count)
            #expect(rebuilt.count == parsed.serializedSize(integrity: true, fingerprint: true))
            try STUNMessage.verifyIntegrity(of: rebuilt, key: key)
            try STUNMessage.verifyFingerprint(of: rebuilt)
            let reparsed = try STUNMessage(parsing: rebuilt)
            // Same attributes except the integrity and fingerprint values, which cover zero padding now.
            #expect(reparsed.attributes.dropLast(2) == parsed.attributes.dropLast(2))
            #expect(reparsed.type == parsed.type && reparsed.transactionID == parsed.transactionID)
        }
    }

    @Test func peeksTheUsernameOfABindingRequest() {
        #expect(STUNMessage.peekBindingRequestUsername(RFC5769.request) == "evtj:h6vY")
        #expect(STUNMessage.peekBindingRequestUsername(RFC5769.ipv4Response) == nil)
        #expect(STUNMessage.peekBindingRequestUsername(Array(RFC5769.request.dropLast())) == nil)
        #expect(STUNMessage.peekBindingRequestUsername([]) == nil)
    }
}

@Suite("STUN: message types, building and round trips")
struct STUNBuildTests {
    let key = STUNIntegrityKey(shortTermPassword: "ice-password-of-22-chars")
    let id = STUNTransactionID(high: 0x0102_0304, low: 0x0506_0708_090A_0B0C)

    @Test func messageTypeEncoding() throws {
        #expect(STUNMessageType.bindingRequest.rawValue == 0x0001)
        #expect(STUNMessageType.bindingIndication.rawValue == 0x0011)
        #expect(STUNMessageType.bindingSuccessResponse.rawValue == 0x0101)
        #expect(STUNMessageType.bindingErrorResponse.rawValue == 0x0111)
        // RFC 8489 §5: method 0xFFF with every class exercises every interleaved bit.
        let method = try #require(STUNMethod(rawValue: 0x0FFF))
        #expect(STUNMessageType(method: method, messageClass: .request).rawValue == 0x3EEF)
        #expect(STUNMessageType(method: method, messageClass: .errorResponse).rawValue == 0x3FFF)
        for raw in UInt16(0)...0x3FFF {
            #expect(STUNMessageType(rawValue: raw).rawValue == raw)
        }
        #expect(STUNMethod(rawValue: 0x1000) == nil)
    }

    /// A message of each class carrying every attribute kind the model knows.
    func sample(_ messageClass: STUNClass) throws -> STUNMessage {
        let v6 = try #require(IPv6Address("2001:db8::42"))
        return STUNMessage(
            type: STUNMessageType(method: .binding, messageClass: messageClass), transactionID: id,
            attributes: [
                .username("remote:local"),
                .software("earshot test"),
                .priority(0x6E7F_1EFF),
                .useCandidate,
                .iceControlling(0x1122_3344_5566_7788),
                .iceControlled(0x8877_6655_4433_2211),
                .xorMappedAddress(TransportAddress(address: .v4(IPv4Address(203, 0, 113, 7)), port: 50000)),
                .xorMappedAddress(TransportAddress(address: .v6(v6), port: 9)),
                .mappedAddress(TransportAddress(address: .v4(IPv4Address(198, 51, 100, 1)), port: 1)),
                .mappedAddress(TransportAddress(address: .v6(v6), port: 65535)),
                .errorCode(STUNErrorCode(code: 487, reason: "Role Conflict")),
                .unknownAttributes([0x0033, 0x0044, 0x0055]),
                .realm("example.org"),
                .nonce("abc"),
                .other(type: 0xC057, value: [0x00, 0x01, 0x00, 0x0A]),  // GOOG-NETWORK-INFO style, optional
                .other(type: 0x7FFF, value: []),
            ])
    }

    @Test(arguments: STUNClass.allCases)
    func roundTripsWithAndWithoutIntegrityAndFingerprint(_ messageClass: STUNClass) throws {
        let message = try sample(messageClass)
        for (withKey, withFingerprint) in [(false, false), (true, false), (false, true), (true, true)] {
            let bytes = try message.serialized(integrity: withKey ? key : nil, fingerprint: withFingerprint)
            #expect(bytes.count == message.serializedSize(integrity: withKey, fingerprint: withFingerprint))
            #expect(bytes.count % 4 == 0)
            let parsed = try STUNMessage(parsing: bytes)
            let stored = parsed.attributes.filter {
                switch $0 { case .messageIntegrity, .fingerprint: false; default: true }
            }
            #expect(stored == message.attributes)
            #expect(parsed.type == message.type && parsed.transactionID == id)
            if withKey {
                try STUNMessage.verifyIntegrity(of: bytes, key: key)
            } else {
                #expect(throws: STUNError.integrityMissing) { try STUNMessage.verifyIntegrity(of: bytes, key: key) }
            }
            if withFingerprint {
                try STUNMessage.verifyFingerprint(of: bytes)
            }
            // Parse → serialize verbatim → parse is a fixed point, and the verbatim bytes are the same bytes.
            let again = try parsed.serialized()
            #expect(again == bytes)
            #expect(try STUNMessage(parsing: again) == parsed)
        }
    }

    @Test func serializationAppendsAfterExistingBytes() throws {
        var writer = ByteWriter()
        writer.write([0xAA, 0xBB, 0xCC])  // not a multiple of 4: padding must be relative to the message
        let message = try sample(.request)
        try message.serialize(into: &writer, integrity: key, fingerprint: true)
        let bytes = Array(writer.bytes.dropFirst(3))
        #expect(bytes == (try message.serialized(integrity: key, fingerprint: true)))
        try STUNMessage.verifyIntegrity(of: bytes, key: key)
    }

    @Test func invalidValuesAreRefusedWithoutWriting() {
        var writer = ByteWriter()
        let badCode = STUNMessage(type: .bindingErrorResponse, transactionID: id,
                                  attributes: [.errorCode(STUNErrorCode(code: 200, reason: ""))])
        #expect(throws: STUNError.badAttributeValue(type: 0x0009)) { try badCode.serialize(into: &writer) }
        let badIntegrity = STUNMessage(type: .bindingRequest, transactionID: id, attributes: [.messageIntegrity([1, 2])])
        #expect(throws: STUNError.badAttributeValue(type: 0x0008)) { try badIntegrity.serialize(into: &writer) }
        let huge = STUNMessage(type: .bindingRequest, transactionID: id,
                               attributes: [.other(type: 0x8001, value: [UInt8](repeating: 0, count: 40000)),
                                            .other(type: 0x8002, value: [UInt8](repeating: 0, count: 40000))])
        #expect(throws: STUNError.messageTooLarge) { try huge.serialize(into: &writer) }
        #expect(writer.count == 0)
    }

    @Test func unknownComprehensionRequiredAttributesGetA420() throws {
        // A Binding request with an unknown required attribute (0x0033, twice) and an unknown optional one.
        let request = STUNMessage.bindingRequest(transactionID: id, attributes: [
            .username("a:b"), .other(type: 0x0033, value: [1]), .other(type: 0xC001, value: []),
            .other(type: 0x0033, value: [2]),
        ])
        let parsed = try STUNMessage(parsing: try request.serialized(integrity: key, fingerprint: true))
        #expect(parsed.unknownComprehensionRequiredAttributes == [0x0033])
        let response = try #require(parsed.unknownAttributesResponse(attributes: [.software("x")]))
        #expect(response.type == .bindingErrorResponse)
        #expect(response.transactionID == id)
        #expect(response.attributes == [.errorCode(.unknownAttribute), .unknownAttributes([0x0033]), .software("x")])
        let wire = try response.serialized(integrity: key, fingerprint: true)
        #expect(try STUNMessage(parsing: wire).errorCode == STUNErrorCode(code: 420, reason: "Unknown Attribute"))
        #expect(STUNMessage.bindingRequest(transactionID: id).unknownAttributesResponse() == nil)
    }

    @Test func successResponseToARequest() throws {
        let request = STUNMessage.bindingRequest(transactionID: id, attributes: [.username("a:b")])
        let mapped = TransportAddress(address: .v4(IPv4Address(127, 0, 0, 1)), port: 5000)
        let response = request.successResponse(attributes: [.xorMappedAddress(mapped)])
        let parsed = try STUNMessage(parsing: try response.serialized(integrity: key, fingerprint: true))
        #expect(parsed.type == .bindingSuccessResponse)
        #expect(parsed.transactionID == id)
        #expect(parsed.xorMappedAddress == mapped)
    }

    @Test func attributesAfterIntegrityAreIgnored() throws {
        // RFC 8489 §14.5: only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT may follow MESSAGE-INTEGRITY.
        var writer = ByteWriter()
        writer.write(hex("00 01 00 34 21 12 a4 42 01 02 03 04 05 06 07 08 09 0a 0b 0c"))
        writer.write(hex("00 08 00 14") + [UInt8](repeating: 0x11, count: 20))  // MESSAGE-INTEGRITY
        writer.write(hex("00 24 00 04 00 00 00 01"))  // PRIORITY after it: ignored
        writer.write(hex("00 1c 00 10") + [UInt8](repeating: 0x22, count: 16))  // MESSAGE-INTEGRITY-SHA256: kept
        #expect(writer.count == 20 + 0x34)
        let parsed = try STUNMessage(parsing: writer.bytes)
        #expect(parsed.attributes == [.messageIntegrity([UInt8](repeating: 0x11, count: 20)),
                                      .messageIntegritySHA256([UInt8](repeating: 0x22, count: 16))])
    }

    @Test func integritySHA256VerifiesAndDetectsTampering() throws {
        // Build a message with a MESSAGE-INTEGRITY-SHA256 computed by hand over the adjusted header.
        let base = STUNMessage.bindingRequest(transactionID: id, attributes: [.username("a:b")])
        var bytes = try base.serialized()
        let newLength = UInt16(bytes.count - 20 + 4 + 32)
        bytes[2] = UInt8(newLength >> 8)
        bytes[3] = UInt8(newLength & 0xFF)
        let mac = HMAC<SHA256>(key: key.keyBytes).authenticationCode(for: bytes)
        bytes += hex("00 1c 00 20") + mac
        try STUNMessage.verifyIntegritySHA256(of: bytes, key: key)
        #expect(try STUNMessage(parsing: bytes).attributes.last == .messageIntegritySHA256(mac))
        bytes[bytes.count - 1] ^= 1
        #expect(throws: STUNError.badIntegrity) { try STUNMessage.verifyIntegritySHA256(of: bytes, key: key) }
        #expect(throws: STUNError.integrityMissing) { try STUNMessage.verifyIntegritySHA256(of: RFC5769.request, key: key) }
    }

    /// Found by fuzzing (Tests/Fuzz/Crashers/FuzzSTUN/crash-8e21554e…): RFC 8489 §14.6 ignores what follows
    /// MESSAGE-INTEGRITY-SHA256 except FINGERPRINT, so the parser drops a MESSAGE-INTEGRITY there; the verifier
    /// must not accept it either.
    @Test func integrityAfterIntegritySHA256IsNotVerified() throws {
        // USERNAME, a 16-byte attribute 0x001C (MESSAGE-INTEGRITY-SHA256, written as an opaque value), then a
        // MESSAGE-INTEGRITY that is a valid HMAC-SHA1 over everything before it.
        let message = STUNMessage.bindingRequest(
            transactionID: id, attributes: [.username("a:b"), .other(type: 0x001C, value: [UInt8](repeating: 7, count: 16))])
        let bytes = try message.serialized(integrity: key)
        let parsed = try STUNMessage(parsing: bytes)
        #expect(parsed.messageIntegrity == nil)
        #expect(parsed.attributes.last == .messageIntegritySHA256([UInt8](repeating: 7, count: 16)))
        #expect(throws: STUNError.integrityMissing) { try STUNMessage.verifyIntegrity(of: bytes, key: key) }
        // The same MESSAGE-INTEGRITY without the attribute before it verifies.
        try STUNMessage.verifyIntegrity(
            of: try STUNMessage.bindingRequest(transactionID: id, attributes: [.username("a:b")]).serialized(integrity: key),
            key: key)
    }

    /// Found by fuzzing (Tests/Fuzz/Crashers/FuzzSTUN/crash-10f8c8b2…): the USERNAME the router peeks at must be
    /// the one the parser keeps, so a USERNAME after MESSAGE-INTEGRITY-SHA256 is not peeked either.
    @Test func peekStopsAtIntegritySHA256() throws {
        let sha256 = STUNAttribute.other(type: 0x001C, value: [UInt8](repeating: 7, count: 16))
        let after = try STUNMessage.bindingRequest(transactionID: id, attributes: [sha256, .username("a:b")]).serialized()
        #expect(try STUNMessage(parsing: after).username == nil)
        #expect(STUNMessage.peekBindingRequestUsername(after) == nil)
        let before = try STUNMessage.bindingRequest(transactionID: id, attributes: [.username("a:b"), sha256]).serialized()
        #expect(try STUNMessage(parsing: before).username == "a:b")
        #expect(STUNMessage.peekBindingRequestUsername(before) == "a:b")
    }
}

@Suite("STUN: malformed messages")
struct STUNNegativeTests {
    let key = STUNIntegrityKey(shortTermPassword: "pw")

    func message(_ messageClass: STUNClass) throws -> [UInt8] {
        try STUNMessage(type: STUNMessageType(method: .binding, messageClass: messageClass),
                        transactionID: STUNTransactionID(high: 7, low: 9),
                        attributes: [.username("u:v"), .priority(1)]).serialized(integrity: key, fingerprint: true)
    }

    @Test(arguments: STUNClass.allCases)
    func truncatedAtEveryLength(_ messageClass: STUNClass) throws {
        let bytes = try message(messageClass)
        for length in 0..<bytes.count {
            let expected: STUNError = length < 20 ? .truncated : .badLength
            #expect(throws: expected) { try STUNMessage(parsing: bytes[0..<length]) }
        }
        // Shortening the header length as well (so the header agrees) leaves FINGERPRINT missing or cut.
        #expect(throws: STUNError.trailingBytes) { try STUNMessage(parsing: bytes + [0, 0, 0, 0]) }
    }

    @Test(arguments: STUNClass.allCases)
    func badLengthBadCookieAndNotSTUN(_ messageClass: STUNClass) throws {
        let bytes = try message(messageClass)
        var odd = bytes
        odd[3] &+= 2  // not a multiple of 4
        #expect(throws: STUNError.badLength) { try STUNMessage(parsing: odd) }
        var long = bytes
        long[3] &+= 4  // claims more than the buffer
        #expect(throws: STUNError.badLength) { try STUNMessage(parsing: long) }
        var cookie = bytes
        cookie[4] ^= 0xFF
        #expect(throws: STUNError.badMagicCookie) { try STUNMessage(parsing: cookie) }
        for topBits: UInt8 in [0x40, 0x80, 0xC0] {
            var notSTUN = bytes
            notSTUN[0] |= topBits
            #expect(throws: STUNError.notSTUN) { try STUNMessage(parsing: notSTUN) }
            #expect(!notSTUN.withUnsafeBytes { STUNMessage.hasValidHeader($0) })
        }
    }

    @Test(arguments: STUNClass.allCases)
    func badIntegrity(_ messageClass: STUNClass) throws {
        let bytes = try message(messageClass)
        try STUNMessage.verifyIntegrity(of: bytes, key: key)
        #expect(throws: STUNError.badIntegrity) {
            try STUNMessage.verifyIntegrity(of: bytes, key: STUNIntegrityKey(shortTermPassword: "other"))
        }
        // Any covered byte that keeps the structure intact (type, transaction ID, values) changes the HMAC:
        // USERNAME value at 24..<27, PRIORITY value at 32..<36, MESSAGE-INTEGRITY value at 40..<60.
        #expect(bytes.count == 68)
        for index in [1] + Array(8..<20) + Array(24..<27) + Array(32..<36) + Array(40..<60) {
            var tampered = bytes
            tampered[index] ^= 0x01
            #expect(throws: STUNError.badIntegrity) { try STUNMessage.verifyIntegrity(of: tampered, key: key) }
        }
        // A MESSAGE-INTEGRITY with a wrong length is malformed, not merely wrong.
        var short = try STUNMessage.bindingRequest(transactionID: STUNTransactionID(high: 1, low: 1)).serialized()
        short += hex("00 08 00 10") + [UInt8](repeating: 0, count: 16)
        short[3] = 20
        #expect(throws: STUNError.badAttributeValue(type: 0x0008)) { try STUNMessage(parsing: short) }
        #expect(throws: STUNError.badAttributeValue(type: 0x0008)) { try STUNMessage.verifyIntegrity(of: short, key: key) }
    }

    @Test(arguments: STUNClass.allCases)
    func badFingerprint(_ messageClass: STUNClass) throws {
        var bytes = try message(messageClass)
        bytes[bytes.count - 1] ^= 0x80
        #expect(throws: STUNError.badFingerprint) { try STUNMessage(parsing: bytes) }
        #expect(throws: STUNError.badFingerprint) { try STUNMessage.verifyFingerprint(of: bytes) }
        // Parsing without the check still works, and the stored value is what was on the wire.
        #expect(try STUNMessage(parsing: bytes, checkFingerprint: false).fingerprint != nil)
        // A body change is caught by the fingerprint too.
        var body = try message(messageClass)
        body[25] ^= 0x01
        #expect(throws: STUNError.badFingerprint) { try STUNMessage(parsing: body) }
    }

    @Test(arguments: STUNClass.allCases)
    func attributeAfterFingerprintAndOverflow(_ messageClass: STUNClass) throws {
        var bytes = try message(messageClass)
        bytes += hex("00 24 00 04 00 00 00 02")  // PRIORITY after FINGERPRINT
        bytes[3] &+= 8
        // The fingerprint no longer matches (the header length changed), and the attribute is misplaced.
        #expect(throws: STUNError.badFingerprint) { try STUNMessage(parsing: bytes) }
        #expect(throws: STUNError.attributeAfterFingerprint(type: 0x0024)) {
            try STUNMessage(parsing: bytes, checkFingerprint: false)
        }
        #expect(throws: STUNError.fingerprintMissing) { try STUNMessage.verifyFingerprint(of: bytes) }

        var overflow = try message(messageClass)
        overflow[22] = 0x01  // USERNAME length 3 → 259, past the end
        #expect(throws: STUNError.attributeOverflow(type: 0x0006)) { try STUNMessage(parsing: overflow) }
        #expect(throws: STUNError.attributeOverflow(type: 0x0006)) { try STUNMessage.verifyIntegrity(of: overflow, key: key) }
    }

    @Test func badAttributeValues() throws {
        let header = { (length: UInt8) in hex("00 01 00") + [length] + hex("21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00") }
        let cases: [([UInt8], UInt16)] = [
            (hex("00 24 00 02 00 01 00 00"), 0x0024),  // PRIORITY of 2 bytes
            (hex("00 25 00 04 00 00 00 00"), 0x0025),  // USE-CANDIDATE with a value
            (hex("80 2a 00 04 00 00 00 00"), 0x802A),  // ICE-CONTROLLING of 4 bytes
            (hex("80 29 00 04 00 00 00 00"), 0x8029),  // ICE-CONTROLLED of 4 bytes
            (hex("00 20 00 08 00 03 00 00 00 00 00 00"), 0x0020),  // family 3
            (hex("00 20 00 08 00 02 00 00 00 00 00 00"), 0x0020),  // IPv6 family in 8 bytes
            (hex("00 01 00 14 00 01 00 00") + [UInt8](repeating: 0, count: 16), 0x0001),  // IPv4 in 20 bytes
            (hex("00 09 00 04 00 00 02 00"), 0x0009),  // ERROR-CODE class 2
            (hex("00 09 00 04 00 00 04 64"), 0x0009),  // ERROR-CODE number 100
            (hex("00 09 00 02 00 00 00 00"), 0x0009),  // ERROR-CODE of 2 bytes
            (hex("00 0a 00 03 00 01 02 00"), 0x000A),  // UNKNOWN-ATTRIBUTES of odd length
            (hex("80 28 00 08 00 00 00 00 00 00 00 00"), 0x8028),  // FINGERPRINT of 8 bytes
            (hex("00 1c 00 0c 00 00 00 00 00 00 00 00 00 00 00 00"), 0x001C),  // MI-SHA256 of 12 bytes
        ]
        for (attribute, type) in cases {
            let bytes = header(UInt8(attribute.count)) + attribute
            #expect(throws: STUNError.badAttributeValue(type: type)) { try STUNMessage(parsing: bytes) }
        }
    }

    @Test func emptyAndTinyBuffers() {
        #expect(throws: STUNError.truncated) { try STUNMessage(parsing: []) }
        #expect(throws: STUNError.truncated) { try STUNMessage(parsing: [0x00]) }
        #expect(throws: STUNError.notSTUN) { try STUNMessage(parsing: [0x80]) }
    }
}
