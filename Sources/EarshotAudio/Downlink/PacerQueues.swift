/// A FIFO of 16-bit samples in a ring buffer that grows (by doubling, up to `limit`) but never shrinks; taking a
/// frame copies only that frame and moves the read index, never the rest of the queue.
struct PacerSampleRing {
    private var storage: [Int16] = []
    /// Index in `storage` of the oldest sample.
    private var head = 0
    /// Samples held.
    private(set) var count = 0
    /// The most samples the ring will ever hold.
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    var capacity: Int { storage.count }
    var freeSpace: Int { limit - count }

    /// Appends all of `samples`; the caller keeps `count + samples.count <= limit`.
    mutating func append(_ samples: UnsafeBufferPointer<Int16>) {
        guard let source = samples.baseAddress, !samples.isEmpty else { return }
        precondition(samples.count <= freeSpace, "PacerSampleRing overfilled")
        reserve(count + samples.count)
        let capacity = storage.count
        let tail = (head + count) % capacity
        let firstPart = min(samples.count, capacity - tail)
        storage.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            (base + tail).update(from: source, count: firstPart)
            (base).update(from: source + firstPart, count: samples.count - firstPart)
        }
        count += samples.count
    }

    /// Copies the oldest `n` samples to the start of `destination` without removing them.
    func copyPrefix(_ n: Int, into destination: UnsafeMutableBufferPointer<Int16>) {
        precondition(n <= count && n <= destination.count, "PacerSampleRing copy out of range")
        guard n > 0, let target = destination.baseAddress else { return }
        let capacity = storage.count
        let firstPart = min(n, capacity - head)
        storage.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            target.update(from: base + head, count: firstPart)
            (target + firstPart).update(from: base, count: n - firstPart)
        }
    }

    mutating func removeFirst(_ n: Int) {
        precondition(n <= count, "PacerSampleRing remove out of range")
        guard n > 0 else { return }
        count -= n
        head = count == 0 ? 0 : (head + n) % storage.count
    }

    /// Empties the ring, keeping its storage.
    mutating func removeAll() {
        head = 0
        count = 0
    }

    /// Grows the storage to hold `needed` samples: at least double the old size (amortised O(1) appends), at most
    /// `limit`. The only time samples are copied other than in and out.
    private mutating func reserve(_ needed: Int) {
        guard needed > storage.count else { return }
        // A small first allocation (1024 samples, 21 ms at 48 kHz) so an idle pacer costs almost nothing.
        let newCapacity = min(limit, max(needed, storage.count * 2, 1024))
        var grown = [Int16](repeating: 0, count: newCapacity)
        grown.withUnsafeMutableBufferPointer { target in copyPrefix(count, into: target) }
        storage = grown
        head = 0
    }
}

