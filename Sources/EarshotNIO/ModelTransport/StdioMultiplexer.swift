import Foundation
import EarshotModelProtocol
public import Logging
public import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The sidecar's model link (`earshot serve --model stdio`): the process that started the relay is the model, and
/// every session's messages travel on the relay's own stdin (model → relay) and stdout (relay → model) in
/// multiplexed frames (`MultiplexedStdio`, Docs/model-protocol.md "Sidecar"). Each session gets a `ModelTransport`
/// as with a WebSocket or a process of its own; frames carry its id.
///
/// The descriptors are taken over at `open`: stdin and stdout are then pointed at /dev/null, so nothing else in
/// the process (a stray `print`) can write into the protocol stream. Logs go to stderr.
///
/// Confined to its event loop.
public final class StdioMultiplexer {
    public struct Statistics: Sendable, Hashable, Codable {
        public var sessionsOpened = 0
        public var framesReceived = 0
        /// Frames for a session that is not (or no longer) live: dropped.
        public var framesForUnknownSessions = 0
        /// Frames with an empty session id from the model: no relay-level message from the model is defined.
        public var relayLevelFramesReceived = 0
        /// Frames skipped as malformed (length 0, unknown kind, bad session id).
        public var badFrames = 0
    }

    public let eventLoop: any EventLoop
    public private(set) var statistics = Statistics()
    private var channel: (any Channel)?
    private var sessions: [String: ModelTransport] = [:]
    private let logger: Logger
    private let onInputClosed: (String) -> Void
    private var inputClosed = false
    private var lastWrite: EventLoopFuture<Void>?

    private init(eventLoop: any EventLoop, logger: Logger, onInputClosed: @escaping (String) -> Void) {
        self.eventLoop = eventLoop
        self.logger = logger
        self.onInputClosed = onInputClosed
    }

    /// Takes over the process's stdin and stdout; the multiplexer is used on `eventLoop` only. `onInputClosed` is called on the loop, once, when the model's
    /// side ends (stdin reached its end, or the stream was lost to a malformed frame length): the relay then
    /// shuts down, and the `stop` of every session still goes out on stdout.
    public static func open(
        eventLoop: any EventLoop, logger: Logger, onInputClosed: @escaping @Sendable (String) -> Void
    ) async throws(StdioMultiplexerError) -> NIOLoopBound<StdioMultiplexer> {
        fflush(nil)
        // Copies above stderr, closed on exec (model processes started later must not hold our pipes).
        let input = fcntl(0, F_DUPFD_CLOEXEC, 3)
        let output = input >= 0 ? fcntl(1, F_DUPFD_CLOEXEC, 3) : -1
        guard input >= 0, output >= 0 else {
            let reason = String(cString: strerror(errno))
            if input >= 0 { closeDescriptor(input) }
            throw .descriptors("cannot copy stdin and stdout: \(reason)")
        }
        pointStandardStreamsAtDevNull()
        // A parent that closes its end of our stdout must not kill the relay with SIGPIPE: the write fails instead,
        // the pipe closes and the relay shuts down.
        signal(SIGPIPE, SIG_IGN)
        let hub: NIOLoopBound<StdioMultiplexer>
        do {
            hub = try await eventLoop.submit {
                NIOLoopBound(
                    StdioMultiplexer(eventLoop: eventLoop, logger: logger, onInputClosed: onInputClosed),
                    eventLoop: eventLoop)
            }.get()
            let channel = try await NIOPipeBootstrap(group: eventLoop)
                .channelOption(.allowRemoteHalfClosure, value: true)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(MultiplexedStdioHandler(hub: hub))
                    }
                }
                .takingOwnershipOfDescriptors(input: input, output: output)
                .get()
            try await eventLoop.submit { hub.value.channel = channel }.get()
            return hub
        } catch {
            throw .descriptors(
                "stdin and stdout must be pipes from the process that started the relay (\(error))")
        }
    }

    /// A transport for one session on the shared pipes; `onEvent` as for any transport (it is writable at once).
    public func transport(sessionID: String, onEvent: @escaping (ModelTransportEvent) -> Void) -> ModelTransport {
        eventLoop.preconditionInEventLoop()
        let transport = ModelTransport(eventLoop: eventLoop, onEvent: onEvent)
        guard channel != nil, !inputClosed, MultiplexedStdio.isValidSessionID(sessionID), sessions[sessionID] == nil
        else {
            eventLoop.assumeIsolated().execute { transport.failed(.couldNotConnect("the sidecar's stdin is closed")) }
            return transport
        }
        sessions[sessionID] = transport
        statistics.sessionsOpened += 1
        eventLoop.assumeIsolated().execute { [self] in
            guard sessions[sessionID] === transport else { return }
            transport.multiplexed = (self, sessionID)
        }
        return transport
    }

    /// A relay-level control message (empty session id), such as `relay.ready`.
    public func sendRelayMessage(_ json: [UInt8]) {
        eventLoop.preconditionInEventLoop()
        guard let channel else { return }
        let promise = eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(MultiplexedOutbound(sessionID: "", message: .text(json)), promise: promise)
        lastWrite = promise.futureResult
    }

    /// Closes the pipes once what was written has gone out (at most 2 s later if the model reads nothing).
    public func close() -> EventLoopFuture<Void> {
        eventLoop.preconditionInEventLoop()
        guard let channel else { return eventLoop.makeSucceededVoidFuture() }
        let closed = channel.closeFuture
        if let lastWrite {
            lastWrite.assumeIsolated().whenComplete { _ in channel.close(promise: nil) }
            eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
        } else {
            channel.close(promise: nil)
        }
        return closed
    }

    // MARK: From the transports and the pipeline

    func write(_ message: ModelTransportMessage, sessionID: String, promise: EventLoopPromise<Void>) {
        guard let channel else {
            promise.fail(ChannelError.ioOnClosedChannel)
            return
        }
        channel.writeAndFlush(MultiplexedOutbound(sessionID: sessionID, message: message), promise: promise)
        lastWrite = promise.futureResult
    }

    func detach(_ sessionID: String) {
        sessions[sessionID] = nil
    }

    fileprivate func received(_ frame: StdioFrame) {
        statistics.framesReceived += 1
        guard let id = frame.sessionID, !id.isEmpty else {
            statistics.relayLevelFramesReceived += 1
            logger.debug("sidecar: a relay-level message from the model, ignored")
            return
        }
        guard let transport = sessions[id] else {
            statistics.framesForUnknownSessions += 1
            return
        }
        transport.received(frame.kind == .control ? .text(frame.body) : .binary(frame.body))
    }

    fileprivate func badFrame(_ error: ModelProtocolError) {
        statistics.badFrames += 1
        logger.warning("sidecar: skipped a malformed frame from the model: \(error)")
    }

    fileprivate func streamLost(_ error: ModelProtocolError) {
        logger.error("sidecar: the model's stream is lost: \(error)")
        for transport in sessions.values { transport.failed(.protocolViolation(error.description)) }
        sessions.removeAll()
        endOfInput("the model's stream is lost (\(error))")
    }

    fileprivate func endOfInput(_ reason: String) {
        guard !inputClosed else { return }
        inputClosed = true
        onInputClosed(reason)
    }

    fileprivate func channelInactive() {
        channel = nil
        for transport in sessions.values { transport.failed(.closedByModel("the sidecar's pipes closed")) }
        sessions.removeAll()
        endOfInput("the sidecar's pipes closed")
    }
}

@available(*, unavailable, message: "A StdioMultiplexer is confined to its event loop")
extension StdioMultiplexer: Sendable {}

public enum StdioMultiplexerError: Error, Hashable, Sendable, CustomStringConvertible {
    case descriptors(String)

    public var description: String {
        switch self {
        case .descriptors(let detail): "--model stdio: \(detail)"
        }
    }
}

private func closeDescriptor(_ descriptor: Int32) {
    _ = close(descriptor)
}

/// After the multiplexer took copies of stdin and stdout: the originals read and write /dev/null.
private func pointStandardStreamsAtDevNull() {
    let null = open("/dev/null", O_RDWR)
    guard null >= 0 else { return }
    _ = dup2(null, 0)
    _ = dup2(null, 1)
    _ = close(null)
}

/// One message for the shared pipe, with its session.
struct MultiplexedOutbound: Sendable {
    var sessionID: String
    var message: ModelTransportMessage
}

/// Frames on the relay's own stdin and stdout in the sidecar's multiplexed framing.
private final class MultiplexedStdioHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = MultiplexedOutbound
    typealias OutboundOut = ByteBuffer

    let hub: NIOLoopBound<StdioMultiplexer>
    private var decoder = StdioFrameDecoder(multiplexed: true)

    init(hub: NIOLoopBound<StdioMultiplexer>) { self.hub = hub }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard decoder.streamError == nil else { return }
        decoder.append(unwrapInboundIn(data).readableBytesView)
        while true {
            let frame: StdioFrame?
            do {
                frame = try decoder.nextFrame()
            } catch {
                if error.isFatal {
                    hub.value.streamLost(error)
                    return
                }
                hub.value.badFrame(error)
                continue
            }
            guard let frame else { return }
            hub.value.received(frame)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            if decoder.streamError == nil, decoder.bufferedByteCount > 0 {
                hub.value.badFrame(.truncatedFrame(decoder.bufferedByteCount))
            }
            hub.value.endOfInput("the model closed the relay's stdin")
        }
        context.fireUserInboundEventTriggered(event)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let outbound = unwrapOutboundIn(data)
        let (kind, bytes): (StdioFrameKind, [UInt8]) = switch outbound.message {
        case .text(let b): (.control, b)
        case .binary(let b): (.audio, b)
        }
        let id = Array(outbound.sessionID.utf8)
        var buffer = context.channel.allocator.buffer(capacity: 6 + id.count + bytes.count)
        buffer.writeInteger(UInt32(2 + id.count + bytes.count))
        buffer.writeInteger(kind.rawValue)
        buffer.writeInteger(UInt8(id.count))
        buffer.writeBytes(id)
        buffer.writeBytes(bytes)
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        hub.value.channelInactive()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
