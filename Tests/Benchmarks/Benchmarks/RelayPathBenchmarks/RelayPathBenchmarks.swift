import Benchmark
import EarshotCore
import EarshotCrypto
import EarshotWire

/// The relay's per-packet work on the echo path, without sockets: one SRTP packet from the client is demultiplexed,
/// unprotected, parsed and counted, handed out as an audio event, echoed (RTP header, SRTP protect) and queued for
/// sending. Malloc counts show what the steady path allocates per packet.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        warmupIterations: 1,
        scalingFactor: .kilo,
        maxDuration: .seconds(4),
        maxIterations: 60
    )

    for profile in [SRTPProtectionProfile.aeadAES128GCM, .aes128CMHMACSHA1_80] {
        Benchmark("relay echo path per packet, \(profile)") { benchmark in
            let pair = try ConnectedPair(profile: profile)
            // Client packets prepared outside the measurement: distinct sequence numbers for SRTP replay checks.
            let count = benchmark.scaledIterations.count * (benchmark.configuration.maxIterations + 2)
            let packets = pair.clientPackets(count: count)
            var scratch = [UInt8](repeating: 0, count: 1500)
            var index = 0
            // The relay's zero-copy path: audio to a handler that echoes it, transmits drained in place.
            let relay = pair.relay
            relay.audioHandler = { [unowned relay] packet in
                relay.sendAudio(payload: packet.payload, timestamp: packet.timestamp, now: packet.arrival)
            }
            var sentBytes = 0
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                let packet = packets[index % packets.count]
                index += 1
                scratch.withUnsafeMutableBytes { buffer in
                    packet.withUnsafeBytes { source in
                        buffer.baseAddress!.copyMemory(from: source.baseAddress!, byteCount: source.count)
                    }
                    pair.relay.handle(
                        datagram: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<packet.count]),
                        from: pair.clientAddress, now: pair.now)
                }
                while let event = pair.relay.pollEvent() { blackHole(event) }
                pair.relay.drainTransmits { bytes, _ in sentBytes &+= bytes.count }
            }
            blackHole(sentBytes)
        }
    }
}

/// A client and a relay peer connection joined in memory and brought to `connected`.
final class ConnectedPair {
    let relay: PeerConnection
    let client: PeerConnection
    let clientAddress = TransportAddress(address: .v4(IPv4Address(127, 0, 0, 2)), port: 40000)
    let relayAddress = TransportAddress(address: .v4(IPv4Address(127, 0, 0, 1)), port: 50000)
    var now = Instant.zero

    init(profile: SRTPProtectionProfile) throws {
        let relayCert = try DTLSCertificate(commonName: "relay")
        let clientCert = try DTLSCertificate(commonName: "client")
        let relayCredentials = ICECredentials(ufrag: "relayufrag", password: "relaypasswordrelaypassword")
        let clientCredentials = ICECredentials(ufrag: "clientufrag", password: "clientpasswordclientpassword")
        relay = try PeerConnection(
            configuration: .init(
                role: .relay, localCredentials: relayCredentials, remoteCredentials: clientCredentials,
                remoteFingerprints: [clientCert.fingerprint], localSSRC: 1, seed: 1),
            dtlsContext: DTLSContext(configuration: .init(certificate: relayCert)), now: now)
        client = try PeerConnection(
            configuration: .init(
                role: .client, localCredentials: clientCredentials, remoteCredentials: relayCredentials,
                remoteFingerprints: [relayCert.fingerprint], remoteAddress: relayAddress, localSSRC: 2, seed: 2),
            dtlsContext: DTLSContext(configuration: .init(certificate: clientCert, srtpProfiles: [profile])), now: now)
        for _ in 0..<200 where !(relay.state == .connected && client.state == .connected) {
            now += .milliseconds(5)
            client.handleTimeout(now: now)
            relay.handleTimeout(now: now)
            while let t = client.pollTransmit() { relay.handle(datagram: t.bytes, from: clientAddress, now: now) }
            while let t = relay.pollTransmit() { client.handle(datagram: t.bytes, from: relayAddress, now: now) }
            while relay.pollEvent() != nil {}
            while client.pollEvent() != nil {}
        }
        precondition(relay.state == .connected && client.state == .connected, "the pair did not connect")
    }

    /// `count` SRTP packets from the client, each carrying an 80-byte Opus-sized payload.
    func clientPackets(count: Int) -> [[UInt8]] {
        let payload = [UInt8](repeating: 0x5A, count: 80)
        var packets: [[UInt8]] = []
        packets.reserveCapacity(count)
        for n in 0..<count {
            client.sendAudio(payload: payload, timestamp: UInt32(truncatingIfNeeded: n * 960), now: now)
            while let t = client.pollTransmit() { packets.append(t.bytes) }
        }
        return packets
    }
}
