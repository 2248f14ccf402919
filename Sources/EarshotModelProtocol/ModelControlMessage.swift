/// A control message: a JSON object whose `type` names it (Docs/model-protocol.md, "Control messages").
///
/// The relay sends `session.start`, `speech_started`, `speech_stopped`, `mark_played`, `mark_cancelled`, `played`
/// and `stats`; the model sends `session.ready`, `clear`, `mark` and `response.done`; either side sends `stop` and
/// `error`. Member names in Swift are the JSON names in camel case (`audio_start_ms` → `audioStartMs`).
public enum ModelControlMessage: Hashable, Sendable {
    // Relay → model.

    /// The first message of every session.
    case sessionStart(SessionStart)
    /// The relay's voice activity detector heard speech begin, at this input media time in ms.
    case speechStarted(audioStartMs: Int)
    /// The relay's voice activity detector heard speech end, at this input media time in ms.
    case speechStopped(audioEndMs: Int)
    /// The output audio up to a mark left the relay, at this relay time (ms since the session started).
    case markPlayed(name: String, playedAtMs: Int)
    /// A `clear` dropped the audio before a mark: it will never be played.
    case markCancelled(name: String)
    /// How much of a response was played to the caller.
    case played(Played)
    /// The session's counters, every second: every member of the message but `type` (`uplink`, `downlink`, …).
    case stats([String: JSONValue])

    // Model → relay.

    /// The model's answer to `session.start`, with the output format it chose.
    case sessionReady(SessionReady)
    /// Drop all queued output now (barge-in).
    case clear
    /// Tag the output position after the audio sent so far.
    case mark(name: String)
    /// No more audio for this response.
    case responseDone(responseID: UInt64)

    // Either side.

    /// The session ends.
    case stop(reason: String?)
    /// A problem with what the other side sent (from the relay), or a problem of the model (from the model).
    case error(code: ModelErrorCode, message: String?)

    /// The JSON `type` of each message.
    public enum TypeName {
        public static let sessionStart = "session.start"
        public static let speechStarted = "speech_started"
        public static let speechStopped = "speech_stopped"
        public static let markPlayed = "mark_played"
        public static let markCancelled = "mark_cancelled"
        public static let played = "played"
        public static let stats = "stats"
        public static let sessionReady = "session.ready"
        public static let clear = "clear"
        public static let mark = "mark"
        public static let responseDone = "response.done"
        public static let stop = "stop"
        public static let error = "error"
    }

    /// The message's JSON `type`.
    public var type: String {
        switch self {
        case .sessionStart: TypeName.sessionStart
        case .speechStarted: TypeName.speechStarted
        case .speechStopped: TypeName.speechStopped
        case .markPlayed: TypeName.markPlayed
        case .markCancelled: TypeName.markCancelled
        case .played: TypeName.played
        case .stats: TypeName.stats
        case .sessionReady: TypeName.sessionReady
        case .clear: TypeName.clear
        case .mark: TypeName.mark
        case .responseDone: TypeName.responseDone
        case .stop: TypeName.stop
        case .error: TypeName.error
        }
    }

    /// Whether the relay sends this message. A relay treats a model's message that only the relay sends as of
    /// unknown type.
    public var isSentByRelay: Bool {
        switch self {
        case .sessionReady, .clear, .mark, .responseDone: false
        default: true
        }
    }

    /// Whether the model sends this message. A model may treat a relay's message that only a model sends as of
    /// unknown type.
    public var isSentByModel: Bool {
        switch self {
        case .sessionReady, .clear, .mark, .responseDone, .stop, .error: true
        default: false
        }
    }
}

extension ModelControlMessage.SessionStart {
    /// The PCM16 output rate a model that has no preference answers with: the input's rate when it is offered
    /// (output at the caller's own rate), else the highest offered PCM16 rate; nil when no PCM16 output is offered.
    public var preferredPCM16OutputRate: Int? {
        let offered = outputAudioFormats.compactMap(ModelControlMessage.OutputAudioFormat.init(name:))
            .filter { $0.encoding == "pcm16" }.map(\.sampleRate)
        return offered.contains(inputAudioFormat.sampleRate) ? inputAudioFormat.sampleRate : offered.max()
    }
}

extension ModelControlMessage {
    /// `session.start`: what the session carries and what the model may answer with.
    public struct SessionStart: Hashable, Sendable {
        /// `protocol`: ``ModelProtocolVersion/current`` for this version.
        public var protocolVersion: String
        /// `session_id`: the relay's id for the session (the one its HTTP API and logs use).
        public var sessionID: String
        /// `input_audio_format`: the format of input audio messages.
        public var inputAudioFormat: InputAudioFormat
        /// `output_audio_formats`: the output formats the relay takes, as "encoding/rate" ("pcm16/24000").
        public var outputAudioFormats: [String]
        /// `vad`: the relay's voice activity detection.
        public var vad: VAD
        /// `client`: what the relay knows of the caller.
        public var client: Client
        /// `model` (optional): the name the caller picked (`POST /v1/whip?model=NAME`) among the models the operator
        /// configured, when it picked one; absent for the relay's default model. One model server (a sidecar
        /// parent, a WebSocket server) can serve several names.
        public var model: String?

        public init(
            protocolVersion: String = ModelProtocolVersion.current, sessionID: String,
            inputAudioFormat: InputAudioFormat, outputAudioFormats: [String], vad: VAD, client: Client,
            model: String? = nil
        ) {
            self.protocolVersion = protocolVersion
            self.sessionID = sessionID
            self.inputAudioFormat = inputAudioFormat
            self.outputAudioFormats = outputAudioFormats
            self.vad = vad
            self.client = client
            self.model = model
        }
    }

    /// `input_audio_format` of `session.start`.
    public struct InputAudioFormat: Hashable, Sendable {
        /// "pcm16", or "opus" for Opus packets as the caller sent them.
        public var encoding: String
        /// Samples per second (for "opus", 48000: the Opus RTP clock).
        public var sampleRate: Int
        /// Always 1 in version 1.
        public var channels: Int
        /// The duration of one input message (for "opus", of one packet), in ms.
        public var frameMs: Int

        public init(encoding: String, sampleRate: Int, channels: Int = 1, frameMs: Int) {
            self.encoding = encoding
            self.sampleRate = sampleRate
            self.channels = channels
            self.frameMs = frameMs
        }
    }

    /// `vad` of `session.start`: the relay's voice activity detector, after OpenAI Realtime's `server_vad`.
    public struct VAD: Hashable, Sendable {
        /// Whether the relay sends `speech_started` and `speech_stopped`.
        public var enabled: Bool
        /// Activation threshold, 0 … 1.
        public var threshold: Double
        /// Audio before the detected start that `audio_start_ms` includes, in ms.
        public var prefixPaddingMs: Int
        /// Silence that ends speech, in ms.
        public var silenceDurationMs: Int

        public init(enabled: Bool, threshold: Double, prefixPaddingMs: Int, silenceDurationMs: Int) {
            self.enabled = enabled
            self.threshold = threshold
            self.prefixPaddingMs = prefixPaddingMs
            self.silenceDurationMs = silenceDurationMs
        }
    }

    /// `client` of `session.start`; every member may be absent.
    public struct Client: Hashable, Sendable {
        /// `user_agent`: the User-Agent of the caller's WHIP request.
        public var userAgent: String?
        /// `remote_address`: the caller's media address, "host:port".
        public var remoteAddress: String?
        /// `codec`: the negotiated RTP codec, "opus/48000/2".
        public var codec: String?

        public init(userAgent: String? = nil, remoteAddress: String? = nil, codec: String? = nil) {
            self.userAgent = userAgent
            self.remoteAddress = remoteAddress
            self.codec = codec
        }
    }

    /// `session.ready`: the model's answer.
    public struct SessionReady: Hashable, Sendable {
        /// `output_audio_format`: one of the formats `session.start` offered.
        public var outputAudioFormat: OutputAudioFormat

        public init(outputAudioFormat: OutputAudioFormat) {
            self.outputAudioFormat = outputAudioFormat
        }
    }

    /// An output format: `{"encoding":"pcm16","sample_rate":24000}`, offered as "pcm16/24000".
    public struct OutputAudioFormat: Hashable, Sendable {
        public var encoding: String
        public var sampleRate: Int

        public init(encoding: String, sampleRate: Int) {
            self.encoding = encoding
            self.sampleRate = sampleRate
        }

        /// Reads an offered name, "encoding/rate"; `nil` if it is not one.
        public init?(name: String) {
            let parts = name.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, let rate = Int(parts[1]), rate > 0 else { return nil }
            self.init(encoding: String(parts[0]), sampleRate: rate)
        }

        /// The name `session.start` offers it by: "pcm16/24000".
        public var name: String { "\(encoding)/\(sampleRate)" }
    }

    /// `played`: how much of one response reached the caller.
    public struct Played: Hashable, Sendable {
        /// `response_id`: the id the model put in the audio headers.
        public var responseID: UInt64
        /// `played_ms`: the audio played, in ms (`played_samples` at the output rate).
        public var playedMs: Double
        /// `played_samples`: the samples played, at the output rate.
        public var playedSamples: Int
        /// `truncated`: true after a `clear` cut the response, false when all of it was played.
        public var truncated: Bool

        public init(responseID: UInt64, playedMs: Double, playedSamples: Int, truncated: Bool) {
            self.responseID = responseID
            self.playedMs = playedMs
            self.playedSamples = playedSamples
            self.truncated = truncated
        }
    }
}
