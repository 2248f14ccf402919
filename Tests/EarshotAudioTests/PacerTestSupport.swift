import EarshotAudio
import EarshotOpus
import EarshotWire
import Foundation
import Testing

/// What a pacer produced over a virtual-time run.
struct PacerTrace {
    var frames: [PacedFrame] = []
    var events: [PacerEvent] = []

    var markSent: [(name: String, at: Instant, rtpTimestamp: UInt32)] {
        events.compactMap {
            if case .markSent(let name, let at, let rtp) = $0 { (name, at, rtp) } else { nil }
        }
    }

    var cancelledMarks: [String] {
        events.compactMap { if case .markCancelled(let name) = $0 { name } else { nil } }
    }

    var finished: [(ResponseID?, Int)] {
        events.compactMap {
            if case .responseFinished(let id, let played) = $0 { (id, played) } else { nil }
        }
    }

    mutating func drainEvents(_ pacer: DownlinkPacer) {
        while let event = pacer.pollEvent() { events.append(event) }
    }

    /// Polls at `now` until nil; returns the frames of this poll.
    @discardableResult
    mutating func poll(_ pacer: DownlinkPacer, at now: Instant) -> [PacedFrame] {
        var polled: [PacedFrame] = []
        while let frame = pacer.poll(now: now) { polled.append(frame) }
        frames += polled
        drainEvents(pacer)
        return polled
    }

    /// Polls exactly at each deadline the pacer asks for, while the deadline is before `end`.
    mutating func runDeadlines(_ pacer: DownlinkPacer, before end: Instant) {
        while let deadline = pacer.nextDeadline, deadline < end {
            let polled = poll(pacer, at: deadline)
            if polled.isEmpty, pacer.nextDeadline == deadline {
                Issue.record("pacer stuck at \(deadline)")
                return
            }
        }
        drainEvents(pacer)
    }
}

/// A model feeding the pacer: chunks arriving at given times, merged with the pacer's own deadlines. At equal
/// times the arrival is handled first (audio that arrives at a deadline is in time for it).
struct PacerFeed {
    struct Chunk {
        var at: Instant
        var pcm: [Int16]
        var response: ResponseID?
        var endsResponse = false
        var mark: String?
    }

    var chunks: [Chunk]

    func run(_ pacer: DownlinkPacer, until end: Instant) -> PacerTrace {
        var trace = PacerTrace()
        var next = 0
        while true {
            let arrival = next < chunks.count ? chunks[next].at : nil
            let deadline = pacer.nextDeadline
            if let arrival, deadline.map({ arrival <= $0 }) ?? true {
                let chunk = chunks[next]
                next += 1
                if !chunk.pcm.isEmpty { pacer.enqueue(chunk.pcm, response: chunk.response, now: chunk.at) }
                if let mark = chunk.mark { pacer.mark(mark, now: chunk.at) }
                if chunk.endsResponse { pacer.endResponse(now: chunk.at) }
                trace.drainEvents(pacer)
            } else if let deadline, deadline <= end {
                let polled = trace.poll(pacer, at: deadline)
                if polled.isEmpty, pacer.nextDeadline == deadline {
                    Issue.record("pacer stuck at \(deadline)")
                    break
                }
            } else {
                break
            }
        }
        trace.drainEvents(pacer)
        return trace
    }
}

enum PacerSignal {
    /// Two tones (440 Hz and 1250 Hz, both inside the 4 kHz band of 8 kHz audio) at a speech-like level.
    static func tones(sampleRate: Int, count: Int, startingAt offset: Int = 0) -> [Int16] {
        (0..<count).map { index in
            let t = Double(index + offset) / Double(sampleRate)
            let value = 7000 * sin(2 * Double.pi * 440 * t) + 3500 * sin(2 * Double.pi * 1250 * t)
            return Int16(value.rounded())
        }
    }

    /// Decodes the frames in order into one PCM stream at `sampleRate`.
    static func decode(_ frames: [PacedFrame], sampleRate: OpusSampleRate) throws -> [Int16] {
        let decoder = try OpusDecoder(sampleRate: sampleRate)
        var pcm: [Int16] = []
        for frame in frames { pcm += try decoder.decode(frame.payload) }
        return pcm
    }

    static func rms(_ x: ArraySlice<Int16>) -> Double {
        guard !x.isEmpty else { return 0 }
        return (x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(x.count)).squareRoot()
    }

    /// Normalised correlation of `input[range]` with `output[range + lag]`.
    static func correlation(_ input: [Int16], _ output: [Int16], range: Range<Int>, lag: Int) -> Double {
        var dot = 0.0
        var energyIn = 0.0
        var energyOut = 0.0
        for index in range {
            let a = Double(input[index])
            let b = Double(output[index + lag])
            dot += a * b
            energyIn += a * a
            energyOut += b * b
        }
        let energy = (energyIn * energyOut).squareRoot()
        return energy > 0 ? dot / energy : 0
    }

    /// Checks that `output` is `input` delayed by one constant lag: the best lag over the first second (after
    /// half a second of codec start-up) is at most the encoder's lookahead, and every following second matches
    /// the input at that same lag. A lost, repeated or misplaced frame would break the match from there on.
    ///
    /// The lag is measured, not assumed: in the SILK and hybrid modes the best waveform match is about 4 ms,
    /// not the reported 6.5 ms lookahead (which only CELT-only coding shows as a clean shift).
    static func expectDelayedCopy(
        _ input: [Int16], _ output: [Int16], sampleRate: Int, lookahead: Int,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let second = sampleRate
        let best = bestLag(input, output, range: (second / 2)..<(second * 3 / 2), lags: 0...(2 * lookahead))
        #expect(best.lag <= lookahead, "best lag \(best.lag)", sourceLocation: sourceLocation)
        var start = second / 2
        while start + second + best.lag <= min(input.count, output.count) {
            let value = correlation(input, output, range: start..<(start + second), lag: best.lag)
            #expect(value > 0.95, "correlation \(value) from sample \(start)", sourceLocation: sourceLocation)
            start += second
        }
    }

    /// The lag in `lags` at which `output` best matches `input` over `range`, and that correlation.
    static func bestLag(_ input: [Int16], _ output: [Int16], range: Range<Int>, lags: ClosedRange<Int>)
        -> (lag: Int, correlation: Double)
    {
        var best = (lag: lags.lowerBound, correlation: -2.0)
        for lag in lags {
            let value = correlation(input, output, range: range, lag: lag)
            if value > best.correlation { best = (lag, value) }
        }
        return best
    }
}

/// Shorthands for the pacer tests.
enum PacerTest {
    static func time(ms milliseconds: Int) -> Instant { Instant.zero + .milliseconds(milliseconds) }

    static func pacer(
        rate: OpusSampleRate = .hz16000, frame: AudioFrameDuration = .milliseconds20,
        configure: (inout DownlinkPacer.Configuration) -> Void = { _ in }
    ) throws -> DownlinkPacer {
        var configuration = DownlinkPacer.Configuration(format: PCMFormat(sampleRate: rate, frameDuration: frame))
        configure(&configuration)
        return try DownlinkPacer(configuration: configuration)
    }
}
