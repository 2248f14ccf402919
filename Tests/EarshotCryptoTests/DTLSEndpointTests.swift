import EarshotCrypto
import EarshotWire
import Testing

@Suite("DTLS endpoint on virtual time")
struct DTLSEndpointTests {
    @Test("handshake with no loss: same profile, identical keys, no retransmission")
    func cleanHandshake() throws {
        var link = try makePair()
        link.client.start(now: link.now)
        let linkSettled = link.run()
        #expect(linkSettled)
        let client = try #require(link.clientEvents.connection)
        let server = try #require(link.serverEvents.connection)
        #expect(client.profile == .aeadAES128GCM)
        #expect(server.profile == client.profile)
        #expect(client.keyingMaterial == server.keyingMaterial)
        #expect(client.keyingMaterial.clientKey != client.keyingMaterial.serverKey)
        #expect(client.version == "DTLSv1.2")
        #expect(client.remoteFingerprint == TestCertificates.server.fingerprint)
        #expect(server.remoteFingerprint == TestCertificates.client.fingerprint)
        #expect(link.client.statistics.retransmissions == 0)
        #expect(link.server.statistics.retransmissions == 0)
        #expect(link.client.nextDeadline == nil && link.server.nextDeadline == nil)
        // Three round trips of 10 ms each way at most: ClientHello, server flight, client flight, server Finished.
        #expect(link.now <= .zero + .milliseconds(40))
    }

    @Test("the server's profile order decides", arguments: SRTPProtectionProfile.allCases)
    func eachProfile(profile: SRTPProtectionProfile) throws {
        var link = try makePair(clientProfiles: [profile])
        link.client.start(now: link.now)
        let linkSettled = link.run()
        #expect(linkSettled)
        let client = try #require(link.clientEvents.connection)
        let server = try #require(link.serverEvents.connection)
        #expect(client.profile == profile && server.profile == profile)
        #expect(client.keyingMaterial == server.keyingMaterial)
        #expect(client.keyingMaterial.clientKey.count == profile.masterKeyLength)
        #expect(client.keyingMaterial.clientSalt.count == profile.masterSaltLength)
    }

    @Test("no common SRTP profile fails the handshake")
    func noCommonProfile() throws {
        var link = try makePair(clientProfiles: [.aes128CMHMACSHA1_80], serverProfiles: [.aeadAES128GCM])
        link.client.start(now: link.now)
        _ = link.run()
        #expect(link.clientEvents.connection == nil || link.serverEvents.connection == nil)
        #expect(link.clientEvents.failure != nil || link.serverEvents.failure != nil)
    }

    @Test("30 % datagram loss: retransmission completes the handshake", arguments: Array(UInt64(1)...12))
    func lossyHandshake(seed: UInt64) throws {
        var link = try makePair()
        link.lossRate = 0.3
        link.rng = SplitMix64(seed: seed)
        link.client.start(now: link.now)
        let linkSettled = link.run(until: .seconds(15))
        #expect(linkSettled)
        let client = try #require(link.clientEvents.connection, "seed \(seed)")
        let server = try #require(link.serverEvents.connection, "seed \(seed)")
        #expect(client.keyingMaterial == server.keyingMaterial)
        if link.datagramsLost > 0 {
            #expect(link.client.statistics.retransmissions + link.server.statistics.retransmissions > 0)
        }
    }

    @Test("retransmission follows virtual time: timeouts 100, 200, 400 ms ... then the handshake deadline")
    func retransmissionSchedule() throws {
        let link = try makePair()
        let client = link.client
        client.start(now: .zero)
        #expect(client.pollTransmit() != nil)  // ClientHello
        #expect(client.nextDeadline == .zero + .milliseconds(100))
        // Nothing happens before the deadline, however often we ask.
        client.handleTimeout(now: .zero + .milliseconds(99))
        #expect(client.pollTransmit() == nil)
        var now = Instant.zero + .milliseconds(100)
        var expectedGap = Duration.milliseconds(200)
        var sent = 0
        while let deadline = client.nextDeadline, client.state == .handshaking {
            now = deadline
            client.handleTimeout(now: now)
            while client.pollTransmit() != nil { sent += 1 }
            if client.state == .handshaking, let next = client.nextDeadline, next < .zero + .seconds(15) {
                #expect(next - now == expectedGap || next == .zero + .seconds(15))
                expectedGap = min(expectedGap * 2, .seconds(2))
            }
        }
        #expect(sent >= 5)
        #expect(client.state == .failed)
        #expect(client.pollEvent() == .failed(.handshakeTimeout))
        #expect(now == .zero + .seconds(15))
        #expect(client.statistics.retransmissions == sent)
    }

    @Test("a fingerprint that does not match the certificate fails the handshake with a typed error")
    func fingerprintMismatch() throws {
        var link = try makePair(serverExpects: [TestCertificates.stranger.fingerprint])
        link.client.start(now: link.now)
        _ = link.run(until: .seconds(20))
        #expect(link.serverEvents.connection == nil)
        guard case .fingerprintMismatch(let actual, let expected) = link.serverEvents.failure else {
            Issue.record("expected a fingerprint mismatch, got \(String(describing: link.serverEvents.failure))")
            return
        }
        #expect(actual == TestCertificates.client.fingerprint)
        #expect(expected == [TestCertificates.stranger.fingerprint])
        // The client hears the alert and fails too, rather than hanging.
        #expect(link.clientEvents.failure != nil)
        #expect(link.clientEvents.connection == nil)
    }

    @Test("the client checks the server's fingerprint too, with any supported hash function")
    func clientVerifiesServer() throws {
        let sha1 = try #require(TestCertificates.server.fingerprint(.sha1))
        let sha512 = try #require(TestCertificates.server.fingerprint(.sha512))
        var good = try makePair(clientExpects: [TestCertificates.stranger.fingerprint, sha1])
        good.client.start(now: good.now)
        let goodSettled = good.run()
        #expect(goodSettled)
        #expect(good.clientEvents.connection?.remoteFingerprint == sha1)
        var alsoGood = try makePair(clientExpects: [sha512])
        alsoGood.client.start(now: alsoGood.now)
        let alsoGoodSettled = alsoGood.run()
        #expect(alsoGoodSettled)
        #expect(alsoGood.clientEvents.connection?.remoteFingerprint == sha512)
        var bad = try makePair(clientExpects: [TestCertificates.stranger.fingerprint])
        bad.client.start(now: bad.now)
        _ = bad.run(until: .seconds(20))
        guard case .fingerprintMismatch = bad.clientEvents.failure else {
            Issue.record("expected a fingerprint mismatch, got \(String(describing: bad.clientEvents.failure))")
            return
        }
    }

    @Test("garbage datagrams are ignored without a crash and the handshake still completes")
    func garbageDuringHandshake() throws {
        var link = try makePair()
        var rng = SplitMix64(seed: 7)
        link.client.start(now: link.now)
        var garbageSent = 0
        link.clientTap = { datagram in
            // Before each real datagram, a random one that looks like a DTLS record by its first byte.
            var junk = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if !junk.isEmpty { junk[0] = UInt8.random(in: 20...63, using: &rng) }
            garbageSent += 1
            _ = junk
            return true
        }
        // Feed garbage straight to the server before and between flights.
        for _ in 0..<5 {
            let junk = (0..<Int.random(in: 0...1500, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            link.server.handle(datagram: junk, now: link.now)
        }
        #expect(link.server.state == .handshaking)
        #expect(link.server.nextDeadline != nil)
        let linkSettled = link.run()
        #expect(linkSettled)
        #expect(link.clientEvents.connection != nil)
        #expect(link.serverEvents.connection != nil)
        // And after the handshake, more garbage changes nothing.
        for _ in 0..<50 {
            let junk = (0..<Int.random(in: 0...1500, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            link.server.handle(datagram: junk, now: link.now)
            link.client.handle(datagram: junk, now: link.now)
        }
        link.pump()
        #expect(link.server.state == .connected)
        #expect(link.client.state == .connected)
    }

    @Test("a truncated ClientHello is dropped; the server keeps a deadline and times out cleanly")
    func truncatedRecords() throws {
        let link = try makePair()
        link.client.start(now: .zero)
        let hello = try #require(link.client.pollTransmit())
        for length in [0, 1, 5, 12, 13, 20, 25, hello.count / 2, hello.count - 1] {
            link.server.handle(datagram: hello.prefix(length), now: .zero)
            #expect(link.server.state == .handshaking, "length \(length)")
            #expect(link.server.nextDeadline != nil)
            #expect(link.server.pollTransmit() == nil)
        }
        link.server.handleTimeout(now: .zero + .seconds(15))
        #expect(link.server.state == .failed)
        #expect(link.server.pollEvent() == .failed(.handshakeTimeout))
    }

    @Test("a ClientHello for DTLS 1.0 only is refused with a typed failure")
    func unsupportedVersion() throws {
        let link = try makePair()
        link.client.start(now: .zero)
        var hello = try #require(link.client.pollTransmit())
        // DTLS record header (13 bytes: type, version 2, epoch 2, sequence 6, length 2), handshake header
        // (12 bytes: type, length 3, message_seq 2, fragment_offset 3, fragment_length 3), then client_version.
        #expect(hello[0] == 22 && hello[13] == 1)  // handshake record carrying a ClientHello
        hello[25] = 0xFE
        hello[26] = 0xFF  // DTLS 1.0
        hello[1] = 0xFE
        hello[2] = 0xFF
        link.server.handle(datagram: hello, now: .zero)
        #expect(link.server.state == .failed)
        guard case .handshakeFailed(let reasons) = link.server.pollEvent().flatMap({ event -> DTLSError? in
            if case .failed(let e) = event { e } else { nil }
        }) else {
            Issue.record("expected a handshake failure")
            return
        }
        #expect(!reasons.isEmpty)
        #expect(link.server.nextDeadline == nil)
    }

    @Test("a ClientHello split into handshake fragments, delivered out of order, is reassembled")
    func fragmentedClientHello() throws {
        let link = try makePair()
        link.client.start(now: link.now)
        let hello = try #require(link.client.pollTransmit())
        let fragments = try splitHandshakeRecord(hello, at: [60, 140])
        #expect(fragments.count == 3)
        for fragment in fragments.reversed() { link.server.handle(datagram: fragment, now: link.now) }
        #expect(link.server.state == .handshaking)
        #expect(link.server.pollTransmit() != nil, "the server answers once the ClientHello is whole")
        // Restart cleanly and let the link finish the handshake with fragments in order.
        var fresh = try makePair()
        fresh.client.start(now: fresh.now)
        let hello2 = try #require(fresh.client.pollTransmit())
        for fragment in try splitHandshakeRecord(hello2, at: [100]) {
            fresh.server.handle(datagram: fragment, now: fresh.now)
        }
        let settled = fresh.run()
        #expect(settled)
        #expect(fresh.serverEvents.connection != nil)
        #expect(fresh.clientEvents.connection != nil)
    }

    /// Re-frames a datagram holding one DTLS handshake record (RFC 6347 §4.2.2) as several records, each carrying a
    /// fragment of the handshake message body, with consecutive record sequence numbers.
    private func splitHandshakeRecord(_ record: [UInt8], at offsets: [Int]) throws -> [[UInt8]] {
        let recordHeader = 13
        let handshakeHeader = 12
        try #require(record.count > recordHeader + handshakeHeader && record[0] == 22)
        let body = Array(record[(recordHeader + handshakeHeader)...])
        let bounds = [0] + offsets + [body.count]
        var sequence = record[5..<11].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        var out: [[UInt8]] = []
        for (start, end) in zip(bounds, bounds.dropFirst()) {
            let fragment = body[start..<end]
            var r = Array(record[0..<5])  // type, version, epoch
            for shift in stride(from: 40, through: 0, by: -8) { r.append(UInt8(truncatingIfNeeded: sequence >> UInt64(shift))) }
            let length = handshakeHeader + fragment.count
            r += [UInt8(length >> 8), UInt8(length & 0xFF)]
            r += record[recordHeader..<(recordHeader + 6)]  // msg_type, length (24), message_seq
            r += [UInt8(start >> 16), UInt8((start >> 8) & 0xFF), UInt8(start & 0xFF)]
            r += [UInt8(fragment.count >> 16), UInt8((fragment.count >> 8) & 0xFF), UInt8(fragment.count & 0xFF)]
            r += fragment
            out.append(r)
            sequence += 1
        }
        return out
    }

    @Test("close_notify reaches the peer as a closed event")
    func closeNotify() throws {
        var link = try makePair()
        link.client.start(now: link.now)
        let linkSettled = link.run()
        #expect(linkSettled)
        link.client.close()
        while let d = link.client.pollTransmit() { link.server.handle(datagram: d, now: link.now) }
        #expect(link.server.pollEvent() == .closed)
        #expect(link.server.state == .closed)
        #expect(link.client.state == .closed)
    }
}
