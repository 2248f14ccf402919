import Testing

/// The echo check of the interop tests on made-up measurements: it must find a delayed copy at its delay, tolerate
/// a few bad frames, and refuse silence, a different sequence, and a copy heard before it was sent.
struct EchoCorrelationTests {
    static let tones: [Double] = [400, 600, 800, 1000, 1200, 1400, 1600, 1800]

    /// `segments` tones of 15 frames each (300 ms at 20 ms), chosen by a fixed linear congruential generator, no
    /// tone twice in a row: the shape of the interop test sound.
    static func sequence(segments: Int, seed: UInt32) -> [ToneFrame] {
        var state = seed
        var frames: [ToneFrame] = []
        var last = -1
        for _ in 0..<segments {
            var index: Int
            repeat {
                state = state &* 1_664_525 &+ 1_013_904_223  // Numerical Recipes LCG constants
                index = Int(state >> 16) % tones.count
            } while index == last
            last = index
            frames += Array(repeating: ToneFrame(hz: tones[index], dBFS: -9), count: 15)
        }
        return frames
    }

    static let silence = ToneFrame(hz: 0, dBFS: -200)

    static func delayed(_ frames: [ToneFrame], by lag: Int, tail: Int = 35) -> [ToneFrame] {
        Array(repeating: silence, count: lag) + frames + Array(repeating: silence, count: tail)
    }

    @Test func findsADelayedCopyAtItsLag() throws {
        let sent = Self.sequence(segments: 20, seed: 1)
        let match = try #require(
            EchoCorrelation.match(sent: sent, received: Self.delayed(sent, by: 4), compareFrames: sent.count,
                                  maximumLag: 50))
        #expect(match.lag == 4)
        #expect(match.ratio == 1)
        #expect(match.compared == sent.count)
        #expect(match.nextBestRatio < 0.5)
    }

    @Test func toleratesSmallFrequencyErrorsAndAFewBadFrames() throws {
        let sent = Self.sequence(segments: 20, seed: 2)
        var received = Self.delayed(sent, by: 2)
        for i in received.indices where received[i].hz > 0 { received[i].hz += 20 }  // under one FFT bin off
        for i in stride(from: 10, to: received.count, by: 10) { received[i] = Self.silence }  // every 10th lost
        let match = try #require(
            EchoCorrelation.match(sent: sent, received: received, compareFrames: sent.count, maximumLag: 50))
        #expect(match.lag == 2)
        #expect(match.ratio > 0.85 && match.ratio < 0.95)
    }

    @Test func silenceMatchesNothing() throws {
        let sent = Self.sequence(segments: 20, seed: 3)
        let received = Array(repeating: Self.silence, count: sent.count + 50)
        let match = try #require(
            EchoCorrelation.match(sent: sent, received: received, compareFrames: sent.count, maximumLag: 50))
        #expect(match.ratio == 0)
    }

    @Test func anotherSequenceMatchesAboutByChance() throws {
        let sent = Self.sequence(segments: 20, seed: 4)
        let other = Self.sequence(segments: 24, seed: 99)
        let match = try #require(
            EchoCorrelation.match(sent: sent, received: other, compareFrames: sent.count, maximumLag: 50))
        // Eight tones: 1/8 by chance; the best of 51 lags, and each window's best of 17 near it, do better, but
        // nowhere near an echo.
        #expect(match.singleLagRatio < 0.5)
        #expect(match.ratio < 0.5)
    }

    @Test func followsAJitterBufferThatShortensItsDelay() throws {
        // 9 frames of delay for the first 3 s, then 2 (the receiver dropped 7 frames to catch up), as Chromium's
        // NetEq does after start-up. No single lag fits both parts; each window finds its own.
        let sent = Self.sequence(segments: 20, seed: 9)
        var received = Array(repeating: Self.silence, count: 9)
        for i in 9..<(sent.count + 40) {
            let lag = i < 159 ? 9 : 2
            received.append(i - lag < sent.count ? sent[i - lag] : Self.silence)
        }
        let match = try #require(
            EchoCorrelation.match(sent: sent, received: received, compareFrames: sent.count, maximumLag: 50))
        #expect(match.singleLagRatio < 0.85)
        #expect(match.ratio > 0.97)
        #expect(match.lagRange == 2...9)
    }

    @Test func soundHeardBeforeItWasSentIsNotAnEcho() throws {
        // The received copy leads the sent one by 8 frames: no non-negative lag lines them up. The nearest, lag 0,
        // still overlaps 7 of every 15 frames of a tone.
        let sent = Self.sequence(segments: 20, seed: 5)
        let received = Array(sent.dropFirst(8)) + Array(repeating: Self.silence, count: 40)
        let match = try #require(
            EchoCorrelation.match(sent: sent, received: received, compareFrames: sent.count, maximumLag: 50))
        #expect(match.lag == 0)
        #expect(match.singleLagRatio < EchoCorrelation.requiredRatio)
        #expect(match.ratio < EchoCorrelation.requiredRatio)
    }

    @Test func neighbouringLagsOverlapWithinATone() throws {
        // Off by d frames, a copy still matches about 1 − d/15 of the frames: the next best rival is looked for
        // beyond one tone's length.
        let sent = Self.sequence(segments: 20, seed: 8)
        let match = try #require(
            EchoCorrelation.match(sent: sent, received: Self.delayed(sent, by: 20), compareFrames: sent.count,
                                  maximumLag: 50))
        #expect(match.lag == 20)
        #expect(abs(match.nextBestLag - 20) > EchoCorrelation.separation)
        #expect(match.nextBestRatio < 0.5)
    }

    @Test func onlyFramesSentBeforeTheStopCount() throws {
        // After the stop the sender's own tap still hears the tone, but nothing more goes out: those frames are
        // outside the comparison, so the silent end of the echo is no miss.
        let sent = Self.sequence(segments: 20, seed: 6)
        let stop = 200
        let received = Self.delayed(Array(sent[..<stop]), by: 3, tail: sent.count)
        let match = try #require(
            EchoCorrelation.match(sent: sent, received: received, compareFrames: stop, maximumLag: 50))
        #expect(match.lag == 3)
        #expect(match.compared == stop)
        #expect(match.ratio == 1)
    }

    @Test func tooFewFramesGiveNoVerdict() {
        let sent = Self.sequence(segments: 2, seed: 7)
        #expect(EchoCorrelation.match(sent: sent, received: sent, compareFrames: sent.count, maximumLag: 5) == nil)
    }

    @Test func driverPairsDecode() {
        #expect(ToneFrame(pair: [1200.5, -9.1]) == ToneFrame(hz: 1200.5, dBFS: -9.1))
        #expect(ToneFrame(pair: [1200.5]) == nil)
        #expect(ToneFrame(hz: 800, dBFS: -45).hasTone == false)
        #expect(ToneFrame(hz: 0, dBFS: -9).hasTone == false)
    }
}
