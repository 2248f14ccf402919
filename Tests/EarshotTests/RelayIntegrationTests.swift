import Earshot
import EarshotClient
import EarshotAudio
import EarshotCrypto
import EarshotOpus
import EarshotSimulation
import EarshotWire
import Foundation
import Logging
import ServiceLifecycle
import Testing

/// A relay running in this process on loopback (ports picked by the OS), for the duration of `body`.
func withRelay(
    configure: (inout RelayConfiguration) -> Void = { _ in },
    _ body: @Sendable (RelayService.Endpoints, RelayEngine) async throws -> Void
) async throws {
    var configuration = RelayConfiguration()
    configuration.httpPort = 0
    configuration.udpPort = 0
    configure(&configuration)
    var logger = Logger(label: "earshot-test")
    logger.logLevel = .warning
    let ready = AsyncStream<(RelayService.Endpoints, RelayEngine)>.makeStream()
    let relay = RelayService(configuration: configuration, logger: logger) { endpoints, engine in
        ready.continuation.yield((endpoints, engine))
    }
    let group = ServiceGroup(configuration: .init(services: [relay], logger: logger))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        var iterator = ready.stream.makeAsyncIterator()
        guard let (endpoints, engine) = await iterator.next() else { throw TestFailure("the relay did not start") }
        do {
            try await body(endpoints, engine)
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}

extension RelayService.Endpoints {
    /// The HTTP base URL of a relay that serves HTTP (every test relay but those that turn it off).
    var base: String { "http://\(http!)" }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

enum ClientFixtures {
    static let context = try! DTLSContext(configuration: .init(certificate: try! DTLSCertificate(commonName: "test-client")))

    /// Three seconds of the seeded speech-like signal (a pause, then speech) as 150 Opus packets of 20 ms.
    static let speechPackets: [[UInt8]] = {
        let encoder = try! OpusEncoder(.init(bitrate: .bitsPerSecond(32_000), complexity: 5))
        var signal = SpeechLikeSignal(seed: 1, sampleRate: .hz48000)
        return (0..<150).map { _ in try! encoder.encode(signal.samples(count: 960)) }
    }()

    /// One second of a 440 Hz tone as 50 Opus packets (20 ms each).
    static let packets: [[UInt8]] = {
        let encoder = try! OpusEncoder(.init(bitrate: .bitsPerSecond(32_000), complexity: 5))
        return (0..<50).map { frame in
            let pcm = (0..<960).map { i in
                Int16(8000 * sin(2 * Double.pi * 440 * Double(frame * 960 + i) / 48_000))
            }
            return try! encoder.encode(pcm)
        }
    }()
}

@Suite("Relay over real loopback UDP")
struct RelayIntegrationTests {
    @Test("our client connects through WHIP, hears the echo, and DELETE ends the session",
          arguments: CodecPath.allCases)
    func echoOverLoopback(codecPath: CodecPath) async throws {
        try await withRelay(configure: { $0.audio.codecPath = codecPath }) { endpoints, engine in
            let url = "\(endpoints.base)/v1/whip"
            // Speech-like audio for the transcoding path, so that the server VAD has speech to find.
            let packets = codecPath == .transcode ? ClientFixtures.speechPackets : ClientFixtures.packets
            let client = try await ClientSession.start(
                configuration: .init(url: url, packets: packets), dtlsContext: ClientFixtures.context)
            let connected = await client.waitUntilConnected(timeout: .seconds(10))
            #expect(connected)
            client.startMedia()
            let echoed = await client.waitUntilReceived(codecPath == .transcode ? 150 : 100, timeout: .seconds(15))
            #expect(echoed)
            let report = await client.report()
            #expect(report.packetsReceived >= 100)
            let id = String(client.resource.split(separator: "/").last ?? "")
            let info = try #require(await engine.sessionInfo(id: id))
            #expect(info.model.codecPath == codecPath.rawValue)
            switch codecPath {
            case .passthrough:
                // The echo returns the very packets sent, so the client pairs them by payload.
                #expect(report.roundTrips.count >= 100)
                #expect(info.jitterBuffer == nil && info.downlink == nil)
            case .transcode:
                // Decoded through the jitter buffer, echoed as PCM, paced and encoded again: nothing concealed or
                // discarded on loopback, every frame to the model came back out.
                let uplink = try #require(info.jitterBuffer?.statistics)
                let downlink = try #require(info.downlink)
                #expect(info.jitterBuffer?.profile == "model")
                #expect(uplink.packetsReceived >= 100)
                #expect(uplink.concealedSamples == 0 && uplink.packetsDiscarded == 0)
                #expect(info.model.framesToModel == uplink.framesEmitted)
                #expect(downlink.framesSent >= 100)
                #expect(downlink.samplesDroppedQueueFull == 0)
                // The server VAD finds the speech in the client's stream (it starts after a pause).
                let voice = try #require(info.voiceActivity)
                #expect(voice.speechSegments >= 1)
                #expect(voice.recentEvents.first?.type == "speech_started")
                #expect(voice.recentEvents.first.map { $0.audioMs > 0 && $0.audioMs < 3000 } == true)
            }
            // The relay's per-hop histograms: every audio packet was timed on the way in, every frame sent on the
            // way out (all but those still queued for the socket at this instant).
            let hops = Dictionary(uniqueKeysWithValues: (info.latency?.hops ?? []).map { ($0.name, $0.latency) })
            switch codecPath {
            case .passthrough:
                #expect(info.latency?.hops.map(\.name) == ["ingress", "egress", "transit"])
                // The transit of a packet includes its ingress.
                let transitP50: Double = hops["transit"]?.p50Ms ?? 0
                let ingressP50: Double = hops["ingress"]?.p50Ms ?? .infinity
                #expect(transitP50 >= ingressP50)
            case .transcode:
                #expect(info.latency?.hops.map(\.name)
                    == ["ingress", "jitterBuffer", "decode", "toModel", "pacer", "encode", "egress"])
                #expect(hops["decode"]?.count == uplink(info)?.framesEmitted)
                // The echo's audio waits in the pacer at most the start delay plus the echo's backlog bound and a
                // frame of grid alignment.
                let pacerMax: Double = hops["pacer"]?.maxMs ?? .infinity
                #expect(pacerMax <= 81)
            }
            #expect(hops["ingress"]?.count == info.inbound.packetsReceived)
            let egress = hops["egress"]?.count ?? 0
            let sentCount = info.outbound.packetsSent
            #expect(egress >= sentCount - 5)
            #expect(egress <= sentCount)
            for (name, hop) in hops {
                let p50: Double = hop.p50Ms ?? -1
                let max: Double = hop.maxMs ?? 1e9
                #expect(hop.count > 0, "\(name)")
                #expect(p50 >= 0, "\(name)")
                #expect(max < 1000, "\(name)")
            }
            #expect(info.state == "connected")
            #expect(info.srtpCipher == "SRTP_AEAD_AES_128_GCM")
            #expect(info.inbound.packetsReceived >= 100)
            #expect(info.outbound.packetsSent >= 100)
            await client.stop()
            let ended = try #require(await engine.sessionInfo(id: id))
            #expect(ended.state == "closed")
            #expect(await engine.liveSessionCount() == 0)

            // GET /metrics agrees with the session's own figures (this relay's registry saw only this session).
            let metrics = try await HTTPClient.request("GET", "\(endpoints.base)/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
            let samples = PrometheusText(metrics.body)
            for hop in ended.latency?.hops ?? [] {
                #expect(samples["earshot_hop_duration_seconds_count{hop=\"\(hop.name)\"}"] == Double(hop.latency.count))
            }
            #expect(samples["earshot_rtp_packets_total{direction=\"in\"}"] == Double(ended.inbound.packetsReceived))
            #expect(samples["earshot_rtp_packets_total{direction=\"out\"}"] == Double(ended.outbound.packetsSent))
            #expect(samples["earshot_sessions"] == 0)
            #expect(samples["earshot_sessions_created_total"] == 1)
            #expect(samples["earshot_sessions_ended_total"] == 1)
            #expect(samples["earshot_drops_total{reason=\"srtp_replay\"}"] == 0)
            #expect((samples["process_resident_memory_bytes"] ?? 0) > 1_000_000)
            #expect((samples["process_cpu_seconds_total"] ?? 0) > 0)
            // Histogram buckets are cumulative and end with +Inf equal to the count.
            let ingressInf = samples["earshot_hop_duration_seconds_bucket{hop=\"ingress\",le=\"+Inf\"}"]
            #expect(ingressInf == samples["earshot_hop_duration_seconds_count{hop=\"ingress\"}"])
        }
    }

    private func uplink(_ info: SessionInfo) -> JitterBufferStatistics? { info.jitterBuffer?.statistics }

    @Test("WHIP errors are clear: bad content type, malformed SDP, unusable offer, unknown session, PATCH, token, capacity")
    func whipErrors() async throws {
        try await withRelay(configure: { $0.token = "secret"; $0.maxSessions = 1 }) { endpoints, _ in
            let base = "\(endpoints.base)"
            let auth = [("Authorization", "Bearer secret")]
            let sdp = [("Content-Type", "application/sdp")]
            let offer = try String(contentsOf: fixture("sdp/chromium-audio.sdp"), encoding: .utf8)

            var r = try await HTTPClient.request("POST", base + "/v1/whip", headers: sdp, body: offer)
            #expect(r.status == 401)
            #expect(r.header("WWW-Authenticate") == "Bearer")
            r = try await HTTPClient.request("POST", base + "/v1/whip", headers: auth + [("Content-Type", "text/plain")], body: offer)
            #expect(r.status == 415)
            r = try await HTTPClient.request("POST", base + "/v1/whip", headers: auth + sdp, body: "v=0\r\nnonsense\r\n")
            #expect(r.status == 400)
            #expect(r.body.contains("line"))
            let noOpus = offer.replacingOccurrences(of: "opus/48000/2", with: "speex/16000")
            r = try await HTTPClient.request("POST", base + "/v1/whip", headers: auth + sdp, body: noOpus)
            #expect(r.status == 406)
            #expect(r.body.contains("Opus"))
            let noFingerprint = offer.split(separator: "\r\n").filter { !$0.hasPrefix("a=fingerprint") }.joined(separator: "\r\n") + "\r\n"
            r = try await HTTPClient.request("POST", base + "/v1/whip", headers: auth + sdp, body: noFingerprint)
            #expect(r.status == 406)
            #expect(r.body.contains("fingerprint"))

            r = try await HTTPClient.request("POST", base + "/v1/whip", headers: auth + sdp, body: offer)
            #expect(r.status == 201)
            #expect(r.header("Content-Type") == "application/sdp")
            let location = try #require(r.header("Location"))
            #expect(location.hasPrefix("/v1/whip/"))
            #expect(r.header("ETag") != nil)
            #expect(r.body.contains("a=ice-lite"))
            #expect(r.body.contains("a=setup:passive"))

            r = try await HTTPClient.request("POST", base + "/v1/whip", headers: auth + sdp, body: offer)
            #expect(r.status == 503)
            #expect(r.header("Retry-After") != nil)

            r = try await HTTPClient.request("PATCH", base + location, headers: auth + [("Content-Type", "application/trickle-ice-sdpfrag")], body: "a=end-of-candidates\r\n")
            #expect(r.status == 405)
            r = try await HTTPClient.request("OPTIONS", base + "/v1/whip", headers: [("Origin", "http://example.test"), ("Access-Control-Request-Method", "POST")])
            #expect(r.status == 200 || r.status == 204)
            #expect(r.header("Access-Control-Allow-Origin") != nil)

            r = try await HTTPClient.request("DELETE", base + "/v1/whip/ffffffffffffffff", headers: auth)
            #expect(r.status == 404)
            r = try await HTTPClient.request("DELETE", base + location, headers: auth)
            #expect(r.status == 200)
            r = try await HTTPClient.request("DELETE", base + location, headers: auth)
            #expect(r.status == 404)
            r = try await HTTPClient.request("GET", base + "/v1/sessions")
            #expect(r.status == 200)
            #expect(r.body.contains("ended by WHIP DELETE"))
        }
    }
}

func fixture(_ path: String) -> URL {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        let candidate = url.appendingPathComponent("Fixtures").appendingPathComponent(path)
        if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
    }
    return URL(fileURLWithPath: "/nonexistent/\(path)")
}

/// Samples of a Prometheus text exposition, by series (`name{labels}` exactly as written).
struct PrometheusText {
    private var values: [String: Double] = [:]

    init(_ text: String) {
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            values[String(line[..<space])] = value
        }
    }

    subscript(series: String) -> Double? { values[series] }
}
