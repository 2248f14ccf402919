extension VoiceActivityDetector {
    /// Analyses a frame from the uplink jitter buffer, placed by its RTP timestamp: media position 0 is the first
    /// frame's timestamp, so event times are milliseconds of the sender's audio since that frame, and audio the
    /// buffer skipped (`followsGap`) is a gap here too. The frame must be at the configured rate.
    ///
    /// RTP timestamps count 48 kHz ticks whatever the rate (RFC 7587 §4.1); every Opus rate divides 48 kHz, so a
    /// timestamp is a whole number of samples. A frame stamped before the first one is taken to follow the
    /// previous frame directly.
    public mutating func process(_ frame: UplinkFrame, into events: inout [VoiceActivityEvent]) {
        let origin = rtpOrigin ?? frame.rtpTimestamp
        rtpOrigin = origin
        let ticksPerSample = Int64(opusRTPClockRate / configuration.format.sampleRate.hertz)
        let (elapsed, overflow) = frame.rtpTimestamp.subtractingReportingOverflow(origin)
        let position = overflow ? (elapsed < 0 ? Self.maximumPosition : 0) : Int(max(0, elapsed) / ticksPerSample)
        process(frame.samples, at: position, into: &events)
    }

    /// Analyses a frame from the uplink jitter buffer (see `process(_:into:)`); returns its events.
    public mutating func process(_ frame: UplinkFrame) -> [VoiceActivityEvent] {
        var events: [VoiceActivityEvent] = []
        process(frame, into: &events)
        return events
    }
}
