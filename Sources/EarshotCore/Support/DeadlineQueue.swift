public import EarshotWire

/// The deadlines of many state machines that share one timer (one per event loop): a binary min-heap with lazy
/// invalidation. Updating a key's deadline pushes a new entry; stale entries are skipped when they surface.
public struct DeadlineQueue<Key: Hashable & Sendable>: Sendable {
    private var heap: [(deadline: Instant, key: Key, generation: UInt64)] = []
    private var current: [Key: (deadline: Instant, generation: UInt64)] = [:]
    private var nextGeneration: UInt64 = 0

    public init() {}

    /// Sets (or clears, with nil) the deadline of `key`.
    public mutating func set(_ key: Key, deadline: Instant?) {
        guard let deadline else {
            current[key] = nil
            compactIfStale()
            return
        }
        if let existing = current[key], existing.deadline == deadline { return }
        nextGeneration &+= 1
        current[key] = (deadline, nextGeneration)
        push((deadline, key, nextGeneration))
        compactIfStale()
    }

    /// The earliest live deadline.
    public mutating func earliest() -> Instant? {
        dropStaleTop()
        return heap.first?.deadline
    }

    /// Removes and returns every key whose deadline is at or before `now`.
    public mutating func popDue(now: Instant) -> [Key] {
        var due: [Key] = []
        while true {
            dropStaleTop()
            guard let top = heap.first, top.deadline <= now else { break }
            popTop()
            current[top.key] = nil
            due.append(top.key)
        }
        return due
    }

    public var count: Int { current.count }

    private func isLive(_ entry: (deadline: Instant, key: Key, generation: UInt64)) -> Bool {
        current[entry.key]?.generation == entry.generation
    }

    private mutating func dropStaleTop() {
        while let top = heap.first, !isLive(top) { popTop() }
    }

    /// Rebuilds the heap when stale entries outnumber live ones, so memory stays proportional to the keys.
    private mutating func compactIfStale() {
        guard heap.count > 64, heap.count > 2 * current.count else { return }
        heap = heap.filter(isLive)
        for index in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(index) }
    }

    private mutating func push(_ entry: (deadline: Instant, key: Key, generation: UInt64)) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func popTop() {
        heap.swapAt(0, heap.count - 1)
        heap.removeLast()
        if !heap.isEmpty { siftDown(0) }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count, heap[right].deadline < heap[smallest].deadline { smallest = right }
            if smallest == parent { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
