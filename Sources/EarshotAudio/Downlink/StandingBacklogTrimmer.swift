public import EarshotWire

/// Finds a backlog that stands in a pacer fed at real time, and says how much audio to drop to remove it.
///
/// A source that produces audio at exactly the rate the pacer plays it (the built-in echo, which says back its input
/// frame by frame) never drains what a burst put in the queue: a burst of uplink packets at the start of a call, or
/// after a stall, adds its length to every later frame for the rest of the call. Like a jitter buffer's accelerate,
/// the trimmer removes that surplus, and only that. For each arriving chunk of audio it is told how long the chunk
/// will wait before it plays; if even the shortest of those waits over a whole `window` was longer than `target`
/// (by at least `minimumTrim`), every chunk of the window waited that much longer than it needed: the excess, at
/// most one `frame`, is to be dropped from the arriving chunk, and every later chunk waits that much less. Jitter
/// makes the waits swing but keeps the shortest of them at the target, so a queue that only absorbs jitter is never
/// trimmed (the idea of CoDel's standing-queue test). What is left stands between `target` and
/// `target + minimumTrim`.
///
/// Sans-IO: `now` is a parameter; one call per arriving chunk.
public struct StandingBacklogTrimmer: Sendable {
    /// The wait audio needs (the pacer's start delay: what absorbs the source's jitter).
    public let target: Duration
    /// The most one trim drops: a frame (the arriving chunk whole).
    public let frame: Duration
    /// How long the waits must all have been long before audio is dropped.
    public let window: Duration
    /// Less excess than this is left alone: each trim is an audible seam.
    public let minimumTrim: Duration

    private var windowStart: Instant?
    private var shortestWait: Duration = .zero
    /// Trims so far, and the audio they dropped.
    public private(set) var trims = 0
    public private(set) var trimmed: Duration = .zero

    public init(
        target: Duration, frame: Duration, window: Duration = .seconds(1), minimumTrim: Duration = .milliseconds(5)
    ) {
        precondition(
            target >= .zero && frame > .zero && window > .zero && minimumTrim > .zero && minimumTrim <= frame,
            "invalid trimmer settings")
        self.target = target
        self.frame = frame
        self.window = window
        self.minimumTrim = minimumTrim
    }

    /// A chunk arrives that would wait `wait` before it plays: how much of its start to drop (zero: none; `frame`
    /// or more: all of a frame-long chunk). A new window starts after each decision.
    public mutating func trim(wait: Duration, now: Instant) -> Duration {
        guard let start = windowStart else {
            windowStart = now
            shortestWait = wait
            return .zero
        }
        shortestWait = min(shortestWait, wait)
        guard now - start >= window else { return .zero }
        let excess = shortestWait - target
        windowStart = now
        guard excess >= minimumTrim else {
            shortestWait = wait
            return .zero
        }
        let cut = min(excess, frame)
        trims += 1
        trimmed += cut
        // Later chunks wait `cut` less than this one would have.
        shortestWait = wait - cut
        return cut
    }

    /// The pacer went idle (a pause in the input): the next chunk starts a talkspurt afresh, and a new window.
    public mutating func reset() {
        windowStart = nil
    }
}
