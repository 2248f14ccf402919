/// A FIFO on an array with a moving head index: O(1) append and pop, compacted in place once the consumed prefix
/// is at least half the array, so it never allocates in steady state.
public struct FIFOQueue<Element> {
    private var elements: [Element] = []
    private var head = 0

    public init() {}

    public var count: Int { elements.count - head }
    public var isEmpty: Bool { head == elements.count }

    public var first: Element? { isEmpty ? nil : elements[head] }
    public var last: Element? { isEmpty ? nil : elements[elements.count - 1] }

    /// The `offset`-th element from the front.
    public subscript(offset: Int) -> Element {
        get { elements[head + offset] }
        set { elements[head + offset] = newValue }
    }

    public mutating func append(_ element: Element) { elements.append(element) }

    public mutating func popFirst() -> Element? {
        guard !isEmpty else { return nil }
        let element = elements[head]
        head += 1
        if head == elements.count {
            elements.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 32, head * 2 >= elements.count {
            // Compaction moves the live half once per that many pops: amortised O(1).
            elements.removeFirst(head)
            head = 0
        }
        return element
    }

    public mutating func removeAll() {
        elements.removeAll(keepingCapacity: true)
        head = 0
    }

    /// The elements front to back.
    public var all: ArraySlice<Element> { elements[head...] }
}

extension FIFOQueue: Sendable where Element: Sendable {}
