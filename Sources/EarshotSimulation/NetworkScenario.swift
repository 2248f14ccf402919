/// The network conditions the audio pipeline is replayed over, named as they are reported in
/// Docs/jitter-buffer.md.
public enum NetworkScenario: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// No delay variation, no loss: what the buffer adds by itself.
    case clean
    /// Wi-Fi-like: ±30 ms of delay variation.
    case wifi
    /// Mobile-like: 60 ms of delay variation with 200 ms spikes, 3 % loss in bursts.
    case mobile
    /// 5 % of packets lost independently.
    case randomLoss = "random-loss"
    /// 2 % of packets overtaken by the next one.
    case reordering
    /// The sender's clock runs 0.1 % fast (and, in a second run, 0.1 % slow) for ten minutes.
    case drift

    public var description: String { rawValue }
}
