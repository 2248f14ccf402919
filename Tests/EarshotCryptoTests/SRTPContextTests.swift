import EarshotCrypto
import EarshotWire
import Testing

func hex(_ string: String) -> [UInt8] {
    let digits = string.filter { !$0.isWhitespace }
    var out: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        out.append(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return out
}

/// Known-answer vectors: the SRTP reference implementation's validation packets (libsrtp `srtp_validate` and
/// `srtp_validate_gcm`), for the RFC 3711 AES-CM/HMAC-SHA1-80 transform and the RFC 7714 AEAD-AES-128-GCM
/// transform. SSRC 0xcafebabe, sequence number 0x1234, ROC 0; SRTCP index 1.
enum KnownAnswer {
    static let rtpPlain = hex("800f1234decafbadcafebabe" + String(repeating: "ab", count: 16))
    static let rtcpPlain = hex("81c8000bcafebabe" + String(repeating: "ab", count: 16))

    static let cmKey = hex("e1f97a0d3e018be0d64fa32c06de4139")
    static let cmSalt = hex("0ec675ad498afeebb6960b3aabe6")
    static let cmRTP = hex("800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb")
    static let cmRTCP = hex("81c8000bcafebabe7128035be487b9bdbef89041f977a5a880000001993e08cd54d6c1230798")

    static let gcmKey = hex("000102030405060708090a0b0c0d0e0f")
    static let gcmSalt = hex("a0a1a2a3a4a5a6a7a8a9aaab")
    static let gcmRTP = hex("800f1234decafbadcafebabec5002ede04cfdd2eb91159e0880aa06ed2976826f796b201df3131a127e8a392")
    static let gcmRTCP = hex("81c8000bcafebabec98b8b5df0392a55852b6c21ac8e7025c52c6fbea2b3b446ea31123ba88ce61e80000001")
}

@Suite("SRTP contexts (libsrtp2)")
struct SRTPContextTests {
    @Test("RFC 3711 AES-CM-HMAC-SHA1-80 known answers, both directions")
    func aesCMKnownAnswer() throws {
        let out = try SRTPContext(
            profile: .aes128CMHMACSHA1_80, key: KnownAnswer.cmKey, salt: KnownAnswer.cmSalt, direction: .outbound)
        var rtp = KnownAnswer.rtpPlain
        try out.protectRTP(&rtp)
        #expect(rtp == KnownAnswer.cmRTP)
        var rtcp = KnownAnswer.rtcpPlain
        try out.protectRTCP(&rtcp)
        #expect(rtcp == KnownAnswer.cmRTCP)

        let into = try SRTPContext(
            profile: .aes128CMHMACSHA1_80, key: KnownAnswer.cmKey, salt: KnownAnswer.cmSalt, direction: .inbound)
        var srtp = KnownAnswer.cmRTP
        try into.unprotectRTP(&srtp)
        #expect(srtp == KnownAnswer.rtpPlain)
        var srtcp = KnownAnswer.cmRTCP
        try into.unprotectRTCP(&srtcp)
        #expect(srtcp == KnownAnswer.rtcpPlain)
    }

    @Test("RFC 7714 AEAD-AES-128-GCM known answers, both directions")
    func gcmKnownAnswer() throws {
        let out = try SRTPContext(
            profile: .aeadAES128GCM, key: KnownAnswer.gcmKey, salt: KnownAnswer.gcmSalt, direction: .outbound)
        var rtp = KnownAnswer.rtpPlain
        try out.protectRTP(&rtp)
        #expect(rtp == KnownAnswer.gcmRTP)
        var rtcp = KnownAnswer.rtcpPlain
        try out.protectRTCP(&rtcp)
        #expect(rtcp == KnownAnswer.gcmRTCP)

        let into = try SRTPContext(
            profile: .aeadAES128GCM, key: KnownAnswer.gcmKey, salt: KnownAnswer.gcmSalt, direction: .inbound)
        var srtp = KnownAnswer.gcmRTP
        try into.unprotectRTP(&srtp)
        #expect(srtp == KnownAnswer.rtpPlain)
        var srtcp = KnownAnswer.gcmRTCP
        try into.unprotectRTCP(&srtcp)
        #expect(srtcp == KnownAnswer.rtcpPlain)
    }

    /// A DTLS handshake on virtual time, then SRTP both ways with the exported keys.
    @Test("keys from a DTLS handshake protect on one side and unprotect on the other",
          arguments: SRTPProtectionProfile.allCases)
    func handshakeKeys(profile: SRTPProtectionProfile) throws {
        var link = try makePair(clientProfiles: [profile])
        link.client.start(now: link.now)
        let settled = link.run()
        #expect(settled)
        let keys = try #require(link.clientEvents.connection?.keyingMaterial)
        #expect(keys.profile == profile)

        func pair(sender: DTLSEndpoint.Role) throws -> (SRTPContext, SRTPContext) {
            let receiver: DTLSEndpoint.Role = sender == .client ? .server : .client
            let o = keys.outbound(for: sender)
            let i = keys.inbound(for: receiver)
            #expect(o.key == i.key && o.salt == i.salt)
            return (
                try SRTPContext(profile: profile, key: o.key, salt: o.salt, direction: .outbound),
                try SRTPContext(profile: profile, key: i.key, salt: i.salt, direction: .inbound)
            )
        }
        for sender in [DTLSEndpoint.Role.client, .server] {
            let (protector, unprotector) = try pair(sender: sender)
            for sequence in UInt16(1)...50 {
                let rtp: [UInt8] = [0x80, 111, UInt8(sequence >> 8), UInt8(sequence & 0xFF), 0, 0, 3, 0xC0,
                    0x12, 0x34, 0x56, 0x78] + (0..<160).map { UInt8(truncatingIfNeeded: $0 &* Int(sequence)) }
                var packet = rtp
                try protector.protectRTP(&packet)
                #expect(packet.count == rtp.count + profile.rtpOverhead)
                #expect(packet[12...] != rtp[12...])
                try unprotector.unprotectRTP(&packet)
                #expect(packet == rtp)
            }
            // A receiver report (RFC 3550 §6.4.2), one block.
            let rr: [UInt8] = [0x81, 201, 0, 7, 0x12, 0x34, 0x56, 0x78] + [UInt8](repeating: 7, count: 24)
            var packet = rr
            try protector.protectRTCP(&packet)
            #expect(packet.count == rr.count + profile.rtcpOverhead)
            try unprotector.unprotectRTCP(&packet)
            #expect(packet == rr)
        }
    }

    @Test("a tampered packet is rejected with authenticationFailed, and the context keeps working",
          arguments: SRTPProtectionProfile.allCases)
    func tampered(profile: SRTPProtectionProfile) throws {
        let key = [UInt8](repeating: 0x11, count: profile.masterKeyLength)
        let salt = [UInt8](repeating: 0x22, count: profile.masterSaltLength)
        let out = try SRTPContext(profile: profile, key: key, salt: salt, direction: .outbound)
        let into = try SRTPContext(profile: profile, key: key, salt: salt, direction: .inbound)
        var first = KnownAnswer.rtpPlain
        try out.protectRTP(&first)
        for position in [1, 5, 12, 20, first.count - 1] {  // header, SSRC, payload, tag
            var bad = first
            bad[position] ^= 0x01
            #expect(throws: SRTPError.authenticationFailed) { try into.unprotectRTP(&bad) }
        }
        var rtcp = KnownAnswer.rtcpPlain
        try out.protectRTCP(&rtcp)
        var badRTCP = rtcp
        badRTCP[10] ^= 0x80
        #expect(throws: SRTPError.authenticationFailed) { try into.unprotectRTCP(&badRTCP) }
        // The genuine packets still verify afterwards.
        try into.unprotectRTP(&first)
        #expect(first == KnownAnswer.rtpPlain)
        try into.unprotectRTCP(&rtcp)
        #expect(rtcp == KnownAnswer.rtcpPlain)
    }

    @Test("a replayed packet is rejected; an old one beyond the window too", arguments: SRTPProtectionProfile.allCases)
    func replay(profile: SRTPProtectionProfile) throws {
        let key = [UInt8](repeating: 0x33, count: profile.masterKeyLength)
        let salt = [UInt8](repeating: 0x44, count: profile.masterSaltLength)
        let out = try SRTPContext(profile: profile, key: key, salt: salt, direction: .outbound)
        let into = try SRTPContext(profile: profile, key: key, salt: salt, direction: .inbound, replayWindow: 64)
        func packet(_ sequence: UInt16) throws -> [UInt8] {
            var p: [UInt8] = [0x80, 111, UInt8(sequence >> 8), UInt8(sequence & 0xFF), 0, 0, 0, 1, 0, 0, 0, 9, 1, 2, 3]
            try out.protectRTP(&p)
            return p
        }
        let first = try packet(1)
        var copy = first
        try into.unprotectRTP(&copy)
        var again = first
        #expect(throws: SRTPError.replayed) { try into.unprotectRTP(&again) }
        // Reordering within the window is fine; far behind it is not.
        var later: [[UInt8]] = []
        for s in UInt16(2)...200 { later.append(try packet(s)) }
        var newest = later.last!
        try into.unprotectRTP(&newest)
        var inWindow = later[later.count - 10]
        try into.unprotectRTP(&inWindow)
        var tooOld = later[0]
        #expect(throws: SRTPError.tooOld) { try into.unprotectRTP(&tooOld) }
        // The sender refuses to protect the same sequence number twice.
        var repeatPacket: [UInt8] = [0x80, 111, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 1, 2, 3]
        #expect(throws: SRTPError.replayed) { try out.protectRTP(&repeatPacket) }
    }

    @Test("short packets and small buffers give typed errors")
    func badSizes() throws {
        let profile = SRTPProtectionProfile.aeadAES128GCM
        let key = [UInt8](repeating: 1, count: 16)
        let salt = [UInt8](repeating: 2, count: 12)
        let out = try SRTPContext(profile: profile, key: key, salt: salt, direction: .outbound)
        let into = try SRTPContext(profile: profile, key: key, salt: salt, direction: .inbound)
        var tiny: [UInt8] = [0x80, 0, 0]
        #expect(throws: SRTPError.tooShort(length: 3)) { try out.protectRTP(&tiny) }
        #expect(tiny == [0x80, 0, 0])
        var shortSRTP = [UInt8](repeating: 0x80, count: 20)
        #expect(throws: SRTPError.tooShort(length: 20)) { try into.unprotectRTP(&shortSRTP) }
        var shortSRTCP = [UInt8](repeating: 0x81, count: 27)
        #expect(throws: SRTPError.tooShort(length: 27)) { try into.unprotectRTCP(&shortSRTCP) }
        var buffer = [UInt8](repeating: 0, count: 20)
        buffer[0] = 0x80
        let result: Result<Int, SRTPError> = buffer.withUnsafeMutableBytes { b in
            Result { () throws(SRTPError) -> Int in try out.protectRTP(buffer: b, length: 20) }
        }
        #expect(result == .failure(.bufferTooSmall(needed: 36, available: 20)))
        #expect(throws: SRTPError.badKeyLength(profile: profile, keyLength: 3, saltLength: 12)) {
            _ = try SRTPContext(profile: profile, key: [1, 2, 3], salt: salt, direction: .inbound)
        }
        // Random garbage never crashes the unprotect path.
        var rng = SplitMix64(seed: 3)
        for _ in 0..<2000 {
            var junk = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = try? into.unprotectRTP(&junk)
            _ = try? into.unprotectRTCP(&junk)
        }
    }
}
