public import EarshotWire

/// A network impairment as written on a command line — `loss=0.05,burst=3,jitter=20,reorder=0.02,duplicate=0.01,
/// delay=10,seed=7` — and the seeded models it stands for. Every key is optional; an empty string is a clean path.
///
/// - `loss`: the mean packet loss rate, 0...1 (or a percentage: `loss=5%`).
/// - `burst`: the mean length of a loss burst in packets (≥ 1); above 1 the loss is a Gilbert–Elliott chain with
///   that mean burst, otherwise independent.
/// - `jitter`: added delay drawn uniformly from 0...jitter ms per packet, order kept (a FIFO queue's jitter).
/// - `reorder`: the fraction of packets held back 25...40 ms, so the next one overtakes them.
/// - `duplicate`: the fraction of packets delivered twice.
/// - `delay`: a fixed one-way delay in ms.
/// - `seed`: the seed every draw derives from (default 1).
///
/// Each direction of each session gets its own seeds (`network(session:direction:)`), so a run is reproducible
/// from the string and the session count.
public struct ImpairmentSpec: Hashable, Sendable, CustomStringConvertible {
    public enum Direction: UInt64, Sendable {
        case uplink = 1
        case downlink = 2
    }

    public var loss: Double = 0
    public var burst: Double = 1
    public var jitter: Duration = .zero
    public var reorder: Double = 0
    public var duplicate: Double = 0
    public var delay: Duration = .zero
    public var seed: UInt64 = 1

    public init() {}

    public init(parsing text: String) throws(ImpairmentSpecError) {
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingSpaces }
            guard parts.count == 2, !parts[0].isEmpty else { throw .malformed(String(item)) }
            let key = parts[0]
            let raw = parts[1]
            switch key {
            case "loss": loss = try Self.fraction(raw, key: key)
            case "reorder": reorder = try Self.fraction(raw, key: key)
            case "duplicate": duplicate = try Self.fraction(raw, key: key)
            case "burst":
                guard let value = Double(raw), value >= 1, value <= 1000 else { throw .outOfRange(key, raw, "1...1000 packets") }
                burst = value
            case "jitter": jitter = try Self.milliseconds(raw, key: key)
            case "delay": delay = try Self.milliseconds(raw, key: key)
            case "seed":
                guard let value = UInt64(raw) else { throw .outOfRange(key, raw, "an unsigned integer") }
                seed = value
            default: throw .unknownKey(key)
            }
        }
        if burst > 1, loss == 0 { throw .outOfRange("burst", "\(burst)", "a burst length needs loss > 0") }
        // The Gilbert chain leaves its bad state with probability 1/burst; it can only reach a loss rate L when it
        // enters it at most with probability 1: L / (1 − L) ≤ burst.
        if burst > 1, loss >= 1 || loss / (1 - loss) > burst {
            throw .outOfRange("loss", "\(loss)", "a loss rate that bursts of \(burst) packets can reach")
        }
    }

    /// Whether the spec changes anything.
    public var isClean: Bool {
        loss == 0 && jitter == .zero && reorder == 0 && duplicate == 0 && delay == .zero
    }

    /// The canonical form (only the keys that differ from a clean path, and the seed).
    public var description: String {
        var items: [String] = []
        if loss > 0 { items.append("loss=\(loss)") }
        if burst > 1 { items.append("burst=\(burst)") }
        if jitter > .zero { items.append("jitter=\(Self.ms(jitter))") }
        if reorder > 0 { items.append("reorder=\(reorder)") }
        if duplicate > 0 { items.append("duplicate=\(duplicate)") }
        if delay > .zero { items.append("delay=\(Self.ms(delay))") }
        items.append("seed=\(seed)")
        return items.joined(separator: ",")
    }

    /// The seed of one direction of one session: distinct streams for every (seed, session, direction).
    public func seed(session: Int, direction: Direction) -> UInt64 {
        var mixer = SplitMix64(seed: seed ^ (UInt64(truncatingIfNeeded: session) &* 0x9E37_79B9_7F4A_7C15) ^ (direction.rawValue << 56))
        return mixer.next()
    }

    /// The network model of one direction of one session: fixed delay, jitter, loss, then reordering last.
    public func network(session: Int, direction: Direction) -> NetworkChain {
        var stages: [any NetworkModel] = []
        let base = seed(session: session, direction: direction)
        if delay > .zero { stages.append(FixedDelay(delay)) }
        if jitter > .zero {
            stages.append(DelayJitter(.uniform(.zero...jitter), correlationTime: .zero, seed: base &+ 1))
        }
        if loss > 0 {
            if burst > 1 {
                stages.append(GilbertElliottLoss(meanLossRate: loss, meanBurstLength: burst, seed: base &+ 2))
            } else {
                stages.append(RandomLoss(rate: loss, seed: base &+ 2))
            }
        }
        if reorder > 0 {
            stages.append(Reordering(fraction: reorder, extraDelay: .milliseconds(25)...(.milliseconds(40)), seed: base &+ 3))
        }
        return NetworkChain(stages)
    }

    /// The generator of one direction's duplication draws.
    public func duplicationGenerator(session: Int, direction: Direction) -> SplitMix64 {
        SplitMix64(seed: seed(session: session, direction: direction) &+ 4)
    }

    private static func fraction(_ raw: String, key: String) throws(ImpairmentSpecError) -> Double {
        let isPercent = raw.hasSuffix("%")
        guard let number = Double(isPercent ? String(raw.dropLast()) : raw) else {
            throw .outOfRange(key, raw, "a fraction 0...1 or a percentage")
        }
        let value = isPercent ? number / 100 : number
        guard (0...1).contains(value) else { throw .outOfRange(key, raw, "a fraction 0...1 or a percentage") }
        return value
    }

    private static func milliseconds(_ raw: String, key: String) throws(ImpairmentSpecError) -> Duration {
        let digits = raw.hasSuffix("ms") ? String(raw.dropLast(2)) : raw
        guard let value = Double(digits), value >= 0, value <= 10_000 else {
            throw .outOfRange(key, raw, "0...10000 ms")
        }
        return .nanoseconds(Int64((value * 1_000_000).rounded()))
    }

    private static func ms(_ duration: Duration) -> String {
        let value = Double(duration.nanosecondsClamped) / 1e6
        return value == value.rounded() ? String(Int(value)) : String(value)
    }
}

/// Why an impairment string was refused.
public enum ImpairmentSpecError: Error, Hashable, Sendable, CustomStringConvertible {
    case malformed(String)
    case unknownKey(String)
    case outOfRange(String, String, String)

    public var description: String {
        switch self {
        case .malformed(let item): "'\(item)' is not key=value"
        case .unknownKey(let key): "unknown impairment '\(key)' (known: loss, burst, jitter, reorder, duplicate, delay, seed)"
        case .outOfRange(let key, let value, let expected): "\(key)=\(value): expected \(expected)"
        }
    }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
