import EarshotAudio
import EarshotWire
import Testing

/// `PacedFrame.enqueued`: when a frame's first sample entered the pacer, so the relay can time the `pacer` hop.
@Suite struct PacerEnqueueTimeTests {
    typealias T = PacerTest

    /// Real-time chunks of 20 ms at 16 kHz, each enqueued 7 ms into its slot, with a 30 ms start delay: each
    /// frame's audio is dated by the chunk that holds its first sample.
    @Test func framesCarryTheirAudiosEnqueueTime() throws {
        let pacer = try T.pacer(configure: { $0.startDelay = .milliseconds(30) })
        var frames: [PacedFrame] = []
        for k in 0..<20 {
            let now = T.time(ms: 20 * k + 7)
            pacer.enqueue(PacerSignal.tones(sampleRate: 16_000, count: 320, startingAt: 320 * k), response: nil, now: now)
            for ms in stride(from: 20 * k + 7, to: 20 * k + 27, by: 1) {
                while let frame = pacer.poll(now: T.time(ms: ms)) { frames.append(frame) }
            }
        }
        try #require(frames.count >= 18)
        for (index, frame) in frames.enumerated() {
            #expect(frame.kind == .audio)
            #expect(frame.enqueued == T.time(ms: 20 * index + 7))
            #expect(frame.due - (frame.enqueued ?? .zero) == .milliseconds(30))
        }
    }

    /// Chunks that do not line up with frames (7 ms every 7 ms): a frame is dated by the newest chunk that starts
    /// inside it, less that chunk's offset in the frame (the time from its arrival until its first sample plays);
    /// by the chunk holding its first sample when none starts inside it.
    @Test func unalignedChunksDateTheFrameByTheNewestChunkInIt() throws {
        let pacer = try T.pacer(configure: { $0.startDelay = .milliseconds(20) })
        var frames: [PacedFrame] = []
        var chunks: [(start: Int, at: Instant)] = []
        var position = 0
        for k in 0..<60 {
            let now = T.time(ms: 7 * k)
            chunks.append((position, now))
            pacer.enqueue(PacerSignal.tones(sampleRate: 16_000, count: 112, startingAt: position), response: nil, now: now)
            position += 112
            while let frame = pacer.poll(now: now) { frames.append(frame) }
        }
        try #require(frames.count >= 15)
        for (index, frame) in frames.enumerated() {
            let first = 320 * index
            let expected: Instant?
            if let newest = chunks.last(where: { $0.start > first && $0.start < first + 320 }) {
                expected = newest.at - .microseconds(Int64(newest.start - first) * 1_000_000 / 16_000)
            } else {
                expected = chunks.last { $0.start <= first }?.at
            }
            #expect(frame.enqueued == expected)
            // Chunks arrive in real time here, so every frame reports the same wait: the start delay, plus the
            // 14 ms the first frame took to fill (two more chunks after the first).
            #expect(frame.due - (frame.enqueued ?? .zero) == .milliseconds(34))
        }
    }

    /// After a clear the dates start again with the next audio.
    @Test func clearForgetsQueuedDates() throws {
        let pacer = try T.pacer()
        pacer.enqueue(PacerSignal.tones(sampleRate: 16_000, count: 3200), response: "a", now: T.time(ms: 0))
        let first = try #require(pacer.poll(now: T.time(ms: 0)))
        #expect(first.enqueued == T.time(ms: 0))
        _ = pacer.clear(now: T.time(ms: 5))
        var afterClear: [PacedFrame] = []
        for ms in 5..<100 { while let frame = pacer.poll(now: T.time(ms: ms)) { afterClear.append(frame) } }
        pacer.enqueue(PacerSignal.tones(sampleRate: 16_000, count: 640), response: "b", now: T.time(ms: 200))
        var next: [PacedFrame] = []
        for ms in 200..<260 { while let frame = pacer.poll(now: T.time(ms: ms)) { next.append(frame) } }
        #expect(afterClear.allSatisfy { $0.kind != .audio })
        let audio = next.filter { $0.kind == .audio }
        #expect(audio.count == 2)
        #expect(audio.allSatisfy { $0.enqueued == T.time(ms: 200) })
    }
}
