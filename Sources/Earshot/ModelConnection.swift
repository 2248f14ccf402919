public import EarshotModelBridge
import EarshotModelProtocol
public import EarshotNIO
import EarshotReferenceModels
public import EarshotWire
public import Logging
public import NIOCore

/// One session's model: the bridge (the protocol's state, sans-IO) and what carries its messages: an in-process
/// model's session, a transport of its own (WebSocket, a process), or the sidecar's shared stdin/stdout. It moves
/// messages between the two (`pump`), delivers what the model sends to the bridge, and closes the link when the
/// bridge ends. Confined to the event loop it was made on.
public final class ModelConnection {
    public let bridge: ModelBridge
    public let model: ModelChoice
    private var link: Link?
    private var lastTransportStatistics: ModelTransport.Statistics?

    enum Link {
        /// A sans-IO built-in model (`BuiltInModel`): it never blocks, so it answers on the session's loop.
        case builtIn(any ReferenceModel)
        case inProcess(InProcessLink)
        case transport(ModelTransport)
    }

    /// Bytes written to a transport and not yet taken by the model before the bridge holds messages back (its
    /// own input queue is bounded in audio time; this only keeps the socket or pipe from holding much more).
    public static let pendingLimit = 64 * 1024
    /// Messages queued for an in-process model and not yet read before the bridge holds messages back.
    public static let inProcessQueueLimit = 64

    /// What a connection may need besides the model: where in-process models run, the sidecar's pipes, the exec:
    /// processes' registry, the trusted roots for `wss://`.
    public struct Resources {
        public var inProcessRunner: InProcessModelRunner?
        public var stdio: StdioMultiplexer?
        public var processes: ModelProcesses?
        public var trustRootsFile: String?

        public init(
            inProcessRunner: InProcessModelRunner? = nil, stdio: StdioMultiplexer? = nil,
            processes: ModelProcesses? = nil, trustRootsFile: String? = nil
        ) {
            self.inProcessRunner = inProcessRunner
            self.stdio = stdio
            self.processes = processes
            self.trustRootsFile = trustRootsFile
        }
    }

    /// Starts the model's side: the in-process model's session, the transport (dial the server or start the
    /// process) or the session on the sidecar's pipes. `activity` is called on the loop after the bridge took
    /// something from the model, so the owner runs the session (frames to send, an end to act on). `model` must
    /// not be `.echo` (it has no protocol side).
    public init(
        model: ModelChoice, bridge: ModelBridge, sessionID: String, eventLoop: any EventLoop, logger: Logger,
        resources: Resources, activity: @escaping (Instant) -> Void
    ) {
        precondition(model.usesProtocol, "the built-in echo has no model connection")
        self.model = model
        self.bridge = bridge
        let onEvent: (ModelTransportEvent) -> Void = { [weak bridge] event in
            guard let bridge else { return }
            let now = Instant.now()
            switch event {
            case .message(.text(let bytes)): bridge.receiveText(bytes, now: now)
            case .message(.binary(let bytes)): bridge.receiveBinary(bytes, now: now)
            case .invalidFrame(let error): bridge.receiveInvalid(error, now: now)
            case .ended(let reason): bridge.transportEnded(reason.description, now: now)
            case .writable: break  // `activity` pumps
            }
            activity(now)
        }
        switch model {
        case .echo:
            link = nil
        case .inProcess(let handle) where handle.model is BuiltInModel:
            link = .builtIn((handle.model as! BuiltInModel).name.makeModel())
        case .inProcess(let handle):
            guard let runner = resources.inProcessRunner else {
                bridge.transportEnded("in-process models run only inside a RelayService", now: .now())
                link = nil
                return
            }
            let deliverer = InProcessDeliverer()
            deliverer.receive = { [weak bridge] message in
                guard let bridge else { return }
                let now = Instant.now()
                bridge.receive(message, now: now)
                activity(now)
            }
            let wake = NIOLoopBound(activity, eventLoop: eventLoop)
            let queue = InProcessInputQueue(limit: Self.inProcessQueueLimit) {
                eventLoop.execute { wake.value(.now()) }
            }
            link = .inProcess(InProcessLink(queue: queue, deliverer: deliverer))
            runner.start(InProcessModelRunner.Job(
                model: handle.model, queue: queue, eventLoop: eventLoop,
                deliverer: NIOLoopBound(deliverer, eventLoop: eventLoop), logger: logger))
        case .webSocket(let address):
            let transport = ModelTransport.connect(
                to: address, eventLoop: eventLoop, trustRootsFile: resources.trustRootsFile, onEvent: onEvent)
            transport.pendingLimit = Self.pendingLimit
            link = .transport(transport)
        case .exec(let command):
            let transport = ModelTransport.launch(
                command: command, eventLoop: eventLoop, logger: logger, processes: resources.processes,
                onEvent: onEvent)
            transport.pendingLimit = Self.pendingLimit
            link = .transport(transport)
        case .stdio:
            guard let stdio = resources.stdio else {
                bridge.transportEnded("--model stdio needs the sidecar's pipes (earshot serve --model stdio)", now: .now())
                link = nil
                return
            }
            let transport = stdio.transport(sessionID: sessionID, onEvent: onEvent)
            transport.pendingLimit = Self.pendingLimit
            link = .transport(transport)
        }
    }

    /// Moves messages from the bridge to the model while the link has room for the next one.
    public func pump(now: Instant) {
        guard let link else { return }
        switch link {
        case .builtIn(let model):
            var answers: [ModelMessage] = []
            // A built-in model answers at once; the rounds are bounded in case messages keep answering each other.
            for _ in 0..<8 {
                guard bridge.hasOutbound else { break }
                while let message = bridge.pollOutbound(now: now) { model.receive(message, into: &answers) }
                for answer in answers { bridge.receive(answer, now: now) }
                answers.removeAll(keepingCapacity: true)
            }
        case .inProcess(let inProcess):
            while bridge.hasOutbound, inProcess.queue.hasRoom(), let message = bridge.pollOutbound(now: now) {
                inProcess.queue.push(message)
            }
        case .transport(let transport):
            while transport.isOpen, let next = bridge.nextOutbound {
                let message: ModelTransportMessage = switch next {
                case .control(let control): .text(control.encode())
                case .audio(let audio): .binary(audio.serialized())
                }
                guard transport.hasRoom(for: message.count) else { break }
                _ = bridge.pollOutbound(now: now)
                transport.send(message)
            }
        }
    }

    /// The call's media path is up: an in-process model hears it (``ModelInput/connected``).
    func callConnected() {
        if case .inProcess(let inProcess) = link { inProcess.queue.pushCallConnected() }
    }

    /// Sends what the bridge still has (its `stop`), then closes the transport.
    public func close(now: Instant) {
        pump(now: now)
        switch link {
        case .transport(let transport):
            transport.close()
            lastTransportStatistics = transport.statistics
        case .builtIn:
            break
        case .inProcess(let inProcess):
            // The last messages (the `stop`) go past the queue's limit: they are few, and the model must see them.
            while let message = bridge.pollOutbound(now: now) { inProcess.queue.push(message) }
            inProcess.close()
        case nil:
            break
        }
        link = nil
    }

    /// Messages and bytes each way (a transport only).
    public var transportStatistics: ModelTransport.Statistics? {
        if case .transport(let transport) = link { return transport.statistics }
        return lastTransportStatistics
    }
}

/// The relay's end of an in-process model's session: the queue the model reads, and what takes its messages.
struct InProcessLink {
    let queue: InProcessInputQueue
    let deliverer: InProcessDeliverer

    func close() {
        deliverer.receive = nil
        queue.finish()
    }
}

@available(*, unavailable, message: "A ModelConnection is confined to its event loop")
extension ModelConnection: Sendable {}
