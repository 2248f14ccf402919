import EarshotClient
import EarshotCrypto
import EarshotImpairment
import EarshotLatency
import EarshotNIO
import Foundation
import NIOCore
import NIOPosix
import Testing

/// The parts `earshot bench` is made of, over real loopback sockets: the in-process echo peer the baseline runs
/// against, the client's in-process impairment, and the CPU floor.
@Suite("Bench parts: baseline echo peer, impaired client, CPU floor", .serialized, .timeLimit(.minutes(2)))
struct BenchPartsTests {
    /// Runs one call of `seconds` against a baseline echo peer; returns the receiver's round trips, markers sent,
    /// and the client's report.
    static func call(
        codecPath: BaselineEchoPeer.CodecPath, impairment: ImpairmentSpec?, seconds: Double
    ) async throws -> (roundTrips: [Duration], sent: Int, report: ClientSession.Report, echoed: Int) {
        let script = try CallScript(pcm: CallScript.tone(seconds: seconds))
        let context = ClientFixtures.context
        let peers = PeerBox()
        var configuration = ClientSession.Configuration(url: "in-process", packets: script.packets)
        configuration.impairment = impairment
        let client = try await ClientSession.start(configuration: configuration, dtlsContext: context) { offer in
            let (peer, answer) = try await BaselineEchoPeer.answer(
                offer: offer, codecPath: codecPath, dtlsContext: context, group: MultiThreadedEventLoopGroup.singleton)
            await peers.set(peer)
            return (answer, "")
        }
        let receiver = try await client.eventLoop.submit {
            try NIOLoopBound(CallReceiver(script: script), eventLoop: client.eventLoop)
        }.get()
        await client.observe(
            sent: { index, now in receiver.value.sent(packet: index, at: now) },
            received: { audio in receiver.value.received(audio) })
        #expect(await client.waitUntilConnected(timeout: .seconds(10)))
        client.startMedia()
        // The whole script once (a loaded machine may send it late, never early; bounded at 15 s).
        var polls = 0
        while polls < 300, await client.counts().packetsSent < script.packets.count {
            try await Task.sleep(for: .milliseconds(50))
            polls += 1
        }
        // Stop sending and let what is in flight come back: a loaded machine's echo may run behind, never lose.
        await client.pauseMedia()
        var (received, unchanged) = (-1, 0)
        for _ in 0..<40 {
            try await Task.sleep(for: .milliseconds(250))
            let report = await client.report()
            if report.packetsReceived >= report.packetsSent { break }
            unchanged = report.packetsReceived == received ? unchanged + 1 : 0
            if unchanged == 4 { break }  // a second with nothing more: the rest was lost (impaired runs)
            received = report.packetsReceived
        }
        let (roundTrips, sent) = try await client.eventLoop.submit {
            (receiver.value.roundTrips.roundTrips, receiver.value.roundTrips.sentCount)
        }.get()
        let report = await client.report()
        await client.stop()
        let echoed = try await peers.peer?.echoedCount() ?? 0
        await peers.peer?.close()
        return (roundTrips, sent, report, echoed)
    }

    @Test("the baseline echo returns every packet, both codec paths; markers come back with a round trip above the codec floor",
          arguments: [BaselineEchoPeer.CodecPath.passthrough, .transcode])
    func baselineEcho(codecPath: BaselineEchoPeer.CodecPath) async throws {
        let (roundTrips, sent, report, echoed) = try await Self.call(codecPath: codecPath, impairment: nil, seconds: 4)
        #expect(sent >= 4)
        #expect(roundTrips.count >= sent - 1, "\(roundTrips.count) of \(sent)")
        // Read once nothing more came back after the client stopped sending: every packet made the round trip.
        #expect(report.packetsReceived == report.packetsSent, "\(report.packetsReceived) of \(report.packetsSent)")
        #expect(echoed == report.packetsSent, "\(echoed) of \(report.packetsSent)")
        // 20 ms of packetization plus one (passthrough) or two (transcode) encoder lookaheads of 6.5 ms.
        let floor: Duration = codecPath == .passthrough ? .milliseconds(26) : .milliseconds(32)
        // Above by at most the pairing window: on a loaded machine (the whole suite beside it) one round trip of
        // 263 ms was seen, the loops having stalled; the floor is what this checks.
        #expect(roundTrips.allSatisfy { $0 > floor && $0 < .milliseconds(900) }, "\(roundTrips)")
    }

    @Test("the client's impairment loses and duplicates datagrams as asked, and the call goes on")
    func impairedClient() async throws {
        let spec = try ImpairmentSpec(parsing: "loss=0.1,duplicate=0.1,jitter=10,seed=5")
        let (roundTrips, sent, report, _) = try await Self.call(codecPath: .passthrough, impairment: spec, seconds: 4)
        // ~200 packets each way plus RTCP: a 10 % loss each way is 20 ± 13 (3 σ) datagrams per direction.
        #expect(report.impairedLost >= 15 && report.impairedLost <= 70, "\(report.impairedLost)")
        #expect(report.impairedDuplicated >= 15 && report.impairedDuplicated <= 70, "\(report.impairedDuplicated)")
        // SRTP replay protection drops the duplicates; what got through both ways is about 0.9² of what was sent.
        let ratio = Double(report.packetsReceived) / Double(report.packetsSent)
        #expect(ratio > 0.65 && ratio < 0.95, "\(report.packetsReceived) of \(report.packetsSent)")
        #expect(report.drops > 0)
        #expect(roundTrips.count >= 1 && sent >= 4)
    }

    @Test("the CPU floor is measured from real SRTP and Opus work")
    func cpuFloor() throws {
        let script = try CallScript(pcm: CallScript.tone(seconds: 1))
        let floor = try CPUFloor.measure(payloads: script.packets, iterations: 200)
        #expect(floor.profile == "SRTP_AEAD_AES_128_GCM")
        for value in [floor.srtpProtectMicroseconds, floor.srtpUnprotectMicroseconds, floor.opusDecodeMicroseconds,
                      floor.opusEncodeMicroseconds, floor.udpSendReceiveMicroseconds] {
            #expect(value > 0 && value < 10_000)
        }
        // Encoding 20 ms of audio costs more than protecting a packet.
        #expect(floor.opusEncodeMicroseconds > floor.srtpProtectMicroseconds)
        let passthrough = floor.percentPerSession(transcoding: false)
        #expect(abs(passthrough - (floor.srtpProtectMicroseconds + floor.srtpUnprotectMicroseconds) * 50 / 1e4) < 1e-9)
        #expect(floor.percentPerSession(transcoding: true) > passthrough)
        #expect(floor.percentPerSession(transcoding: false, includingUDP: true) > passthrough)
    }
}

actor PeerBox {
    var peer: BaselineEchoPeer?
    func set(_ peer: BaselineEchoPeer) { self.peer = peer }
}
