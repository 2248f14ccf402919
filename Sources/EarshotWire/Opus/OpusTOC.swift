/// The coding mode of an Opus frame (RFC 6716 §3.1).
public enum OpusMode: Hashable, Sendable {
    /// Linear prediction (configs 0–11).
    case silk
    /// SILK for low frequencies, CELT above (configs 12–15).
    case hybrid
    /// MDCT (configs 16–31).
    case celt
}

/// The audio bandwidth of an Opus frame (RFC 6716 §2, Table 1).
public enum OpusBandwidth: Int, Hashable, Comparable, Sendable {
    /// 4 kHz audio bandwidth, 8 kHz effective sample rate.
    case narrowband
    /// 6 kHz, 12 kHz.
    case mediumband
    /// 8 kHz, 16 kHz.
    case wideband
    /// 12 kHz, 24 kHz.
    case superWideband
    /// 20 kHz, 48 kHz.
    case fullband

    /// The effective sample rate in Hz.
    public var sampleRate: Int {
        switch self {
        case .narrowband: 8000
        case .mediumband: 12000
        case .wideband: 16000
        case .superWideband: 24000
        case .fullband: 48000
        }
    }

    public static func < (lhs: OpusBandwidth, rhs: OpusBandwidth) -> Bool {
        lhs.rawValue < rhs.rawValue
    }
}

/// The duration of one Opus frame: 2.5, 5, 10, 20, 40 or 60 ms, stored as samples at 48 kHz.
public struct OpusFrameDuration: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Samples per frame at 48 kHz (120 for 2.5 ms … 2880 for 60 ms).
    public let samplesAt48kHz: Int

    /// 2.5 ms (CELT only).
    public static let ms2_5 = OpusFrameDuration(samplesAt48kHz: 120)
    /// 5 ms (CELT only).
    public static let ms5 = OpusFrameDuration(samplesAt48kHz: 240)
    /// 10 ms.
    public static let ms10 = OpusFrameDuration(samplesAt48kHz: 480)
    /// 20 ms, the WebRTC default.
    public static let ms20 = OpusFrameDuration(samplesAt48kHz: 960)
    /// 40 ms (SILK only).
    public static let ms40 = OpusFrameDuration(samplesAt48kHz: 1920)
    /// 60 ms (SILK only).
    public static let ms60 = OpusFrameDuration(samplesAt48kHz: 2880)

    /// Samples per frame at `sampleRate` (8000, 12000, 16000, 24000 or 48000 Hz, the rates Opus decodes to).
    public func samples(atRate sampleRate: Int) -> Int {
        samplesAt48kHz * sampleRate / 48000
    }

    /// The duration in microseconds.
    public var microseconds: Int { samplesAt48kHz * 1000 / 48 }

    /// The duration.
    public var duration: Duration { .microseconds(microseconds) }

    public static func < (lhs: OpusFrameDuration, rhs: OpusFrameDuration) -> Bool {
        lhs.samplesAt48kHz < rhs.samplesAt48kHz
    }

    public var description: String {
        samplesAt48kHz == 120 ? "2.5 ms" : "\(samplesAt48kHz / 48) ms"
    }
}

/// The table-of-contents byte that starts every Opus packet (RFC 6716 §3.1):
/// ```
///  0 1 2 3 4 5 6 7
/// +-+-+-+-+-+-+-+-+
/// | config  |s| c |
/// +-+-+-+-+-+-+-+-+
/// ```
/// `config` (0–31) selects mode, bandwidth and frame duration (Table 2); `s` is the stereo flag;
/// `c` is the frame count code (0: one frame, 1: two equal, 2: two different, 3: arbitrary).
public struct OpusTOC: Hashable, Sendable {
    /// The TOC byte.
    public var rawValue: UInt8

    /// Creates a TOC from its byte.
    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// Creates a TOC from its fields (`config` and `frameCountCode` are masked to 5 and 2 bits).
    public init(config: UInt8, isStereo: Bool, frameCountCode: UInt8) {
        rawValue = (config & 0x1F) << 3 | (isStereo ? 0x04 : 0) | (frameCountCode & 0x03)
    }

    /// The configuration number, 0–31.
    public var config: UInt8 { rawValue >> 3 }
    /// Whether the frames are stereo.
    public var isStereo: Bool { rawValue & 0x04 != 0 }
    /// The frame count code, 0–3.
    public var frameCountCode: UInt8 { rawValue & 0x03 }

    /// The coding mode (RFC 6716 Table 2).
    public var mode: OpusMode {
        switch config {
        case 0...11: .silk
        case 12...15: .hybrid
        default: .celt
        }
    }

    /// The audio bandwidth (RFC 6716 Table 2).
    public var bandwidth: OpusBandwidth {
        switch config {
        case 0...3: .narrowband
        case 4...7: .mediumband
        case 8...11: .wideband
        case 12...13: .superWideband
        case 14...15: .fullband
        case 16...19: .narrowband
        case 20...23: .wideband
        case 24...27: .superWideband
        default: .fullband
        }
    }

    /// The duration of each frame (RFC 6716 Table 2): SILK 10/20/40/60 ms, Hybrid 10/20 ms,
    /// CELT 2.5/5/10/20 ms, cycling within each group of configs.
    public var frameDuration: OpusFrameDuration {
        switch mode {
        case .silk: [.ms10, .ms20, .ms40, .ms60][Int(config % 4)]
        case .hybrid: [.ms10, .ms20][Int(config % 2)]
        case .celt: [.ms2_5, .ms5, .ms10, .ms20][Int(config % 4)]
        }
    }
}
