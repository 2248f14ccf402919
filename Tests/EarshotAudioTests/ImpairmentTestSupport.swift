import EarshotImpairment
import EarshotWire

/// Drives network models the way the simulations do: packets sent at a fixed interval on virtual time.
enum ImpairmentRun {
    /// 20 ms: the Opus frame duration of a WebRTC voice call, one packet per frame.
    static let interval: Duration = .milliseconds(20)
    /// 100 000 packets (33 minutes of 20 ms packets): enough that a 1 % rate is measured to about ±0.1 %.
    static let packetCount = 100_000

    static func sendInstant(_ index: Int) -> Instant { .zero + interval * index }

    /// The fates of `count` packets sent every `interval` from time zero.
    static func fates(of model: inout some NetworkModel, count: Int = packetCount) -> [PacketFate] {
        (0..<count).map { model.fate(ofPacketSentAt: sendInstant($0)) }
    }

    static func fates(of model: some NetworkModel, count: Int = packetCount) -> [PacketFate] {
        var model = model
        return fates(of: &model, count: count)
    }

    /// Delivery instants (nil when lost).
    static func deliveries(_ fates: [PacketFate]) -> [Instant?] {
        fates.map { if case .delivered(let at) = $0 { at } else { nil } }
    }

    /// One-way delays in milliseconds of the delivered packets, minus `base`, in send order.
    static func delaysMilliseconds(_ fates: [PacketFate], minus base: Duration = .zero) -> [Double] {
        deliveries(fates).enumerated().compactMap { index, delivery in
            delivery.map { (($0 - sendInstant(index)) - base).seconds * 1000 }
        }
    }

    static func lossRate(_ fates: [PacketFate]) -> Double {
        Double(fates.count { $0 == .lost }) / Double(fates.count)
    }

    /// Lengths of the runs of consecutive lost packets.
    static func lossBursts(_ fates: [PacketFate]) -> [Int] {
        var bursts: [Int] = []
        var run = 0
        for fate in fates {
            if fate == .lost {
                run += 1
            } else if run > 0 {
                bursts.append(run)
                run = 0
            }
        }
        if run > 0 { bursts.append(run) }
        return bursts
    }

    /// The value below which `fraction` of the values lie (nearest rank).
    static func percentile(_ values: [Double], _ fraction: Double) -> Double {
        let sorted = values.sorted()
        let rank = Int((fraction * Double(sorted.count - 1)).rounded())
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }

    static func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(values.count) }

    static func standardDeviation(_ values: [Double]) -> Double {
        let m = mean(values)
        return (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count)).squareRoot()
    }

    /// The number of delivered packets that arrive after the packet sent next (i.e. were overtaken by it), over
    /// pairs where both arrive.
    static func overtakenCount(_ fates: [PacketFate]) -> Int {
        let arrivals = deliveries(fates)
        return zip(arrivals, arrivals.dropFirst()).count { pair in
            guard let own = pair.0, let next = pair.1 else { return false }
            return next < own
        }
    }

    /// Whether delivery instants never go backwards (lost packets skipped).
    static func keepsOrder(_ fates: [PacketFate]) -> Bool {
        let arrivals = deliveries(fates).compactMap { $0 }
        return zip(arrivals, arrivals.dropFirst()).allSatisfy { $0 <= $1 }
    }

    /// Groups of packets delivered within `window` of the group's first delivery, as sizes, in delivery order.
    static func deliveryBursts(_ fates: [PacketFate], window: Duration) -> [Int] {
        let arrivals = deliveries(fates).compactMap { $0 }.sorted()
        var sizes: [Int] = []
        var start = 0
        for index in arrivals.indices.dropFirst() where arrivals[index] - arrivals[start] > window {
            sizes.append(index - start)
            start = index
        }
        if !arrivals.isEmpty { sizes.append(arrivals.count - start) }
        return sizes
    }
}
