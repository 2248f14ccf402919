public import EarshotWire

/// A one-way link that holds packets until a `NetworkModel` says they arrive: the piece that puts a modelled network
/// between two real endpoints (e.g. in front of a socket) or between two simulated ones.
///
/// `send(_:at:)` asks the model for the packet's fate and, if it is delivered, stores it with its delivery instant.
/// The owner then sleeps until `nextDelivery` and calls `deliver(upTo:)`, which returns the packets due, in delivery
/// order (packets due at the same instant in send order).
///
/// The link holds at most `capacity` packets in flight, as a router's queue does: a packet that arrives at a full
/// link is dropped and counted in `droppedCount` (apart from the model's own losses, counted in `lostCount`). The
/// model is consulted first, so its random sequence is the same whether or not the queue overflows.
public struct ImpairedLink<Packet, Model: NetworkModel> {
    /// What became of a packet handed to `send`.
    public enum SendOutcome: Hashable, Sendable {
        /// Stored; it will be delivered at this instant.
        case queued(deliveryAt: Instant)
        /// Lost by the network model.
        case lost
        /// Dropped because the link already held `capacity` packets.
        case dropped
    }

    public private(set) var model: Model
    /// The most packets in flight at once.
    public let capacity: Int
    /// Packets dropped because the link was full.
    public private(set) var droppedCount = 0
    /// Packets the model lost.
    public private(set) var lostCount = 0
    /// Packets handed out by `deliver(upTo:)`.
    public private(set) var deliveredCount = 0

    /// Min-heap on (delivery instant, send sequence).
    private var heap: [LinkEntry<Packet>] = []
    private var sequence: UInt64 = 0

    public init(model: Model, capacity: Int) {
        precondition(capacity > 0, "a link holds at least one packet")
        self.model = model
        self.capacity = capacity
    }

    /// Packets in flight.
    public var count: Int { heap.count }

    /// The instant the next packet is due, or nil when none is in flight.
    public var nextDelivery: Instant? { heap.first?.delivery }

    /// Sends `packet` at `now`.
    @discardableResult
    public mutating func send(_ packet: Packet, at now: Instant) -> SendOutcome {
        guard case .delivered(let delivery) = model.fate(ofPacketSentAt: now) else {
            lostCount += 1
            return .lost
        }
        guard heap.count < capacity else {
            droppedCount += 1
            return .dropped
        }
        push(LinkEntry(delivery: delivery, sequence: sequence, packet: packet))
        sequence &+= 1
        return .queued(deliveryAt: delivery)
    }

    /// Removes and returns every packet due at or before `now`, in delivery order.
    public mutating func deliver(upTo now: Instant) -> [Packet] {
        var due: [Packet] = []
        while let first = heap.first, first.delivery <= now {
            due.append(popFirst().packet)
        }
        deliveredCount += due.count
        return due
    }

    // MARK: Binary heap

    private mutating func push(_ entry: LinkEntry<Packet>) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func popFirst() -> LinkEntry<Packet> {
        heap.swapAt(0, heap.count - 1)
        let first = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].precedes(heap[smallest]) { smallest = left }
            if right < heap.count, heap[right].precedes(heap[smallest]) { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return first
    }
}

extension ImpairedLink: Sendable where Packet: Sendable, Model: Sendable {}

/// A packet in flight and its place in the delivery order.
private struct LinkEntry<Packet> {
    var delivery: Instant
    var sequence: UInt64
    var packet: Packet

    func precedes(_ other: LinkEntry) -> Bool {
        (delivery, sequence) < (other.delivery, other.sequence)
    }
}

extension LinkEntry: Sendable where Packet: Sendable {}
