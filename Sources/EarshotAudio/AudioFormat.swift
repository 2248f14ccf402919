public import EarshotOpus

/// The duration of one audio frame handed to or taken from a model, and of one Opus frame per RTP packet.
public enum AudioFrameDuration: Int, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case milliseconds10 = 10
    case milliseconds20 = 20

    public var milliseconds: Int { rawValue }
    public var duration: Duration { .milliseconds(rawValue) }

    /// Samples per channel in one frame at `sampleRate`.
    public func samples(at sampleRate: OpusSampleRate) -> Int { sampleRate.hertz * rawValue / 1000 }

    /// The matching Opus encoder frame duration.
    public var opusFrameDuration: EarshotOpus.OpusFrameDuration { self == .milliseconds10 ? .ms10 : .ms20 }

    public var description: String { "\(rawValue) ms" }
}

/// Mono 16-bit PCM at one of the Opus rates (8, 12, 16, 24 or 48 kHz): the format models read and write.
public struct PCMFormat: Hashable, Sendable, CustomStringConvertible {
    public var sampleRate: OpusSampleRate
    public var frameDuration: AudioFrameDuration

    public init(sampleRate: OpusSampleRate = .hz16000, frameDuration: AudioFrameDuration = .milliseconds20) {
        self.sampleRate = sampleRate
        self.frameDuration = frameDuration
    }

    public var samplesPerFrame: Int { frameDuration.samples(at: sampleRate) }

    /// Converts a count of samples to milliseconds (exact, as a Double, for reports).
    public func milliseconds(ofSamples samples: Int) -> Double { Double(samples) * 1000 / Double(sampleRate.hertz) }

    public var description: String { "PCM16 mono \(sampleRate), \(frameDuration) frames" }
}

/// The RTP clock of Opus: always 48 kHz whatever the coded bandwidth (RFC 7587 §4.1).
public let opusRTPClockRate = 48_000
