internal import EarshotWire

/// An audio message: the 24-byte ``ModelAudioHeader`` and the payload after it.
///
/// The payload is PCM16 little-endian mono at the negotiated rate (a whole number of samples), or one Opus packet
/// per message when the negotiated encoding is "opus". The message as a whole (header and payload) is at most
/// ``ModelMessage/maximumBodyLength`` bytes, so the payload is at most ``maximumPayloadLength``.
public struct ModelAudioMessage: Hashable, Sendable {
    /// The longest payload: 1 MiB less the header.
    public static let maximumPayloadLength = ModelMessage.maximumBodyLength - ModelAudioHeader.size

    public var header: ModelAudioHeader
    public var payload: [UInt8]

    public init(header: ModelAudioHeader, payload: [UInt8]) {
        self.header = header
        self.payload = payload
    }

    /// A message whose payload is `samples` as PCM16 little-endian.
    public init(header: ModelAudioHeader, samples: [Int16]) {
        var payload: [UInt8] = []
        payload.reserveCapacity(samples.count * 2)
        for sample in samples {
            let bits = UInt16(bitPattern: sample)
            payload.append(UInt8(truncatingIfNeeded: bits))
            payload.append(UInt8(truncatingIfNeeded: bits >> 8))
        }
        self.init(header: header, payload: payload)
    }

    /// Parses a whole audio message (a WebSocket binary message, or the body of an audio stdio frame): the header,
    /// then every remaining byte as the payload. A message longer than ``ModelMessage/maximumBodyLength`` is
    /// rejected with `frameTooLarge` before the header is read.
    public init(parsing bytes: UnsafeRawBufferPointer) throws(ModelProtocolError) {
        guard bytes.count <= ModelMessage.maximumBodyLength else { throw .frameTooLarge(bytes.count) }
        header = try ModelAudioHeader(parsing: bytes)
        payload = Array(bytes[ModelAudioHeader.size...])
    }

    /// Parses a whole audio message from an array.
    public init(parsing bytes: [UInt8]) throws(ModelProtocolError) {
        self = try withBuffer(bytes) { (raw) throws(ModelProtocolError) in try ModelAudioMessage(parsing: raw) }
    }

    /// Parses a whole audio message from an array slice.
    public init(parsing bytes: ArraySlice<UInt8>) throws(ModelProtocolError) {
        self = try withBuffer(bytes) { (raw) throws(ModelProtocolError) in try ModelAudioMessage(parsing: raw) }
    }

    /// Header and payload length.
    public var serializedSize: Int { ModelAudioHeader.size + payload.count }

    /// The header followed by the payload.
    public func serialized() -> [UInt8] {
        var writer = ByteWriter(capacity: serializedSize)
        write(to: &writer)
        return writer.bytes
    }

    func write(to writer: inout ByteWriter) {
        header.write(to: &writer)
        writer.write(payload)
    }

    /// The payload read as PCM16 little-endian samples; an odd payload length is not a whole number of samples.
    public func pcm16Samples() throws(ModelProtocolError) -> [Int16] {
        guard payload.count % 2 == 0 else { throw .badPCMLength(payload.count) }
        var samples: [Int16] = []
        samples.reserveCapacity(payload.count / 2)
        var index = 0
        while index < payload.count {
            samples.append(Int16(bitPattern: UInt16(payload[index]) | UInt16(payload[index + 1]) << 8))
            index += 2
        }
        return samples
    }
}
