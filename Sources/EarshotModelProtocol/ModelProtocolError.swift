/// Why bytes could not be read as a model protocol message (Docs/model-protocol.md, "Errors").
///
/// Each case maps to the error code the relay sends back (``code``). Whether the stream can go on after the error
/// is a property of the code (``ModelErrorCode/isFatal``): a malformed message inside an intact frame is skipped,
/// a frame length past the limit loses the stream.
public enum ModelProtocolError: Error, Hashable, Sendable {
    /// The control message is not JSON text (RFC 8259) in UTF-8, repeats a member name, or nests containers deeper
    /// than ``JSONValue/maximumDepth``. `offset` is the byte where the parser stopped.
    case badJSON(offset: Int)
    /// The control message is JSON but not an object.
    case notAnObject
    /// A required member is absent (or, for `type`, the message has none).
    case missingField(String)
    /// A member has the wrong JSON type (a string where a number belongs, a fraction where an integer belongs, a
    /// required member that is `null`).
    case wrongFieldType(String)
    /// A member has the right type but a value outside its range (a negative duration, a sample rate of 0).
    case badFieldValue(String)
    /// The `type` names no control message of this version. Not fatal: the caller answers `unknown_type`.
    case unknownType(String)
    /// The 24-byte audio header is malformed.
    case badAudioHeader(ModelAudioHeaderProblem)
    /// A PCM16 payload of an odd number of bytes: not a whole number of samples.
    case badPCMLength(Int)
    /// A stdio frame whose length field exceeds ``StdioFrameDecoder/maximumFrameLength``, or a message (JSON text,
    /// audio header and payload) longer than ``ModelMessage/maximumBodyLength``; the length found.
    case frameTooLarge(Int)
    /// A stdio frame of length 0: it has no kind byte.
    case emptyFrame
    /// A stdio frame whose kind is neither 0x01 (control) nor 0x02 (audio).
    case badFrameKind(UInt8)
    /// The stream ended inside a frame; the bytes left over.
    case truncatedFrame(Int)
    /// A multiplexed (sidecar) frame whose session id is longer than the frame, or not ASCII.
    case badSessionID

    /// The code the relay answers this error with.
    public var code: ModelErrorCode {
        switch self {
        case .badJSON, .notAnObject, .missingField, .wrongFieldType, .badFieldValue: .badJSON
        case .unknownType: .unknownType
        case .badAudioHeader, .badPCMLength: .badAudioHeader
        case .frameTooLarge: .frameTooLarge
        case .emptyFrame, .badFrameKind, .truncatedFrame, .badSessionID: .badFrame
        }
    }

    /// Whether the session cannot go on after this error (the code's ``ModelErrorCode/isFatal``).
    public var isFatal: Bool { code.isFatal }
}

/// What is wrong with an audio header.
public enum ModelAudioHeaderProblem: Hashable, Sendable {
    /// Fewer than 24 bytes; the count found.
    case truncated(Int)
    /// The type byte is neither 0x01 (input) nor 0x02 (output).
    case unknownType(UInt8)
    /// Bytes 2–3 are not zero.
    case reservedNotZero(UInt16)
    /// Flag bits this version does not define: bits 3–7 of an input header, any bit of an output header.
    case undefinedFlags(UInt8)
}

extension ModelProtocolError: CustomStringConvertible {
    /// A sentence for the `message` of an `error` control message and for logs.
    public var description: String {
        switch self {
        case .badJSON(let offset): "not a JSON object in UTF-8 (stopped at byte \(offset))"
        case .notAnObject: "the control message is not a JSON object"
        case .missingField(let name): "missing field \"\(name)\""
        case .wrongFieldType(let name): "field \"\(name)\" has the wrong type"
        case .badFieldValue(let name): "field \"\(name)\" is out of range"
        case .unknownType(let type): "unknown message type \"\(type)\""
        case .badAudioHeader(.truncated(let count)): "audio message of \(count) bytes, shorter than its 24-byte header"
        case .badAudioHeader(.unknownType(let type)): "audio header type \(type) is neither 1 (input) nor 2 (output)"
        case .badAudioHeader(.reservedNotZero(let value)): "audio header reserved bytes are \(value), not 0"
        case .badAudioHeader(.undefinedFlags(let flags)): "audio header flags \(flags) set undefined bits"
        case .badPCMLength(let count): "PCM16 payload of \(count) bytes is not a whole number of samples"
        case .frameTooLarge(let length): "frame of \(length) bytes exceeds the limit"
        case .emptyFrame: "stdio frame of length 0"
        case .badFrameKind(let kind): "stdio frame kind \(kind) is neither 1 (control) nor 2 (audio)"
        case .truncatedFrame(let count): "the stream ended inside a frame (\(count) bytes left over)"
        case .badSessionID: "sidecar frame whose session id is longer than the frame or not ASCII"
        }
    }
}

/// The `code` of an `error` control message.
///
/// The relay sends the codes below; a model may send any code (the relay logs it and ends the session). Unknown
/// codes are kept as they are.
public struct ModelErrorCode: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral,
    CustomStringConvertible
{
    public var rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public init(stringLiteral value: String) {
        self.init(rawValue: value)
    }

    public var description: String { rawValue }

    /// A control message that is not a JSON object, lacks a field or has a field of the wrong type or range.
    public static let badJSON: ModelErrorCode = "bad_json"
    /// A control message of a type the receiver does not take.
    public static let unknownType: ModelErrorCode = "unknown_type"
    /// An audio message with a malformed header or a PCM16 payload of an odd length.
    public static let badAudioHeader: ModelErrorCode = "bad_audio_header"
    /// A stdio frame of length 0 or of an unknown kind (skipped).
    public static let badFrame: ModelErrorCode = "bad_frame"
    /// A frame or message over the 1 MiB limit: the stream cannot be resynchronised.
    public static let frameTooLarge: ModelErrorCode = "frame_too_large"
    /// `session.ready` chose an output format that `session.start` did not offer.
    public static let unsupportedFormat: ModelErrorCode = "unsupported_format"
    /// Output audio whose sequence is not the previous one plus one (a warning: the audio is played).
    public static let sequenceGap: ModelErrorCode = "sequence_gap"
    /// Output audio was dropped because the relay's output queue was full.
    public static let queueFull: ModelErrorCode = "queue_full"

    /// Whether the relay ends the session after sending this code (a `stop` follows).
    public var isFatal: Bool { self == .frameTooLarge || self == .unsupportedFormat }
}
