import Foundation
public import EarshotModelProtocol
import Logging
public import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// One message of the model protocol as the transports carry it: control messages are JSON text, audio messages
/// binary (Docs/model-protocol.md). The transport does not look inside.
public enum ModelTransportMessage: Sendable, Hashable {
    case text([UInt8])
    case binary([UInt8])

    /// Bytes in the message.
    public var count: Int {
        switch self {
        case .text(let bytes), .binary(let bytes): bytes.count
        }
    }
}

/// Why a model transport ended.
public enum ModelTransportEnd: Sendable, Hashable, CustomStringConvertible {
    /// The relay closed it.
    case closedByRelay
    /// The model closed it cleanly (WebSocket close, or the process ended its output and exited 0).
    case closedByModel(String)
    /// The connection or the process could not be set up.
    case couldNotConnect(String)
    /// The model broke the framing (a malformed frame, a message over the limit, a WebSocket protocol error).
    case protocolViolation(String)
    /// The model process exited with a failure status or was killed by a signal.
    case processFailed(String)

    public var description: String {
        switch self {
        case .closedByRelay: "closed by the relay"
        case .closedByModel(let detail): "closed by the model (\(detail))"
        case .couldNotConnect(let detail): "could not connect to the model: \(detail)"
        case .protocolViolation(let detail): "model protocol violation: \(detail)"
        case .processFailed(let detail): "model process failed: \(detail)"
        }
    }
}

/// What a transport reports, on its event loop.
public enum ModelTransportEvent: Sendable {
    case message(ModelTransportMessage)
    /// The transport can take messages: it just connected (or the process's pipes are open), or the model took
    /// enough of what was pending after `hasRoom` said no.
    case writable
    /// A stdio frame that could not be delivered: of length 0 or unknown kind (skipped, the stream goes on), the
    /// stream ending inside a frame, or a length over the limit (`frame_too_large`: nothing more is read).
    case invalidFrame(ModelProtocolError)
    case ended(ModelTransportEnd)
}

/// The connection to one session's model: a WebSocket the relay dialled, or the stdin/stdout of a process it
/// started. Confined to its event loop: `send` and `close` are called there, and events are delivered there.
///
/// Outbound messages are bounded: while more than `maximumPendingBytes` are written but not yet taken by the
/// model (a model that stopped reading), `send` refuses and counts instead of queueing without end, so a stalled
/// model costs its own session dropped audio and never blocks the UDP loop or other sessions.
public final class ModelTransport {
    public struct Statistics: Sendable, Hashable, Codable {
        public var messagesSent = 0
        public var bytesSent = 0
        public var messagesReceived = 0
        public var bytesReceived = 0
        /// Messages refused by `send` because the model was not reading.
        public var messagesDropped = 0
    }

    /// The largest message either way: 1 MiB (the protocol's limit).
    public static let maximumMessageSize = 1 << 20
    public static let maximumPendingBytes = 1 << 20

    /// The most bytes written and not yet taken by the model before `send` refuses (`hasRoom` says false).
    public var pendingLimit = ModelTransport.maximumPendingBytes
    /// Bytes written and not yet taken by the model.
    public private(set) var pendingBytes = 0

    public let eventLoop: any EventLoop
    public private(set) var statistics = Statistics()
    public private(set) var end: ModelTransportEnd?

    var channel: (any Channel)? {
        didSet { if channel != nil, oldValue == nil, end == nil { onEvent(.writable) } }
    }
    /// A session on the sidecar's shared stdin/stdout instead of a channel of its own.
    var multiplexed: (hub: StdioMultiplexer, sessionID: String)? {
        didSet { if multiplexed != nil, oldValue == nil, end == nil { onEvent(.writable) } }
    }
    private var isConnected: Bool { channel != nil || multiplexed != nil }
    private var lastWrite: EventLoopFuture<Void>?
    /// `hasRoom` said no since the last `.writable`.
    private var refused = false
    private let onEvent: (ModelTransportEvent) -> Void
    var process: Process?
    private var processStatus: Int32?
    private var channelClosed = false

    init(eventLoop: any EventLoop, onEvent: @escaping (ModelTransportEvent) -> Void) {
        self.eventLoop = eventLoop
        self.onEvent = onEvent
    }

    /// Whether a message of `size` bytes would be sent now: the transport is open and the model has taken enough
    /// of what was written (a message always fits when nothing is pending).
    public func hasRoom(for size: Int) -> Bool {
        let room = end == nil && isConnected && (pendingBytes == 0 || pendingBytes + size <= pendingLimit)
        if !room { refused = true }
        return room
    }

    /// Whether the transport is up (connected or started) and not ended.
    public var isOpen: Bool { end == nil && isConnected }


    /// Sends one message; false (and counted) when the model is not keeping up or the transport has ended.
    @discardableResult
    public func send(_ message: ModelTransportMessage) -> Bool {
        eventLoop.preconditionInEventLoop()
        guard end == nil, isConnected else { return false }
        guard pendingBytes == 0 || pendingBytes + message.count <= pendingLimit else {
            statistics.messagesDropped += 1
            return false
        }
        pendingBytes += message.count
        statistics.messagesSent += 1
        statistics.bytesSent += message.count
        let size = message.count
        let promise = eventLoop.makePromise(of: Void.self)
        promise.futureResult.assumeIsolated().whenComplete { [self] _ in
            pendingBytes -= size
            if refused, pendingBytes <= pendingLimit / 2, end == nil {
                refused = false
                onEvent(.writable)
            }
        }
        if let (hub, sessionID) = multiplexed {
            hub.write(message, sessionID: sessionID, promise: promise)
        } else {
            channel?.writeAndFlush(message, promise: promise)
        }
        lastWrite = promise.futureResult
        return true
    }

    /// Ends the transport from the relay's side once what was sent has been written: a WebSocket Close, or the
    /// process's stdin (and stdout) closed; a process still running 2 s later gets SIGTERM, and SIGKILL 2 s after.
    public func close() {
        eventLoop.preconditionInEventLoop()
        finish(.closedByRelay)
        if let (hub, sessionID) = multiplexed {
            // The shared pipe stays open; what was sent (the `stop`) is already queued on it.
            hub.detach(sessionID)
        }
        if let channel {
            if let lastWrite {
                lastWrite.assumeIsolated().whenComplete { _ in channel.close(promise: nil) }
                // A model that reads nothing never completes the write: close anyway after the grace period.
                eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
            } else {
                channel.close(promise: nil)
            }
        }
        terminateProcess(after: .seconds(2))
    }

    // MARK: From the pipeline

    func received(_ message: ModelTransportMessage) {
        guard end == nil else { return }
        statistics.messagesReceived += 1
        statistics.bytesReceived += message.count
        onEvent(.message(message))
    }

    func failed(_ reason: ModelTransportEnd) {
        guard end == nil else { return }
        finish(reason)
        channel?.close(promise: nil)
        if let (hub, sessionID) = multiplexed { hub.detach(sessionID) }
        terminateProcess(after: .zero)
    }

    func invalidFrame(_ error: ModelProtocolError) {
        guard end == nil else { return }
        onEvent(.invalidFrame(error))
    }

    func channelInactive() {
        channelClosed = true
        guard end == nil else { return }
        if process != nil, processStatus == nil {
            // Output closed before the process exited: wait for its status (processExited) to tell how it ended.
            return
        }
        finish(processEnd() ?? .closedByModel("connection closed"))
    }

    func processExited(status: Int32, reason: Process.TerminationReason) {
        processStatus = status
        guard end == nil else { return }
        if reason == .uncaughtSignal {
            finish(.processFailed("killed by signal \(status)"))
        } else if status != 0 {
            finish(.processFailed("exited with status \(status)"))
        } else if channelClosed {
            finish(.closedByModel("process exited"))
        }
        // Status 0 with the pipe still open: the close of the pipe reports the end.
    }

    private func processEnd() -> ModelTransportEnd? {
        guard let status = processStatus else { return nil }
        return status == 0 ? .closedByModel("process exited") : .processFailed("exited with status \(status)")
    }

    private func finish(_ reason: ModelTransportEnd) {
        guard end == nil else { return }
        end = reason
        if reason != .closedByRelay { onEvent(.ended(reason)) }
    }

    /// SIGTERM to the process's group (the shell and what it started) after `grace`, SIGKILL 2 s later, on a
    /// timer that outlives the event loop (a relay shutting down stops its loops before the grace period ends).
    private func terminateProcess(after grace: TimeAmount) {
        guard let process, process.processIdentifier > 0 else { return }
        ModelProcesses.terminate(process, after: .nanoseconds(grace.nanoseconds))
    }
}

@available(*, unavailable, message: "A ModelTransport is confined to its event loop")
extension ModelTransport: Sendable {}

/// The model processes one relay started and that have not exited, so that ending the relay ends them too.
/// Foundation starts each process as the leader of its own process group; signals go to the group (the shell
/// and whatever it started).
public final class ModelProcesses: @unchecked Sendable {
    private let lock = NSLock()
    private var live: [Int32: Process] = [:]

    public init() {}

    func started(_ process: Process) {
        lock.withLock {
            live = live.filter { $0.value.isRunning }
            if process.isRunning { live[process.processIdentifier] = process }
        }
    }

    func exited(_ pid: Int32) {
        _ = lock.withLock { live.removeValue(forKey: pid) }
    }

    private var runningGroups: [Int32] {
        lock.withLock { live.values.filter(\.isRunning).map { -$0.processIdentifier } }
    }

    /// Model processes still running.
    public var count: Int { runningGroups.count }

    /// SIGTERM to the process's group after `grace` if it still runs, SIGKILL 2 s later, on a timer that outlives
    /// the event loops (a relay shutting down stops them before the grace period ends).
    static func terminate(_ process: Process, after grace: Duration) {
        let group = -process.processIdentifier
        let queue = DispatchQueue.global()
        let (seconds, attoseconds) = grace.components
        let delay = DispatchTimeInterval.nanoseconds(Int(seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
        queue.asyncAfter(deadline: .now() + delay) {
            guard process.isRunning, kill(group, SIGTERM) == 0 else { return }
            queue.asyncAfter(deadline: .now() + .seconds(2)) { _ = kill(group, SIGKILL) }
        }
    }

    /// Ends every model process (for a relay shutting down, after its sessions sent `stop` and closed their
    /// transports): waits up to `grace` for them to exit, then SIGTERM, then after 2 s SIGKILL.
    public func terminateAll(grace: Duration = .seconds(2)) async {
        let clock = ContinuousClock()
        let deadline = clock.now + grace
        while count > 0, clock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        let groups = runningGroups
        guard !groups.isEmpty else { return }
        for group in groups { kill(group, SIGTERM) }
        let killDeadline = clock.now + .seconds(2)
        while count > 0, clock.now < killDeadline { try? await Task.sleep(for: .milliseconds(20)) }
        for group in runningGroups { kill(group, SIGKILL) }
    }
}
