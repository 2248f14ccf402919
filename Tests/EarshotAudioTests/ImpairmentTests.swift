import EarshotImpairment
import EarshotSimulation
import EarshotWire
import Testing

/// The network models measured over `ImpairmentRun.packetCount` packets sent every 20 ms with fixed seeds. The
/// tolerances are several standard errors of each statistic at that count, so they hold for any seed; the seeds
/// are fixed so that a run always measures the same numbers.
@Suite("Network impairment models")
struct ImpairmentTests {
    typealias R = ImpairmentRun

    // MARK: Delay

    @Test("A fixed delay delivers every packet exactly that much later")
    func fixedDelay() {
        let fates = R.fates(of: FixedDelay(.milliseconds(35)), count: 100)
        for (index, fate) in fates.enumerated() {
            #expect(fate == .delivered(at: R.sendInstant(index) + .milliseconds(35)))
        }
    }

    @Test("Wi-Fi: delay uniformly within 0…60 ms above the base (p99 − p1 ≈ 60 ms), mean 30 ms, order kept")
    func wifiDelay() {
        let fates = R.fates(of: NetworkChain.wifi(seed: 1))
        let delays = R.delaysMilliseconds(fates, minus: NetworkChain.presetBaseDelay)
        #expect(R.lossRate(fates) == 0)
        #expect(R.keepsOrder(fates))
        // Nothing leaves the range: the order clamp only lifts a delay to the previous packet's delivery, which was
        // itself at most 60 ms after a send 20 ms earlier.
        #expect(delays.allSatisfy { (0...60).contains($0) })
        // A uniform 0…60 has p1 = 0.6 and p99 = 59.4 (spread 58.8); the clamp lifts the low end slightly.
        let p1 = R.percentile(delays, 0.01)
        let p99 = R.percentile(delays, 0.99)
        #expect((0...3).contains(p1), "p1 \(p1) ms")
        #expect((58...60).contains(p99), "p99 \(p99) ms")
        #expect((55...60).contains(p99 - p1), "p99 − p1 \(p99 - p1) ms")
        #expect(abs(R.mean(delays) - 30) < 2, "mean \(R.mean(delays)) ms")
        // The uniform's quartiles.
        #expect(abs(R.percentile(delays, 0.25) - 15) < 2)
        #expect(abs(R.percentile(delays, 0.75) - 45) < 2)
    }

    @Test("Without the order clamp the marginal is exactly the configured uniform, and packets can reorder")
    func jitterWithoutOrder() {
        let model = DelayJitter(
            .uniform(.zero ... .milliseconds(60)), correlationTime: .milliseconds(100), keepsOrder: false, seed: 7)
        let fates = R.fates(of: model)
        let delays = R.delaysMilliseconds(fates)
        #expect(abs(R.percentile(delays, 0.01) - 0.6) < 0.3)
        #expect(abs(R.percentile(delays, 0.5) - 30) < 1.5)
        #expect(abs(R.percentile(delays, 0.99) - 59.4) < 0.3)
        // Reordering happens whenever the delay falls by more than the 20 ms interval (a few % of packets here).
        let overtaken = Double(R.overtakenCount(fates)) / Double(fates.count)
        #expect((0.01...0.08).contains(overtaken), "overtaken \(overtaken)")
        #expect(!R.keepsOrder(fates))
    }

    @Test("Correlation: consecutive packets see similar delays; without it they do not")
    func correlation() {
        func meanStep(_ correlationTime: Duration) -> Double {
            let model = DelayJitter(
                .uniform(.zero ... .milliseconds(60)), correlationTime: correlationTime, keepsOrder: false, seed: 3)
            let delays = R.delaysMilliseconds(R.fates(of: model, count: 20_000))
            return R.mean(zip(delays, delays.dropFirst()).map { abs($0 - $1) })
        }
        // Independent uniform draws on 0…60 differ by 60/3 = 20 ms on average.
        let independent = meanStep(.zero)
        #expect(abs(independent - 20) < 1)
        #expect(meanStep(.milliseconds(100)) < 0.5 * independent)
        #expect(meanStep(.milliseconds(1000)) < meanStep(.milliseconds(100)))
    }

    @Test("The normal shape has the configured mean and deviation and stays within its limits")
    func normalShape() {
        let model = DelayJitter(
            .normal(mean: .milliseconds(40), standardDeviation: .milliseconds(10), limits: .zero ... .milliseconds(100)),
            correlationTime: .milliseconds(50), keepsOrder: false, seed: 9)
        let delays = R.delaysMilliseconds(R.fates(of: model))
        #expect(abs(R.mean(delays) - 40) < 1)
        #expect(abs(R.standardDeviation(delays) - 10) < 0.7)
        #expect(delays.allSatisfy { (0...100).contains($0) })
        // p99 − p1 of a normal is 4.65 standard deviations.
        #expect(abs(R.percentile(delays, 0.99) - R.percentile(delays, 0.01) - 46.5) < 3)
    }

    @Test("A spike holds back the packets sent while it drains and releases them in one burst")
    func spikesAlone() {
        var model = DelayJitter(
            .uniform(.zero ... .zero), correlationTime: .zero,
            spikes: .init(height: .milliseconds(200), meanInterval: .seconds(10), drainRate: 1), seed: 5)
        let fates = R.fates(of: &model)
        // 2000 s at one spike per 10 s: 200 expected, Poisson standard deviation 14.
        #expect((150...250).contains(model.spikeCount), "spikes \(model.spikeCount)")
        #expect(R.keepsOrder(fates))
        // Every spike delivers the 10 packets sent during its 200 ms, and the one sent as it ends (which the spike no
        // longer delays), at one instant; 10 when that last packet starts the next spike.
        let bursts = R.deliveryBursts(fates, window: .zero)
        #expect(bursts.count { $0 >= 10 } == model.spikeCount)
        #expect(bursts.allSatisfy { $0 == 1 || $0 == 10 || $0 == 11 })
        let delays = R.delaysMilliseconds(fates)
        #expect(delays.max() == 200)
    }

    @Test("Mobile: 60 ms of variation with 200 ms spikes that arrive in bursts, 3 % loss in bursts, order kept")
    func mobile() {
        let fates = R.fates(of: NetworkChain.mobile(seed: 1))
        let delays = R.delaysMilliseconds(fates, minus: NetworkChain.presetBaseDelay)
        #expect(R.keepsOrder(fates))
        #expect(abs(R.lossRate(fates) - 0.03) < 0.005, "loss \(R.lossRate(fates))")
        // Most of the time the variation alone: the median is the uniform's.
        #expect(abs(R.percentile(delays, 0.5) - 30) < 3)
        // The spikes: delays beyond the 60 ms variation, up to 200 ms on top of it.
        #expect(delays.count { $0 > 60 } > 1000)
        #expect(R.percentile(delays, 1) > 200 && R.percentile(delays, 1) <= 260)
        // Bursts: 5 or more packets within 10 ms (a 20 ms sender never does that) about once per spike, where
        // the variation alone (Wi-Fi) never produces one.
        let bursts = R.deliveryBursts(fates, window: .milliseconds(10)).count { $0 >= 5 }
        #expect((120...260).contains(bursts), "bursts \(bursts)")
        let wifiBursts = R.deliveryBursts(R.fates(of: NetworkChain.wifi(seed: 1)), window: .milliseconds(10))
        #expect(wifiBursts.count { $0 >= 5 } == 0)
    }

    // MARK: Loss

    @Test("Random loss: 5 % of packets, in no particular pattern")
    func randomLoss() {
        let fates = R.fates(of: NetworkChain.randomLoss(seed: 1))
        // The standard error of a 5 % rate over 100 000 packets is 0.07 %.
        #expect(abs(R.lossRate(fates) - 0.05) < 0.003, "loss \(R.lossRate(fates))")
        // Independent losses: a loss is followed by another 5 % of the time, so bursts average 1/(1 − 0.05).
        let bursts = R.lossBursts(fates)
        #expect(abs(R.mean(bursts.map(Double.init)) - 1 / 0.95) < 0.02)
        // Delivered packets take the base delay.
        #expect(R.delaysMilliseconds(fates).allSatisfy { $0 == 20 })
    }

    @Test("Gilbert–Elliott from a rate and a burst length: 3 % lost in bursts of 3 on average", arguments: [
        (0.03, 3.0), (0.01, 1.5), (0.1, 5.0),
    ])
    func gilbertElliott(_ rate: Double, _ burstLength: Double) {
        let model = GilbertElliottLoss(meanLossRate: rate, meanBurstLength: burstLength, seed: 17)
        #expect(abs(model.meanLossRate - rate) < 1e-12)
        #expect(abs(model.meanBadStateLength - burstLength) < 1e-12)
        let fates = R.fates(of: model)
        let bursts = R.lossBursts(fates).map(Double.init)
        // Bursty losses vary more than independent ones: allow 15 % of the rate, 10 % of the burst length.
        #expect(abs(R.lossRate(fates) - rate) < 0.15 * rate, "loss \(R.lossRate(fates))")
        #expect(abs(R.mean(bursts) - burstLength) < 0.1 * burstLength, "burst \(R.mean(bursts))")
        // Geometric burst lengths: a share 1/L of the bursts are single losses.
        let singles = Double(bursts.count { $0 == 1 }) / Double(bursts.count)
        #expect(abs(singles - 1 / burstLength) < 0.05)
    }

    @Test("Gilbert–Elliott general form: loss in the good state, delivery in the bad one")
    func gilbertElliottGeneral() {
        let model = GilbertElliottLoss(goodToBad: 0.05, badToGood: 0.2, lossInGood: 0.01, lossInBad: 0.5, seed: 2)
        // π_bad = 0.05 / 0.25 = 0.2: 0.8 · 0.01 + 0.2 · 0.5 = 0.108.
        #expect(abs(model.meanLossRate - 0.108) < 1e-12)
        let fates = R.fates(of: model)
        #expect(abs(R.lossRate(fates) - 0.108) < 0.01)
    }

    // MARK: Reordering

    @Test("Reordering: 2 % of packets overtaken by the next one")
    func reordering() {
        let fates = R.fates(of: NetworkChain.reordering(seed: 1))
        let overtaken = Double(R.overtakenCount(fates)) / Double(fates.count)
        #expect(abs(overtaken - 0.02) < 0.003, "overtaken \(overtaken)")
        #expect(R.lossRate(fates) == 0)
        // Held packets arrive 25…40 ms late; the others on time.
        let delays = R.delaysMilliseconds(fates, minus: NetworkChain.presetBaseDelay)
        #expect(delays.allSatisfy { $0 == 0 || (25...40).contains($0) })
        #expect(abs(Double(delays.count { $0 > 0 }) / Double(delays.count) - 0.02) < 0.003)
    }

    @Test("A held packet is overtaken by its successor whatever the draw in 25…40 ms")
    func reorderingOvertakes() {
        var model = Reordering(fraction: 0.5, extraDelay: .milliseconds(25) ... .milliseconds(40), seed: 4)
        let fates = R.fates(of: &model, count: 10_000)
        let arrivals = R.deliveries(fates)
        for index in 0..<(arrivals.count - 1) {
            guard let own = arrivals[index], let next = arrivals[index + 1] else { continue }
            let held = own > R.sendInstant(index)
            let nextHeld = next > R.sendInstant(index + 1)
            if held && !nextHeld { #expect(next < own) }
        }
        #expect(abs(Double(model.heldBackCount) / 10_000 - 0.5) < 0.03)
    }

    // MARK: Composition and reproducibility

    @Test("A chain applies its stages in order, and a lost packet goes no further")
    func chain() {
        var chain = NetworkChain(
            RandomLoss(rate: 0.5, seed: 1), FixedDelay(.milliseconds(10)), FixedDelay(.milliseconds(5)))
        var loss = RandomLoss(rate: 0.5, seed: 1)
        for index in 0..<1000 {
            let sent = R.sendInstant(index)
            let expected: PacketFate =
                loss.fate(ofPacketSentAt: sent) == .lost ? .lost : .delivered(at: sent + .milliseconds(15))
            #expect(chain.fate(ofPacketSentAt: sent) == expected)
        }
        // Later stages see only what earlier ones deliver: a reordering stage after a 100 % loss never draws.
        var dropped = NetworkChain(RandomLoss(rate: 1, seed: 1), Reordering(fraction: 1, extraDelay: .zero ... .zero, seed: 1))
        #expect(R.fates(of: &dropped, count: 10).allSatisfy { $0 == .lost })
        #expect((dropped.stages[1] as? Reordering)?.heldBackCount == 0)
    }

    @Test("The same seed gives the same fates, another seed other fates", arguments: NetworkScenario.allCases)
    func reproducible(_ scenario: NetworkScenario) {
        let a = R.fates(of: scenario.makeModel(seed: 42), count: 5000)
        let b = R.fates(of: scenario.makeModel(seed: 42), count: 5000)
        #expect(a == b)
        let c = R.fates(of: scenario.makeModel(seed: 43), count: 5000)
        switch scenario {
        case .clean, .drift: #expect(a == c)  // nothing random
        default: #expect(a != c)
        }
    }

    @Test("Every scenario maps to its preset; drift runs over the clean network")
    func scenarios() {
        for scenario in NetworkScenario.allCases {
            let fates = R.fates(of: scenario.makeModel(seed: 1), count: 20_000)
            let loss = R.lossRate(fates)
            switch scenario {
            case .clean, .drift:
                #expect(R.delaysMilliseconds(fates).allSatisfy { $0 == 20 })
            case .wifi:
                #expect(loss == 0 && R.keepsOrder(fates))
            case .mobile:
                #expect(loss > 0.01 && R.keepsOrder(fates))
            case .randomLoss:
                #expect(loss > 0.03 && loss < 0.07)
            case .reordering:
                #expect(loss == 0 && !R.keepsOrder(fates))
            }
        }
    }

    // MARK: The impaired link

    @Test("The link delivers in delivery order, equal instants in send order")
    func linkOrder() {
        var link = ImpairedLink<Int, NetworkChain>(model: .reordering(seed: 1), capacity: 100)
        var received: [Int] = []
        var now = Instant.zero
        for index in 0..<5000 {
            now = R.sendInstant(index)
            received += link.deliver(upTo: now)
            link.send(index, at: now)
        }
        while let next = link.nextDelivery { received += link.deliver(upTo: next) }
        #expect(received.sorted() == Array(0..<5000))
        #expect(received != Array(0..<5000))
        #expect(link.deliveredCount == 5000 && link.count == 0 && link.nextDelivery == nil)

        // Ties: a fixed delay puts two packets sent at the same instant at the same delivery instant.
        var tied = ImpairedLink<String, FixedDelay>(model: FixedDelay(.milliseconds(10)), capacity: 4)
        tied.send("a", at: .zero)
        tied.send("b", at: .zero)
        #expect(tied.send("c", at: .zero + .milliseconds(1)) == .queued(deliveryAt: .zero + .milliseconds(11)))
        #expect(tied.nextDelivery == .zero + .milliseconds(10))
        #expect(tied.deliver(upTo: .zero + .milliseconds(9)).isEmpty)
        #expect(tied.deliver(upTo: .zero + .milliseconds(10)) == ["a", "b"])
        #expect(tied.nextDelivery == .zero + .milliseconds(11))
        #expect(tied.deliver(upTo: .zero + .seconds(1)) == ["c"])
    }

    @Test("The link holds at most its capacity and counts what it drops and what the model loses")
    func linkBound() {
        // A 1 s delay and 100 packets sent 1 ms apart: only 10 fit.
        var link = ImpairedLink<Int, FixedDelay>(model: FixedDelay(.seconds(1)), capacity: 10)
        var outcomes: [ImpairedLink<Int, FixedDelay>.SendOutcome] = []
        for index in 0..<100 {
            outcomes.append(link.send(index, at: .zero + .milliseconds(index)))
        }
        #expect(link.count == 10)
        #expect(link.droppedCount == 90)
        #expect(outcomes.count { $0 == .dropped } == 90)
        #expect(link.deliver(upTo: .zero + .seconds(2)) == Array(0..<10))
        // Room again once delivered.
        #expect(link.send(100, at: .zero + .seconds(2)) == .queued(deliveryAt: .zero + .seconds(3)))

        var lossy = ImpairedLink<Int, RandomLoss>(model: RandomLoss(rate: 1, seed: 1), capacity: 1)
        #expect(lossy.send(1, at: .zero) == .lost)
        #expect(lossy.lostCount == 1 && lossy.droppedCount == 0 && lossy.count == 0)
    }
}
