/// One message of the model protocol: control (JSON text) or audio (binary).
///
/// Over WebSocket a control message is one text message and an audio message one binary message; over stdio each
/// is one frame (``StdioFrameDecoder``, ``StdioFrameEncoder``).
public enum ModelMessage: Hashable, Sendable {
    case control(ModelControlMessage)
    case audio(ModelAudioMessage)

    /// The longest message: JSON text, or audio header and payload. 1 MiB is over 30 s of 16 kHz PCM16 in one
    /// message, far more than any frame needs, and small enough to buffer whole.
    public static let maximumBodyLength = 1 << 20
}
