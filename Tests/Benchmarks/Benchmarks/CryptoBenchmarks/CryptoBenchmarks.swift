import Benchmark
import EarshotCrypto
import EarshotWire

/// The floor the relay is judged against: what SRTP protection and a DTLS handshake cost on this machine.
let benchmarks: @Sendable () -> Void = {
    // Each measured iteration runs 1000 operations (scaling factor kilo), so the harness's own per-iteration cost
    // vanishes; metrics marked * in the output are per operation.
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        warmupIterations: 3,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 1000
    )

    // SRTP protect then unprotect of one RTP packet, per profile and payload size (Opus at 20 ms is 40–160 bytes;
    // 1000 bytes stands for a large packet).
    for profile in SRTPProtectionProfile.allCases {
        for payload in [40, 160, 1000] {
            Benchmark("SRTP protect+unprotect \(profile) \(payload)B") { benchmark in
                let key = [UInt8](repeating: 0x5A, count: profile.masterKeyLength)
                let salt = [UInt8](repeating: 0xA5, count: profile.masterSaltLength)
                let sender = try SRTPContext(profile: profile, key: key, salt: salt, direction: .outbound)
                let receiver = try SRTPContext(profile: profile, key: key, salt: salt, direction: .inbound)
                var buffer = [UInt8](repeating: 0x33, count: 12 + payload + 64)
                buffer[0] = 0x80
                buffer[1] = 111
                var sequence: UInt16 = 0
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    sequence &+= 1
                    buffer[2] = UInt8(sequence >> 8)
                    buffer[3] = UInt8(truncatingIfNeeded: sequence)
                    try buffer.withUnsafeMutableBytes { raw in
                        let protected = try sender.protectRTP(buffer: raw, length: 12 + payload)
                        blackHole(try receiver.unprotectRTP(buffer: raw, length: protected))
                    }
                }
            }
        }
        Benchmark("SRTP protect only \(profile) 160B") { benchmark in
            let key = [UInt8](repeating: 0x5A, count: profile.masterKeyLength)
            let salt = [UInt8](repeating: 0xA5, count: profile.masterSaltLength)
            let sender = try SRTPContext(profile: profile, key: key, salt: salt, direction: .outbound)
            var buffer = [UInt8](repeating: 0x33, count: 12 + 160 + 64)
            buffer[0] = 0x80
            var sequence: UInt16 = 0
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                sequence &+= 1
                buffer[2] = UInt8(sequence >> 8)
                buffer[3] = UInt8(truncatingIfNeeded: sequence)
                try buffer.withUnsafeMutableBytes { raw in
                    blackHole(try sender.protectRTP(buffer: raw, length: 12 + 160))
                }
            }
        }
    }

    // A whole DTLS 1.2 handshake, both roles in one process (ECDHE P-256/X25519 + ECDSA sign and verify on each
    // side), in memory with no loss: the CPU a new session costs.
    Benchmark(
        "DTLS handshake (client+server, in memory)",
        configuration: .init(
            metrics: [.wallClock, .cpuTotal, .mallocCountTotal], scalingFactor: .one, maxDuration: .seconds(5),
            maxIterations: 2000)
    ) { benchmark in
        let clientCertificate = try DTLSCertificate(commonName: "bench-client")
        let serverCertificate = try DTLSCertificate(commonName: "bench-server")
        let clientContext = try DTLSContext(configuration: .init(certificate: clientCertificate))
        let serverContext = try DTLSContext(configuration: .init(certificate: serverCertificate))
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let client = try DTLSEndpoint(
                context: clientContext,
                configuration: .init(role: .client, remoteFingerprints: [serverCertificate.fingerprint]))
            let server = try DTLSEndpoint(
                context: serverContext,
                configuration: .init(role: .server, remoteFingerprints: [clientCertificate.fingerprint]))
            client.start(now: .zero)
            var rounds = 0
            while (client.state == .handshaking || server.state != .connected) && rounds < 20 {
                rounds += 1
                while let d = client.pollTransmit() { server.handle(datagram: d, now: .zero) }
                while let d = server.pollTransmit() { client.handle(datagram: d, now: .zero) }
            }
            precondition(client.state == .connected && server.state == .connected, "handshake failed")
            blackHole(client.pollEvent())
            blackHole(server.pollEvent())
        }
    }

    Benchmark(
        "ECDSA P-256 certificate generation",
        configuration: .init(metrics: [.wallClock, .cpuTotal], scalingFactor: .one, maxDuration: .seconds(2), maxIterations: 500)
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try DTLSCertificate())
        }
    }
}
