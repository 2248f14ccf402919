public import EarshotWire

/// What the uplink jitter buffer has done, under the W3C webrtc-stats names of `RTCInboundRtpStreamStats` where one
/// fits. Sample counts are at the output rate; delays are sums in seconds over emitted samples, as in the standard
/// (divide `jitterBufferDelay` by `jitterBufferEmittedCount` for the mean delay).
public struct JitterBufferStatistics: Hashable, Sendable, Codable {
    /// Packets handed to the buffer (including those then discarded).
    public var packetsReceived = 0
    /// Packets thrown away: too late to play (their slot was already played or concealed) or flushed.
    public var packetsDiscarded = 0
    /// Of `packetsDiscarded`: too late.
    public var packetsLate = 0
    /// Of `packetsDiscarded`: flushed when the buffer overflowed or the stream jumped.
    public var packetsFlushed = 0
    /// Copies of a packet already buffered or played (not counted as discarded).
    public var packetsDuplicated = 0
    /// Packets that are not valid Opus (RFC 6716 §3.4) or that the decoder rejected.
    public var packetsInvalid = 0
    /// Packets whose first frame carries in-band FEC (SILK LBRR) for the packet before.
    public var fecPacketsReceived = 0
    /// Lost packets rebuilt from the next packet's FEC data.
    public var fecPacketsRecovered = 0
    /// Of `fecPacketsReceived`: FEC data that was not needed (the packet it protects had arrived).
    public var fecPacketsDiscarded = 0

    /// Seconds from ingest to emission, summed over every emitted sample that came from a packet.
    public var jitterBufferDelay = 0.0
    /// The target delay at each emission, summed over the same samples.
    public var jitterBufferTargetDelay = 0.0
    /// The delay the jitter alone called for (the estimator's quantile, before bounds and peak hold), summed.
    public var jitterBufferMinimumDelay = 0.0
    /// Samples the delay sums are over.
    public var jitterBufferEmittedCount = 0

    /// Every sample emitted, concealment included.
    public var totalSamplesReceived = 0
    /// Samples made up locally for lost or late audio (PLC, and the silence a long loss fades into).
    public var concealedSamples = 0
    /// Of `concealedSamples`: silence.
    public var silentConcealedSamples = 0
    /// Runs of concealment (each starts after a sample decoded from a packet).
    public var concealmentEvents = 0
    /// Comfort noise during DTX gaps (the sender paused on purpose; not concealment).
    public var comfortNoiseSamples = 0
    /// Samples added by stretching speech to let the buffer grow.
    public var insertedSamplesForDeceleration = 0
    /// Samples removed by compressing speech, or dropped silence, to let the buffer shrink.
    public var removedSamplesForAcceleration = 0
    /// Buffer restarts: overflow, or a stream that restarted its timeline.
    public var bufferFlushes = 0
    /// Gaps too long to fill (longer than `concealmentBeforeFade` plus a frame), skipped instead.
    public var gapsSkipped = 0
    /// Frames emitted.
    public var framesEmitted = 0

    /// The target delay now (conversational: buffer level aimed at; model: reorder window), seconds.
    public var targetDelay = 0.0
    /// What is buffered now (decoded audio plus packets), seconds.
    public var currentDelay = 0.0

    public init() {}

    /// The share of emitted samples that were concealed (0 when nothing was emitted).
    public var concealmentRatio: Double {
        totalSamplesReceived > 0 ? Double(concealedSamples) / Double(totalSamplesReceived) : 0
    }
}

/// One frame of PCM for the listener, with where it came from.
public struct UplinkFrame: Sendable {
    public enum Source: String, Hashable, Sendable, CaseIterable {
        /// Decoded from packets that arrived.
        case decoded
        /// Rebuilt from in-band FEC.
        case fecRecovered
        /// Concealment of lost or late audio.
        case concealed
        /// Silence after a long loss, or while nothing arrives (conversational).
        case silence
        /// Comfort noise in a DTX gap.
        case comfortNoise
    }

    /// Exactly one frame (`PCMFormat.samplesPerFrame`) of mono PCM at the output rate.
    public var samples: [Int16]
    /// The sender's RTP timestamp (48 kHz, unwrapped to 64 bits) of the frame's first sample: when it was captured
    /// on the sender's clock. For made-up audio, where that audio would have been.
    public var rtpTimestamp: Int64
    /// When the packet holding the frame's first sample reached the relay; nil for made-up audio.
    public var arrival: Instant?
    /// When the frame left the buffer.
    public var emitted: Instant
    /// The worst source among the frame's samples (concealed over FEC over decoded).
    public var source: Source
    /// Whether time-stretching changed this frame's audio.
    public var stretched: Bool
    /// Whether audio was skipped just before this frame (a gap too long to fill, or a jump in the sender's
    /// timeline): `rtpTimestamp` says how much.
    public var followsGap: Bool = false

    public init(
        samples: [Int16], rtpTimestamp: Int64, arrival: Instant?, emitted: Instant, source: Source,
        stretched: Bool = false, followsGap: Bool = false
    ) {
        self.samples = samples
        self.rtpTimestamp = rtpTimestamp
        self.arrival = arrival
        self.emitted = emitted
        self.source = source
        self.stretched = stretched
        self.followsGap = followsGap
    }
}
