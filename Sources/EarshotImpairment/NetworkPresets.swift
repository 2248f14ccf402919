import EarshotWire

/// The network paths the audio pipeline is measured over (the scenarios of Docs/jitter-buffer.md), each built from
/// a seed. Every stage gets its own seed drawn from `seed`, so the stages are independent of one another and a
/// preset is reproducible from the one number.
///
/// All presets share the same base one-way delay, `presetBaseDelay`, so that reports compare only what the
/// impairment adds.
extension NetworkChain {
    /// 20 ms: a typical one-way delay within a region. It shifts every delivery equally and so changes nothing a
    /// jitter buffer decides; it only keeps the timelines realistic.
    public static let presetBaseDelay: Duration = .milliseconds(20)

    /// No variation, no loss: only `presetBaseDelay`.
    public static func clean(seed: UInt64) -> NetworkChain {
        NetworkChain(FixedDelay(presetBaseDelay))
    }

    /// Wi-Fi-like: ±30 ms of delay variation, i.e. 0...60 ms added uniformly (mean 30 ms, p99 − p1 ≈ 60 ms), with a
    /// 100 ms correlation time (the access point's queue and retransmissions change over a few packets, not
    /// from one packet to the next). Order is kept, as on a real Wi-Fi link; nothing is lost.
    public static func wifi(seed: UInt64) -> NetworkChain {
        var seeds = SplitMix64(seed: seed)
        return NetworkChain(
            FixedDelay(presetBaseDelay),
            DelayJitter(
                .uniform(.zero ... .milliseconds(60)), correlationTime: .milliseconds(100), seed: seeds.next()))
    }

    /// Mobile-like: 3 % loss in bursts of 3 packets on average (Gilbert–Elliott), 0...60 ms of delay variation with
    /// a slower 200 ms correlation time (a cellular bearer's scheduling changes more slowly than Wi-Fi contention),
    /// and 200 ms spikes about every 10 s that drain at once, so the packets queued during a spike arrive in a
    /// burst. Order is kept.
    public static func mobile(seed: UInt64) -> NetworkChain {
        var seeds = SplitMix64(seed: seed)
        return NetworkChain(
            GilbertElliottLoss(meanLossRate: 0.03, meanBurstLength: 3, seed: seeds.next()),
            FixedDelay(presetBaseDelay),
            DelayJitter(
                .uniform(.zero ... .milliseconds(60)), correlationTime: .milliseconds(200),
                spikes: .init(height: .milliseconds(200), meanInterval: .seconds(10), drainRate: 1),
                seed: seeds.next()))
    }

    /// 5 % of packets lost independently, no delay variation.
    public static func randomLoss(seed: UInt64) -> NetworkChain {
        var seeds = SplitMix64(seed: seed)
        return NetworkChain(RandomLoss(rate: 0.05, seed: seeds.next()), FixedDelay(presetBaseDelay))
    }

    /// 2 % of packets held back 25...40 ms (1.25 to 2 intervals of 20 ms packets), so the next packet overtakes
    /// them; no loss, no other variation.
    public static func reordering(seed: UInt64) -> NetworkChain {
        var seeds = SplitMix64(seed: seed)
        return NetworkChain(
            FixedDelay(presetBaseDelay),
            Reordering(fraction: 0.02, extraDelay: .milliseconds(25) ... .milliseconds(40), seed: seeds.next()))
    }
}
