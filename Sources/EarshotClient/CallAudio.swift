public import EarshotAudio
public import EarshotCore
public import EarshotLatency
import EarshotOpus
public import EarshotWire

/// What `earshot call` sends: 48 kHz mono PCM with a `LatencyMarker` mixed in every `markerInterval`, as 20 ms
/// Opus packets, and where each marker starts (packet index → offset of the marker's first sample in it).
public struct CallScript: Sendable {
    public let packets: [[UInt8]]
    public let markerOffsets: [Int: Int]
    public let pcm: [Int16]

    /// `pcm` is cut or padded with silence to whole 20 ms packets; markers start at `firstMarker` and repeat every
    /// `markerInterval` samples while a whole marker fits.
    public init(pcm source: [Int16], markerInterval: Int = 48_000, firstMarker: Int = 24_000) throws {
        var pcm = source
        let frames = max(1, (pcm.count + 959) / 960)
        pcm += [Int16](repeating: 0, count: frames * 960 - pcm.count)
        var offsets: [Int: Int] = [:]
        var start = firstMarker
        while start + LatencyMarker.length <= pcm.count {
            LatencyMarker.mix(into: &pcm, at: start)
            offsets[start / 960] = start % 960
            start += markerInterval
        }
        let encoder = try OpusEncoder(.init(bitrate: .bitsPerSecond(32_000), complexity: 5, inBandFEC: true))
        packets = try (0..<frames).map { try encoder.encode(Array(pcm[($0 * 960)..<($0 * 960 + 960)])) }
        markerOffsets = offsets
        self.pcm = pcm
    }

    /// A 440 Hz tone at −20 dBFS with a 4 Hz tremolo, `seconds` long.
    public static func tone(seconds: Double) -> [Int16] {
        (0..<Int(seconds * 48_000)).map { n in
            let t = Double(n) / 48_000
            return Int16(3277 * (0.75 + 0.25 * sin(2 * .pi * 4 * t)) * sin(2 * .pi * 440 * t))
        }
    }
}

/// The receiving half of `earshot call`, sans-IO: the returned packets go through the uplink jitter buffer (model
/// profile: no added delay on a clean path), the decoded audio through the marker detector; markers found are
/// paired with the markers sent. The ear time of a sample is the arrival of the packet that brought it plus its
/// place in the packet, so a round trip is mouth (capture) to the arrival of the returned audio: network both ways,
/// the relay, the model, both codecs' delay and 20 ms of packetization; not this client's own playout buffer.
public final class CallReceiver {
    public let jitterBuffer: JitterBuffer
    public private(set) var detector = MarkerDetector()
    public private(set) var roundTrips: MarkerRoundTrips
    public let script: CallScript
    /// The decoded audio, up to `maximumRecorded` samples (for `--output`).
    public private(set) var recorded: [Int16] = []
    public let maximumRecorded: Int
    public private(set) var packetsReceived = 0
    /// Decoded frames recently emitted: their stream position and the arrival of their packet.
    private var frames: [(start: Int, arrival: Instant)] = []
    private var position = 0

    public init(script: CallScript, maximumRecorded: Int = 48_000 * 600) throws {
        self.script = script
        self.maximumRecorded = maximumRecorded
        jitterBuffer = try JitterBuffer(configuration: .init(profile: .model, output: PCMFormat(sampleRate: .hz48000)))
        roundTrips = MarkerRoundTrips(maximumRoundTrip: .milliseconds(900))
    }

    /// Packet `index` of the script was sent at `now`.
    public func sent(packet index: Int, at now: Instant) {
        guard let offset = script.markerOffsets[index] else { return }
        // The packet leaves once its last sample is captured: its first sample was captured 20 ms before.
        let mouth = now - .milliseconds(20) + .nanoseconds(Int64(offset) * 1_000_000_000 / 48_000)
        roundTrips.sent(at: mouth)
    }

    public func received(_ audio: PeerConnection.ReceivedAudio) {
        packetsReceived += 1
        jitterBuffer.insert(
            sequenceNumber: audio.sequenceNumber, timestamp: audio.timestamp, payload: audio.payload, arrival: audio.arrival)
        poll(now: audio.arrival)
    }

    /// Takes what the jitter buffer has due at `now` (call every 10 ms or so, and on each packet).
    public func poll(now: Instant) {
        while let frame = jitterBuffer.poll(now: now) {
            let start = position
            position += frame.samples.count
            if let arrival = frame.arrival, frame.source == .decoded {
                frames.append((start, arrival))
                // A detection is dated within a second of its frame: keep the last 50 to 100 frames, trimmed in
                // batches so the per-frame cost stays O(1).
                if frames.count > 100 { frames.removeFirst(50) }
            }
            if recorded.count < maximumRecorded {
                recorded += frame.samples.prefix(maximumRecorded - recorded.count)
            }
            detector.process(frame.samples, at: start)
            for detection in detector.poll() {
                guard let holder = frames.last(where: { Double($0.start) <= detection.position }),
                    detection.position < Double(holder.start + 960)
                else { continue }  // inside made-up audio: no arrival to date it by
                let offset = (detection.position - Double(holder.start)) * 1e9 / 48_000
                roundTrips.received(at: holder.arrival + .nanoseconds(Int64(offset)))
            }
        }
        roundTrips.expire(before: now)
    }
}

@available(*, unavailable, message: "A CallReceiver is confined to its session's event loop")
extension CallReceiver: Sendable {}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
