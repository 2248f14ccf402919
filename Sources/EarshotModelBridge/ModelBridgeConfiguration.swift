public import EarshotAudio
public import EarshotModelProtocol
public import EarshotOpus

extension ModelBridge {
    /// What the relay offers the model, and the bridge's limits (Docs/model-protocol.md, "Limits and flow control").
    public struct Configuration: Sendable {
        /// What the model receives.
        public enum Input: Hashable, Sendable {
            /// PCM16 frames from the uplink jitter buffer, at this rate and frame duration.
            case pcm16(PCMFormat)
            /// Opus packets as the caller sent them (after reordering), one per message; `frameDuration` is the
            /// packet duration announced in `session.start`.
            case opus(frameDuration: AudioFrameDuration)

            public var frameDuration: AudioFrameDuration {
                switch self {
                case .pcm16(let format): format.frameDuration
                case .opus(let duration): duration
                }
            }

            /// The media-time clock: samples at the PCM rate, or 48 kHz for Opus.
            public var mediaRate: Int {
                switch self {
                case .pcm16(let format): format.sampleRate.hertz
                case .opus: opusRTPClockRate
                }
            }
        }

        public var sessionID: String
        public var input: Input
        /// The output rates the model may choose (PCM16).
        public var outputSampleRates: [OpusSampleRate] = [.hz8000, .hz16000, .hz24000, .hz48000]
        /// The server VAD's settings announced in `session.start` (nil: the relay runs no VAD for this session).
        public var voiceActivity: VoiceActivityDetector.Configuration?
        public var client = ModelControlMessage.Client()
        /// The model name the caller picked, for `session.start`'s `model` (nil: the default model).
        public var modelName: String?
        /// The downlink pacer for the model's output; its format's rate is replaced by the rate the model chooses
        /// (the frame duration is kept).
        public var pacer: DownlinkPacer.Configuration
        /// `session.ready` must come within this time of `session.start`.
        public var readyTimeout: Duration = .seconds(5)
        /// A model that takes nothing of what the relay has for it for this long is stalled.
        public var stallTimeout: Duration = .seconds(10)
        /// The most input audio waiting for the model.
        public var inputQueueLimit: Duration = .seconds(2)
        /// The most control messages waiting for the model (beyond: dropped and counted).
        public var controlQueueLimit = 256
        /// How often `stats` goes to the model.
        public var statsInterval: Duration = .seconds(1)
        /// `queue_full` errors go out at most this often while output is being dropped.
        public var queueFullReportInterval: Duration = .seconds(1)

        public init(sessionID: String, input: Input, pacer: DownlinkPacer.Configuration) {
            self.sessionID = sessionID
            self.input = input
            self.pacer = pacer
        }

        /// The most input messages the queue holds: `inputQueueLimit` of frames, at least one.
        var inputQueueFrames: Int {
            let frame = input.frameDuration.duration
            return max(1, Int(inputQueueLimit.nanosecondsClamped / frame.nanosecondsClamped))
        }

        var sessionStart: ModelControlMessage.SessionStart {
            let format: ModelControlMessage.InputAudioFormat
            switch input {
            case .pcm16(let pcm):
                format = .init(encoding: "pcm16", sampleRate: pcm.sampleRate.hertz, frameMs: pcm.frameDuration.milliseconds)
            case .opus(let duration):
                format = .init(encoding: "opus", sampleRate: opusRTPClockRate, frameMs: duration.milliseconds)
            }
            let vad: ModelControlMessage.VAD
            if let voiceActivity {
                vad = .init(
                    enabled: true, threshold: voiceActivity.threshold,
                    prefixPaddingMs: Int(voiceActivity.prefixPadding.nanosecondsClamped / 1_000_000),
                    silenceDurationMs: Int(voiceActivity.silenceDuration.nanosecondsClamped / 1_000_000))
            } else {
                vad = .init(enabled: false, threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs: 500)
            }
            return .init(
                sessionID: sessionID, inputAudioFormat: format,
                outputAudioFormats: outputSampleRates.map { "pcm16/\($0.hertz)" }, vad: vad, client: client,
                model: modelName)
        }
    }
}
