internal import COpus

extension OpusEncoder {
    /// The coding mode libopus optimises for (`OPUS_SET_APPLICATION`).
    public enum Application: Hashable, Sendable, CaseIterable {
        /// Speech intelligibility first; the choice for a voice call.
        case voip
        /// Faithfulness to the input, for music and mixed content.
        case audio
        /// Lowest delay: disables the speech-optimised (SILK) modes, saving 4 ms of lookahead.
        case restrictedLowDelay

        var opusValue: Int32 {
            switch self {
            case .voip: OPUS_APPLICATION_VOIP
            case .audio: OPUS_APPLICATION_AUDIO
            case .restrictedLowDelay: OPUS_APPLICATION_RESTRICTED_LOWDELAY
            }
        }
    }

    /// The target bitrate (`OPUS_SET_BITRATE`).
    public enum Bitrate: Hashable, Sendable {
        /// libopus picks a rate from the sample rate and channel count.
        case auto
        /// As many bits as the packet size allows.
        case max
        /// A target in bits per second, within `allowedBitsPerSecond`.
        case bitsPerSecond(Int)

        /// RFC 6716 §1: Opus covers "bitrates from 6 kb/s to 510 kb/s". libopus silently clamps values outside
        /// (down to 500 b/s), so we reject them instead of letting a typo pass unnoticed.
        public static let allowedBitsPerSecond = 6_000...510_000

        var opusValue: Int32 {
            switch self {
            case .auto: OPUS_AUTO
            case .max: OPUS_BITRATE_MAX
            case .bitsPerSecond(let bits): Int32(clamping: bits)
            }
        }

        func validate() throws(OpusError) {
            if case .bitsPerSecond(let bits) = self, !Self.allowedBitsPerSecond.contains(bits) {
                throw .invalidSetting(.bitrate, value: "\(bits) b/s", allowed: "auto, max, or 6000...510000 b/s")
            }
        }
    }

    /// Variable or constant bitrate (`OPUS_SET_VBR`, `OPUS_SET_VBR_CONSTRAINT`).
    public enum BitrateMode: Hashable, Sendable, CaseIterable {
        /// Every packet the same size (for a given frame duration).
        case cbr
        /// Unconstrained variable bitrate.
        case vbr
        /// Variable bitrate bounded so that the rate stays near the target over short windows (libopus default).
        case constrainedVBR
    }

    /// A hint about the input signal (`OPUS_SET_SIGNAL`).
    public enum Signal: Hashable, Sendable, CaseIterable {
        /// libopus decides from its own analysis (default).
        case auto
        case voice
        case music

        var opusValue: Int32 {
            switch self {
            case .auto: OPUS_AUTO
            case .voice: OPUS_SIGNAL_VOICE
            case .music: OPUS_SIGNAL_MUSIC
            }
        }
    }

    /// Everything that configures an encoder. Defaults follow libopus 1.3.1's defaults, except `application`
    /// (voip) and `frameDuration` (20 ms, the WebRTC norm), which libopus has no default for.
    public struct Configuration: Hashable, Sendable {
        public var sampleRate: OpusSampleRate
        public var channels: OpusChannels
        public var application: Application
        /// The duration of the PCM each `encode` call takes.
        public var frameDuration: OpusFrameDuration
        public var bitrate: Bitrate
        public var bitrateMode: BitrateMode
        /// Computational complexity, 0 (cheapest) ... 10 (best quality). libopus 1.3.1 defaults to 9.
        public var complexity: Int
        /// Add in-band FEC (LBRR data for the previous frame) in SILK and hybrid modes, when
        /// `expectedPacketLossPercent` is above zero.
        public var inBandFEC: Bool
        /// Discontinuous transmission: near-empty packets during silence.
        public var dtx: Bool
        /// Expected packet loss, 0...100 %; steers how much redundancy FEC spends.
        public var expectedPacketLossPercent: Int
        /// The widest bandwidth the encoder may code.
        public var maxBandwidth: OpusBandwidth
        public var signal: Signal

        public static let allowedComplexity = 0...10
        public static let allowedPacketLossPercent = 0...100

        public init(
            sampleRate: OpusSampleRate = .hz48000,
            channels: OpusChannels = .mono,
            application: Application = .voip,
            frameDuration: OpusFrameDuration = .ms20,
            bitrate: Bitrate = .auto,
            bitrateMode: BitrateMode = .constrainedVBR,
            complexity: Int = 9,
            inBandFEC: Bool = false,
            dtx: Bool = false,
            expectedPacketLossPercent: Int = 0,
            maxBandwidth: OpusBandwidth = .fullband,
            signal: Signal = .auto
        ) {
            self.sampleRate = sampleRate
            self.channels = channels
            self.application = application
            self.frameDuration = frameDuration
            self.bitrate = bitrate
            self.bitrateMode = bitrateMode
            self.complexity = complexity
            self.inBandFEC = inBandFEC
            self.dtx = dtx
            self.expectedPacketLossPercent = expectedPacketLossPercent
            self.maxBandwidth = maxBandwidth
            self.signal = signal
        }

        /// Samples per channel in one frame.
        public var samplesPerChannel: Int { frameDuration.samplesPerChannel(at: sampleRate) }

        /// Samples in one frame across all channels: the exact PCM count `encode` takes.
        public var samplesPerFrame: Int { samplesPerChannel * channels.count }

        /// Checks every numeric value; the typed enums cannot hold anything invalid.
        public func validate() throws(OpusError) {
            try bitrate.validate()
            try Self.validateComplexity(complexity)
            try Self.validatePacketLoss(expectedPacketLossPercent)
        }

        static func validateComplexity(_ value: Int) throws(OpusError) {
            guard allowedComplexity.contains(value) else {
                throw .invalidSetting(.complexity, value: "\(value)", allowed: "0...10")
            }
        }

        static func validatePacketLoss(_ value: Int) throws(OpusError) {
            guard allowedPacketLossPercent.contains(value) else {
                throw .invalidSetting(.expectedPacketLossPercent, value: "\(value) %", allowed: "0...100 %")
            }
        }
    }
}
