internal import CEarshotShims
internal import COpus

/// An Opus decoder: owns one libopus `OpusDecoder` state, created in `init` and freed in `deinit`.
///
/// Concurrency: the decoder's state (prediction, loss concealment history) runs from one packet to the next, so
/// each instance must be used by one thread or event loop at a time, in packet order. As with `OpusEncoder` the
/// type is deliberately *not* `Sendable`, so the compiler enforces the confinement; move it to its owning loop
/// (e.g. as a `sending` value) rather than sharing it.
///
/// PCM is interleaved when stereo. Every decode returns samples *per channel*.
public final class OpusDecoder {
    private let state: OpaquePointer

    public let sampleRate: OpusSampleRate
    public let channels: OpusChannels

    /// Creates a decoder producing PCM at `sampleRate` (any Opus packet decodes at any of the rates).
    public init(sampleRate: OpusSampleRate = .hz48000, channels: OpusChannels = .mono) throws(OpusError) {
        var error: Int32 = OPUS_OK
        let created = opus_decoder_create(Int32(sampleRate.hertz), Int32(channels.count), &error)
        guard let created else { throw OpusError(code: error) ?? .allocFail }
        if let failure = OpusError(code: error) {
            opus_decoder_destroy(created)
            throw failure
        }
        self.state = created
        self.sampleRate = sampleRate
        self.channels = channels
    }

    deinit {
        opus_decoder_destroy(state)
    }

    // MARK: Packet checks (no decoder state involved)

    /// Samples per channel that `packet` decodes to at `sampleRate` (`opus_packet_get_nb_samples`).
    ///
    /// Reads only the TOC byte and, for code 3, the frame count byte: a cheap check of the declared duration
    /// (at most 120 ms), not a full parse; decoding can still find the packet corrupt. An empty packet, or one
    /// declaring no frames or more than 120 ms, throws `invalidPacket`.
    public static func packetSampleCount(_ packet: UnsafeRawBufferPointer, sampleRate: OpusSampleRate)
        throws(OpusError) -> Int
    {
        let (data, length) = try checkPacket(packet)
        let samples = try checked(opus_packet_get_nb_samples(data, length, Int32(sampleRate.hertz)))
        // libopus answers 0 for a code 3 packet counting zero frames, which RFC 6716 §3.2.5 forbids (R5).
        guard samples > 0 else { throw .invalidPacket }
        return Int(samples)
    }

    public static func packetSampleCount(_ packet: [UInt8], sampleRate: OpusSampleRate) throws(OpusError) -> Int {
        try packet.withUnsafeBufferPointer { (bytes) throws(OpusError) -> Int in
            try packetSampleCount(UnsafeRawBufferPointer(bytes), sampleRate: sampleRate)
        }
    }

    /// The number of Opus frames in `packet` (`opus_packet_get_nb_frames`): 1 for code 0, 2 for codes 1 and 2,
    /// the signalled count for code 3. An empty packet, or a code 3 packet without its count byte or with a count
    /// of zero, throws `invalidPacket`.
    public static func packetFrameCount(_ packet: UnsafeRawBufferPointer) throws(OpusError) -> Int {
        let (data, length) = try checkPacket(packet)
        let frames = try checked(opus_packet_get_nb_frames(data, length))
        // Zero frames (code 3 with M = 0) is invalid (RFC 6716 §3.2.5, R5), though libopus returns it as is.
        guard frames > 0 else { throw .invalidPacket }
        return Int(frames)
    }

    public static func packetFrameCount(_ packet: [UInt8]) throws(OpusError) -> Int {
        try packet.withUnsafeBufferPointer { (bytes) throws(OpusError) -> Int in
            try packetFrameCount(UnsafeRawBufferPointer(bytes))
        }
    }

    /// Samples per channel that `packet` decodes to with this decoder's sample rate.
    public func sampleCount(of packet: UnsafeRawBufferPointer) throws(OpusError) -> Int {
        try Self.packetSampleCount(packet, sampleRate: sampleRate)
    }

    // MARK: Normal decoding

    /// Decodes `packet` into `pcm`; returns samples per channel. Does not allocate.
    ///
    /// `pcm` must hold the whole packet (`sampleCount(of:) × channels`, at most 120 ms), else `bufferTooSmall`.
    /// A corrupt or empty packet throws `invalidPacket` (use `decodeLoss` for a missing packet).
    public func decode(_ packet: UnsafeRawBufferPointer, into pcm: UnsafeMutableBufferPointer<Int16>)
        throws(OpusError) -> Int
    {
        let (data, length) = try Self.checkPacket(packet)
        let (output, frameSize) = try capacity(of: pcm)
        return Int(try checked(opus_decode(state, data, length, output, frameSize, 0)))
    }

    /// Decodes `packet` into float PCM (nominal range ±1.0); see the `Int16` form.
    public func decode(_ packet: UnsafeRawBufferPointer, into pcm: UnsafeMutableBufferPointer<Float>)
        throws(OpusError) -> Int
    {
        let (data, length) = try Self.checkPacket(packet)
        let (output, frameSize) = try capacity(of: pcm)
        return Int(try checked(opus_decode_float(state, data, length, output, frameSize, 0)))
    }

    /// Decodes `packet` into a new array of exactly the decoded samples (allocates).
    public func decode(_ packet: [UInt8]) throws(OpusError) -> [Int16] {
        try packet.withUnsafeBufferPointer { (bytes) throws(OpusError) -> [Int16] in
            let raw = UnsafeRawBufferPointer(bytes)
            return try makePCM(samplesPerChannel: try sampleCount(of: raw)) { (pcm) throws(OpusError) -> Int in
                try decode(raw, into: pcm)
            }
        }
    }

    /// Decodes `packet` into a new array of float samples (allocates).
    public func decodeFloat(_ packet: [UInt8]) throws(OpusError) -> [Float] {
        try packet.withUnsafeBufferPointer { (bytes) throws(OpusError) -> [Float] in
            let raw = UnsafeRawBufferPointer(bytes)
            return try makePCM(samplesPerChannel: try sampleCount(of: raw)) { (pcm) throws(OpusError) -> Int in
                try decode(raw, into: pcm)
            }
        }
    }

    // MARK: Loss: concealment and in-band FEC

    /// Conceals a missing packet (packet loss concealment, `data = NULL`): writes exactly `frameSize` samples per
    /// channel into `pcm` and returns `frameSize`. `frameSize` is the missing duration, a multiple of 2.5 ms up
    /// to 120 ms (`lastPacketDuration` is the usual choice). Does not allocate.
    public func decodeLoss(frameSize: Int, into pcm: UnsafeMutableBufferPointer<Int16>) throws(OpusError) -> Int {
        let output = try lossOutput(frameSize: frameSize, pcm: pcm)
        return Int(try checked(opus_decode(state, nil, 0, output, Int32(frameSize), 0)))
    }

    public func decodeLoss(frameSize: Int, into pcm: UnsafeMutableBufferPointer<Float>) throws(OpusError) -> Int {
        let output = try lossOutput(frameSize: frameSize, pcm: pcm)
        return Int(try checked(opus_decode_float(state, nil, 0, output, Int32(frameSize), 0)))
    }

    /// Conceals a missing packet into a new array (allocates).
    public func decodeLoss(frameSize: Int) throws(OpusError) -> [Int16] {
        try validateLossFrameSize(frameSize, sampleRate: sampleRate)
        return try makePCM(samplesPerChannel: frameSize) { (pcm) throws(OpusError) -> Int in
            try decodeLoss(frameSize: frameSize, into: pcm)
        }
    }

    /// Recovers the frame *before* `nextPacket` from the in-band FEC (LBRR) data `nextPacket` carries
    /// (`decode_fec = 1`): writes exactly `frameSize` samples per channel, the duration of the lost packet.
    ///
    /// Call it when packet N is lost and N+1 has arrived, then decode N+1 normally. When `nextPacket` carries no
    /// FEC (CELT-only mode, or FEC off at the encoder) libopus conceals the loss instead, as `decodeLoss` would.
    /// Does not allocate.
    public func decodeFEC(from nextPacket: UnsafeRawBufferPointer, frameSize: Int,
                          into pcm: UnsafeMutableBufferPointer<Int16>) throws(OpusError) -> Int
    {
        let (data, length) = try Self.checkPacket(nextPacket)
        let output = try lossOutput(frameSize: frameSize, pcm: pcm)
        return Int(try checked(opus_decode(state, data, length, output, Int32(frameSize), 1)))
    }

    public func decodeFEC(from nextPacket: UnsafeRawBufferPointer, frameSize: Int,
                          into pcm: UnsafeMutableBufferPointer<Float>) throws(OpusError) -> Int
    {
        let (data, length) = try Self.checkPacket(nextPacket)
        let output = try lossOutput(frameSize: frameSize, pcm: pcm)
        return Int(try checked(opus_decode_float(state, data, length, output, Int32(frameSize), 1)))
    }

    /// Recovers the frame before `nextPacket` into a new array (allocates).
    public func decodeFEC(from nextPacket: [UInt8], frameSize: Int) throws(OpusError) -> [Int16] {
        try validateLossFrameSize(frameSize, sampleRate: sampleRate)
        return try nextPacket.withUnsafeBufferPointer { (bytes) throws(OpusError) -> [Int16] in
            try makePCM(samplesPerChannel: frameSize) { (pcm) throws(OpusError) -> Int in
                try decodeFEC(from: UnsafeRawBufferPointer(bytes), frameSize: frameSize, into: pcm)
            }
        }
    }

    // MARK: State and settings

    /// Samples per channel of the last decoded or concealed packet (`OPUS_GET_LAST_PACKET_DURATION`); 0 before
    /// the first.
    public var lastPacketDuration: Int {
        get throws(OpusError) { Int(try get(OPUS_GET_LAST_PACKET_DURATION_REQUEST)) }
    }

    /// The output gain in dB (`OPUS_GET_GAIN`); 0 unless set.
    public var gainDecibels: Double {
        get throws(OpusError) { Double(try get(OPUS_GET_GAIN_REQUEST)) / Self.gainStepsPerDecibel }
    }

    /// libopus takes the gain in Q8 dB: 1/256 dB steps in an `opus_int16`.
    static let gainStepsPerDecibel = 256.0
    /// -32768/256 ... 32767/256 dB, the range of the Q8 value.
    public static let allowedGainDecibels = -128.0...(32767.0 / 256.0)

    /// Scales all decoded output by `decibels` (`OPUS_SET_GAIN`), rounded to 1/256 dB; range `allowedGainDecibels`.
    public func setGain(decibels: Double) throws(OpusError) {
        guard decibels.isFinite, Self.allowedGainDecibels.contains(decibels) else {
            throw .invalidSetting(.gain, value: "\(decibels) dB", allowed: "-128.0...127.99609375 dB")
        }
        let q8 = Int32((decibels * Self.gainStepsPerDecibel).rounded())
        _ = try checked(earshot_opus_decoder_set_int(state, OPUS_SET_GAIN_REQUEST, q8))
    }

    /// Resets the decoder to its freshly created state (`OPUS_RESET_STATE`), e.g. when a stream restarts (new
    /// SSRC). The gain setting is kept.
    public func reset() throws(OpusError) {
        _ = try checked(earshot_opus_decoder_reset(state))
    }

    // MARK: Private

    private static func checkPacket(_ packet: UnsafeRawBufferPointer) throws(OpusError)
        -> (UnsafePointer<UInt8>, Int32)
    {
        // An empty packet means "lost" to libopus; we make loss explicit (decodeLoss) and reject it here.
        guard let base = packet.baseAddress, packet.count > 0, packet.count <= Int32.max else {
            throw .invalidPacket
        }
        return (base.assumingMemoryBound(to: UInt8.self), Int32(packet.count))
    }

    /// The frame size libopus may fill: the buffer's whole samples per channel.
    private func capacity<Sample>(of pcm: UnsafeMutableBufferPointer<Sample>) throws(OpusError)
        -> (UnsafeMutablePointer<Sample>, Int32)
    {
        let perChannel = pcm.count / channels.count
        guard let base = pcm.baseAddress, perChannel > 0 else { throw .bufferTooSmall }
        // More than 120 ms of room is never used; clamping keeps the Int32 conversion safe.
        return (base, Int32(clamping: Swift.min(perChannel, sampleRate.maxPacketSamples)))
    }

    private func lossOutput<Sample>(frameSize: Int, pcm: UnsafeMutableBufferPointer<Sample>) throws(OpusError)
        -> UnsafeMutablePointer<Sample>
    {
        try validateLossFrameSize(frameSize, sampleRate: sampleRate)
        guard let base = pcm.baseAddress, pcm.count >= frameSize * channels.count else { throw .bufferTooSmall }
        return base
    }

    /// Allocates PCM for `samplesPerChannel` (already validated: 1...120 ms), fills it and trims it to what `body`
    /// wrote.
    private func makePCM<Sample: Numeric>(
        samplesPerChannel: Int, _ body: (UnsafeMutableBufferPointer<Sample>) throws(OpusError) -> Int
    ) throws(OpusError) -> [Sample] {
        guard (1...sampleRate.maxPacketSamples).contains(samplesPerChannel) else {
            throw .invalidFrameSize(samplesPerChannel: samplesPerChannel, sampleRate: sampleRate)
        }
        var pcm = [Sample](repeating: 0, count: samplesPerChannel * channels.count)
        let decoded = try pcm.withUnsafeMutableBufferPointer { (buffer) throws(OpusError) -> Int in try body(buffer) }
        pcm.removeSubrange((decoded * channels.count)...)
        return pcm
    }

    private func get(_ request: Int32) throws(OpusError) -> Int32 {
        var value: Int32 = 0
        _ = try checked(earshot_opus_decoder_get_int(state, request, &value))
        return value
    }
}

@available(*, unavailable, message: "An OpusDecoder is confined to one thread or event loop at a time")
extension OpusDecoder: Sendable {}
