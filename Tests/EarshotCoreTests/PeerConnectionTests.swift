import EarshotCore
import EarshotCrypto
import EarshotWire
import Testing

/// A 20 ms Opus-sized payload that encodes its own sequence, so echoes can be matched to what was sent.
func payload(_ n: Int) -> [UInt8] {
    [UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)] + [UInt8](repeating: 0x5A, count: 78)
}

/// Sends one audio packet from every connected client every 20 ms.
func sendTick(_ net: inout VirtualNetwork) {
    for index in net.pairs.indices where net.pairs[index].client.state == .connected {
        let n = net.pairs[index].client.statistics.rtpPacketsSent
        net.pairs[index].client.sendAudio(payload: payload(n), timestamp: UInt32(n * 960), now: net.now)
    }
}

@Suite("Peer connection on virtual time")
struct PeerConnectionTests {
    @Test("client and relay connect: ICE nominated, DTLS done, audio both ways, RTT from RTCP on both sides")
    func connectAndEcho() throws {
        var net = VirtualNetwork()
        try net.addPair(seed: 1, clientPort: 1)
        net.run(until: .zero + .seconds(1))
        let pair = net.pairs[0]
        #expect(pair.client.state == .connected)
        #expect(pair.relay.state == .connected)
        #expect(pair.relay.selectedAddress == pair.clientAddress)
        net.run(until: .zero + .seconds(6), every: .milliseconds(20), tick: sendTick)
        let sent = net.pairs[0].client.statistics.rtpPacketsSent
        let echoed = net.pairs[0].clientEvents.audioPackets
        #expect(sent > 200)
        // Everything sent comes back, in order, except what is still in flight at the end.
        #expect(echoed.count >= sent - 2)
        #expect(echoed.first?.payload == payload(0))
        #expect(echoed.map { Int($0.payload[0]) << 8 | Int($0.payload[1]) } == Array(0..<echoed.count))
        // Echoed under the relay's own SSRC and contiguous sequence numbers.
        #expect(Set(echoed.map(\.ssrc)) == [0x1001])
        let sequences = echoed.map(\.extendedSequenceNumber)
        #expect(zip(sequences, sequences.dropFirst()).allSatisfy { $1 == $0 + 1 })
        // RTT: 2 × 5 ms one-way delay, measured by each side from the other's reception reports.
        let relayRTT = try #require(net.pairs[0].relay.roundTripTime)
        let clientRTT = try #require(net.pairs[0].client.roundTripTime)
        for rtt in [relayRTT, clientRTT] {
            #expect(rtt >= .milliseconds(9) && rtt <= .milliseconds(11), "rtt \(rtt)")
        }
        #expect(net.pairs[0].relay.statistics.drops.total == 0)
        #expect(net.pairs[0].client.statistics.drops.total == 0)
        #expect(net.pairs[0].relay.receiveStatistics.packetsLost == 0)
    }

    @Test("zero-copy path: audio to a handler that echoes, transmits drained in place")
    func zeroCopyEcho() throws {
        var net = VirtualNetwork()
        try net.addPair(seed: 21, clientPort: 21)
        net.pairs[0].echo = false
        let relay = net.pairs[0].relay
        var handled = 0
        relay.audioHandler = { [unowned relay] packet in
            handled += 1
            #expect(packet.payload.count == 80)
            relay.sendAudio(payload: packet.payload, timestamp: packet.timestamp, now: packet.arrival)
        }
        net.run(until: .zero + .seconds(3), every: .milliseconds(20), tick: sendTick)
        #expect(handled > 100)
        #expect(net.pairs[0].relayEvents.audioPackets.isEmpty)
        let echoed = net.pairs[0].clientEvents.audioPackets
        #expect(echoed.count >= handled - 1)
        #expect(echoed.first?.payload == payload(0))
        // drainTransmits hands out exactly what pollTransmit would.
        relay.sendAudio(payload: payload(7), timestamp: 1, now: net.now)
        relay.sendAudio(payload: payload(8), timestamp: 2, now: net.now)
        var drained: [[UInt8]] = []
        relay.drainTransmits { bytes, destination in
            drained.append(Array(bytes))
            #expect(destination == net.pairs[0].clientAddress)
        }
        #expect(drained.count == 2)
        #expect(drained.allSatisfy { $0.count == 12 + 80 + 16 })
        #expect(relay.pollTransmit() == nil)
        relay.audioHandler = nil
    }

    @Test("30 % loss in both directions: ICE and DTLS retransmit until connected; media flows",
          arguments: [UInt64(3), 4, 5, 6])
    func lossyConnect(seed: UInt64) throws {
        var net = VirtualNetwork()
        net.rng = SplitMix64(seed: seed)
        net.lossRate = 0.3
        try net.addPair(seed: seed, clientPort: 2)
        net.run(until: .zero + .seconds(10))
        #expect(net.pairs[0].client.state == .connected, "seed \(seed)")
        #expect(net.pairs[0].relay.state == .connected, "seed \(seed)")
        #expect(net.lost > 0)
        net.run(until: .zero + .seconds(16), every: .milliseconds(20), tick: sendTick)
        let received = net.pairs[0].relay.statistics.rtpPacketsReceived
        let sent = net.pairs[0].client.statistics.rtpPacketsSent
        // About 70 % of what was sent arrives; far from 0 and from 100.
        #expect(Double(received) > 0.55 * Double(sent) && Double(received) < 0.85 * Double(sent))
        #expect(net.pairs[0].relay.receiveStatistics.packetsLost > 0)
    }

    @Test("the client's address changes: media from the new address is dropped until a valid check moves the selection")
    func addressChange() throws {
        var net = VirtualNetwork()
        try net.addPair(seed: 7, clientPort: 3)
        net.run(until: .zero + .seconds(1), every: .milliseconds(20), tick: sendTick)
        #expect(net.pairs[0].relay.state == .connected)
        let before = net.pairs[0].relay.statistics.rtpPacketsReceived
        // NAT rebinding: the client now appears from another port.
        net.pairs[0].clientAddress = clientAddress(99)
        net.run(until: .zero + .seconds(3), every: .milliseconds(20), tick: sendTick)
        // Until the client's next consent check (every 5 s), packets from the new address belong to no session:
        // the router drops them (only a packet already in flight from the old address still arrives).
        #expect(net.unrouted > 50)
        #expect(net.pairs[0].relay.statistics.rtpPacketsReceived <= before + 1)
        // Handed to the session directly, they are dropped there as unverified.
        let stray: [UInt8] = [0x80, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1] + [UInt8](repeating: 0, count: 30)
        net.pairs[0].relay.handle(datagram: stray, from: clientAddress(99), now: net.now)
        #expect(net.pairs[0].relay.statistics.drops.unverifiedSource == 1)
        net.run(until: .zero + .seconds(8), every: .milliseconds(20), tick: sendTick)
        #expect(net.pairs[0].relay.selectedAddress == clientAddress(99))
        #expect(net.pairs[0].relay.liteAgent?.statistics.addressChanges == 1)
        #expect(net.pairs[0].relay.statistics.rtpPacketsReceived > before + 50)
        // Echoes reach the client at its new address.
        let echoedAfter = net.pairs[0].clientEvents.audioPackets.filter { $0.arrival > .zero + .seconds(6) }
        #expect(echoedAfter.count > 50)
        #expect(net.pairs[0].relay.state == .connected)
    }

    @Test("a silent client: the relay ends the session at the consent timeout, with a deadline all along")
    func consentTimeout() throws {
        var net = VirtualNetwork()
        try net.addPair(seed: 8, clientPort: 4, relayTimeouts: .seconds(30))
        net.run(until: .zero + .seconds(1))
        #expect(net.pairs[0].relay.state == .connected)
        // The client vanishes: nothing more is delivered from it.
        net.pairs[0].clientAddress = clientAddress(200)
        let relay = net.pairs[0].relay
        var now = net.now
        while !relay.isClosed {
            let deadline = try #require(relay.nextDeadline)
            now = deadline
            relay.handleTimeout(now: now)
        }
        #expect(relay.state == .closed(.consentExpired))
        #expect(now >= .zero + .seconds(30) && now <= .zero + .seconds(32))
        #expect(relay.nextDeadline == nil)
    }

    @Test("nobody connects: the relay session ends at the connect timeout")
    func connectTimeout() throws {
        var rng = SplitMix64(seed: 9)
        let relay = try PeerConnection(
            configuration: .init(
                role: .relay, localCredentials: .random(using: &rng), remoteCredentials: .random(using: &rng),
                remoteFingerprints: [TestIdentity.clientCertificate.fingerprint], localSSRC: 1,
                connectTimeout: .seconds(10)),
            dtlsContext: TestIdentity.relayContext, now: .zero)
        #expect(relay.nextDeadline == .zero + .seconds(10))
        relay.handleTimeout(now: .zero + .seconds(10))
        #expect(relay.state == .closed(.connectTimeout))
        guard case .closed(.connectTimeout)? = relay.pollEvent() else {
            Issue.record("expected a closed event")
            return
        }
    }

    @Test("the client hangs up: BYE and close_notify end the relay session as closed by the peer")
    func hangUp() throws {
        var net = VirtualNetwork()
        try net.addPair(seed: 10, clientPort: 5)
        net.run(until: .zero + .seconds(2), every: .milliseconds(20), tick: sendTick)
        net.pairs[0].client.close(reason: .local("hang up"), now: net.now)
        net.run(until: net.now + .milliseconds(50))
        #expect(net.pairs[0].relay.state == .closed(.closedByPeer))
        #expect(net.pairs[0].client.state == .closed(.local("hang up")))
    }

    @Test("a hostile flood neither crashes nor disturbs a healthy session alongside")
    func hostileFlood() throws {
        var net = VirtualNetwork()
        try net.addPair(seed: 11, clientPort: 6)
        try net.addPair(seed: 12, clientPort: 7)
        net.run(until: .zero + .seconds(1))
        #expect(net.pairs.allSatisfy { $0.relay.state == .connected })
        let attacker = TransportAddress(address: .v4(IPv4Address(127, 0, 0, 66)), port: 6666)
        var junkRNG = SplitMix64(seed: 13)
        let victim = net.pairs[1].relay.configuration.localCredentials
        let victimRemote = net.pairs[1].relay.configuration.remoteCredentials
        net.run(until: .zero + .seconds(5), every: .milliseconds(2)) { net in
            sendTick(&net)
            // Random bytes of every first-byte class.
            var junk = (0..<Int.random(in: 1...400, using: &junkRNG)).map { _ in UInt8.random(in: 0...255, using: &junkRNG) }
            net.inject(junk, from: attacker, to: relayAddress)
            // STUN naming the victim's ufrag with a wrong password.
            let forged = STUNMessage(
                type: .bindingRequest, transactionID: .random(using: &junkRNG),
                attributes: [.username("\(victim.ufrag):\(victimRemote.ufrag)"), .useCandidate, .priority(1)])
            if let bytes = try? forged.serialized(
                integrity: STUNIntegrityKey(shortTermPassword: "not-the-password"), fingerprint: true)
            {
                net.inject(bytes, from: attacker, to: relayAddress)
            }
            // SRTP-looking and DTLS-looking packets from the attacker, and from a spoofed port of a real client.
            junk[0] = 0x80
            net.inject(junk, from: attacker, to: relayAddress)
            junk[0] = 22
            net.inject(junk, from: TransportAddress(address: .v4(IPv4Address(127, 0, 0, 2)), port: 40006 + 100), to: relayAddress)
        }
        // Both sessions still healthy, still selected on the real client, media flowing.
        for pair in net.pairs {
            #expect(pair.relay.state == .connected)
            #expect(pair.relay.selectedAddress == pair.clientAddress)
            #expect(pair.relay.statistics.rtpPacketsReceived > 150)
            #expect(pair.client.statistics.rtpPacketsReceived > 150)
        }
        #expect(net.pairs[1].relay.liteAgent!.statistics.badIntegrity > 1000)
        // A keepalive (Binding indication) is not a drop.
        let before = net.pairs[0].relay.statistics.drops.stunRejected
        let indication = try STUNMessage(type: .bindingIndication, transactionID: .random(using: &junkRNG))
            .serialized(fingerprint: true)
        net.pairs[0].relay.handle(datagram: indication, from: net.pairs[0].clientAddress, now: net.now)
        #expect(net.pairs[0].relay.statistics.drops.stunRejected == before)
        #expect(net.pairs[0].relay.liteAgent!.statistics.indications == 1)
        #expect(net.unrouted > 1000)
    }
}
