#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The background level under the speech, by minimum statistics: the lowest smoothed block level over the last
/// few seconds. Speech comes in talkspurts with pauses (and dips between syllables), so the minimum over a window
/// longer than a talkspurt sits on the noise, whatever the speech does.
///
/// The floor falls as fast as the smoothed level does (the current block is in the window); it rises only once the
/// quieter blocks have left the window, so a step up in noise is taken in after `windowDuration` (4 s) plus at
/// most one sub-window (0.25 s). O(1) per block, plus a scan of 16 sub-window minima every 25 blocks.
struct NoiseFloorTracker {
    /// Blocks per sub-window: 250 ms of 10 ms blocks.
    static let subWindowBlocks = 25
    /// Sub-windows remembered: 16 × 250 ms = 4 s, longer than most talkspurts (conversational turns rarely run
    /// 4 s without a pause or a dip of 10 dB or more).
    static let subWindows = 16
    /// The level is smoothed (in decibels) with a 40 ms time constant before its minimum is taken, so that the
    /// minimum of a noise is near the noise's typical level rather than at its quietest 10 ms: one block's level in
    /// noise scatters by a few dB (more for coloured noise, whose low frequencies make a 10 ms block few
    /// independent samples). In decibels, a fall of 30 dB is followed to within 3 dB in 2.3 time constants (about
    /// 100 ms), where smoothing the power would take ln(1000) ≈ 7 of them.
    static let smoothing = 1 - exp(-10.0 / 40)
    /// The floor is never taken below this (dBFS): a signal quieter than −70 dBFS is under any microphone's
    /// self-noise, so digital silence and near-silence do not make faint sounds tens of decibels "above noise".
    static let lowestFloor = -70.0
    /// Blocks below this level (dBFS) are digital silence (a muted sender, silence put in for lost audio): they say
    /// nothing about the room, and are left out, as one of them would drag a decibel average down by tens of dB.
    static let digitalSilence = -100.0

    private var smoothedLevel: Double?
    private var minima = [Double](repeating: .infinity, count: subWindows)
    private var nextMinimum = 0
    private var subWindowMinimum = Double.infinity
    private var blocksInSubWindow = 0
    /// The minimum over `minima` (the completed sub-windows).
    private var completedMinimum = Double.infinity

    /// The current floor in dBFS (nil before the first block).
    private(set) var floor: Double?

    /// Takes one block's level (dBFS) and returns the floor to measure it against.
    mutating func update(levelDBFS: Double) -> Double {
        guard levelDBFS >= Self.digitalSilence else {
            let current = floor ?? Self.lowestFloor
            floor = current
            return current
        }
        let smoothed = smoothedLevel.map { $0 + Self.smoothing * (levelDBFS - $0) } ?? levelDBFS
        smoothedLevel = smoothed
        subWindowMinimum = min(subWindowMinimum, smoothed)
        blocksInSubWindow += 1
        let current = max(Self.lowestFloor, min(completedMinimum, subWindowMinimum))
        if blocksInSubWindow == Self.subWindowBlocks {
            minima[nextMinimum] = subWindowMinimum
            nextMinimum = (nextMinimum + 1) % Self.subWindows
            completedMinimum = minima.min() ?? .infinity
            subWindowMinimum = .infinity
            blocksInSubWindow = 0
        }
        floor = current
        return current
    }
}
