/// The model protocol between the relay and a model process (Docs/model-protocol.md).
public enum ModelProtocolVersion {
    /// The version string carried in `session.start`.
    public static let current = "earshot-model/1"
}
