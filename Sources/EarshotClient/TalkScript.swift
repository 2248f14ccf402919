import EarshotOpus
public import EarshotWire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A caller's turns for driving a conversational model: segments of silence and of a voiced, vowel-like sound
/// (a 140 Hz harmonic series with a 4 Hz syllable rhythm, which the relay's VAD reads as speech), as 20 ms Opus
/// packets. The client loops them.
public struct TalkScript: Sendable {
    public struct Segment: Hashable, Sendable {
        public var speaking: Bool
        public var milliseconds: Int
        public init(speaking: Bool, milliseconds: Int) {
            self.speaking = speaking
            self.milliseconds = milliseconds
        }
    }

    public var segments: [Segment]
    public static let frameMilliseconds = 20

    public init(_ segments: [Segment]) { self.segments = segments }

    /// Speech (0.3–1.1 s), a pause that ends the turn (the parrot answers at about 1.6 s for about 1.1 s), speech
    /// from 2.0 s over that answer (a barge-in), a pause (that turn is answered in full), silence: 4.2 s a loop.
    public static let bargeIn = TalkScript([
        .init(speaking: false, milliseconds: 300), .init(speaking: true, milliseconds: 800),
        .init(speaking: false, milliseconds: 900), .init(speaking: true, milliseconds: 600),
        .init(speaking: false, milliseconds: 1600),
    ])

    /// Packets in one loop.
    public var packetCount: Int { segments.reduce(0) { $0 + $1.milliseconds / Self.frameMilliseconds } }

    /// The index (in one loop) of the first packet of each talkspurt after the first: where the caller speaks
    /// again, over the answer to the previous turn if it is still playing.
    public var laterTalkspurtStarts: [Int] {
        var index = 0
        var starts: [Int] = []
        for segment in segments {
            if segment.speaking { starts.append(index) }
            index += segment.milliseconds / Self.frameMilliseconds
        }
        return Array(starts.dropFirst())
    }

    /// How many later talkspurts began in the first `packetsSent` packets.
    public func laterTalkspurtsStarted(packetsSent: Int) -> Int {
        var count = 0
        var loopStart = 0
        while loopStart < packetsSent {
            count += laterTalkspurtStarts.filter { loopStart + $0 < packetsSent }.count
            loopStart += packetCount
        }
        return count
    }

    /// The Opus packets of one loop (48 kHz, 20 ms, 32 kbit/s, complexity 5).
    public func packets() throws -> [[UInt8]] {
        let encoder = try OpusEncoder(.init(bitrate: .bitsPerSecond(32_000), complexity: 5))
        var packets: [[UInt8]] = []
        var position = 0
        for segment in segments {
            for _ in 0..<(segment.milliseconds / Self.frameMilliseconds) {
                let pcm: [Int16] = (0..<960).map { i in
                    guard segment.speaking else { return 0 }
                    let t = Double(position + i) / 48_000
                    let syllable = 0.6 + 0.4 * sin(2 * Double.pi * 4 * t)
                    var value = 0.0
                    for harmonic in 1...7 { value += sin(2 * Double.pi * 140 * Double(harmonic) * t) / Double(harmonic) }
                    return Int16(3500 * syllable * value)
                }
                packets.append(try encoder.encode(pcm))
                position += 960
            }
        }
        return packets
    }

    /// Barge-in latency from a client's timeline: for each talkspurt the caller starts while the model's audio is
    /// arriving, the time from sending its first packet to the arrival of the last packet of the audio it talked
    /// over (the end of that downlink talkspurt: the next pause in arrivals of `gap` or more). Talkspurts started
    /// while nothing was playing are not barge-ins and give no figure.
    public func bargeInLatencies(sendTimes: [Instant], arrivals: [Instant], gap: Duration = .milliseconds(60))
        -> [Duration]
    {
        let starts = laterTalkspurtStarts
        let loop = packetCount
        var latencies: [Duration] = []
        var arrivalIndex = 0
        var loopStart = 0
        while loopStart < sendTimes.count {
            for start in starts where loopStart + start < sendTimes.count {
                let spoke = sendTimes[loopStart + start]
                while arrivalIndex < arrivals.count, arrivals[arrivalIndex] <= spoke { arrivalIndex += 1 }
                // Playing: a packet arrived within `gap` before the caller spoke.
                guard arrivalIndex > 0, spoke - arrivals[arrivalIndex - 1] < gap else { continue }
                var last = arrivals[arrivalIndex - 1]
                var index = arrivalIndex
                while index < arrivals.count, arrivals[index] - last < gap {
                    last = arrivals[index]
                    index += 1
                }
                guard index < arrivals.count else { continue }  // the talkspurt must have ended in the record
                latencies.append(last - spoke)
            }
            loopStart += loop
        }
        return latencies
    }
}
