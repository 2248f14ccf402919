public import EarshotAudio
import EarshotOpus

/// How a session's audio flows between the client and the model.
public enum CodecPath: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Opus packets go to the model and back untouched (re-stamped only): no decode, no jitter buffer, no pacing.
    case passthrough
    /// Opus is decoded through the jitter buffer to PCM for the model, and the model's PCM is paced and encoded.
    case transcode

    public var description: String { rawValue }
}

/// The audio pipeline's settings: one value, filled by the CLI, environment or config file.
public struct AudioConfiguration: Sendable, Hashable {
    public var codecPath: CodecPath = .transcode
    /// The uplink jitter buffer's profile.
    public var jitterProfile: JitterBufferConfiguration.Profile = .model
    /// The PCM the model reads and writes (rate and frame duration).
    public var modelFormat = PCMFormat(sampleRate: .hz48000, frameDuration: .milliseconds20)
    /// The downlink encoder (complexity, bitrate, FEC, DTX).
    public var encoder = DownlinkPacer.EncoderSettings()
    /// The most model audio the downlink queue holds.
    public var maxQueuedAudio: Duration = .seconds(60)
    /// Slack before a talkspurt's first downlink frame (see `DownlinkPacer.Configuration.startDelay`): one 20 ms
    /// frame, because the built-in echo produces audio at exactly the client's real-time pace, jitter included.
    public var downlinkStartDelay: Duration = .milliseconds(20)

    public init() {}

    public var jitterBuffer: JitterBufferConfiguration {
        JitterBufferConfiguration(profile: jitterProfile, output: modelFormat)
    }

    public var pacer: DownlinkPacer.Configuration {
        DownlinkPacer.Configuration(
            format: modelFormat, encoder: encoder, maxQueuedDuration: maxQueuedAudio, startDelay: downlinkStartDelay)
    }
}
