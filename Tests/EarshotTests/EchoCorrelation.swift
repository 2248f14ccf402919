/// One measurement of a sound every 20 ms: the dominant frequency (0 when the frame holds no clear tone) and the RMS
/// level in dBFS.
struct ToneFrame: Sendable, Hashable {
    var hz: Double
    var dBFS: Double

    /// `[hz, dBFS]` as the interop driver prints it.
    init?(pair: [Double]) {
        guard pair.count == 2 else { return nil }
        hz = pair[0]
        dBFS = pair[1]
    }

    init(hz: Double, dBFS: Double) {
        self.hz = hz
        self.dBFS = dBFS
    }

    /// Frames quieter than this carry no signal. The test tones are at -9 dBFS RMS (amplitude 0.5); silence from
    /// a stopped stream measures far below (-200 dBFS for digital zero), Opus comfort noise near -60 dBFS.
    static let signalThreshold = -40.0

    var hasTone: Bool { hz > 0 && dBFS >= Self.signalThreshold }
}

/// How well what came back matches what was sent.
struct EchoMatch: Sendable, Hashable {
    /// The one lag that fits the whole call best: received frame i is compared with sent frame i − lag.
    var lag: Int
    /// The ratio at that single lag.
    var singleLagRatio: Double
    /// Per window of `EchoCorrelation.window` sent frames: its own best lag near `lag`, and how many of its sent
    /// frames (with a tone) were compared and came back with the same tone.
    var windows: [Window]
    /// The best single-lag ratio more than `EchoCorrelation.separation` frames away from `lag`: an echo of a
    /// non-repeating tone sequence matches at one lag only, so this stays near chance (1/8 for eight tones).
    var nextBestRatio: Double
    var nextBestLag: Int

    struct Window: Sendable, Hashable {
        var lag: Int
        var compared: Int
        var matched: Int
    }

    var compared: Int { windows.reduce(0) { $0 + $1.compared } }
    var matched: Int { windows.reduce(0) { $0 + $1.matched } }
    /// Matched over compared, every window at its own lag.
    var ratio: Double { compared == 0 ? 0 : Double(matched) / Double(compared) }
    var lagRange: ClosedRange<Int> {
        (windows.map(\.lag).min() ?? lag)...(windows.map(\.lag).max() ?? lag)
    }
}

/// Finds the lag at which the dominant-frequency sequence of the received sound matches the sent one.
///
/// A sent frame counts when it holds a tone and was taken while the sender was sending (its index is below
/// `compareFrames`) and the received frame `lag` later was measured at all; it matches when the received frame
/// holds a tone within `frequencyTolerance` of the sent one. A received frame that is silent or holds another
/// tone is a miss, so lost or garbled audio lowers the ratio.
///
/// A receiver's jitter buffer changes its delay during a call (Chromium's NetEq starts with a larger delay and
/// shortens it over the first seconds), so after the best single lag is found, each window of `window` frames
/// takes its own best lag within `drift` frames of it, and the ratio sums over the windows.
enum EchoCorrelation {
    /// The test tones are 200 Hz apart and both measurements place a pure tone within one 2048-point FFT bin
    /// (23.4 Hz at 48 kHz) or exactly (Goertzel on the tone frequencies), so ±50 Hz separates neighbours cleanly.
    static let frequencyTolerance = 50.0
    /// Lags this close to the best one are its neighbours, not rivals: a sequence of 300 ms tones (15 frames)
    /// still overlaps a copy of itself shifted by d < 15 frames, with a ratio of about 1 − d/15.
    static let separation = 15
    /// One second of 20 ms frames: three to four tone changes, enough to pin a window's lag down.
    static let window = 50
    /// How far (in frames) a window's lag may move from the single best lag: 160 ms of jitter-buffer adaptation.
    static let drift = 8
    /// The ratio an echo must reach. Chance is 1/8 (eight tones); a broken path (silence, noise, another stream)
    /// stays far below even with each window choosing its lag. The other 20 % leave room for frames where a
    /// 2048-point analysis window straddles a tone change (up to about 2 of the 15 frames of a tone) and for the
    /// frames the jitter buffer drops or stretches while it changes its delay.
    static let requiredRatio = 0.8
    /// Fewer compared frames than this is no evidence: no match is reported.
    static let minimumCompared = 50

    static func match(sent: [ToneFrame], received: [ToneFrame], compareFrames: Int, maximumLag: Int) -> EchoMatch? {
        let end = min(compareFrames, sent.count)
        /// (compared, matched) for sent frames in `range` against received frames `lag` later.
        func score(_ range: Range<Int>, lag: Int) -> (compared: Int, matched: Int) {
            var compared = 0
            var matched = 0
            for j in range where sent[j].hasTone {
                let i = j + lag
                guard i < received.count else { break }
                compared += 1
                let heard = received[i]
                if heard.hasTone, abs(heard.hz - sent[j].hz) <= frequencyTolerance { matched += 1 }
            }
            return (compared, matched)
        }
        func ratio(_ r: (compared: Int, matched: Int)) -> Double {
            r.compared == 0 ? 0 : Double(r.matched) / Double(r.compared)
        }

        var single: [(lag: Int, compared: Int, matched: Int)] = []
        for lag in 0...max(0, maximumLag) {
            let r = score(0..<end, lag: lag)
            if r.compared >= minimumCompared { single.append((lag, r.compared, r.matched)) }
        }
        // The best ratio; on a tie the shorter lag.
        guard
            let best = single.max(by: {
                ratio(($0.compared, $0.matched)) < ratio(($1.compared, $1.matched))
                    || (ratio(($0.compared, $0.matched)) == ratio(($1.compared, $1.matched)) && $0.lag > $1.lag)
            })
        else { return nil }
        let rivals = single.filter { abs($0.lag - best.lag) > separation }
        let nextBest = rivals.max { ratio(($0.compared, $0.matched)) < ratio(($1.compared, $1.matched)) }

        // Windows of `window` frames; a shorter remainder joins the last one.
        var windows: [EchoMatch.Window] = []
        var start = 0
        while start < end {
            let stop = end - start < 2 * window ? end : start + window
            var chosen = EchoMatch.Window(lag: best.lag, compared: 0, matched: 0)
            var chosenRatio = -1.0
            // Candidates nearest to the single best lag first, so that a tie keeps the lag closest to it.
            let candidates = (0...drift).flatMap { d in d == 0 ? [best.lag] : [best.lag - d, best.lag + d] }
            for lag in candidates where lag >= 0 && lag <= maximumLag {
                let r = score(start..<stop, lag: lag)
                if r.compared > 0, ratio(r) > chosenRatio {
                    chosen = EchoMatch.Window(lag: lag, compared: r.compared, matched: r.matched)
                    chosenRatio = ratio(r)
                }
            }
            if chosenRatio >= 0 { windows.append(chosen) }
            start = stop
        }
        return EchoMatch(
            lag: best.lag, singleLagRatio: ratio((best.compared, best.matched)), windows: windows,
            nextBestRatio: nextBest.map { ratio(($0.compared, $0.matched)) } ?? 0, nextBestLag: nextBest?.lag ?? -1)
    }
}
