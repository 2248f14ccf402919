public import EarshotAudio
import EarshotWire
public import Logging

/// Everything that configures a relay. The CLI, environment and config file all fill in this one value
/// (``RelaySettings`` reads them, with flags over environment over file over these defaults).
public struct RelayConfiguration: Sendable, Hashable {
    /// HTTP listener for WHIP, the session API, metrics and the demo page.
    public var httpHost: String = "127.0.0.1"
    public var httpPort: Int = 8080
    /// Whether to serve HTTP at all: a host with its own signaling can turn it off and use `RelayService.offer`.
    public var serveHTTP = true
    /// The one UDP socket for all media. Port 0 picks a free port.
    public var udpHost: String = "127.0.0.1"
    public var udpPort: Int = 50000
    /// The address written into our ICE candidate when it differs from the bound one (NAT, 0.0.0.0 binds).
    public var publicAddress: String?
    /// When set, WHIP requests must carry `Authorization: Bearer <token>`.
    public var token: String?
    /// Sessions beyond this get 503 with Retry-After.
    public var maxSessions: Int = 500
    /// A session with no valid STUN or media for this long ends (RFC 7675 consent).
    public var consentTimeout: Duration = .seconds(30)
    /// ICE and DTLS must complete within this long of the WHIP request.
    public var connectTimeout: Duration = .seconds(30)
    /// Identifies this relay in ICE ufrags (routing token), so a stateless UDP front could route by it.
    public var nodeID: String = "e0"
    /// Ended sessions kept for `GET /v1/sessions/{id}`.
    public var endedSessionsKept: Int = 256
    /// The audio pipeline: codec path, jitter buffer profile, the model's PCM format, the downlink encoder.
    public var audio = AudioConfiguration()
    /// The model every session talks to.
    public var model: ModelChoice = .echo
    /// Further models a WHIP offer may pick by name (`POST /v1/whip?model=NAME`); only these, so a client can
    /// never make the relay dial or run anything the operator did not configure.
    public var namedModels: [String: ModelChoice] = [:]
    /// PEM certificates a `wss://` model's certificate must chain to (nil: the system's trusted roots).
    public var modelTrustRootsFile: String?
    /// A protocol model must answer `session.start` within this time.
    public var modelReadyTimeout: Duration = .seconds(5)
    /// A protocol model that takes nothing of what the relay has for it for this long ends its session.
    public var modelStallTimeout: Duration = .seconds(10)
    /// The server VAD's settings (transcoding path), also announced to protocol models in `session.start`.
    public var voiceActivity = VoiceActivityDetector.Configuration()
    /// The level of the relay's logger.
    public var logLevel: Logger.Level = .info

    public init() {}
}

/// The routing token inside our ICE ufrag: node id, then the session number in hex, then random characters. A
/// stateless UDP front can route the very first STUN packet of a session by the node id alone.
public struct RoutingToken: Hashable, Sendable {
    public var nodeID: String
    public var sessionNumber: UInt32

    /// Length of the session number field in the ufrag.
    static let numberLength = 8

    public init(nodeID: String, sessionNumber: UInt32) {
        self.nodeID = nodeID
        self.sessionNumber = sessionNumber
    }

    /// The ufrag prefix carrying this token.
    public var ufragPrefix: String {
        let hex = String(sessionNumber, radix: 16)
        return nodeID + String(repeating: "0", count: Self.numberLength - hex.count) + hex
    }

    /// Reads the token from a ufrag made by ``ufragPrefix`` for a node id of `nodeIDLength` characters.
    public init?(ufrag: some StringProtocol, nodeIDLength: Int) {
        guard ufrag.count >= nodeIDLength + Self.numberLength else { return nil }
        let node = ufrag.prefix(nodeIDLength)
        let digits = ufrag.dropFirst(nodeIDLength).prefix(Self.numberLength)
        guard let number = UInt32(digits, radix: 16) else { return nil }
        self.init(nodeID: String(node), sessionNumber: number)
    }
}
