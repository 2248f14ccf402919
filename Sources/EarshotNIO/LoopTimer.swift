public import EarshotWire
public import NIOCore

/// One scheduled wake-up for everything on an event loop: it is moved earlier when an earlier deadline appears,
/// and re-armed by its owner after each firing.
///
/// Concurrency: confined to `eventLoop`.
public final class LoopTimer: @unchecked Sendable {
    public let eventLoop: any EventLoop
    private var scheduled: Scheduled<Void>?
    private var scheduledAt: Instant?
    private let fire: (Instant) -> Void

    public init(eventLoop: any EventLoop, fire: @escaping (Instant) -> Void) {
        self.eventLoop = eventLoop
        self.fire = fire
    }

    /// Makes sure the timer fires no later than `deadline` (nil: cancel).
    public func arm(at deadline: Instant?) {
        eventLoop.preconditionInEventLoop()
        guard let deadline else {
            scheduled?.cancel()
            scheduled = nil
            scheduledAt = nil
            return
        }
        if let current = scheduledAt, current <= deadline { return }
        scheduled?.cancel()
        scheduledAt = deadline
        scheduled = eventLoop.scheduleTask(deadline: deadline.nioDeadline) { [self] in
            scheduled = nil
            scheduledAt = nil
            fire(Instant.now())
        }
    }

    public func cancel() { arm(at: nil) }
}
