import EarshotCore
import EarshotWire
import Testing

@Suite("Deadline queue")
struct DeadlineQueueTests {
    @Test("pops due keys in deadline order, honours updates and removals")
    func ordering() {
        var queue = DeadlineQueue<Int>()
        let t = { (ms: Int64) in Instant(nanoseconds: ms * 1_000_000) }
        queue.set(1, deadline: t(30))
        queue.set(2, deadline: t(10))
        queue.set(3, deadline: t(20))
        #expect(queue.earliest() == t(10))
        queue.set(2, deadline: t(40))  // moved later
        queue.set(3, deadline: nil)  // removed
        #expect(queue.earliest() == t(30))
        #expect(queue.popDue(now: t(29)).isEmpty)
        #expect(queue.popDue(now: t(100)) == [1, 2])
        #expect(queue.earliest() == nil)
        #expect(queue.count == 0)
    }

    @Test("matches a sorted reference under many random updates, with bounded memory")
    func randomized() {
        var queue = DeadlineQueue<Int>()
        var reference: [Int: Int64] = [:]
        var rng = SplitMix64(seed: 5)
        var now: Int64 = 0
        for _ in 0..<20_000 {
            let key = Int.random(in: 0..<50, using: &rng)
            if Int.random(in: 0..<10, using: &rng) == 0 {
                queue.set(key, deadline: nil)
                reference[key] = nil
            } else {
                let deadline = now + Int64.random(in: 0...1000, using: &rng)
                queue.set(key, deadline: Instant(nanoseconds: deadline))
                reference[key] = deadline
            }
            if Int.random(in: 0..<5, using: &rng) == 0 {
                now += 100
                let due = queue.popDue(now: Instant(nanoseconds: now))
                let expected = reference.filter { $0.value <= now }.sorted { ($0.value, $0.key) < ($1.value, $1.key) }
                #expect(Set(due) == Set(expected.map(\.key)))
                for key in due { reference[key] = nil }
            }
            #expect(queue.earliest().map(\.nanoseconds) == reference.values.min())
        }
        #expect(queue.count == reference.count)
    }
}
