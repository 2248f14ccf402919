internal import COpus

/// Why an Opus operation failed.
///
/// The first seven cases are the negative return codes of libopus (`opus_defines.h`). The remaining cases are
/// mistakes this module catches before calling libopus; for those, `code` is the code libopus itself returns for
/// the same kind of mistake (`OPUS_BAD_ARG`, or `OPUS_INVALID_PACKET` for an empty packet).
public enum OpusError: Error, Hashable, Sendable, CustomStringConvertible {
    /// `OPUS_BAD_ARG` (-1): one or more invalid or out-of-range arguments.
    case badArgument
    /// `OPUS_BUFFER_TOO_SMALL` (-2): not enough bytes or samples allocated in a caller's buffer.
    case bufferTooSmall
    /// `OPUS_INTERNAL_ERROR` (-3).
    case internalError
    /// `OPUS_INVALID_PACKET` (-4): the compressed data is corrupted (or empty).
    case invalidPacket
    /// `OPUS_UNIMPLEMENTED` (-5): invalid or unsupported request number.
    case unimplemented
    /// `OPUS_INVALID_STATE` (-6): an encoder or decoder structure is invalid or already freed.
    case invalidState
    /// `OPUS_ALLOC_FAIL` (-7): memory allocation failed.
    case allocFail
    /// A negative code that libopus 1.3 does not document.
    case unknown(code: Int32)

    /// A configuration value outside what libopus accepts; names the setting, the value and the allowed values.
    case invalidSetting(OpusSetting, value: String, allowed: String)
    /// PCM handed to the encoder whose sample count (all channels) is not exactly one configured frame.
    case pcmSizeMismatch(expected: Int, actual: Int)
    /// A frame size for loss concealment or FEC that is not a whole number of 2.5 ms blocks from 2.5 to 120 ms.
    case invalidFrameSize(samplesPerChannel: Int, sampleRate: OpusSampleRate)

    /// Maps a libopus return code to an error; `nil` for codes that are not errors (zero or positive).
    init?(code: Int32) {
        switch code {
        case OPUS_BAD_ARG: self = .badArgument
        case OPUS_BUFFER_TOO_SMALL: self = .bufferTooSmall
        case OPUS_INTERNAL_ERROR: self = .internalError
        case OPUS_INVALID_PACKET: self = .invalidPacket
        case OPUS_UNIMPLEMENTED: self = .unimplemented
        case OPUS_INVALID_STATE: self = .invalidState
        case OPUS_ALLOC_FAIL: self = .allocFail
        case ..<0: self = .unknown(code: code)
        default: return nil
        }
    }

    /// The libopus error code: the one returned, or for checks made in Swift the one libopus uses for that mistake.
    public var code: Int32 {
        switch self {
        case .badArgument: OPUS_BAD_ARG
        case .bufferTooSmall: OPUS_BUFFER_TOO_SMALL
        case .internalError: OPUS_INTERNAL_ERROR
        case .invalidPacket: OPUS_INVALID_PACKET
        case .unimplemented: OPUS_UNIMPLEMENTED
        case .invalidState: OPUS_INVALID_STATE
        case .allocFail: OPUS_ALLOC_FAIL
        case .unknown(let code): code
        case .invalidSetting, .pcmSizeMismatch, .invalidFrameSize: OPUS_BAD_ARG
        }
    }

    /// The text libopus gives for `code` (`opus_strerror`).
    public var libraryMessage: String {
        String(cString: opus_strerror(code))
    }

    public var description: String {
        let summary = "OpusError.\(caseName) (libopus \(code): \(libraryMessage))"
        switch self {
        case .invalidSetting(let setting, let value, let allowed):
            return "\(summary): invalid \(setting.rawValue) \(value); allowed: \(allowed)"
        case .pcmSizeMismatch(let expected, let actual):
            return "\(summary): PCM holds \(actual) samples; one frame is \(expected) (samples per channel × channels)"
        case .invalidFrameSize(let samples, let rate):
            return "\(summary): frame size \(samples) samples per channel at \(rate.hertz) Hz is not a multiple of "
                + "2.5 ms (\(rate.samplesPer2_5ms) samples) from 2.5 to 120 ms"
        default:
            return summary
        }
    }

    private var caseName: String {
        switch self {
        case .badArgument: "badArgument"
        case .bufferTooSmall: "bufferTooSmall"
        case .internalError: "internalError"
        case .invalidPacket: "invalidPacket"
        case .unimplemented: "unimplemented"
        case .invalidState: "invalidState"
        case .allocFail: "allocFail"
        case .unknown: "unknown"
        case .invalidSetting: "invalidSetting"
        case .pcmSizeMismatch: "pcmSizeMismatch"
        case .invalidFrameSize: "invalidFrameSize"
        }
    }
}

/// A configurable value, named in `OpusError.invalidSetting`.
public enum OpusSetting: String, Hashable, Sendable, CaseIterable {
    case bitrate
    case complexity
    case expectedPacketLossPercent
    case gain
}

/// Throws the error for a libopus return value, or returns the value when it is not an error.
@inline(__always)
func checked(_ result: Int32) throws(OpusError) -> Int32 {
    if result < 0 {
        throw OpusError(code: result) ?? .unknown(code: result)
    }
    return result
}
