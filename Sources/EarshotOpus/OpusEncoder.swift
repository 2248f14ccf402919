internal import CEarshotShims
internal import COpus

/// An Opus encoder: owns one libopus `OpusEncoder` state, created in `init` and freed in `deinit`.
///
/// Concurrency: an encoder carries the codec's running state from one frame to the next, so each instance must be
/// used by one thread or event loop at a time, in frame order. The type is deliberately *not* `Sendable` (not even
/// `@unchecked`): the compiler then enforces that confinement. An encoder can still move to the loop that will own
/// it, e.g. as a `sending` argument or a value created on that loop; what it cannot be is shared.
public final class OpusEncoder {
    /// libopus recommends 4000 bytes for the output of one encode call (opus.h); a single Opus frame is at most
    /// 1275 bytes (RFC 6716 §3.2.1), and one call yields at most three frames (60 ms of 20 ms CELT frames).
    public static let maxPacketSize = 4000

    private let state: OpaquePointer

    /// The current configuration, including values changed by the setters.
    public private(set) var configuration: Configuration

    /// The encoder's delay in samples per channel (`OPUS_GET_LOOKAHEAD`): decoded audio lags the input by this much.
    /// It depends only on the application and sample rate, so it is read once at creation.
    public let lookahead: Int

    /// Creates an encoder; throws `invalidSetting` for out-of-range values, or the libopus error.
    public init(_ configuration: Configuration) throws(OpusError) {
        try configuration.validate()
        var error: Int32 = OPUS_OK
        let created = opus_encoder_create(
            Int32(configuration.sampleRate.hertz),
            Int32(configuration.channels.count),
            configuration.application.opusValue,
            &error)
        guard let created else { throw OpusError(code: error) ?? .allocFail }
        if let failure = OpusError(code: error) {
            opus_encoder_destroy(created)
            throw failure
        }
        var lookahead: Int32 = 0
        let lookaheadResult = earshot_opus_encoder_get_int(created, OPUS_GET_LOOKAHEAD_REQUEST, &lookahead)
        if let failure = OpusError(code: lookaheadResult) {
            opus_encoder_destroy(created)
            throw failure
        }
        self.state = created
        self.configuration = configuration
        self.lookahead = Int(lookahead)
        // From here on self is fully initialised: if a setting fails, deinit frees the state.
        try set(OPUS_SET_BITRATE_REQUEST, configuration.bitrate.opusValue)
        try set(OPUS_SET_VBR_REQUEST, configuration.bitrateMode == .cbr ? 0 : 1)
        try set(OPUS_SET_VBR_CONSTRAINT_REQUEST, configuration.bitrateMode == .constrainedVBR ? 1 : 0)
        try set(OPUS_SET_COMPLEXITY_REQUEST, Int32(configuration.complexity))
        try set(OPUS_SET_INBAND_FEC_REQUEST, configuration.inBandFEC ? 1 : 0)
        try set(OPUS_SET_DTX_REQUEST, configuration.dtx ? 1 : 0)
        try set(OPUS_SET_PACKET_LOSS_PERC_REQUEST, Int32(configuration.expectedPacketLossPercent))
        try set(OPUS_SET_MAX_BANDWIDTH_REQUEST, configuration.maxBandwidth.opusValue)
        try set(OPUS_SET_SIGNAL_REQUEST, configuration.signal.opusValue)
    }

    deinit {
        opus_encoder_destroy(state)
    }

    // MARK: Settings that may change during a call

    public func setBitrate(_ bitrate: Bitrate) throws(OpusError) {
        try bitrate.validate()
        try set(OPUS_SET_BITRATE_REQUEST, bitrate.opusValue)
        configuration.bitrate = bitrate
    }

    /// Complexity 0...10.
    public func setComplexity(_ complexity: Int) throws(OpusError) {
        try Configuration.validateComplexity(complexity)
        try set(OPUS_SET_COMPLEXITY_REQUEST, Int32(complexity))
        configuration.complexity = complexity
    }

    /// Expected packet loss 0...100 %, e.g. from RTCP receiver reports.
    public func setExpectedPacketLoss(percent: Int) throws(OpusError) {
        try Configuration.validatePacketLoss(percent)
        try set(OPUS_SET_PACKET_LOSS_PERC_REQUEST, Int32(percent))
        configuration.expectedPacketLossPercent = percent
    }

    public func setInBandFEC(_ enabled: Bool) throws(OpusError) {
        try set(OPUS_SET_INBAND_FEC_REQUEST, enabled ? 1 : 0)
        configuration.inBandFEC = enabled
    }

    public func setDTX(_ enabled: Bool) throws(OpusError) {
        try set(OPUS_SET_DTX_REQUEST, enabled ? 1 : 0)
        configuration.dtx = enabled
    }

    /// Changes the PCM duration later `encode` calls take (every Opus packet carries its own duration).
    public func setFrameDuration(_ duration: OpusFrameDuration) {
        configuration.frameDuration = duration
    }

    // MARK: State

    /// Whether the last encoded frame was in discontinuous transmission (`OPUS_GET_IN_DTX`).
    public var isInDTX: Bool {
        get throws(OpusError) { try get(OPUS_GET_IN_DTX_REQUEST) != 0 }
    }

    /// The bitrate libopus is targeting in bits per second (`OPUS_GET_BITRATE`); resolves `.auto` and `.max`.
    public var effectiveBitrate: Int {
        get throws(OpusError) { Int(try get(OPUS_GET_BITRATE_REQUEST)) }
    }

    // MARK: Encoding

    /// Encodes exactly one frame of interleaved 16-bit PCM into `output`; returns the packet length in bytes.
    ///
    /// Does not allocate. `pcm.count` must equal `configuration.samplesPerFrame`. `output` caps the packet size:
    /// an empty buffer throws `bufferTooSmall`, while a small one makes libopus spend fewer bits (a 1-byte buffer
    /// yields a bare TOC byte, which decoders treat as a lost frame) rather than fail.
    public func encode(_ pcm: UnsafeBufferPointer<Int16>, into output: UnsafeMutableRawBufferPointer)
        throws(OpusError) -> Int
    {
        let (input, frameSize) = try checkFrame(pcm)
        let (data, capacity) = try checkOutput(output)
        return Int(try checked(opus_encode(state, input, frameSize, data, capacity)))
    }

    /// Encodes exactly one frame of interleaved float PCM (nominal range ±1.0) into `output`; see the `Int16` form.
    public func encode(_ pcm: UnsafeBufferPointer<Float>, into output: UnsafeMutableRawBufferPointer)
        throws(OpusError) -> Int
    {
        let (input, frameSize) = try checkFrame(pcm)
        let (data, capacity) = try checkOutput(output)
        return Int(try checked(opus_encode_float(state, input, frameSize, data, capacity)))
    }

    /// Encodes one frame of interleaved 16-bit PCM into a new packet (allocates; for tests and tools).
    public func encode(_ pcm: [Int16]) throws(OpusError) -> [UInt8] {
        var packet = [UInt8](repeating: 0, count: Self.maxPacketSize)
        let length = try packet.withUnsafeMutableBufferPointer { (output) throws(OpusError) -> Int in
            try pcm.withUnsafeBufferPointer { (input) throws(OpusError) -> Int in
                try encode(input, into: UnsafeMutableRawBufferPointer(output))
            }
        }
        packet.removeSubrange(length...)
        return packet
    }

    /// Encodes one frame of interleaved float PCM into a new packet (allocates; for tests and tools).
    public func encode(_ pcm: [Float]) throws(OpusError) -> [UInt8] {
        var packet = [UInt8](repeating: 0, count: Self.maxPacketSize)
        let length = try packet.withUnsafeMutableBufferPointer { (output) throws(OpusError) -> Int in
            try pcm.withUnsafeBufferPointer { (input) throws(OpusError) -> Int in
                try encode(input, into: UnsafeMutableRawBufferPointer(output))
            }
        }
        packet.removeSubrange(length...)
        return packet
    }

    // MARK: Private

    private func checkFrame<Sample>(_ pcm: UnsafeBufferPointer<Sample>) throws(OpusError)
        -> (UnsafePointer<Sample>, Int32)
    {
        let expected = configuration.samplesPerFrame
        guard pcm.count == expected, let base = pcm.baseAddress else {
            throw .pcmSizeMismatch(expected: expected, actual: pcm.count)
        }
        return (base, Int32(configuration.samplesPerChannel))
    }

    private func checkOutput(_ output: UnsafeMutableRawBufferPointer) throws(OpusError)
        -> (UnsafeMutablePointer<UInt8>, Int32)
    {
        guard let base = output.baseAddress, output.count > 0 else { throw .bufferTooSmall }
        // Packets never approach Int32.max; clamping only guards the conversion.
        return (base.assumingMemoryBound(to: UInt8.self), Int32(clamping: output.count))
    }

    private func set(_ request: Int32, _ value: Int32) throws(OpusError) {
        _ = try checked(earshot_opus_encoder_set_int(state, request, value))
    }

    private func get(_ request: Int32) throws(OpusError) -> Int32 {
        var value: Int32 = 0
        _ = try checked(earshot_opus_encoder_get_int(state, request, &value))
        return value
    }
}

@available(*, unavailable, message: "An OpusEncoder is confined to one thread or event loop at a time")
extension OpusEncoder: Sendable {}
