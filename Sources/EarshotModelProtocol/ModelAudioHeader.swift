internal import EarshotWire

/// The 24-byte header in front of every audio message (Docs/model-protocol.md, "Audio messages").
///
/// ```
///  0      1      2      3      4                      8                               16                      24
///  | type | flags| reserved (0) | sequence (u32)       | media time (u64)              | relay time (u64, µs)  | payload…
/// ```
///
/// All fields big-endian. Input audio (relay → model): `sequence` counts input frames from 0, `mediaTime` is the
/// position of the first sample in samples at the input rate, `relayTime` the arrival at the relay in µs since the
/// session started; flags say whether the relay made the audio up, skipped audio before it or stretched it. Output
/// audio (model → relay): `sequence` counts output messages from 0, the media-time field carries the response id
/// (``responseID``), relay time is 0 and ignored, flags are 0.
///
/// Parsing is strict: the type must be 0x01 or 0x02, the reserved bytes 0, and no flag bit undefined for the type
/// may be set, so a parsed header serializes to the same 24 bytes.
public struct ModelAudioHeader: Hashable, Sendable {
    /// The header length in bytes.
    public static let size = 24

    /// Which way the audio goes.
    public enum AudioType: UInt8, Hashable, Sendable {
        /// Relay → model: the caller's voice.
        case input = 0x01
        /// Model → relay: audio to play to the caller.
        case output = 0x02
    }

    /// Flags of input audio (byte 1). Output audio has none.
    public struct Flags: OptionSet, Hashable, Sendable {
        public var rawValue: UInt8

        public init(rawValue: UInt8) {
            self.rawValue = rawValue
        }

        /// Bit 0: the relay made this audio up (packet-loss concealment, FEC, comfort noise); relay time is 0.
        public static let concealed = Flags(rawValue: 0x01)
        /// Bit 1: audio was skipped just before this frame (a gap): media time jumps.
        public static let gapBefore = Flags(rawValue: 0x02)
        /// Bit 2: the frame was time-stretched: it covers more or less sender time than its sample count says.
        public static let timeStretched = Flags(rawValue: 0x04)

        /// Every flag version 1 defines for input audio.
        public static let defined: Flags = [.concealed, .gapBefore, .timeStretched]
    }

    public var type: AudioType
    public var flags: Flags
    public var sequence: UInt32
    /// Input: the first sample's position in samples at the input rate. Output: the response id.
    public var mediaTime: UInt64
    /// Input: arrival at the relay, µs since the session started (0 for made-up audio). Output: 0, ignored.
    public var relayTime: UInt64

    public init(type: AudioType, flags: Flags = [], sequence: UInt32, mediaTime: UInt64, relayTime: UInt64 = 0) {
        self.type = type
        self.flags = flags
        self.sequence = sequence
        self.mediaTime = mediaTime
        self.relayTime = relayTime
    }

    /// An input header (relay → model).
    public static func input(sequence: UInt32, mediaTime: UInt64, relayTime: UInt64, flags: Flags = []) -> Self {
        Self(type: .input, flags: flags, sequence: sequence, mediaTime: mediaTime, relayTime: relayTime)
    }

    /// An output header (model → relay); `responseID` 0 means no response.
    public static func output(sequence: UInt32, responseID: UInt64) -> Self {
        Self(type: .output, sequence: sequence, mediaTime: responseID)
    }

    /// The response id of output audio (the media-time field).
    public var responseID: UInt64 {
        get { mediaTime }
        set { mediaTime = newValue }
    }

    /// Parses the header at the start of `bytes`; bytes after the first 24 are not looked at.
    public init(parsing bytes: UnsafeRawBufferPointer) throws(ModelProtocolError) {
        var reader = ByteReader(bytes, truncationError: ModelProtocolError.badAudioHeader(.truncated(bytes.count)))
        let typeByte = try reader.readUInt8()
        let flagByte = try reader.readUInt8()
        let reserved = try reader.readUInt16()
        let sequence = try reader.readUInt32()
        let mediaTime = try reader.readUInt64()
        let relayTime = try reader.readUInt64()
        guard let type = AudioType(rawValue: typeByte) else { throw .badAudioHeader(.unknownType(typeByte)) }
        guard reserved == 0 else { throw .badAudioHeader(.reservedNotZero(reserved)) }
        let allowed: Flags = type == .input ? .defined : []
        guard flagByte & ~allowed.rawValue == 0 else { throw .badAudioHeader(.undefinedFlags(flagByte)) }
        self.init(type: type, flags: Flags(rawValue: flagByte), sequence: sequence, mediaTime: mediaTime,
                  relayTime: relayTime)
    }

    /// Parses the header at the start of an array.
    public init(parsing bytes: [UInt8]) throws(ModelProtocolError) {
        self = try withBuffer(bytes) { (raw) throws(ModelProtocolError) in try ModelAudioHeader(parsing: raw) }
    }

    /// The 24 header bytes.
    public func serialized() -> [UInt8] {
        var writer = ByteWriter(capacity: Self.size)
        write(to: &writer)
        return writer.bytes
    }

    func write(to writer: inout ByteWriter) {
        writer.writeUInt8(type.rawValue)
        writer.writeUInt8(flags.rawValue)
        writer.writeUInt16(0)
        writer.writeUInt32(sequence)
        writer.writeUInt64(mediaTime)
        writer.writeUInt64(relayTime)
    }
}
