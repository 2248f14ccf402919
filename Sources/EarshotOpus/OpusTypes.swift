internal import COpus

/// The sample rates libopus encodes from and decodes to (RFC 6716 §2: Opus works internally at 48 kHz and
/// resamples to and from these rates).
public enum OpusSampleRate: Int, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case hz8000 = 8000
    case hz12000 = 12000
    case hz16000 = 16000
    case hz24000 = 24000
    case hz48000 = 48000

    /// Samples per second (per channel).
    public var hertz: Int { rawValue }

    /// Samples per channel in one 2.5 ms block, the smallest Opus frame.
    public var samplesPer2_5ms: Int { rawValue / 400 }

    /// Samples per channel in the longest Opus packet, 120 ms (RFC 6716 §3.2.5).
    public var maxPacketSamples: Int { rawValue * 120 / 1000 }

    public var description: String { "\(rawValue) Hz" }
}

/// Mono or stereo; PCM of two channels is interleaved (left, right, left, right, ...).
public enum OpusChannels: Int, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case mono = 1
    case stereo = 2

    /// The number of channels.
    public var count: Int { rawValue }

    public var description: String { self == .mono ? "mono" : "stereo" }
}

/// The frame durations the encoder accepts in one call (RFC 6716 §2.1.4). The raw value is in microseconds,
/// chosen so that the sample count at every supported rate is an exact integer.
public enum OpusFrameDuration: Int, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case ms2_5 = 2_500
    case ms5 = 5_000
    case ms10 = 10_000
    case ms20 = 20_000
    case ms40 = 40_000
    case ms60 = 60_000

    /// The duration in microseconds.
    public var microseconds: Int { rawValue }

    /// Samples per channel in one frame of this duration at `sampleRate`.
    public func samplesPerChannel(at sampleRate: OpusSampleRate) -> Int {
        sampleRate.hertz * rawValue / 1_000_000
    }

    public var description: String { self == .ms2_5 ? "2.5 ms" : "\(rawValue / 1000) ms" }
}

/// Audio bandwidths (RFC 6716 §2, Table 1), used to cap what the encoder codes.
public enum OpusBandwidth: Hashable, Sendable, CaseIterable {
    /// 4 kHz passband (8 kHz effective sample rate).
    case narrowband
    /// 6 kHz passband (12 kHz).
    case mediumband
    /// 8 kHz passband (16 kHz).
    case wideband
    /// 12 kHz passband (24 kHz).
    case superwideband
    /// 20 kHz passband (48 kHz).
    case fullband

    var opusValue: Int32 {
        switch self {
        case .narrowband: OPUS_BANDWIDTH_NARROWBAND
        case .mediumband: OPUS_BANDWIDTH_MEDIUMBAND
        case .wideband: OPUS_BANDWIDTH_WIDEBAND
        case .superwideband: OPUS_BANDWIDTH_SUPERWIDEBAND
        case .fullband: OPUS_BANDWIDTH_FULLBAND
        }
    }

    init?(opusValue: Int32) {
        guard let match = Self.allCases.first(where: { $0.opusValue == opusValue }) else { return nil }
        self = match
    }
}

/// Facts about the linked libopus.
public enum OpusLibrary {
    /// The version string of the linked libopus, e.g. "libopus 1.3.1" (`opus_get_version_string`).
    public static var versionString: String {
        String(cString: opus_get_version_string())
    }
}

/// The 2.5 ms multiple check shared by loss concealment and FEC decode (opus.h: "frame_size must be a multiple of
/// 2.5 ms"), also bounded by the longest packet, 120 ms.
func validateLossFrameSize(_ frameSize: Int, sampleRate: OpusSampleRate) throws(OpusError) {
    let block = sampleRate.samplesPer2_5ms
    guard frameSize > 0, frameSize <= sampleRate.maxPacketSamples, frameSize % block == 0 else {
        throw .invalidFrameSize(samplesPerChannel: frameSize, sampleRate: sampleRate)
    }
}
