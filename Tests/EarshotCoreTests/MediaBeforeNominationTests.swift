import EarshotCore
import EarshotCrypto
import EarshotWire
import Testing

/// A peer that runs DTLS over a checked pair before it nominates that pair (Chromium may): the relay answers media
/// on the checked address (RFC 8445 §12.1: any valid pair may carry media until one is selected), and the call is
/// `connected` once the nomination comes. Driven by hand, on virtual time, with the peer's parts (an ICE
/// controlling agent, a DTLS client, SRTP contexts) in place of a whole client.
@Suite struct MediaBeforeNominationTests {
    @Test func mediaOnACheckedPairBeforeItIsNominated() throws {
        var random = SplitMix64(seed: 99)
        let relayCredentials = ICECredentials.random(routingPrefix: "m", using: &random)
        let peerCredentials = ICECredentials.random(using: &random)
        let peerAddress = clientAddress(99)
        var now = Instant.zero
        let relay = try PeerConnection(
            configuration: .init(
                role: .relay, localCredentials: relayCredentials, remoteCredentials: peerCredentials,
                remoteFingerprints: [TestIdentity.clientCertificate.fingerprint], localSSRC: 0x5150, seed: 99),
            dtlsContext: TestIdentity.relayContext, now: now)
        func toRelay(_ bytes: [UInt8]) { relay.handle(datagram: bytes, from: peerAddress, now: now) }
        func fromRelay() -> [[UInt8]] {
            var out: [[UInt8]] = []
            while let transmit = relay.pollTransmit() {
                #expect(transmit.destination == peerAddress)
                out.append(transmit.bytes)
            }
            return out
        }

        // A first check, without USE-CANDIDATE: the pair is valid, not selected.
        var ice = ICEControllingAgent(
            local: peerCredentials, remote: relayCredentials, remoteAddress: relayAddress, seed: 7)
        ice.start(now: now)
        let check = ice.poll(now: now)
        toRelay(try #require(check))
        for response in fromRelay() { _ = response.withUnsafeBytes { ice.handle(stun: $0, now: now) } }
        #expect(ice.succeeded && !ice.nominated)
        #expect(relay.selectedAddress == nil && relay.state == .connecting)
        // No keys yet: nothing can be sent.
        #expect(!relay.sendAudio(payload: [1, 2, 3], timestamp: 0, now: now))
        #expect(relay.statistics.drops.sendNotConnected == 1)

        // DTLS over the checked pair.
        let dtls = try DTLSEndpoint(
            context: TestIdentity.clientContext,
            configuration: .init(role: .client, remoteFingerprints: [TestIdentity.relayCertificate.fingerprint]))
        dtls.start(now: now)
        var connection: DTLSEndpoint.Connection?
        for _ in 0..<20 where connection == nil {
            while let datagram = dtls.pollTransmit() { toRelay(datagram) }
            for datagram in fromRelay() { dtls.handle(datagram: datagram, now: now) }
            while let event = dtls.pollEvent() {
                if case .connected(let done) = event { connection = done }
            }
            now += .milliseconds(1)
        }
        let keys = try #require(connection).keyingMaterial
        #expect(relay.state == .connecting, "not nominated yet")

        // The peer's first packet: the relay hears it and its echo goes back to the checked address.
        let profile = try #require(connection).profile
        let outbound = try SRTPContext(
            profile: profile, key: keys.outbound(for: .client).key, salt: keys.outbound(for: .client).salt,
            direction: .outbound)
        let inbound = try SRTPContext(
            profile: profile, key: keys.inbound(for: .client).key, salt: keys.inbound(for: .client).salt,
            direction: .inbound)
        let payload = [UInt8](repeating: 0x5A, count: 80)
        var packet = try RTPPacket(
            header: RTPHeader(payloadType: 111, sequenceNumber: 1, timestamp: 960, ssrc: 0xABCD), payload: payload
        ).serialized()
        try outbound.protectRTP(&packet)
        toRelay(packet)
        var heard: PeerConnection.ReceivedAudio?
        while let event = relay.pollEvent() { if case .audio(let audio) = event { heard = audio } }
        #expect(heard?.payload == payload)
        #expect(relay.sendAudio(payload: payload, timestamp: 0, now: now))
        var echoed = try #require(fromRelay().last)
        try inbound.unprotectRTP(&echoed)
        #expect(try RTPPacket(parsing: echoed).payload == payload)
        #expect(relay.statistics.drops.sendNotConnected == 1)

        // The nomination: now the call is connected, on the same address.
        let nomination = ice.poll(now: now)
        toRelay(try #require(nomination))
        var events: [PeerConnection.Event] = []
        while let event = relay.pollEvent() { events.append(event) }
        #expect(relay.state == .connected)
        #expect(relay.selectedAddress == peerAddress)
        #expect(events.contains { if case .connected = $0 { true } else { false } })
    }
}
