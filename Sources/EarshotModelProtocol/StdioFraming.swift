internal import EarshotWire

// Framing of the `exec:` transport (Docs/model-protocol.md, "stdio framing"): each message is one frame on the
// model's stdin (relay → model) or stdout (model → relay).
//
//  0                   4      5
//  | length (u32, BE)  | kind | body (length − 1 bytes) …
//
// `length` counts the kind byte and the body, so the smallest frame has length 1 (an empty body). Kind 0x01: the
// body is a control message's JSON text; kind 0x02: the body is an audio message (header and payload). A length
// above 1 048 577 (a 1 MiB body and the kind byte) is `frame_too_large`: the reader stops before buffering it.

/// The kind byte of a stdio frame.
public enum StdioFrameKind: UInt8, Hashable, Sendable {
    /// The body is the JSON text of a control message.
    case control = 0x01
    /// The body is an audio message: the 24-byte header and the payload.
    case audio = 0x02
}

/// One stdio frame, not parsed: its kind and body, and in a multiplexed stream its session id.
public struct StdioFrame: Hashable, Sendable {
    public var kind: StdioFrameKind
    public var body: [UInt8]
    /// The session a multiplexed (sidecar) frame belongs to; "" for a relay-level message; nil in a one-session
    /// stream.
    public var sessionID: String?

    public init(kind: StdioFrameKind, body: [UInt8], sessionID: String? = nil) {
        self.kind = kind
        self.body = body
        self.sessionID = sessionID
    }
}

/// The sidecar's multiplexed framing (`earshot serve --model stdio`, Docs/model-protocol.md "Sidecar"): every
/// frame names its session between the kind and the body.
///
///     | length (u32 BE) | kind | id length (u8) | session id (ASCII) | body |
///
/// `length` counts the kind byte, the id length byte, the id and the body. An empty id is a relay-level message.
public enum MultiplexedStdio {
    /// The longest session id (the id length is one byte).
    public static let maximumSessionIDLength = 255
    /// The largest `length` field: a 1 MiB body, the kind byte, the id length byte and the longest id.
    public static let maximumFrameLength = ModelMessage.maximumBodyLength + 2 + maximumSessionIDLength

    /// Whether `id` can name a session on the wire: ASCII, at most 255 bytes.
    public static func isValidSessionID(_ id: some StringProtocol) -> Bool {
        id.utf8.count <= maximumSessionIDLength && id.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
    }
}

/// Writes messages as stdio frames.
public enum StdioFrameEncoder {
    /// One frame: length, kind, body. Throws `frameTooLarge` (with the frame length) for a body over
    /// ``ModelMessage/maximumBodyLength``, which no reader would take.
    public static func encode(_ message: ModelMessage, sessionID: String? = nil) throws(ModelProtocolError) -> [UInt8] {
        let kind: StdioFrameKind
        let body: [UInt8]
        switch message {
        case .control(let control):
            kind = .control
            body = control.encode()
        case .audio(let audio):
            kind = .audio
            body = audio.serialized()
        }
        return try encode(kind: kind, body: body, sessionID: sessionID)
    }

    /// One frame of an encoded body; with `sessionID`, the sidecar's multiplexed frame (``MultiplexedStdio``).
    public static func encode(kind: StdioFrameKind, body: [UInt8], sessionID: String? = nil)
        throws(ModelProtocolError) -> [UInt8]
    {
        guard body.count <= ModelMessage.maximumBodyLength else { throw .frameTooLarge(body.count + 1) }
        guard let sessionID else {
            var writer = ByteWriter(capacity: 5 + body.count)
            writer.writeUInt32(UInt32(body.count + 1))
            writer.writeUInt8(kind.rawValue)
            writer.write(body)
            return writer.bytes
        }
        guard MultiplexedStdio.isValidSessionID(sessionID) else { throw .badSessionID }
        let id = Array(sessionID.utf8)
        var writer = ByteWriter(capacity: 6 + id.count + body.count)
        writer.writeUInt32(UInt32(2 + id.count + body.count))
        writer.writeUInt8(kind.rawValue)
        writer.writeUInt8(UInt8(id.count))
        writer.write(id)
        writer.write(body)
        return writer.bytes
    }
}

/// Reads stdio frames from a byte stream, sans-IO: ``append(_:)`` what the pipe gave, then call ``next()`` until it
/// returns `nil`.
///
/// Errors come in two sorts. A frame that is intact but whose content is wrong (bad JSON, an unknown type, a bad
/// audio header, a frame of length 0 or of unknown kind) is consumed and its error thrown; the next call goes on
/// with the following frame. A length above ``maximumFrameLength`` loses the stream: the error is thrown as soon as
/// the length is read, nothing of the frame is buffered, and every later call throws it again.
///
/// Memory: the decoder holds the bytes appended and not yet consumed, and drops consumed bytes as it goes; a frame
/// of unknown kind is skipped without being buffered. A caller that appends what one read returns (a pipe read is
/// at most 64 KiB) and drains ``next()`` after each append keeps at most one incomplete frame (≤ 1 MiB + 5 bytes)
/// and one read.
public struct StdioFrameDecoder: Sendable {
    /// The largest `length` field: a body of ``ModelMessage/maximumBodyLength`` plus the kind byte.
    public static let maximumFrameLength = ModelMessage.maximumBodyLength + 1

    /// Consumed bytes are dropped from the front of the buffer once they are at least this many and at least half
    /// of it, so that dropping costs amortised constant time per byte.
    private static let compactionThreshold = 64 * 1024

    private var buffer: [UInt8] = []
    /// Offset in `buffer` of the first byte not consumed.
    private var start = 0
    /// Bytes of a frame of unknown kind still to skip.
    private var skipping = 0
    /// The error that lost the stream; thrown again on every call.
    private var failure: ModelProtocolError?
    /// Whether frames carry a session id (the sidecar's framing, ``MultiplexedStdio``).
    public let multiplexed: Bool

    /// A decoder of one-session frames, or with `multiplexed` of the sidecar's frames.
    public init(multiplexed: Bool = false) {
        self.multiplexed = multiplexed
    }

    /// The largest `length` field this decoder takes.
    public var frameLengthLimit: Int { multiplexed ? MultiplexedStdio.maximumFrameLength : Self.maximumFrameLength }

    /// Bytes appended and not yet consumed.
    public var bufferedByteCount: Int { buffer.count - start }

    /// The error that lost the stream, if one did.
    public var streamError: ModelProtocolError? { failure }

    /// Adds bytes read from the stream (an array, a slice, an `UnsafeRawBufferPointer`). Ignored once the stream
    /// is lost.
    public mutating func append<Bytes: Collection<UInt8>>(_ bytes: Bytes) {
        guard failure == nil else { return }
        var rest = bytes[...]
        if skipping > 0, bufferedByteCount == 0 {
            let skipped = min(skipping, rest.count)
            rest = rest.dropFirst(skipped)
            skipping -= skipped
        }
        buffer.append(contentsOf: rest)
    }

    /// The next complete message, `nil` if more bytes are needed.
    public mutating func next() throws(ModelProtocolError) -> ModelMessage? {
        guard let frame = try nextFrame() else { return nil }
        switch frame.kind {
        case .control: return .control(try ModelControlMessage(json: frame.body))
        case .audio: return .audio(try ModelAudioMessage(parsing: frame.body))
        }
    }

    /// The next complete frame's kind and body, not parsed, `nil` if more bytes are needed: for a transport that
    /// hands bodies on and lets the session parse them. Framing errors are thrown as by ``next()``.
    public mutating func nextFrame() throws(ModelProtocolError) -> StdioFrame? {
        if let failure { throw failure }
        defer { compact() }
        if skipping > 0 {
            let skipped = min(skipping, bufferedByteCount)
            start += skipped
            skipping -= skipped
            if skipping > 0 { return nil }
        }
        guard bufferedByteCount >= 4 else { return nil }
        let length = Int(UInt32(buffer[start]) << 24 | UInt32(buffer[start + 1]) << 16
                         | UInt32(buffer[start + 2]) << 8 | UInt32(buffer[start + 3]))
        guard length <= frameLengthLimit else {
            let error = ModelProtocolError.frameTooLarge(length)
            failure = error
            buffer = []
            start = 0
            throw error
        }
        guard length > 0 else {
            start += 4
            throw .emptyFrame
        }
        guard bufferedByteCount >= 5 else { return nil }
        let kindByte = buffer[start + 4]
        guard let kind = StdioFrameKind(rawValue: kindByte) else {
            // Skip the body as it arrives instead of waiting for all of it.
            start += 5
            skipping = length - 1
            let skipped = min(skipping, bufferedByteCount)
            start += skipped
            skipping -= skipped
            throw .badFrameKind(kindByte)
        }
        guard bufferedByteCount >= 4 + length else { return nil }
        let end = start + 4 + length
        defer { start = end }
        guard multiplexed else { return StdioFrame(kind: kind, body: Array(buffer[(start + 5)..<end])) }
        guard length >= 2, length - 2 >= Int(buffer[start + 5]) else { throw .badSessionID }
        let idEnd = start + 6 + Int(buffer[start + 5])
        let id = buffer[(start + 6)..<idEnd]
        guard id.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { throw .badSessionID }
        return StdioFrame(
            kind: kind, body: Array(buffer[idEnd..<end]), sessionID: String(decoding: id, as: UTF8.self))
    }

    private mutating func compact() {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= Self.compactionThreshold)
            start = 0
        } else if start >= Self.compactionThreshold, start * 2 >= buffer.count {
            buffer.removeSubrange(0..<start)
            start = 0
        }
    }
}
