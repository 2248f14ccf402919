import EarshotAudio
import EarshotWire
import Testing

/// The standing-backlog trimmer alone, then feeding a real pacer on virtual time as the relay's echo does.
@Suite struct StandingBacklogTrimmerTests {
    static func ms(_ value: Int) -> Instant { Instant.zero + .milliseconds(value) }

    @Test func trimsOnlyWhatStoodOverAWholeWindow() {
        var trimmer = StandingBacklogTrimmer(target: .milliseconds(20), frame: .milliseconds(20))
        // A second of waits of 45–60 ms: 25 ms beyond the target stood the whole time; a frame at most is cut.
        var cuts: [Int: Duration] = [:]
        for k in 0...50 {
            let cut = trimmer.trim(wait: .milliseconds(45 + (k * 7) % 16), now: Self.ms(20 * k))
            if cut > .zero { cuts[k] = cut }
        }
        #expect(cuts == [50: .milliseconds(20)])
        // The next second's shortest wait is 32 ms: 12 ms stood, 12 ms are cut.
        for k in 51...100 {
            let cut = trimmer.trim(wait: .milliseconds(k == 70 ? 32 : 40), now: Self.ms(20 * k))
            if cut > .zero { cuts[k] = cut }
        }
        #expect(cuts == [50: .milliseconds(20), 100: .milliseconds(12)])
        // Then 4 ms beyond the target: less than the minimum trim, left alone.
        for k in 101...151 {
            let cut = trimmer.trim(wait: .milliseconds(24), now: Self.ms(20 * k))
            #expect(cut == .zero)
        }
        #expect(trimmer.trims == 2 && trimmer.trimmed == .milliseconds(32))
        // After a reset the window starts again at the next chunk.
        trimmer.reset()
        let decisions = [5_000, 5_980, 6_000].map { trimmer.trim(wait: .milliseconds(30), now: Self.ms($0)) }
        #expect(decisions == [.zero, .zero, .milliseconds(10)])
    }

    /// Frames of 20 ms arriving at `arrivals` (in order), fed to a pacer with a 20 ms start delay the way the relay's
    /// echo feeds it: what is due is sent first, then the arriving frame is queued, less what the trimmer cuts.
    /// Returns the wait the trimmer saw at each arrival, the audio cut, and the pacer's underruns.
    static func echo(arrivals: [Instant], trim: Bool) throws
        -> (waits: [(at: Instant, wait: Duration)], trimmed: Duration, underruns: Int, samplesSent: Int)
    {
        let rate = 16_000
        var configuration = DownlinkPacer.Configuration(
            format: PCMFormat(sampleRate: .hz16000, frameDuration: .milliseconds20))
        configuration.startDelay = .milliseconds(20)
        let pacer = try DownlinkPacer(configuration: configuration)
        var trimmer = StandingBacklogTrimmer(target: .milliseconds(20), frame: .milliseconds(20))
        var waits: [(Instant, Duration)] = []
        func poll(_ now: Instant) {
            while pacer.poll(now: now) != nil {}
            while pacer.pollEvent() != nil {}
        }
        let pcm = PacerSignal.tones(sampleRate: rate, count: 320)
        for arrival in arrivals {
            // A frame due at the arrival's instant is still queued, as when the packet is read before the timer.
            while let deadline = pacer.nextDeadline, deadline < arrival { poll(deadline) }
            var skip = 0
            if let wait = pacer.expectedWait(now: arrival) {
                waits.append((arrival, wait))
                if trim { skip = Int(trimmer.trim(wait: wait, now: arrival).nanosecondsClamped * Int64(rate) / 1_000_000_000) }
            } else {
                trimmer.reset()
            }
            if skip < pcm.count { pacer.enqueue(Array(pcm[skip...]), response: nil, now: arrival) }
            poll(arrival)
        }
        pacer.endResponse(now: arrivals.last ?? .zero)  // the input ends: no underrun after its last frame
        let end = (arrivals.last ?? .zero) + .seconds(1)
        while let deadline = pacer.nextDeadline, deadline <= end { poll(deadline) }
        let statistics = pacer.statistics
        return (waits, trimmer.trimmed, statistics.underruns, statistics.samplesSent)
    }

    @Test func aBurstAtTheStartNoLongerStandsForTheWholeCall() throws {
        // Three frames at once (a burst after the caller's stall), then one every 20 ms: 40 ms more than needed.
        let arrivals = [Self.ms(0), Self.ms(0)] + (0..<500).map { Self.ms(20 * $0) }
        let untrimmed = try Self.echo(arrivals: arrivals, trim: false)
        #expect(untrimmed.waits.suffix(100).allSatisfy { $0.wait == .milliseconds(60) })
        let trimmed = try Self.echo(arrivals: arrivals, trim: true)
        #expect(trimmed.trimmed == .milliseconds(40))
        #expect(trimmed.underruns == 0)
        #expect(trimmed.samplesSent == untrimmed.samplesSent - 640)
        // Two seconds in, everything waits the start delay, as in a call without the burst.
        let late = trimmed.waits.filter { $0.at > Self.ms(2_100) }
        #expect(!late.isEmpty && late.allSatisfy { $0.wait == .milliseconds(20) }, "\(late.prefix(3))")
    }

    @Test func aLateFirstPacketLeavesLessThanAFrameThatIsTrimmedToo() throws {
        // The first packet 15 ms late, the others on time: every later frame would wait 35 ms, not 20.
        let arrivals = [Self.ms(15)] + (1..<500).map { Self.ms(20 * $0) }
        let untrimmed = try Self.echo(arrivals: arrivals, trim: false)
        #expect(untrimmed.waits.suffix(100).allSatisfy { $0.wait == .milliseconds(35) })
        let trimmed = try Self.echo(arrivals: arrivals, trim: true)
        #expect(trimmed.trimmed == .milliseconds(15))
        #expect(trimmed.underruns == 0)
        let late = trimmed.waits.filter { $0.at > Self.ms(1_100) }
        #expect(!late.isEmpty && late.allSatisfy { $0.wait == .milliseconds(20) }, "\(late.prefix(3))")
    }

    @Test func theExpectedWaitIsTheSameBeforeAndAfterADueFrameLeaves() throws {
        let pacer = try PacerTest.pacer(configure: { $0.startDelay = .milliseconds(20) })
        pacer.enqueue(PacerSignal.tones(sampleRate: 16_000, count: 960), response: nil, now: .zero)
        pacer.enqueue(PacerSignal.tones(sampleRate: 16_000, count: 100), response: nil, now: .zero)
        // Frames due at 20, 40, 60 ms; 100 samples (6.25 ms) into the frame due at 80 ms.
        #expect(pacer.expectedWait(now: .zero) == .milliseconds(80) + .microseconds(6250))
        let before = pacer.expectedWait(now: Self.ms(40))
        #expect(pacer.poll(now: Self.ms(40)) != nil && pacer.poll(now: Self.ms(40)) != nil)
        #expect(before == .milliseconds(40) + .microseconds(6250))
        #expect(pacer.expectedWait(now: Self.ms(40)) == before)
        // Held, or idle: no running talkspurt to wait behind.
        pacer.hold()
        #expect(pacer.expectedWait(now: Self.ms(40)) == nil)
        #expect(try PacerTest.pacer().expectedWait(now: .zero) == nil)
    }

    @Test(arguments: [UInt64(1), 2, 3, 4, 5])
    func jitterAloneIsNotTrimmed(seed: UInt64) throws {
        // Every frame 0–20 ms late, order kept, for 10 s, the first one on time: the waits swing, none stands.
        var random = SplitMix64(seed: seed)
        var last = Instant.zero
        let arrivals = (0..<500).map { k -> Instant in
            let delay = k == 0 ? 0 : Int64.random(in: 0...20_000, using: &random)
            let arrival = max(last, Self.ms(20 * k) + .microseconds(delay))
            last = arrival
            return arrival
        }
        let result = try Self.echo(arrivals: arrivals, trim: true)
        #expect(result.trimmed == .zero)
        #expect(result.underruns == 0)
    }
}
