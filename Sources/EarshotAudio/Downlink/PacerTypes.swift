public import EarshotWire

/// Names the model response a stretch of downlink audio belongs to (e.g. a Realtime API response or item id).
public struct ResponseID: Hashable, Sendable, Codable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var rawValue: String

    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    public var description: String { rawValue }

    /// Coded as the bare string.
    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// One Opus frame the pacer hands out, due at `due`, to be sent as one RTP packet.
public struct PacedFrame: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// Model audio at full level (zero-padded at the end of a response).
        case audio
        /// The fade-out after `clear`: `samples` model samples fading to silence, then zeros.
        case fadeOut
        /// A frame of zeros (`samples` is 0) that ends a talkspurt: the encoder's lookahead (6.5 ms) holds back the
        /// end of its input, so when the last frame (the end of a response, or a fade-out) does not end in that
        /// much silence plus 2.5 ms, one such frame follows and the receiver's decoder ends on silence instead of
        /// concealing from the middle of the audio. Skipped when audio follows at once. No cleared audio is in it.
        case flush
    }

    /// The Opus packet (one frame).
    public var payload: [UInt8]
    /// The RTP timestamp on the 48 kHz Opus clock (RFC 7587 §4.1).
    public var rtpTimestamp: UInt32
    /// The RTP marker bit: set on the first packet of a talkspurt, i.e. whenever this packet does not directly
    /// follow the previous one on the RTP clock (after idle, after an underrun, and on the very first packet;
    /// RFC 3551 §4.1).
    public var marker: Bool
    /// When the frame was scheduled: the pacer's grid time for it (never the time `poll` was called).
    public var due: Instant
    /// The response the audio belongs to (`nil` for audio enqueued without one).
    public var response: ResponseID?
    /// Model samples in the frame: a whole frame, fewer when the end of a response was padded with zeros, or the
    /// fade length for a fade-out frame.
    public var samples: Int
    public var kind: Kind
    /// The marks completed by this frame, in order (their times are in the `markSent` events).
    public var completedMarks: [String]
    /// `poll` returned the frame one frame duration or more after `due`.
    public var isLate: Bool
    /// A discontinuous-transmission frame (DTX on, silence): at most 2 bytes, no audio; the sender may skip it.
    public var isDTX: Bool
    /// When the frame's audio was enqueued (`.audio` frames only): `due − enqueued` is how long the audio waited
    /// in the pacer (the start delay, and any backlog). That of the frame's first sample; or, when a later chunk
    /// of audio starts inside the frame, that chunk's enqueue time less its offset in the frame, so that the wait
    /// is the time from its arrival until its first sample plays.
    public var enqueued: Instant? = nil
}

/// What `clear` cut: per response, the exact split of its accepted samples, and the cancelled marks.
///
/// For each response, `samplesPlayed + fadeSamples + samplesDropped` is every sample of it the pacer accepted.
/// `samplesPlayed` counts only samples sent at full level, in frames `poll` returned before the clear (zero
/// padding excluded). `fadeSamples` are the samples that the one fade-out frame after the clear still carries,
/// attenuated to silence; they are not counted as played. A truncation point for the model's conversation is
/// therefore `samplesPlayed` (what was heard in full) or `samplesHeard` (including the fade), as the caller prefers.
public struct ClearReport: Hashable, Sendable {
    public struct Truncation: Hashable, Sendable {
        public var response: ResponseID?
        /// Samples sent at full level before the clear.
        public var samplesPlayed: Int
        /// `samplesPlayed` in milliseconds (samples × 1000 / rate, not rounded).
        public var millisecondsPlayed: Double
        /// Samples carried, fading out, by the frame after the clear (only the response that was playing).
        public var fadeSamples: Int
        /// Samples discarded without ever being sent.
        public var samplesDropped: Int

        /// Samples the listener heard at all: played in full, or within the fade.
        public var samplesHeard: Int { samplesPlayed + fadeSamples }
        /// Every sample of this response the pacer accepted.
        public var samplesAccepted: Int { samplesPlayed + fadeSamples + samplesDropped }
    }

    /// When `clear` was called.
    public var clearedAt: Instant
    /// The responses cut, oldest first: the one playing (if any), then those queued behind it.
    public var responses: [Truncation]
    /// The marks that will never be reached, in order.
    public var cancelledMarks: [String]
    /// When the fade-out frame is due, `nil` when none is sent (nothing was playing, or `clearFade` is zero).
    public var fadeOutDue: Instant?
    /// Frames still sent because of this clear: 0, 1 (the fade-out) or 2 (the fade-out and a flush).
    public var framesAfterClear: Int
}

/// Notifications drained with `DownlinkPacer.pollEvent()`.
public enum PacerEvent: Hashable, Sendable {
    /// The frame holding the mark's position was sent. `at` is that frame's due time plus the mark's offset inside
    /// it (when the last sample before the mark ends); `rtpTimestamp` is the same point on the RTP clock.
    case markSent(name: String, at: Instant, rtpTimestamp: UInt32)
    /// `clear` removed the audio before the mark.
    case markCancelled(name: String)
    /// The last frame of an ended response was sent (or the response ended with all its audio already sent).
    case responseFinished(ResponseID?, samplesPlayed: Int)
    /// `clear` cut audio; the same report `clear` returned.
    case truncated(ClearReport)
}

/// Counters of one downlink, as the session reports them. Sample counts are at the model's rate.
public struct DownlinkStatistics: Hashable, Sendable, Codable {
    /// Frames returned by `poll`, fade-out frames included.
    public var framesSent = 0
    /// Model samples sent at full level (padding and fades excluded).
    public var samplesSent = 0
    /// Zeros added to complete the last frame of responses.
    public var paddingSamplesSent = 0
    /// Fade-out frames sent after clears.
    public var fadeOutFrames = 0
    /// Frames of zeros sent at the end of talkspurts to flush the encoder's lookahead (`PacedFrame.Kind.flush`).
    public var flushFrames = 0
    /// Whole frames waiting in the queue now.
    public var framesQueued = 0
    /// Samples waiting in the queue now.
    public var samplesQueued = 0
    /// Audio waiting in the queue now, in milliseconds.
    public var queuedMilliseconds = 0.0
    /// The most audio the queue has held, in milliseconds.
    public var maxQueuedMillisecondsSeen = 0.0
    /// Talkspurts started (first frame after idle).
    public var talkspurts = 0
    /// Responses whose last frame was sent.
    public var responsesFinished = 0
    /// Responses cut by a clear.
    public var responsesTruncated = 0
    public var clears = 0
    /// Model samples discarded by clears (fade samples excluded).
    public var samplesDroppedByClear = 0
    /// Times the queue ran dry at a deadline during a response that had not ended.
    public var underruns = 0
    /// Frame slots skipped by underruns (the RTP timestamp jumps over them).
    public var underrunFrames = 0
    /// Frames `poll` returned one frame duration or more after they were due.
    public var lateFrames = 0
    /// Samples refused because the queue held `maxQueuedDuration` already.
    public var samplesDroppedQueueFull = 0
    /// Samples refused because their response had been cut by a clear (late chunks of a cancelled response).
    public var samplesDroppedClearedResponse = 0
    public var marksSent = 0
    public var marksCancelled = 0
    /// Frames lost because the encoder failed (their slot is skipped, like a lost packet), and failed resets.
    public var encoderErrors = 0
    /// Encoders replaced because a talkspurt stopped with audio still in the lookahead (an underrun that ended
    /// the response or was cleared, or a clear without fade).
    public var encoderResets = 0
    /// Frames coded as discontinuous transmission (`PacedFrame.isDTX`).
    public var dtxFrames = 0
    /// Events dropped because the event queue was full.
    public var eventsDropped = 0

    public init() {}
}
