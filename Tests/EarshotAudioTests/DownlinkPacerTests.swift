import EarshotAudio
import EarshotOpus
import EarshotWire
import Foundation
import Testing

/// The downlink pacer on virtual time: every instant is constructed, nothing sleeps or reads a clock.
@Suite struct DownlinkPacerTests {
    typealias T = PacerTest

    // MARK: Steady output

    /// 10 s in one burst at t = 0: one frame per frame duration on the exact grid, RTP steps of 960 (20 ms) or
    /// 480 (10 ms), all audio sent, and the decoded audio is the input under one constant codec delay.
    @Test(arguments: [OpusSampleRate.hz8000, .hz16000, .hz24000, .hz48000], AudioFrameDuration.allCases)
    func burstComesOutOnTheGrid(rate: OpusSampleRate, frame: AudioFrameDuration) throws {
        let pacer = try T.pacer(rate: rate, frame: frame)
        let total = rate.hertz * 10
        let input = PacerSignal.tones(sampleRate: rate.hertz, count: total)
        #expect(pacer.enqueue(input, response: "r1", now: .zero) == total)
        pacer.endResponse(now: .zero)
        #expect(pacer.nextDeadline == .zero)

        var trace = PacerTrace()
        trace.runDeadlines(pacer, before: T.time(ms: 20_000))

        // Every audio frame, then one frame of zeros: the last audio frame ends without silence, so the flush
        // carries the end of the audio (held in the encoder's lookahead) to the decoder.
        let frameCount = 10_000 / frame.milliseconds
        let ticks = 48 * frame.milliseconds
        try #require(trace.frames.count == frameCount + 1)
        for (k, sent) in trace.frames.enumerated() {
            #expect(sent.due == T.time(ms: k * frame.milliseconds))
            #expect(sent.rtpTimestamp == UInt32(k * ticks))
            #expect(sent.marker == (k == 0))
            #expect(sent.samples == (k < frameCount ? frame.samples(at: rate) : 0))
            #expect(sent.kind == (k < frameCount ? .audio : .flush))
            #expect(!sent.isLate && sent.response == "r1")
        }
        let stats = pacer.statistics
        #expect(stats.samplesSent == total)
        #expect(stats.framesSent == frameCount + 1 && stats.flushFrames == 1)
        #expect(stats.underruns == 0 && stats.lateFrames == 0 && stats.paddingSamplesSent == 0)
        #expect(stats.samplesQueued == 0 && stats.framesQueued == 0)
        #expect(stats.maxQueuedMillisecondsSeen == 10_000)
        #expect(stats.talkspurts == 1 && stats.responsesFinished == 1)
        #expect(trace.finished.count == 1)
        #expect(trace.finished.first?.0 == "r1" && trace.finished.first?.1 == total)
        #expect(!pacer.isActive && pacer.nextDeadline == nil)

        let output = try PacerSignal.decode(trace.frames, sampleRate: rate)
        #expect(output.count == total + frame.samples(at: rate))
        PacerSignal.expectDelayedCopy(input, output, sampleRate: rate.hertz, lookahead: pacer.encoderLookahead)
    }

    /// Chunks of random sizes (1 ... 4000 samples) arriving in random bursts, far faster than real time (seeded).
    @Test(arguments: [(OpusSampleRate.hz16000, AudioFrameDuration.milliseconds20), (.hz24000, .milliseconds10)])
    func randomChunksFasterThanRealTime(rate: OpusSampleRate, frame: AudioFrameDuration) throws {
        let pacer = try T.pacer(rate: rate, frame: frame)
        let total = rate.hertz * 10
        let input = PacerSignal.tones(sampleRate: rate.hertz, count: total)
        var rng = SplitMix64(seed: 42)
        var chunks: [PacerFeed.Chunk] = []
        var offset = 0
        var time = T.time(ms: 3)
        while offset < total {
            let size = min(Int.random(in: 1...4000, using: &rng), total - offset)
            chunks.append(.init(at: time, pcm: Array(input[offset..<(offset + size)]), response: "r"))
            offset += size
            // Up to 12 ms apart: on average ~8 times faster than real time at 16 kHz.
            time += .microseconds(Int.random(in: 0...12_000, using: &rng))
        }
        chunks[chunks.count - 1].endsResponse = true
        let trace = PacerFeed(chunks: chunks).run(pacer, until: T.time(ms: 20_000))

        let samplesPerFrame = frame.samples(at: rate)
        let frameCount = total / samplesPerFrame
        try #require(trace.frames.count == frameCount + 1)  // and the flush
        #expect(trace.frames.last?.kind == .flush)
        let t0 = try #require(trace.frames.first?.due)
        // The first frame is due when the first whole frame has arrived.
        var arrived = 0
        let firstReady = try #require(chunks.first { arrived += $0.pcm.count; return arrived >= samplesPerFrame })
        #expect(t0 == firstReady.at)
        for (k, sent) in trace.frames.enumerated() {
            #expect(sent.due == t0 + frame.duration * k)
            #expect(sent.rtpTimestamp == UInt32(k * 48 * frame.milliseconds))
            #expect(sent.marker == (k == 0))
        }
        let stats = pacer.statistics
        #expect(stats.underruns == 0 && stats.lateFrames == 0 && stats.samplesSent == total)
        let output = try PacerSignal.decode(trace.frames, sampleRate: rate)
        PacerSignal.expectDelayedCopy(input, output, sampleRate: rate.hertz, lookahead: pacer.encoderLookahead)
    }

    /// Deadlines come from t0 and k, so a start at an odd instant (t0 = 1.000000333 s) stays exact for an hour.
    @Test func noDriftFromAnOddOrigin() throws {
        let pacer = try T.pacer(rate: .hz8000, configure: { $0.maxQueuedDuration = .seconds(600) })
        let t0 = Instant(nanoseconds: 1_000_000_333)
        let chunk = [Int16](repeating: 100, count: 8000 * 600)
        #expect(pacer.enqueue(chunk, response: nil, now: t0) == chunk.count)
        pacer.endResponse(now: t0)
        var k = 0
        while let deadline = pacer.nextDeadline {
            #expect(deadline == Instant(nanoseconds: 1_000_000_333 + Int64(k) * 20_000_000))
            let frame = try #require(pacer.poll(now: deadline))
            #expect(frame.rtpTimestamp == UInt32(truncatingIfNeeded: k * 960))
            #expect(pacer.poll(now: deadline) == nil)
            k += 1
        }
        #expect(k == 30_000 + 1)  // and the flush
    }

    // MARK: Barge-in

    /// 10 s queued with a mark every 100 ms of audio, frames sent until an arbitrary instant, then `clear`:
    /// exactly one fade-out frame follows, decoding to audio that is silent within clearFade plus the codec delay;
    /// the report's samplesPlayed is exactly the samples of the frames returned before the clear; marks before the
    /// cut are reported at their exact times, those after are cancelled.
    @Test(arguments: [
        (OpusSampleRate.hz16000, AudioFrameDuration.milliseconds20, Int64(1_234_500_000)),
        (.hz16000, .milliseconds20, 1_240_000_000),  // exactly at a deadline, before its poll
        (.hz48000, .milliseconds10, 777_777_777),
        (.hz8000, .milliseconds20, 3_001_000_000),
    ])
    func clearCutsWithinOneFrame(rate: OpusSampleRate, frame: AudioFrameDuration, clearNanoseconds: Int64) throws {
        let pacer = try T.pacer(rate: rate, frame: frame)
        let hz = rate.hertz
        let samplesPerFrame = frame.samples(at: rate)
        let chunkSize = hz / 10
        let input = PacerSignal.tones(sampleRate: hz, count: hz * 10)
        for index in 0..<100 {
            pacer.enqueue(Array(input[(index * chunkSize)..<((index + 1) * chunkSize)]), response: "talk", now: .zero)
            pacer.mark("m\(index + 1)", now: .zero)
        }
        let clearTime = Instant(nanoseconds: clearNanoseconds)
        var trace = PacerTrace()
        trace.runDeadlines(pacer, before: clearTime)
        let framesBefore = trace.frames.count
        let frameNanoseconds = Int64(frame.milliseconds) * 1_000_000
        #expect(Int64(framesBefore) == (clearNanoseconds + frameNanoseconds - 1) / frameNanoseconds)
        let played = trace.frames.reduce(0) { $0 + $1.samples }
        #expect(played == framesBefore * samplesPerFrame)

        // Marks already passed: mark i sits after sample i·chunk, inside the frame holding sample i·chunk − 1.
        let passed = played / chunkSize
        try #require(trace.markSent.count == passed)
        for (index, mark) in trace.markSent.enumerated() {
            let position = (index + 1) * chunkSize
            let frameIndex = (position - 1) / samplesPerFrame
            let offset = position - frameIndex * samplesPerFrame
            #expect(mark.name == "m\(index + 1)")
            #expect(mark.at == T.time(ms: frameIndex * frame.milliseconds) + .nanoseconds(offset * 1_000_000_000 / hz))
            #expect(mark.rtpTimestamp == UInt32(frameIndex * 48 * frame.milliseconds + offset * 48_000 / hz))
        }

        let report = pacer.clear(now: clearTime)
        let fadeSamples = hz * 5 / 1000
        try #require(report.responses.count == 1)
        let cut = report.responses[0]
        #expect(cut.response == "talk")
        #expect(cut.samplesPlayed == played)
        #expect(cut.millisecondsPlayed == Double(played) * 1000 / Double(hz))
        #expect(cut.fadeSamples == fadeSamples)
        #expect(cut.samplesDropped == hz * 10 - played - fadeSamples)
        #expect(cut.samplesAccepted == hz * 10)
        #expect(report.cancelledMarks == (passed + 1...100).map { "m\($0)" })
        let fadeDue = T.time(ms: framesBefore * frame.milliseconds)
        #expect(report.fadeOutDue == fadeDue)
        #expect(report.clearedAt == clearTime)
        #expect(pacer.queuedSamples == 0)

        // Exactly one more frame: the fade-out, on the grid. With 10 ms frames the fade plus the encoder's
        // lookahead do not fit in it, so a frame of zeros flushes the end of the fade to the decoder. Then nothing,
        // however long we wait.
        let lookahead = pacer.encoderLookahead
        let flushes = fadeSamples + lookahead + hz / 400 > samplesPerFrame
        #expect(flushes == (frame == .milliseconds10))
        #expect(report.framesAfterClear == (flushes ? 2 : 1))
        #expect(pacer.nextDeadline == fadeDue)
        let after = trace.poll(pacer, at: max(fadeDue, clearTime))
        try #require(after.count == 1)
        let fade = after[0]
        #expect(fade.kind == .fadeOut && fade.samples == fadeSamples && fade.response == "talk")
        #expect(fade.due == fadeDue && !fade.marker)
        #expect(fade.rtpTimestamp == UInt32(framesBefore * 48 * frame.milliseconds))
        if flushes {
            #expect(pacer.nextDeadline == fadeDue + frame.duration)
            let flush = trace.poll(pacer, at: fadeDue + frame.duration)
            #expect(flush.map(\.kind) == [.flush] && flush.map(\.samples) == [0])
            #expect(flush.map(\.marker) == [false])
        }
        #expect(pacer.nextDeadline == nil && !pacer.isActive)
        for later in [1, 20, 1000, 60_000] {
            #expect(pacer.poll(now: fadeDue + .milliseconds(later)) == nil)
        }
        #expect(trace.cancelledMarks == report.cancelledMarks)
        #expect(trace.events.last == .truncated(report))
        #expect(trace.finished.isEmpty)
        let stats = pacer.statistics
        #expect(stats.clears == 1 && stats.fadeOutFrames == 1 && stats.responsesTruncated == 1)
        #expect(stats.flushFrames == (flushes ? 1 : 0))
        #expect(stats.marksSent == passed && stats.marksCancelled == 100 - passed)
        #expect(stats.samplesSent == played && stats.samplesDroppedByClear == cut.samplesDropped)

        // The fade frame decodes (after the lookahead, which still holds the previous frame) to the start of the
        // fade and then silence: allow 2.5 ms after the fade for the codec's overlap and filter ringing.
        let decoded = try PacerSignal.decode(trace.frames, sampleRate: rate)
        let fadeFrameStart = framesBefore * samplesPerFrame
        let signalLevel = PacerSignal.rms(input[...])
        let fadeStart = decoded[(fadeFrameStart + lookahead)..<(fadeFrameStart + lookahead + fadeSamples / 4)]
        #expect(PacerSignal.rms(fadeStart) > signalLevel * 0.3)
        let silenceFrom = fadeFrameStart + lookahead + fadeSamples + hz / 400
        try #require(silenceFrom < decoded.count - hz / 1000)
        let tail = decoded[silenceFrom...]
        #expect(PacerSignal.rms(tail) < signalLevel * 0.02, "fade tail level \(PacerSignal.rms(tail))")
    }

    /// Seeded random traffic (several responses, chunks faster or slower than real time, marks) cut at a random
    /// instant: the report's accounting is exact per response, at most a fade-out and a flush follow the clear and
    /// no audio frame, and every mark is either sent or cancelled, once.
    @Test(arguments: 1...24)
    func clearAccountingUnderRandomTraffic(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed))
        let pacer = try T.pacer(frame: seed.isMultiple(of: 2) ? .milliseconds20 : .milliseconds10)
        var chunks: [PacerFeed.Chunk] = []
        var time = Instant.zero
        var markCount = 0
        for response in 0..<Int.random(in: 1...4, using: &rng) {
            var remaining = Int.random(in: 1...24_000, using: &rng)
            // Chunks of 47 ms on average, every 1 ... 60 ms on average: from much faster than real time to slower.
            let meanGap = Int.random(in: 1...60, using: &rng)
            while remaining > 0 {
                let size = min(remaining, Int.random(in: 1...1_500, using: &rng))
                remaining -= size
                let pcm = PacerSignal.tones(sampleRate: 16_000, count: size)
                var chunk = PacerFeed.Chunk(at: time, pcm: pcm, response: ResponseID("r\(response)"))
                if Int.random(in: 0..<4, using: &rng) == 0 {
                    chunk.mark = "m\(markCount)"
                    markCount += 1
                }
                chunk.endsResponse = remaining == 0
                chunks.append(chunk)
                time += .milliseconds(Int.random(in: 0...(2 * meanGap), using: &rng))
            }
        }
        // Anywhere from the start to a little after the last chunk.
        let lastArrival = time.nanoseconds + 200_000_000
        let clearTime = Instant(nanoseconds: Int64.random(in: 0...lastArrival, using: &rng))
        var trace = PacerFeed(chunks: chunks.filter { $0.at < clearTime })
            .run(pacer, until: clearTime - .nanoseconds(1))
        let before = trace.frames
        let report = pacer.clear(now: clearTime)
        for later in stride(from: 0, through: 2000, by: 5) { trace.poll(pacer, at: clearTime + .milliseconds(later)) }
        let after = trace.frames[before.count...]

        var accepted: [ResponseID: Int] = [:]
        for chunk in chunks where chunk.at < clearTime { accepted[chunk.response!, default: 0] += chunk.pcm.count }
        var played: [ResponseID: Int] = [:]
        for frame in before where frame.kind == .audio { played[frame.response!, default: 0] += frame.samples }
        for cut in report.responses {
            let id = try #require(cut.response)
            #expect(cut.samplesPlayed == played[id, default: 0])
            #expect(cut.samplesAccepted == accepted[id])
            #expect(!trace.finished.contains { $0.0 == id })
        }
        for (id, total) in trace.finished {
            #expect(total == accepted[id!] && total == played[id!])
        }
        #expect(report.responses.count + trace.finished.count == Set(accepted.keys).count)
        #expect(after.count <= 2 && after.allSatisfy { $0.kind != .audio })
        #expect((report.fadeOutDue != nil) == after.contains { $0.kind == .fadeOut })
        if let fade = after.first(where: { $0.kind == .fadeOut }) {
            #expect(fade.samples == report.responses.first?.fadeSamples && fade.due == report.fadeOutDue)
        }
        let sent = trace.markSent.map(\.name)
        let placed = chunks.filter { $0.at < clearTime }.compactMap(\.mark)
        #expect((sent + report.cancelledMarks).sorted() == placed.sorted())
        #expect(sent == placed.prefix(sent.count).map { $0 })
        #expect(pacer.nextDeadline == nil && !pacer.isActive)
    }

    /// When nothing is playing (audio queued but no frame sent yet, or an underrun waiting) clear sends no fade.
    @Test func clearBeforeAnyFrameSendsNothing() throws {
        let pacer = try T.pacer()
        pacer.enqueue([Int16](repeating: 500, count: 100), response: "a", now: .zero)  // less than a frame
        pacer.mark("x", now: .zero)
        let report = pacer.clear(now: T.time(ms: 5))
        #expect(report.responses.map(\.response) == ["a"])
        #expect(report.responses[0].samplesPlayed == 0 && report.responses[0].samplesDropped == 100)
        #expect(report.responses[0].fadeSamples == 0)
        #expect(report.cancelledMarks == ["x"] && report.fadeOutDue == nil)
        #expect(pacer.nextDeadline == nil && pacer.poll(now: T.time(ms: 100)) == nil)
    }

    @Test func clearDuringAnUnderrunSendsNoFade() throws {
        let pacer = try T.pacer()
        pacer.enqueue([Int16](repeating: 500, count: 320 + 100), response: "a", now: .zero)
        var trace = PacerTrace()
        trace.poll(pacer, at: .zero)
        #expect(trace.poll(pacer, at: T.time(ms: 20)).isEmpty)  // underrun: 100 samples, response open
        #expect(pacer.statistics.underruns == 1 && pacer.nextDeadline == nil)
        let report = pacer.clear(now: T.time(ms: 30))
        #expect(report.fadeOutDue == nil)
        #expect(report.responses[0].samplesPlayed == 320 && report.responses[0].samplesDropped == 100)
        #expect(pacer.nextDeadline == nil && !pacer.isActive)
        #expect(pacer.statistics.encoderResets == 1)
    }

    /// Two responses queued: the one playing and one behind it; both are in the report, in order.
    @Test func clearReportsEveryQueuedResponse() throws {
        let pacer = try T.pacer()
        pacer.enqueue([Int16](repeating: 800, count: 1000), response: "a", now: .zero)
        pacer.enqueue([Int16](repeating: 800, count: 700), response: "b", now: .zero)  // ends "a"
        var trace = PacerTrace()
        trace.runDeadlines(pacer, before: T.time(ms: 41))  // 0, 20, 40 ms: 960 samples of "a"
        #expect(trace.frames.count == 3)
        let report = pacer.clear(now: T.time(ms: 50))
        #expect(report.responses.map(\.response) == ["a", "b"])
        #expect(report.responses[0].samplesPlayed == 960)
        #expect(report.responses[0].fadeSamples == 40)  // only 40 samples of "a" were left to fade
        #expect(report.responses[0].samplesDropped == 0)
        #expect(report.responses[1].samplesPlayed == 0 && report.responses[1].samplesDropped == 700)
        #expect(pacer.poll(now: T.time(ms: 60))?.samples == 40)
        #expect(pacer.poll(now: T.time(ms: 80)) == nil)
    }

    /// A second clear before the fade frame went out leaves that fade in place and reports nothing new.
    @Test func secondClearKeepsThePendingFade() throws {
        let pacer = try T.pacer()
        pacer.enqueue([Int16](repeating: 800, count: 16_000), response: "a", now: .zero)
        #expect(pacer.poll(now: .zero) != nil)
        let first = pacer.clear(now: T.time(ms: 5))
        #expect(first.fadeOutDue == T.time(ms: 20))
        let second = pacer.clear(now: T.time(ms: 6))
        #expect(second.responses.isEmpty && second.fadeOutDue == nil)
        #expect(pacer.poll(now: T.time(ms: 20))?.kind == .fadeOut)
        #expect(pacer.poll(now: T.time(ms: 40)) == nil)
    }

    /// New audio after a clear follows the fade frame directly on the grid (no marker: the clock is contiguous);
    /// late chunks of the cut response are refused and counted.
    @Test func audioAfterClearFollowsTheFade() throws {
        let pacer = try T.pacer()
        pacer.enqueue([Int16](repeating: 800, count: 16_000), response: "old", now: .zero)
        _ = pacer.poll(now: .zero)
        pacer.clear(now: T.time(ms: 3))
        #expect(pacer.enqueue([Int16](repeating: 800, count: 500), response: "old", now: T.time(ms: 4)) == 0)
        #expect(pacer.statistics.samplesDroppedClearedResponse == 500)
        #expect(pacer.enqueue([Int16](repeating: 900, count: 640), response: "new", now: T.time(ms: 4)) == 640)
        var trace = PacerTrace()
        trace.runDeadlines(pacer, before: T.time(ms: 1000))
        #expect(trace.frames.map(\.kind) == [.fadeOut, .audio, .audio])
        #expect(trace.frames.map(\.response) == ["old", "new", "new"])
        #expect(trace.frames.map(\.due) == [20, 40, 60].map { T.time(ms: $0) })
        #expect(trace.frames.map(\.marker) == [false, false, false])
    }

    /// A zero clearFade is a hard cut: no frame at all after the clear.
    @Test func zeroClearFadeIsAHardCut() throws {
        let pacer = try T.pacer(configure: { $0.clearFade = .zero })
        pacer.enqueue([Int16](repeating: 800, count: 16_000), response: "a", now: .zero)
        _ = pacer.poll(now: .zero)
        let report = pacer.clear(now: T.time(ms: 10))
        #expect(report.fadeOutDue == nil && report.responses[0].fadeSamples == 0)
        #expect(report.responses[0].samplesDropped == 16_000 - 320)
        #expect(pacer.nextDeadline == nil && pacer.poll(now: T.time(ms: 20)) == nil)
        #expect(pacer.statistics.encoderResets == 1)
    }

    // MARK: Response ends and small chunks

    /// Chunks of 37 samples: the first frame is due when the chunk completing it arrives; the response's end
    /// pads the last partial frame, sent at once; `responseFinished` follows it.
    @Test func smallChunksAndPaddedEnd() throws {
        let pacer = try T.pacer()  // 16 kHz, 20 ms: 320 samples
        // A speech-like ending: the last 5 ms fade out (an abrupt stop would leave codec noise after it).
        var input = PacerSignal.tones(sampleRate: 16_000, count: 1110)
        for index in 1030..<1110 { input[index] = Int16(Double(input[index]) * Double(1110 - index) / 80) }
        var chunks: [PacerFeed.Chunk] = []
        // 30 chunks of 37 samples, one per millisecond: 1110 samples = 3 frames + 150.
        for index in 0..<30 {
            let pcm = Array(input[(index * 37)..<((index + 1) * 37)])
            chunks.append(.init(at: T.time(ms: index), pcm: pcm, response: "r"))
        }
        chunks[29].endsResponse = true
        let trace = PacerFeed(chunks: chunks).run(pacer, until: T.time(ms: 1000))
        // Frame 0 ready with the 9th chunk (9 × 37 = 333 ≥ 320) at 8 ms.
        #expect(trace.frames.map(\.due) == [8, 28, 48, 68].map { T.time(ms: $0) })
        #expect(trace.frames.map(\.samples) == [320, 320, 320, 150])
        #expect(pacer.statistics.paddingSamplesSent == 170)
        #expect(pacer.statistics.underruns == 0)
        #expect(trace.finished.count == 1 && trace.finished[0].1 == 1110)
        // The padding decodes to (near) silence at the end of the last frame, past the codec delay.
        let decoded = try PacerSignal.decode(trace.frames, sampleRate: .hz16000)
        #expect(decoded.count == 4 * 320)
        let level = PacerSignal.rms(input[...])
        #expect(PacerSignal.rms(decoded[(decoded.count - 40)...]) < level * 0.05)
    }

    @Test func endResponseSendsAPartialFrameAtOnce() throws {
        let pacer = try T.pacer()
        pacer.enqueue([Int16](repeating: 1000, count: 100), response: "r", now: T.time(ms: 7))
        #expect(pacer.nextDeadline == nil)
        pacer.endResponse(now: T.time(ms: 9))
        #expect(pacer.nextDeadline == T.time(ms: 9))
        let frame = try #require(pacer.poll(now: T.time(ms: 9)))
        #expect(frame.samples == 100 && frame.marker)
        #expect(pacer.pollEvent() == .responseFinished("r", samplesPlayed: 100))
        #expect(pacer.nextDeadline == nil && !pacer.isActive)
    }

    /// Audio of a new response ends the previous one: frames never mix responses and the next response follows
    /// on the same grid without a marker.
    @Test func backToBackResponsesStayContiguous() throws {
        let pacer = try T.pacer()
        pacer.enqueue([Int16](repeating: 1000, count: 500), response: "a", now: .zero)
        pacer.enqueue([Int16](repeating: 2000, count: 700), response: "b", now: .zero)
        pacer.endResponse(now: .zero)
        var trace = PacerTrace()
        trace.runDeadlines(pacer, before: T.time(ms: 1000))
        #expect(trace.frames.map(\.response) == ["a", "a", "b", "b", "b"])
        #expect(trace.frames.map(\.samples) == [320, 180, 320, 320, 60])
        #expect(trace.frames.map(\.rtpTimestamp) == [0, 960, 1920, 2880, 3840])
        #expect(trace.frames.map(\.marker) == [true, false, false, false, false])
        #expect(trace.finished.map(\.1) == [500, 700])
        #expect(trace.finished.map(\.0) == ["a", "b"])
    }

    /// A response arriving while the previous response's last frame still plays starts when that frame ends.
    @Test func nextTalkspurtNeverOverlapsTheLastFrame() throws {
        let pacer = try T.pacer()
        pacer.enqueue([Int16](repeating: 1000, count: 320), response: "a", now: .zero)
        pacer.endResponse(now: .zero)
        #expect(pacer.poll(now: .zero) != nil)
        // A flush is owed at 20 ms (the frame ended without silence), unless audio comes first: it does.
        #expect(pacer.isActive && pacer.nextDeadline == T.time(ms: 20))
        pacer.enqueue([Int16](repeating: 1000, count: 320), response: "b", now: T.time(ms: 5))
        #expect(pacer.nextDeadline == T.time(ms: 20))
        let frame = try #require(pacer.poll(now: T.time(ms: 20)))
        #expect(frame.kind == .audio && frame.response == "b")
        #expect(frame.rtpTimestamp == 960 && !frame.marker)
        #expect(pacer.statistics.flushFrames == 0)
    }

    /// After idle the next talkspurt starts at once, with the marker bit and an RTP timestamp that jumped by the
    /// real time elapsed.
    @Test(arguments: AudioFrameDuration.allCases)
    func idleGapSetsMarkerAndJumpsTimestamp(frame: AudioFrameDuration) throws {
        let pacer = try T.pacer(rate: .hz24000, frame: frame, configure: { $0.initialRTPTimestamp = 0xFFFF_0000 })
        pacer.enqueue([Int16](repeating: 1000, count: 24_000 / 5), response: "a", now: .zero)  // 200 ms
        pacer.endResponse(now: .zero)
        var trace = PacerTrace()
        trace.runDeadlines(pacer, before: T.time(ms: 10_000))
        let first = trace.frames.count
        #expect(first == 200 / frame.milliseconds + 1 && trace.frames.last?.kind == .flush && !pacer.isActive)
        let start = Instant(nanoseconds: 1_500_000_123)
        pacer.enqueue([Int16](repeating: 1000, count: 24_000 / 10), response: "b", now: start)  // 100 ms
        #expect(pacer.nextDeadline == start)
        pacer.endResponse(now: start)
        trace.runDeadlines(pacer, before: T.time(ms: 10_000))
        let second = Array(trace.frames[first...]).filter { $0.kind == .audio }
        #expect(second.count == 100 / frame.milliseconds)
        #expect(second[0].marker && second.dropFirst().allSatisfy { !$0.marker })
        #expect(second[0].due == start)
        // 1.500000123 s at 48 kHz is 72000.0059 ticks: the timestamp moves 72000 from the first frame's.
        #expect(second[0].rtpTimestamp == 0xFFFF_0000 &+ 72_000)
        for (k, sent) in second.enumerated() {
            #expect(sent.due == start + frame.duration * k)
            #expect(sent.rtpTimestamp == 0xFFFF_0000 &+ UInt32(72_000 + k * 48 * frame.milliseconds))
        }
        #expect(pacer.statistics.talkspurts == 2 && pacer.statistics.underruns == 0)
    }

    // MARK: Underruns and late polls

    /// A model slower than real time (one frame of audio every 30 ms for 20 ms frames): underruns are counted,
    /// the stream stays on its grid, and the RTP timestamp tracks the due time (skipped slots included).
    @Test func underrunsWhenTheModelIsSlow() throws {
        let pacer = try T.pacer()
        let input = PacerSignal.tones(sampleRate: 16_000, count: 320 * 20)
        var chunks: [PacerFeed.Chunk] = []
        for index in 0..<20 {
            let pcm = Array(input[(index * 320)..<((index + 1) * 320)])
            chunks.append(.init(at: T.time(ms: 30 * index), pcm: pcm, response: "s"))
        }
        chunks[19].endsResponse = true
        let trace = PacerFeed(chunks: chunks).run(pacer, until: T.time(ms: 10_000))
        #expect(trace.frames.count == 20 + 1)  // and the flush
        #expect(trace.frames.last?.kind == .flush && trace.frames.last?.due == T.time(ms: 600))
        for sent in trace.frames {
            let elapsed = sent.due - Instant.zero
            let slot = Int(elapsed.nanosecondsClamped / 20_000_000)
            #expect(elapsed.nanosecondsClamped % 20_000_000 == 0, "due \(sent.due) off the grid")
            #expect(sent.rtpTimestamp == UInt32(slot * 960))
        }
        // Arrivals at 0, 30, 60, 90 ...: frames at 0, 40, 60, 100, 120, 160 ...: every other frame waits a slot.
        #expect(trace.frames.prefix(6).map(\.due) == [0, 40, 60, 100, 120, 160].map { T.time(ms: $0) })
        #expect(trace.frames.prefix(6).map(\.marker) == [true, true, false, true, false, true])
        let stats = pacer.statistics
        // Each odd chunk (1, 3, ..., 19) arrives 10 ms after a deadline that found the queue empty.
        #expect(stats.underruns == 10 && stats.underrunFrames == 10)
        #expect(stats.samplesSent == 6400 && stats.talkspurts == 11 && stats.encoderResets == 0)
        #expect(trace.finished.count == 1)
    }

    /// An underrun is an open response running dry; an ended response running dry is idle, not an underrun.
    @Test func endingWhileStarvedFinishesWithoutAnotherUnderrun() throws {
        let pacer = try T.pacer()
        pacer.enqueue([Int16](repeating: 1000, count: 320), response: "r", now: .zero)
        #expect(pacer.poll(now: .zero) != nil)
        #expect(pacer.nextDeadline == T.time(ms: 20))
        #expect(pacer.poll(now: T.time(ms: 20)) == nil)
        #expect(pacer.statistics.underruns == 1 && pacer.isActive && pacer.nextDeadline == nil)
        pacer.endResponse(now: T.time(ms: 25))
        #expect(!pacer.isActive && pacer.nextDeadline == nil)
        var events: [PacerEvent] = []
        while let event = pacer.pollEvent() { events.append(event) }
        #expect(events == [.responseFinished("r", samplesPlayed: 320)])
        #expect(pacer.statistics.underruns == 1 && pacer.statistics.underrunFrames == 0)
        // The encoder still held the end of the audio before the underrun: replaced, so that it does not open
        // the next talkspurt.
        #expect(pacer.statistics.encoderResets == 1)
    }

    /// A starved response that ends with a partial frame resumes on its grid, padded, after the skipped slots.
    @Test func starvedResponseResumesWithItsPaddedEnd() throws {
        let pacer = try T.pacer()
        pacer.enqueue([Int16](repeating: 1000, count: 420), response: "a", now: .zero)
        var trace = PacerTrace()
        trace.poll(pacer, at: .zero)
        trace.poll(pacer, at: T.time(ms: 20))  // 100 samples, response open: underrun
        pacer.endResponse(now: T.time(ms: 45))
        #expect(pacer.nextDeadline == T.time(ms: 60))  // slots 20 and 40 skipped
        trace.poll(pacer, at: T.time(ms: 60))
        #expect(trace.frames.map(\.samples) == [320, 100])
        #expect(trace.frames.map(\.rtpTimestamp) == [0, 2880])
        #expect(trace.frames.map(\.marker) == [true, true])
        let stats = pacer.statistics
        #expect(stats.underruns == 1 && stats.underrunFrames == 2 && stats.encoderResets == 0)
        #expect(trace.finished.map(\.1) == [420])
        #expect(!pacer.isActive)  // 220 zeros end the frame: enough to flush the encoder, no extra frame
    }

    /// A new response after a starved one that had nothing left starts its own talkspurt at once, with a fresh
    /// encoder, rather than waiting for the old grid's next slot.
    @Test func newResponseAfterAStarvedOneStartsFresh() throws {
        let pacer = try T.pacer()
        pacer.enqueue([Int16](repeating: 1000, count: 320), response: "a", now: .zero)
        var trace = PacerTrace()
        trace.poll(pacer, at: .zero)
        trace.poll(pacer, at: T.time(ms: 20))  // underrun
        pacer.enqueue([Int16](repeating: 1000, count: 640), response: "b", now: T.time(ms: 33))
        #expect(pacer.nextDeadline == T.time(ms: 33))
        trace.poll(pacer, at: T.time(ms: 33))
        let frame = try #require(trace.frames.last)
        #expect(frame.response == "b" && frame.marker && frame.due == T.time(ms: 33))
        // 13 ms after the end of the last frame (20 ms): 960 + 13 × 48.
        #expect(frame.rtpTimestamp == 960 + 624)
        #expect(pacer.statistics.encoderResets == 1)
        #expect(trace.finished.map(\.0) == ["a"])
    }

    /// A response ending exactly on a frame boundary leaves its last 6.5 ms in the encoder: the flush frame
    /// delivers them (the decoded flush frame starts with the end of the tone, then falls silent).
    @Test func endFlushDeliversTheLastAudio() throws {
        let pacer = try T.pacer()
        let input = PacerSignal.tones(sampleRate: 16_000, count: 960)
        pacer.enqueue(input, response: "r", now: .zero)
        pacer.endResponse(now: .zero)
        var trace = PacerTrace()
        trace.runDeadlines(pacer, before: T.time(ms: 1000))
        #expect(trace.frames.map(\.kind) == [.audio, .audio, .audio, .flush])
        #expect(trace.frames.last?.response == "r" && trace.frames.last?.due == T.time(ms: 60))
        #expect(trace.finished.count == 1 && !pacer.isActive)
        let decoded = try PacerSignal.decode(trace.frames, sampleRate: .hz16000)
        let level = PacerSignal.rms(input[...])
        #expect(PacerSignal.rms(decoded[960..<(960 + 48)]) > level * 0.5)  // 3 ms of the tone's end
        #expect(PacerSignal.rms(decoded[(960 + 160)...]) < level * 0.2)
    }

    /// Polled late, the pacer still returns every due frame in order, with its scheduled time; frames a whole
    /// frame duration late are counted.
    @Test func latePollsReturnDueFramesInOrder() throws {
        let pacer = try T.pacer()
        pacer.enqueue([Int16](repeating: 1000, count: 16_000), response: "r", now: .zero)
        var trace = PacerTrace()
        trace.poll(pacer, at: .zero)
        let burst = trace.poll(pacer, at: T.time(ms: 105))  // due: 20, 40, 60, 80, 100
        #expect(burst.map(\.due) == [20, 40, 60, 80, 100].map { T.time(ms: $0) })
        #expect(burst.map(\.isLate) == [true, true, true, true, false])
        #expect(burst.map(\.rtpTimestamp) == [960, 1920, 2880, 3840, 4800])
        #expect(pacer.statistics.lateFrames == 4)
        #expect(pacer.nextDeadline == T.time(ms: 120))
    }

    // MARK: Marks

    @Test func marksCarryExactTimesAndTimestamps() throws {
        let pacer = try T.pacer(rate: .hz48000, frame: .milliseconds10)  // 480 samples per frame
        pacer.mark("before-anything", now: T.time(ms: 1))  // nothing queued: reached at once
        pacer.enqueue([Int16](repeating: 1000, count: 100), response: "r", now: T.time(ms: 2))
        pacer.mark("at-100", now: T.time(ms: 2))
        pacer.enqueue([Int16](repeating: 1000, count: 860), response: "r", now: T.time(ms: 2))
        pacer.mark("at-960", now: T.time(ms: 2))  // exactly the end of frame 1
        var trace = PacerTrace()
        trace.runDeadlines(pacer, before: T.time(ms: 100))
        #expect(trace.frames.map(\.completedMarks) == [["at-100"], ["at-960"]])
        // Placed after everything was sent: reached when the last sent sample has played.
        pacer.mark("after-all", now: T.time(ms: 50))
        trace.drainEvents(pacer)
        let marks = trace.markSent
        #expect(marks.map(\.name) == ["before-anything", "at-100", "at-960", "after-all"])
        #expect(marks[0].at == T.time(ms: 1) && marks[0].rtpTimestamp == 0)
        // 100 samples at 48 kHz = 2.083333 ms after the frame's due time (2 ms).
        #expect(marks[1].at == T.time(ms: 2) + .nanoseconds(2_083_333) && marks[1].rtpTimestamp == 100)
        #expect(marks[2].at == T.time(ms: 22) && marks[2].rtpTimestamp == 960)
        #expect(marks[3].at == T.time(ms: 22) && marks[3].rtpTimestamp == 960)
        #expect(pacer.statistics.marksSent == 4)
    }

    // MARK: Limits

    /// Audio beyond maxQueuedDuration is dropped from the end of the chunk and counted; room freed by sent frames
    /// is usable again.
    @Test func overflowBeyondMaxQueuedDurationIsCounted() throws {
        let pacer = try T.pacer(configure: { $0.maxQueuedDuration = .seconds(1) })
        #expect(pacer.enqueue([Int16](repeating: 1, count: 24_000), response: "r", now: .zero) == 16_000)
        var stats = pacer.statistics
        #expect(stats.samplesDroppedQueueFull == 8000 && stats.samplesQueued == 16_000 && stats.framesQueued == 50)
        #expect(stats.queuedMilliseconds == 1000 && pacer.queuedDuration == .seconds(1))
        #expect(pacer.enqueue([Int16](repeating: 1, count: 10), response: "r", now: .zero) == 0)
        var trace = PacerTrace()
        trace.runDeadlines(pacer, before: T.time(ms: 50))  // 0, 20, 40: 960 samples out
        #expect(pacer.enqueue([Int16](repeating: 1, count: 1000), response: "r", now: T.time(ms: 50)) == 960)
        stats = pacer.statistics
        #expect(stats.samplesDroppedQueueFull == 8000 + 10 + 40)
        #expect(stats.maxQueuedMillisecondsSeen == 1000)
    }

    /// A mark at the end of a padded last frame is reached when the model audio ends, not the padding.
    @Test func markAfterPaddedEndIsTheEndOfTheAudio() throws {
        let pacer = try T.pacer(rate: .hz8000)  // 160 samples per frame
        pacer.enqueue([Int16](repeating: 1000, count: 200), response: nil, now: .zero)
        pacer.mark("end", now: .zero)
        pacer.endResponse(now: .zero)
        var trace = PacerTrace()
        trace.runDeadlines(pacer, before: T.time(ms: 1000))
        #expect(trace.frames.map(\.samples) == [160, 40])
        #expect(trace.frames.map(\.response) == [nil, nil])
        let mark = try #require(trace.markSent.first)
        #expect(mark.name == "end" && mark.at == T.time(ms: 25) && mark.rtpTimestamp == 1200)
        #expect(trace.events.last == .responseFinished(nil, samplesPlayed: 200))
        #expect(pacer.enqueue([], response: nil, now: T.time(ms: 50)) == 0)
        #expect(pacer.nextDeadline == nil)
    }

    @Test func statisticsEncodeForTheSessionReport() throws {
        let pacer = try T.pacer()
        pacer.enqueue([Int16](repeating: 1000, count: 640), response: "r", now: .zero)
        _ = pacer.poll(now: .zero)
        let json = String(decoding: try JSONEncoder().encode(pacer.statistics), as: UTF8.self)
        for key in ["framesSent", "samplesSent", "framesQueued", "queuedMilliseconds", "maxQueuedMillisecondsSeen",
            "clears", "underruns", "lateFrames", "samplesDroppedQueueFull", "marksSent", "marksCancelled",
            "encoderErrors", "dtxFrames"]
        {
            #expect(json.contains("\"\(key)\""), "\(key) missing from \(json)")
        }
        let decoded = try JSONDecoder().decode(DownlinkStatistics.self, from: Data(json.utf8))
        #expect(decoded == pacer.statistics)
        #expect(decoded.framesSent == 1 && decoded.framesQueued == 1 && decoded.queuedMilliseconds == 20)
        #expect(String(decoding: try JSONEncoder().encode(ResponseID("resp_1")), as: UTF8.self) == "\"resp_1\"")
    }

    @Test func eventQueueOverflowIsCounted() throws {
        let pacer = try T.pacer(configure: { $0.eventQueueCapacity = 2 })
        for name in ["a", "b", "c"] { pacer.mark(name, now: .zero) }
        #expect(pacer.statistics.eventsDropped == 1)
        #expect(pacer.pollEvent() == .markSent(name: "a", at: .zero, rtpTimestamp: 0))
        #expect(pacer.pollEvent() == .markSent(name: "b", at: .zero, rtpTimestamp: 0))
        #expect(pacer.pollEvent() == nil)
    }

    @Test func dtxFramesAreFlaggedAndCounted() throws {
        let pacer = try T.pacer(configure: { $0.encoder.dtx = true })
        pacer.enqueue([Int16](repeating: 0, count: 16_000), response: "quiet", now: .zero)
        pacer.endResponse(now: .zero)
        var trace = PacerTrace()
        trace.runDeadlines(pacer, before: T.time(ms: 2000))
        #expect(trace.frames.count == 50 + 1)  // and the flush (also silence)
        // libopus 1.3: 10 ordinary frames (200 ms) of silence, then single TOC bytes, with one comfort-noise
        // update after 20 of them (frame 30).
        #expect(trace.frames.map(\.isDTX) == trace.frames.map { $0.payload.count == 1 })
        #expect(trace.frames.filter(\.isDTX).count == 51 - 10 - 1)
        #expect(pacer.statistics.dtxFrames == 40)
    }

    // MARK: Holding

    /// A greeting of 1 s with a mark at its end, sent at t = 0 while the caller is not connected: nothing is due
    /// while held; released at t = 3 s, it plays whole from there on the grid (no burst of late frames), and the
    /// mark is reported when its audio has played after the release.
    @Test func heldAudioPlaysWholeFromTheRelease() throws {
        let pacer = try T.pacer(rate: .hz16000)
        pacer.hold()
        #expect(pacer.isHeld)
        let greeting = PacerSignal.tones(sampleRate: 16_000, count: 16_000)
        #expect(pacer.enqueue(greeting, response: "hello", now: .zero) == 16_000)
        pacer.mark("greeting-end", now: .zero)
        pacer.endResponse(now: .zero)
        #expect(pacer.nextDeadline == nil && !pacer.isActive)
        var trace = PacerTrace()
        #expect(trace.poll(pacer, at: T.time(ms: 2_999)).isEmpty)
        #expect(trace.markSent.isEmpty && trace.finished.isEmpty)
        #expect(pacer.statistics.samplesQueued == 16_000)

        let release = T.time(ms: 3_000)
        pacer.release(now: release)
        #expect(!pacer.isHeld && pacer.nextDeadline == release)
        trace.runDeadlines(pacer, before: T.time(ms: 10_000))
        // 50 frames of audio and the flush, one per 20 ms from the release; none late.
        try #require(trace.frames.count == 51)
        for (k, sent) in trace.frames.enumerated() {
            #expect(sent.due == release + .milliseconds(20 * k))
            #expect(!sent.isLate)
        }
        #expect(pacer.statistics.lateFrames == 0 && pacer.statistics.samplesSent == 16_000)
        #expect(trace.markSent.map(\.name) == ["greeting-end"])
        #expect(trace.markSent.first?.at == release + .seconds(1))
        #expect(trace.finished.count == 1 && trace.finished.first?.1 == 16_000)
        // Released again: nothing changes.
        pacer.release(now: T.time(ms: 10_000))
        #expect(pacer.nextDeadline == nil)
    }

    /// A hold stops no talkspurt that is playing; it only keeps new ones from starting.
    @Test func holdLetsAPlayingTalkspurtFinish() throws {
        let pacer = try T.pacer(rate: .hz16000)
        pacer.enqueue(PacerSignal.tones(sampleRate: 16_000, count: 3_200), response: "a", now: .zero)
        pacer.endResponse(now: .zero)
        var trace = PacerTrace()
        trace.poll(pacer, at: .zero)
        pacer.hold()
        trace.runDeadlines(pacer, before: T.time(ms: 1_000))
        #expect(trace.frames.filter { $0.kind == .audio }.count == 10)
        pacer.enqueue(PacerSignal.tones(sampleRate: 16_000, count: 3_200), response: "b", now: T.time(ms: 1_000))
        #expect(pacer.nextDeadline == nil)
        pacer.release(now: T.time(ms: 1_500))
        #expect(pacer.nextDeadline == T.time(ms: 1_500))
    }

    @Test func invalidConfigurationsAreRejected() {
        func check(_ expected: DownlinkPacerError, _ change: (inout DownlinkPacer.Configuration) -> Void) {
            var configuration = DownlinkPacer.Configuration()
            change(&configuration)
            #expect(throws: expected) { try configuration.validate() }
            #expect(throws: expected) { _ = try DownlinkPacer(configuration: configuration) }
        }
        check(.invalidComplexity(11)) { $0.encoder.complexity = 11 }
        check(.invalidComplexity(-1)) { $0.encoder.complexity = -1 }
        check(.invalidBitrate(5999)) { $0.encoder.bitsPerSecond = 5999 }
        check(.invalidBitrate(510_001)) { $0.encoder.bitsPerSecond = 510_001 }
        check(.invalidExpectedPacketLoss(101)) { $0.encoder.expectedPacketLossPercent = 101 }
        check(.invalidMaxQueuedDuration(.milliseconds(19))) { $0.maxQueuedDuration = .milliseconds(19) }
        check(.invalidMaxQueuedDuration(.seconds(601))) { $0.maxQueuedDuration = .seconds(601) }
        check(.invalidClearFade(.milliseconds(21))) { $0.clearFade = .milliseconds(21) }
        check(.invalidClearFade(.milliseconds(-1))) { $0.clearFade = .milliseconds(-1) }
        check(.invalidEventQueueCapacity(0)) { $0.eventQueueCapacity = 0 }
    }

    @Test func defaults() throws {
        let configuration = DownlinkPacer.Configuration()
        #expect(configuration.encoder.complexity == 5 && configuration.encoder.bitsPerSecond == 32_000)
        #expect(configuration.encoder.inBandFEC && !configuration.encoder.dtx)
        #expect(configuration.maxQueuedDuration == .seconds(60) && configuration.clearFade == .milliseconds(5))
        #expect(configuration.clearFadeSamples == 80 && configuration.maxQueuedSamples == 960_000)
        try configuration.validate()
    }
}
