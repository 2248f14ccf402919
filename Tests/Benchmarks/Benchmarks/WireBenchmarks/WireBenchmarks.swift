import Benchmark
import EarshotWire
import Foundation

// Per-packet cost of the wire formats on the receive path.
//
// By default every measured iteration runs the operation on 1,000 packets (scaling factor kilo; the SDP parse, which
// takes tens of microseconds, runs once per iteration): the harness adds about 150 ns and 16 mallocs to each
// iteration, which would swamp operations of a few tens of nanoseconds, and spread over 1,000 packets it vanishes.
// The tables then show microseconds and mallocs per 1,000 packets, i.e. nanoseconds and 1/1000 mallocs per packet,
// and the percentiles are over 1,000-packet batches. With EARSHOT_BENCHMARK_SINGLE_PACKET=1 every iteration handles
// one packet, so the percentiles are per packet, harness overhead included (see the empty-iteration baseline).

// MARK: Inputs (real packets from Fixtures/wire/chromium-loopback-audio.pcap; see Fixtures/wire/README.md)

/// Hex text to bytes.
func bytes(hex text: String) -> [UInt8] {
    let digits = Array(text.utf8.filter { $0 != UInt8(ascii: " ") })
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
}

/// The third STUN datagram of the capture: a 100-byte Binding request from peer A to peer B (USERNAME `y4iS:Bbc6`,
/// a 0xC057 network-info attribute, ICE-CONTROLLING, USE-CANDIDATE, PRIORITY, MESSAGE-INTEGRITY, FINGERPRINT),
/// keyed with B's ICE password.
let stunRequest = bytes(hex: """
    000100502112a4425937582b545169486b74356f00060009793469533a42626336000000c0570004000003e7802a00080eedceb4ae883110\
    00250000002400046e001eff0008001422cec9a0b92b857b7ffcaf75239fc61a76572522802800043871accf
    """)
let stunKey = STUNIntegrityKey(shortTermPassword: "bKwf36gLs6lSijAUcal14JVy")
/// The same key as a bare HMAC-SHA1, to time the MAC alone (the request's MESSAGE-INTEGRITY covers its first 76 bytes).
let stunHMAC = HMAC<SHA1>(key: Array("bKwf36gLs6lSijAUcal14JVy".utf8))
let stunParsedRequest = try! STUNMessage(parsing: stunRequest)
let mappedAddress = TransportAddress(address: .v6(IPv6Address(high: 0xFD00 << 48, low: 2)), port: 46521)

/// The second RTP datagram of the capture: 100 bytes of Opus from A (SSRC 844762064, PT 111) with a one-byte-form
/// header extension carrying abs-send-time (ID 2), transport-wide sequence number (ID 3), MID (ID 4) and audio
/// level (ID 1). The payload is SRTP-encrypted; the header is in the clear, which is all the layout reads.
let rtpPacket = bytes(hex: """
    906f4db18ac11423325a0bd0bede0003221efac531000240301083000a1315702c4d9c588bcbe004475031d41ca10eac8bb40216f183\
    69c623a7b596bf71ccbf8757a9ca5a4539fdbc719b6279a570b5db2bd8c1aef6d429a17363169309b0571cd807b8
    """)

/// A compound RTCP packet as Chromium sends for an audio stream: SR with one report block, then SDES with a
/// 16-character CNAME (the capture's RTCP is SRTCP-encrypted, so this one is built; 80 bytes).
let rtcpCompound = try! RTCPCompoundPacket(packets: [
    .senderReport(RTCPSenderReport(
        ssrc: 844_762_064, ntpTimestamp: NTPTimestamp(rawValue: 0xE9A1_B2C3_D4E5_F607), rtpTimestamp: 0x8AC1_1423,
        packetCount: 250, octetCount: 20_000,
        reportBlocks: [RTCPReportBlock(ssrc: 0x0102_0304, fractionLost: 0, cumulativeLost: 0,
                                       extendedHighestSequenceNumber: 19_889, jitter: 12, lastSenderReport: 0x1234_5678,
                                       delaySinceLastSenderReport: 65_536)])),
    .sourceDescription(RTCPSourceDescription(chunks: [.init(ssrc: 844_762_064, items: [.cname("Q2y9Yx0C9pF6u4nK")])])),
]).serialized()

/// Chromium's audio offer (Fixtures/sdp/chromium-audio.sdp), found from this file's path.
let chromiumOffer: [UInt8] = {
    var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Fixtures").path) {
        directory.deleteLastPathComponent()
    }
    return Array(try! Data(contentsOf: directory.appendingPathComponent("Fixtures/sdp/chromium-audio.sdp")))
}()

// MARK: Benchmarks

let singlePacket = ProcessInfo.processInfo.environment["EARSHOT_BENCHMARK_SINGLE_PACKET"] == "1"

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal],
        warmupIterations: singlePacket ? 1000 : 10,
        scalingFactor: singlePacket ? .one : .kilo,
        maxDuration: .seconds(2),
        maxIterations: 1_000_000
    )

    // Sanity: the inputs are what they claim to be, before anything is timed.
    precondition((try? STUNMessage.verifyIntegrity(of: stunRequest, key: stunKey)) != nil, "STUN request key")
    precondition(stunParsedRequest.username == "y4iS:Bbc6" && stunParsedRequest.useCandidate, "STUN request")
    precondition((try? RTPPacketLayout(parsing: rtpPacket))?.extensionProfile == 0xBEDE, "RTP packet")
    precondition((try? RTCPCompoundPacket(parsing: rtcpCompound))?.packets.count == 2, "RTCP packet")
    precondition((try? SessionDescription(parsing: chromiumOffer))?.media.count == 1, "SDP offer")

    Benchmark("Baseline: empty iteration") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(benchmark) }
    }

    Benchmark("STUN peek USERNAME (Binding request, 100 B)") { benchmark in
        stunRequest.withUnsafeBytes { raw in
            for _ in benchmark.scaledIterations { blackHole(STUNMessage.peekBindingRequestUsername(raw)) }
        }
    }

    Benchmark("STUN verify MESSAGE-INTEGRITY (Binding request, 100 B)") { benchmark in
        try stunRequest.withUnsafeBytes { raw in
            for _ in benchmark.scaledIterations { try STUNMessage.verifyIntegrity(of: raw, key: stunKey) }
        }
    }

    Benchmark("HMAC-SHA1 of 76 B (key schedule precomputed)") { benchmark in
        stunRequest.withUnsafeBytes { raw in
            let prefix = UnsafeRawBufferPointer(rebasing: raw[0..<76])
            for _ in benchmark.scaledIterations { blackHole(stunHMAC.authenticationCode(for: prefix)) }
        }
    }

    Benchmark("STUN verify FINGERPRINT (Binding request, 100 B)") { benchmark in
        try stunRequest.withUnsafeBytes { raw in
            for _ in benchmark.scaledIterations { try STUNMessage.verifyFingerprint(of: raw) }
        }
    }

    Benchmark("STUN parse + FINGERPRINT + MESSAGE-INTEGRITY (Binding request, 100 B)") { benchmark in
        try stunRequest.withUnsafeBytes { raw in
            for _ in benchmark.scaledIterations {
                blackHole(try STUNMessage(parsing: raw))  // checks FINGERPRINT while parsing
                try STUNMessage.verifyIntegrity(of: raw, key: stunKey)
            }
        }
    }

    Benchmark("STUN build success response (XOR-MAPPED-ADDRESS, integrity, fingerprint)") { benchmark in
        for _ in benchmark.scaledIterations {
            let response = stunParsedRequest.successResponse(attributes: [.xorMappedAddress(mappedAddress)])
            blackHole(try response.serialized(integrity: stunKey, fingerprint: true))
        }
    }

    Benchmark("RTP RTPPacketLayout parse (Chromium audio, 100 B, 4 extensions)") { benchmark in
        try rtpPacket.withUnsafeBytes { raw in
            for _ in benchmark.scaledIterations { blackHole(try RTPPacketLayout(parsing: raw)) }
        }
    }

    Benchmark("RTP RTPPacketLayout parse + audio level + transport-wide sequence number") { benchmark in
        try rtpPacket.withUnsafeBytes { raw in
            for _ in benchmark.scaledIterations {
                let layout = try RTPPacketLayout(parsing: raw)
                blackHole(layout.extensionValue(AudioLevelExtension.self, id: 1, in: raw))
                blackHole(layout.extensionValue(TransportSequenceNumberExtension.self, id: 3, in: raw))
            }
        }
    }

    Benchmark("RTP RTPPacket parse (copies header extension and payload)") { benchmark in
        try rtpPacket.withUnsafeBytes { raw in
            for _ in benchmark.scaledIterations { blackHole(try RTPPacket(parsing: raw)) }
        }
    }

    Benchmark("RTCP compound parse (SR + SDES, \(rtcpCompound.count) B)") { benchmark in
        try rtcpCompound.withUnsafeBytes { raw in
            for _ in benchmark.scaledIterations { blackHole(try RTCPCompoundPacket(parsing: raw)) }
        }
    }

    Benchmark(
        "SDP parse (Chromium audio offer, \(chromiumOffer.count) B)",
        configuration: .init(warmupIterations: 100, scalingFactor: .one)
    ) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try SessionDescription(parsing: chromiumOffer)) }
    }
}
