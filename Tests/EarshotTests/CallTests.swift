import Earshot
import EarshotClient
import EarshotCore
import EarshotLatency
import EarshotNIO
import Foundation
import NIOCore
import Testing

/// `earshot call`'s measuring parts against the relay over loopback: the script's markers go out, come back through
/// the echo (both codec paths) and are found in the returned audio.
@Suite("Call: audio markers through the relay", .serialized, .timeLimit(.minutes(2)))
struct CallTests {
    @Test("markers sent through the echo are found again and give a round trip per marker", arguments: CodecPath.allCases)
    func markersThroughTheEcho(codecPath: CodecPath) async throws {
        try await withRelay(configure: { $0.audio.codecPath = codecPath }) { endpoints, engine in
            let script = try CallScript(pcm: CallScript.tone(seconds: 6))
            #expect(script.markerOffsets.count == 6)
            let client = try await ClientSession.start(
                configuration: .init(url: "\(endpoints.base)/v1/whip", packets: script.packets),
                dtlsContext: ClientFixtures.context)
            let receiver = try await client.eventLoop.submit {
                try NIOLoopBound(CallReceiver(script: script), eventLoop: client.eventLoop)
            }.get()
            await client.observe(
                sent: { index, now in receiver.value.sent(packet: index, at: now) },
                received: { audio in receiver.value.received(audio) })
            #expect(await client.waitUntilConnected(timeout: .seconds(10)))
            client.startMedia()
            #expect(await client.waitUntilReceived(300, timeout: .seconds(20)))
            // Stop sending, and read once nothing more comes back: no marker is still in flight.
            await client.pauseMedia()
            var received = -1
            for _ in 0..<40 {
                try await Task.sleep(for: .milliseconds(250))
                let now = await client.report().packetsReceived
                if now == received { break }
                received = now
            }
            let (roundTrips, sent) = try await client.eventLoop.submit {
                (receiver.value.roundTrips.roundTrips, receiver.value.roundTrips.sentCount)
            }.get()
            await client.stop()
            #expect(sent >= 6)
            // Every marker comes back but one cut off by the pause; transcoding can lose more where the echo's
            // downlink pacer runs dry under arrival jitter on a loaded machine (Docs/latency.md).
            let required = codecPath == .passthrough ? sent - 1 : sent - 3
            #expect(roundTrips.count >= required, "\(roundTrips.count) of \(sent) markers found")
            // The floor: 20 ms of packetization and the encoder's lookahead (6.5 ms) are in every round trip.
            #expect(roundTrips.allSatisfy { $0 > .milliseconds(26) && $0 < .milliseconds(900) }, "\(roundTrips)")
        }
    }
}
