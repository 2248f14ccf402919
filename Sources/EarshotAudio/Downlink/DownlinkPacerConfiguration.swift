public import EarshotOpus
internal import EarshotWire

extension DownlinkPacer {
    /// The Opus encoder settings of the downlink. The encoder runs at the model's PCM rate (no resampler) and codes
    /// one frame of `PCMFormat.frameDuration` per packet.
    public struct EncoderSettings: Hashable, Sendable {
        /// Computational complexity, 0 (cheapest) ... 10 (best). 5 keeps a 20 ms frame well under a millisecond of
        /// CPU while sounding close to the libopus default of 9 for speech.
        public var complexity: Int
        /// Target bitrate in bits per second, 6000 ... 510000 (RFC 6716 §1). 32 kb/s codes wideband speech
        /// transparently and super-wideband speech well.
        public var bitsPerSecond: Int
        /// In-band FEC: each packet carries a low-rate copy of the previous frame (SILK and hybrid modes only).
        public var inBandFEC: Bool
        /// Discontinuous transmission: near-empty packets during silence. Frames coded in DTX are still returned
        /// by `poll` (flagged `isDTX`); whether to transmit them is the sender's choice.
        public var dtx: Bool
        /// Expected packet loss, 0 ... 100 %. libopus adds FEC data only when this is above zero, so the default
        /// (10 %) makes `inBandFEC` effective from the first packet; RTCP receiver reports may refine it later.
        public var expectedPacketLossPercent: Int

        public static let allowedComplexity = 0...10
        public static let allowedBitsPerSecond = OpusEncoder.Bitrate.allowedBitsPerSecond
        public static let allowedPacketLossPercent = 0...100

        public init(
            complexity: Int = 5,
            bitsPerSecond: Int = 32_000,
            inBandFEC: Bool = true,
            dtx: Bool = false,
            expectedPacketLossPercent: Int = 10
        ) {
            self.complexity = complexity
            self.bitsPerSecond = bitsPerSecond
            self.inBandFEC = inBandFEC
            self.dtx = dtx
            self.expectedPacketLossPercent = expectedPacketLossPercent
        }
    }

    /// Everything that configures a pacer; checked by `validate()` (and by `DownlinkPacer.init`).
    public struct Configuration: Hashable, Sendable {
        /// The model's PCM: mono 16-bit at one of the Opus rates, and the frame duration (one Opus frame per
        /// packet, 10 or 20 ms).
        public var format: PCMFormat
        public var encoder: EncoderSettings
        /// The most audio the queue holds; what a model pushes beyond it is dropped and counted
        /// (`DownlinkStatistics.samplesDroppedQueueFull`). Between one frame and `maximumQueuedDurationLimit`.
        public var maxQueuedDuration: Duration
        /// The length of the fade-out sent after `clear`: 0 (a hard cut, no fade frame) up to one frame.
        public var clearFade: Duration
        /// How long after the audio that starts a talkspurt its first frame is due. A source that produces audio
        /// at exactly real time (the echo, a model streaming frame by frame) jitters around its own schedule;
        /// this much slack keeps its late frames from becoming underruns (gaps the listener hears concealed), at
        /// this much delay. 0 for models that send faster than real time. At most one second.
        public var startDelay: Duration
        /// The RTP timestamp of the first frame. Real senders start at a random value (RFC 3550 §5.1); the
        /// default 0 keeps tests readable.
        public var initialRTPTimestamp: UInt32
        /// How many events `pollEvent` can hold before new ones are dropped (and counted,
        /// `DownlinkStatistics.eventsDropped`).
        public var eventQueueCapacity: Int

        /// Ten minutes: at 48 kHz that is 28.8 M samples (58 MB) of queue, the most one session may hold.
        public static let maximumQueuedDurationLimit: Duration = .seconds(600)

        public init(
            format: PCMFormat = PCMFormat(),
            encoder: EncoderSettings = EncoderSettings(),
            maxQueuedDuration: Duration = .seconds(60),
            clearFade: Duration = .milliseconds(5),
            startDelay: Duration = .zero,
            initialRTPTimestamp: UInt32 = 0,
            eventQueueCapacity: Int = 1024
        ) {
            self.format = format
            self.encoder = encoder
            self.maxQueuedDuration = maxQueuedDuration
            self.clearFade = clearFade
            self.startDelay = startDelay
            self.initialRTPTimestamp = initialRTPTimestamp
            self.eventQueueCapacity = eventQueueCapacity
        }

        /// Checks every value; the typed enums (rate, frame duration) cannot hold anything invalid.
        public func validate() throws(DownlinkPacerError) {
            guard EncoderSettings.allowedComplexity.contains(encoder.complexity) else {
                throw .invalidComplexity(encoder.complexity)
            }
            guard EncoderSettings.allowedBitsPerSecond.contains(encoder.bitsPerSecond) else {
                throw .invalidBitrate(encoder.bitsPerSecond)
            }
            guard EncoderSettings.allowedPacketLossPercent.contains(encoder.expectedPacketLossPercent) else {
                throw .invalidExpectedPacketLoss(encoder.expectedPacketLossPercent)
            }
            guard maxQueuedDuration >= format.frameDuration.duration,
                maxQueuedDuration <= Self.maximumQueuedDurationLimit
            else {
                throw .invalidMaxQueuedDuration(maxQueuedDuration)
            }
            guard clearFade >= .zero, clearFade <= format.frameDuration.duration else {
                throw .invalidClearFade(clearFade)
            }
            guard eventQueueCapacity >= 1 else { throw .invalidEventQueueCapacity(eventQueueCapacity) }
            guard startDelay >= .zero, startDelay <= .seconds(1) else { throw .invalidStartDelay(startDelay) }
        }

        /// The most samples the queue holds (`maxQueuedDuration` at the model rate, rounded down).
        public var maxQueuedSamples: Int { samples(in: maxQueuedDuration) }

        /// Samples in the fade-out (`clearFade` at the model rate, rounded down).
        public var clearFadeSamples: Int { samples(in: clearFade) }

        /// The libopus configuration this pacer's encoder is created with.
        public var opusConfiguration: OpusEncoder.Configuration {
            OpusEncoder.Configuration(
                sampleRate: format.sampleRate,
                channels: .mono,
                application: .voip,
                frameDuration: format.frameDuration.opusFrameDuration,
                bitrate: .bitsPerSecond(encoder.bitsPerSecond),
                bitrateMode: .constrainedVBR,
                complexity: encoder.complexity,
                inBandFEC: encoder.inBandFEC,
                dtx: encoder.dtx,
                expectedPacketLossPercent: encoder.expectedPacketLossPercent)
        }

        private func samples(in duration: Duration) -> Int {
            // Durations here are validated to at most 600 s, so nanoseconds × 48000 stays far below Int64.max.
            Int(duration.nanosecondsClamped * Int64(format.sampleRate.hertz) / 1_000_000_000)
        }
    }
}

/// Why a `DownlinkPacer` could not be created.
public enum DownlinkPacerError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Encoder complexity outside 0 ... 10.
    case invalidComplexity(Int)
    /// Bitrate outside 6000 ... 510000 b/s.
    case invalidBitrate(Int)
    /// Expected packet loss outside 0 ... 100 %.
    case invalidExpectedPacketLoss(Int)
    /// `maxQueuedDuration` shorter than one frame or longer than `Configuration.maximumQueuedDurationLimit`.
    case invalidMaxQueuedDuration(Duration)
    /// `clearFade` negative or longer than one frame.
    case invalidClearFade(Duration)
    /// `eventQueueCapacity` below 1.
    case invalidEventQueueCapacity(Int)
    /// `startDelay` outside 0...1 s.
    case invalidStartDelay(Duration)
    /// libopus refused to create the encoder.
    case encoder(OpusError)

    public var description: String {
        switch self {
        case .invalidComplexity(let value): "encoder complexity \(value) outside 0...10"
        case .invalidStartDelay(let value): "start delay \(value) outside 0...1 s"
        case .invalidBitrate(let value): "bitrate \(value) b/s outside 6000...510000 b/s"
        case .invalidExpectedPacketLoss(let value): "expected packet loss \(value) % outside 0...100 %"
        case .invalidMaxQueuedDuration(let value): "maxQueuedDuration \(value) outside one frame...600 s"
        case .invalidClearFade(let value): "clearFade \(value) outside 0...one frame"
        case .invalidEventQueueCapacity(let value): "eventQueueCapacity \(value) below 1"
        case .encoder(let error): "Opus encoder: \(error)"
        }
    }
}
