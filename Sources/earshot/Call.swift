import ArgumentParser
import Earshot
import EarshotClient
import EarshotCore
import EarshotCrypto
import EarshotWire
import Foundation
import NIOCore

/// `earshot call`: one real WebRTC call to a relay from this machine, measuring the round trip from the audio
/// itself (markers found again in what comes back), with the relay's own view of the same session.
struct Call: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call a relay: send audio (a file or a tone) with latency markers, record what comes back, report the round trip.",
        discussion: """
            A 20 ms chirp is mixed into the sent audio every second and found again by a matched filter in the \
            returned audio, so the round trip needs no help from the relay or the model (use an echoing model). \
            The figure runs from the capture of a marker's first sample to the arrival of the packet that brings \
            it back (see Docs/latency.md). Ctrl-C ends the call cleanly (WHIP DELETE).
            """)

    @Option(help: "The relay's WHIP endpoint.")
    var url: String = "http://127.0.0.1:8080/v1/whip"

    @Option(help: "Audio to send: a WAV file (PCM16, mono or stereo, 8-48 kHz); looped. Default: a tone.")
    var input: String?

    @Flag(help: "Send a 440 Hz tone (the default when no --input is given).")
    var tone = false

    @Option(help: "Write what comes back to this WAV file (48 kHz mono PCM16).")
    var output: String?

    @Option(help: "Seconds of audio to send.")
    var duration: Double = 10

    @Option(help: "Bearer token for WHIP.")
    var token: String?

    @Flag(help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        guard (1...3600).contains(duration) else { throw ValidationError("--duration must be 1...3600 seconds") }
        if input != nil, tone { throw ValidationError("--input and --tone exclude each other") }
    }

    func run() async throws {
        let source: [Int16]
        if let input {
            source = try WAV.read48kMono(path: input)
        } else {
            source = CallScript.tone(seconds: min(duration, 60))
        }
        let script = try CallScript(pcm: source)
        let context = try DTLSContext(configuration: .init(certificate: try DTLSCertificate(commonName: "earshot-call")))
        var configuration = ClientSession.Configuration(url: url, token: token, packets: script.packets)
        configuration.recordTimeline = false
        let client = try await ClientSession.start(configuration: configuration, dtlsContext: context)
        let receiver = try await client.eventLoop.submit { try NIOLoopBound(CallReceiver(script: script), eventLoop: client.eventLoop) }.get()
        await client.observe(
            sent: { index, now in receiver.value.sent(packet: index, at: now) },
            received: { audio in receiver.value.received(audio) })
        guard await client.waitUntilConnected(timeout: .seconds(15)) else {
            await client.stop()
            throw BenchError("the call did not connect (ICE/DTLS)")
        }
        let ticker = client.eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(10), delay: .milliseconds(10)) { _ in
            receiver.value.poll(now: .now())
        }
        client.startMedia()
        if !json { print("calling \(url) for \(duration) s (Ctrl-C ends the call)") }
        let interrupted = await Interrupt.sleep(seconds: duration)
        // A second for the last markers to come back, while the media goes on.
        if !interrupted { try? await Task.sleep(for: .seconds(1)) }
        ticker.cancel()
        let relayView = await Self.relaySession(resource: client.resource, token: token)
        let report = await client.report()
        let result = try await client.eventLoop.submit {
            let r = receiver.value
            return (r.roundTrips, r.jitterBuffer.statistics, r.recorded, r.packetsReceived)
        }.get()
        await client.stop()
        if let output { try WAV.write48kMono(result.2, path: output) }
        let rtts = result.0.roundTrips.sorted()
        let statistics = result.1
        let summary = CallSummary(
            url: url, duration: duration, interrupted: interrupted,
            markersSent: result.0.sentCount, markersFound: rtts.count, markersMissed: result.0.missed + result.0.waiting,
            rttMilliseconds: .init(rtts),
            packetsSent: report.packetsSent, packetsReceived: result.3,
            packetsNotReturned: max(0, report.packetsSent - result.3),
            concealedSamples: statistics.concealedSamples, totalSamplesReceived: statistics.totalSamplesReceived,
            rtcpRoundTripMilliseconds: report.rtcpRoundTripTime.map { Double($0.nanosecondsClamped) / 1e6 },
            relay: relayView)
        if json {
            print(try summary.jsonText())
        } else {
            summary.print()
        }
    }

    /// The relay's JSON for this session (`GET /v1/sessions/{id}`), if it answers.
    static func relaySession(resource: String, token: String?) async -> String? {
        guard let range = resource.range(of: "/v1/whip/") else { return nil }
        let url = resource.replacingCharacters(in: range, with: "/v1/sessions/")
        var headers: [(String, String)] = []
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        guard let response = try? await HTTPClient.request("GET", url, headers: headers), response.status == 200 else {
            return nil
        }
        return response.body
    }
}

struct CallSummary: Encodable {
    struct Percentiles: Encodable {
        var count: Int
        var p50: Double?
        var p90: Double?
        var p99: Double?
        var max: Double?
        init(_ sorted: [Duration]) {
            count = sorted.count
            p50 = Stats.milliseconds(Stats.percentile(sorted, 50))
            p90 = Stats.milliseconds(Stats.percentile(sorted, 90))
            p99 = Stats.milliseconds(Stats.percentile(sorted, 99))
            max = Stats.milliseconds(sorted.last)
        }
    }

    var url: String
    var duration: Double
    var interrupted: Bool
    var markersSent: Int
    var markersFound: Int
    var markersMissed: Int
    var rttMilliseconds: Percentiles
    var packetsSent: Int
    var packetsReceived: Int
    /// Sent and not received back (lost either way, dropped by the model, or in flight at the end).
    var packetsNotReturned: Int
    var concealedSamples: Int
    var totalSamplesReceived: Int
    var rtcpRoundTripMilliseconds: Double?
    /// The relay's session JSON, as it sent it (not encoded with the rest).
    var relay: String?

    enum CodingKeys: String, CodingKey {
        case url, duration, interrupted, markersSent, markersFound, markersMissed, rttMilliseconds, packetsSent
        case packetsReceived, packetsNotReturned, concealedSamples, totalSamplesReceived, rtcpRoundTripMilliseconds
    }

    /// The report as JSON, with the relay's session under `relay`.
    func jsonText() throws -> String {
        var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(self)) as? [String: Any] ?? [:]
        if let relay, let view = try? JSONSerialization.jsonObject(with: Data(relay.utf8)) { object["relay"] = view }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    func print() {
        func ms(_ value: Double?) -> String { value.map { String(format: "%.2f", $0) } ?? "–" }
        Swift.print("markers: \(markersFound) found of \(markersSent) sent (\(markersMissed) missed)")
        Swift.print("round trip (audio markers): p50 \(ms(rttMilliseconds.p50))  p90 \(ms(rttMilliseconds.p90))  p99 \(ms(rttMilliseconds.p99))  max \(ms(rttMilliseconds.max)) ms")
        Swift.print("packets: \(packetsSent) sent, \(packetsReceived) received; concealed \(concealedSamples) of \(totalSamplesReceived) samples")
        Swift.print("RTCP round trip (network only): \(ms(rtcpRoundTripMilliseconds)) ms")
        guard let relay else { return }
        if let view = try? JSONDecoder().decode(SessionInfo.self, from: Data(relay.utf8)),
            let hops = view.latency?.hops, !hops.isEmpty
        {
            Swift.print("the relay's hops for this session (p50 / p99 ms; * buffering by design or the model):")
            for hop in hops {
                Swift.print(
                    "  " + (hop.name + (hop.relayProcessing ? "" : " *")).padding(toLength: 18, withPad: " ", startingAt: 0)
                        + "\(ms(hop.latency.p50Ms)) / \(ms(hop.latency.p99Ms))  (n=\(hop.latency.count))")
            }
            if let rtt = view.roundTripTime { Swift.print(String(format: "  relay's RTCP round trip %.2f ms", rtt * 1000)) }
        }
        Swift.print("the relay's whole view of this session: earshot call --json (key \"relay\")")
    }
}

/// Waits `seconds`, or until SIGINT; true when interrupted.
enum Interrupt {
    static func sleep(seconds: Double) async -> Bool {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT)
        let stream = AsyncStream<Bool> { continuation in
            source.setEventHandler { continuation.yield(true) }
            source.resume()
            Task {
                try? await Task.sleep(for: .seconds(seconds))
                continuation.yield(false)
            }
        }
        var iterator = stream.makeAsyncIterator()
        let interrupted = await iterator.next() ?? false
        source.cancel()
        return interrupted
    }
}

/// Minimal WAV (RIFF PCM16) reading and writing.
enum WAV {
    struct Failure: Error, CustomStringConvertible { var description: String }

    /// Reads PCM16 WAV (mono or stereo, any rate), mixes to mono and resamples to 48 kHz (linear interpolation).
    static func read48kMono(path: String) throws -> [Int16] {
        let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        func u32(_ at: Int) -> Int { Int(data[at]) | Int(data[at + 1]) << 8 | Int(data[at + 2]) << 16 | Int(data[at + 3]) << 24 }
        func u16(_ at: Int) -> Int { Int(data[at]) | Int(data[at + 1]) << 8 }
        guard data.count >= 12, data[0..<4].elementsEqual("RIFF".utf8), data[8..<12].elementsEqual("WAVE".utf8) else {
            throw Failure(description: "\(path): not a RIFF/WAVE file")
        }
        var offset = 12
        var channels = 0, rate = 0, bits = 0
        var samples: [Int16] = []
        while offset + 8 <= data.count {
            let size = u32(offset + 4)
            let body = offset + 8
            guard body + size <= data.count || data[offset..<offset + 4].elementsEqual("data".utf8) else { break }
            if data[offset..<offset + 4].elementsEqual("fmt ".utf8), size >= 16 {
                guard u16(body) == 1 else { throw Failure(description: "\(path): only PCM WAV is read") }
                channels = u16(body + 2)
                rate = u32(body + 4)
                bits = u16(body + 14)
            } else if data[offset..<offset + 4].elementsEqual("data".utf8) {
                guard bits == 16, (1...2).contains(channels), (8000...192_000).contains(rate) else {
                    throw Failure(description: "\(path): need 16-bit PCM, mono or stereo (found \(bits) bits, \(channels) channels, \(rate) Hz)")
                }
                let end = min(data.count, body + size)
                var index = body
                while index + 2 * channels <= end {
                    var sum = 0
                    for c in 0..<channels { sum += Int(Int16(bitPattern: UInt16(u16(index + 2 * c)))) }
                    samples.append(Int16(sum / channels))
                    index += 2 * channels
                }
                break
            }
            offset = body + size + (size & 1)
        }
        guard !samples.isEmpty, rate > 0 else { throw Failure(description: "\(path): no audio data") }
        guard rate != 48_000 else { return samples }
        let outCount = samples.count * 48_000 / rate
        return (0..<outCount).map { n in
            let x = Double(n) * Double(rate) / 48_000
            let i = Int(x)
            let f = x - Double(i)
            let a = Double(samples[min(i, samples.count - 1)]), b = Double(samples[min(i + 1, samples.count - 1)])
            return Int16((a + (b - a) * f).rounded())
        }
    }

    static func write48kMono(_ samples: [Int16], path: String) throws {
        var bytes: [UInt8] = []
        func put32(_ v: Int) { bytes += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24 & 0xFF)] }
        func put16(_ v: Int) { bytes += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        bytes += Array("RIFF".utf8); put32(36 + samples.count * 2); bytes += Array("WAVE".utf8)
        bytes += Array("fmt ".utf8); put32(16); put16(1); put16(1); put32(48_000); put32(96_000); put16(2); put16(16)
        bytes += Array("data".utf8); put32(samples.count * 2)
        for sample in samples { put16(Int(UInt16(bitPattern: sample))) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}
