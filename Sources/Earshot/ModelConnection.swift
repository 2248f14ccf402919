public import EarshotModelBridge
import EarshotModelProtocol
public import EarshotNIO
import EarshotReferenceModels
public import EarshotWire
public import Logging
public import NIOCore

/// One session's model: the bridge (the protocol's state, sans-IO) and what carries its messages, a built-in model
/// in this process or a transport. It moves messages between the two (`pump`), delivers what the transport reads
/// to the bridge, and closes the transport when the bridge ends. Confined to the event loop it was made on.
public final class ModelConnection {
    public let bridge: ModelBridge
    public let model: ModelChoice
    private var link: Link?
    private var lastTransportStatistics: ModelTransport.Statistics?

    enum Link {
        case inProcess(any ReferenceModel)
        case transport(ModelTransport)
    }

    /// Bytes written to a transport and not yet taken by the model before the bridge holds messages back (its
    /// own input queue is bounded in audio time; this only keeps the socket or pipe from holding much more).
    public static let pendingLimit = 64 * 1024

    /// Starts the model's side: the built-in model, or the transport (dial the server or start the process).
    /// `activity` is called on the loop after the bridge took something from the transport, so the owner runs
    /// the session (frames to send, an end to act on). `model` must not be `.echo` (it has no protocol side).
    public init(
        model: ModelChoice, bridge: ModelBridge, eventLoop: any EventLoop, logger: Logger,
        processes: ModelProcesses? = nil, trustRootsFile: String? = nil, activity: @escaping (Instant) -> Void
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
        case .builtIn(let name):
            link = .inProcess(name.makeModel())
        case .webSocket(let address):
            let transport = ModelTransport.connect(
                to: address, eventLoop: eventLoop, trustRootsFile: trustRootsFile, onEvent: onEvent)
            transport.pendingLimit = Self.pendingLimit
            link = .transport(transport)
        case .exec(let command):
            let transport = ModelTransport.launch(
                command: command, eventLoop: eventLoop, logger: logger, processes: processes, onEvent: onEvent)
            transport.pendingLimit = Self.pendingLimit
            link = .transport(transport)
        }
    }

    /// Moves messages between the bridge and the model: all of them to a built-in model (and its answers back),
    /// to a transport while it has room for the next one.
    public func pump(now: Instant) {
        guard let link else { return }
        switch link {
        case .inProcess(let model):
            var answers: [ModelMessage] = []
            // A built-in model answers at once; the rounds are bounded in case messages keep answering each other.
            for _ in 0..<8 {
                guard bridge.hasOutbound else { break }
                while let message = bridge.pollOutbound(now: now) { model.receive(message, into: &answers) }
                for answer in answers { bridge.receive(answer, now: now) }
                answers.removeAll(keepingCapacity: true)
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

    /// Sends what the bridge still has (its `stop`), then closes the transport.
    public func close(now: Instant) {
        pump(now: now)
        if case .transport(let transport) = link {
            transport.close()
            lastTransportStatistics = transport.statistics
        }
        link = nil
    }

    /// Messages and bytes each way (a transport only).
    public var transportStatistics: ModelTransport.Statistics? {
        if case .transport(let transport) = link { return transport.statistics }
        return lastTransportStatistics
    }
}

@available(*, unavailable, message: "A ModelConnection is confined to its event loop")
extension ModelConnection: Sendable {}
