import EarshotAudio
public import EarshotModelProtocol
public import EarshotReferenceModels
import NIOConcurrencyHelpers
import NIOCore

/// A model that runs inside the relay's process, in Swift: the host program's own model, or the built-in echo and
/// parrot (``BuiltInModel``).
///
/// It speaks the same protocol as a model over WebSocket or stdio (Docs/model-protocol.md), as Swift values: the
/// relay hands it one ``ModelSession`` per call, whose ``ModelSession/inputs`` carry the caller's audio and the
/// relay's events, and whose methods send audio, `clear`, marks and `stop` back. Sessions have the same rules as on
/// any transport: input waits while the model does not read it (up to the 2 s input queue, then frames are dropped
/// and counted, and a model that reads nothing for the stall timeout ends its session).
///
/// ```swift
/// struct Echo: InProcessModel {
///     func serve(_ session: ModelSession) async throws {
///         for await input in session.inputs {
///             if case .audio(let frame) = input { try await session.send(frame.samples) }
///         }
///     }
/// }
/// var configuration = RelayConfiguration()
/// configuration.model = .inProcess("echo", Echo())
/// ```
public protocol InProcessModel: Sendable {
    /// The output sample rate for a session, from what `session.start` offers (`outputAudioFormats`,
    /// "pcm16/RATE"); nil refuses the session (`unsupported_format`). The default takes the input's rate when it is
    /// offered, else the highest offered rate.
    func outputSampleRate(for start: ModelControlMessage.SessionStart) -> Int?

    /// Serves one session: reads ``ModelSession/inputs`` until it ends (the call ended, or the relay is shutting
    /// down) and sends the model's audio. When it returns while the session is still live, the relay ends the call
    /// (`stop` from the model); when it throws, the relay logs the error as the model's and ends the call.
    /// Cancelled when the relay stops and the model has not returned 2 s after its session ended. Runs on the
    /// relay's model threads (a task executor of two threads the process's relays share), not on the cooperative
    /// pool: a model that computes holds neither the host's pool nor other sessions' models for long, as long as
    /// it awaits between frames.
    func serve(_ session: ModelSession) async throws
}

extension InProcessModel {
    public func outputSampleRate(for start: ModelControlMessage.SessionStart) -> Int? {
        start.preferredPCM16OutputRate
    }
}

/// An in-process model with the name a configuration and a WHIP offer (`?model=NAME`) know it by. Two handles are
/// equal when their names are.
public struct InProcessModelHandle: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    public let model: any InProcessModel

    public init(name: String, model: any InProcessModel) {
        self.name = name
        self.model = model
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.name == rhs.name }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }
    public var description: String { name }
}

/// The built-in models (echo, parrot) as in-process models: the sans-IO reference models of
/// `EarshotReferenceModels`, fed the session's messages in order. They never block, so the relay runs them on the
/// session's event loop, message for message as `serve` would (no task, no hop); `serve` is what a host gets when it
/// wraps one in a model of its own.
public struct BuiltInModel: InProcessModel {
    public let name: ReferenceModelName

    public init(_ name: ReferenceModelName) {
        self.name = name
    }

    public func serve(_ session: ModelSession) async throws {
        let model = name.makeModel()
        var answers: [ModelMessage] = []
        // The session's start was answered already (`session.ready`); the model sees it to set itself up.
        model.receive(.control(.sessionStart(session.start)), into: &answers)
        guard answers.contains(where: { if case .control(.sessionReady) = $0 { true } else { false } }) else {
            for answer in answers { try await session.deliver(answer) }
            return
        }
        while let message = await session.nextMessage() {
            if case .control(.stop) = message { return }
            answers.removeAll(keepingCapacity: true)
            model.receive(message, into: &answers)
            for answer in answers { try await session.deliver(answer) }
        }
    }
}

/// What an in-process model reads from its session, in the order the relay produced it.
public enum ModelInput: Hashable, Sendable {
    /// The call is connected (ICE and DTLS done, media can flow): the caller hears from here. Audio sent before
    /// this (a greeting sent at once) was held and plays whole from this moment.
    case connected
    /// Uplink audio: one frame of the caller's audio after the jitter buffer (PCM16 at the session's input rate,
    /// or on the passthrough codec path, one Opus packet as the caller sent it).
    case audio(InputFrame)
    /// The relay's voice activity detector heard speech begin, at this position of the input (media time).
    case speechStarted(at: Duration)
    /// The relay's voice activity detector heard speech end, at this position of the input.
    case speechStopped(at: Duration)
    /// The output audio up to the mark `name` was sent to the caller, at this time since the session started.
    case markPlayed(name: String, at: Duration)
    /// A `clear` dropped the audio before the mark `name`: it will never be played.
    case markCancelled(name: String)
    /// How much of a response reached the caller (after it was played whole, or cut by `clear`).
    case played(ModelControlMessage.Played)
    /// The session's counters, every second (uplink and downlink webrtc-stats figures, queue depths).
    case stats([String: JSONValue])
    /// The relay refused something the model sent (a warning unless a `stop` follows).
    case error(code: ModelErrorCode, message: String?)
    /// The session ended: the last input. The reason is the model protocol's `stop` reason: `client_hangup`,
    /// `client_timeout`, `relay_shutdown`, or `host_ended` (``RelayService/endSession(id:reason:)``).
    case ended(reason: String?)
}

/// One frame of uplink audio with its timestamps.
public struct InputFrame: Hashable, Sendable {
    /// PCM16 mono samples at the session's input rate (empty on the passthrough path).
    public var samples: [Int16]
    /// The Opus packet as the caller sent it (passthrough path only).
    public var opus: [UInt8]?
    /// The frame's sequence number (input audio counts from 0, one per frame).
    public var sequence: UInt32
    /// Position of the first sample in the caller's audio, from the start of the session's input.
    public var mediaTime: Duration
    /// When the audio arrived at the relay, since the session started (nil for audio the relay made up).
    public var arrival: Duration?
    /// The jitter buffer concealed this frame (lost audio), a gap precedes it, or it was time-stretched.
    public var flags: ModelAudioHeader.Flags
}

/// Why a session refused what the model sent.
public enum ModelSessionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The session has ended: nothing more reaches the caller.
    case ended
    /// More samples than one message carries (about 1 MiB): split them.
    case tooLarge(samples: Int)

    public var description: String {
        switch self {
        case .ended: "the session has ended"
        case .tooLarge(let samples): "\(samples) samples are more than one audio message carries; send them in parts"
        }
    }
}

/// One call as an in-process model sees it: the session's start, its inputs in order, and the model's side of the
/// protocol as methods. Sendable: any task may send; ``inputs`` has one reader.
public final class ModelSession: Sendable {
    /// The relay's id for the session (its HTTP API and logs use it).
    public var id: String { start.sessionID }
    /// The session's `session.start`: input format, the relay's VAD settings, what is known of the caller, and
    /// the model name the caller picked (`?model=NAME`), if any.
    public let start: ModelControlMessage.SessionStart
    /// The output rate the model chose: the PCM16 samples ``send(_:response:)`` takes are at this rate.
    public let outputSampleRate: Int

    let queue: InProcessInputQueue
    private let eventLoop: any EventLoop
    private let deliverer: NIOLoopBound<InProcessDeliverer>

    init(
        start: ModelControlMessage.SessionStart, outputSampleRate: Int, queue: InProcessInputQueue,
        eventLoop: any EventLoop, deliverer: NIOLoopBound<InProcessDeliverer>
    ) {
        self.start = start
        self.outputSampleRate = outputSampleRate
        self.queue = queue
        self.eventLoop = eventLoop
        self.deliverer = deliverer
    }

    /// The caller's audio and the relay's events, in order; it finishes after ``ModelInput/ended(reason:)``.
    /// Meant for one reader: two tasks iterating it at once each get some of the inputs (each input goes to one of
    /// them), and only one of them sees the end.
    public var inputs: Inputs { Inputs(session: self) }

    /// Sends PCM16 mono samples at ``outputSampleRate`` as output audio of response `response` (a number > 0
    /// the model picks, which ties the audio to its `responseDone` and to the relay's `played` report). The relay
    /// paces it out in real time: send as fast as it is made. Several tasks may send: each message is numbered in
    /// the order it reaches the relay.
    public func send(_ samples: [Int16], response: UInt64 = 1) async throws(ModelSessionError) {
        guard samples.count * 2 <= ModelAudioMessage.maximumPayloadLength else {
            throw .tooLarge(samples: samples.count)
        }
        // The sequence number is taken on the loop, in the order the audio reaches the bridge, so that sends from
        // several tasks still count up without gaps.
        let deliverer = self.deliverer
        let accepted = try? await eventLoop.submit {
            deliverer.value.deliver(outputSamples: samples, response: response)
        }.get()
        guard accepted == true else { throw .ended }
    }

    /// Drops every output sample queued and not yet sent (barge-in); marks behind it are cancelled.
    public func clear() async throws(ModelSessionError) {
        try await deliver(.control(.clear))
    }

    /// Tags the output position after the audio sent so far: ``ModelInput/markPlayed(name:at:)`` comes when
    /// it has been sent to the caller, ``ModelInput/markCancelled(name:)`` when a `clear` dropped it.
    public func mark(_ name: String) async throws(ModelSessionError) {
        try await deliver(.control(.mark(name: name)))
    }

    /// No more audio for response `response`: the relay reports ``ModelInput/played(_:)`` once it was sent.
    public func responseDone(_ response: UInt64) async throws(ModelSessionError) {
        try await deliver(.control(.responseDone(responseID: response)))
    }

    /// Ends the session from the model's side: the relay hangs up the call (`stop`). Does nothing after the end.
    public func close(reason: String? = nil) async {
        try? await deliver(.control(.stop(reason: reason)))
    }

    /// The next message of the session in the protocol's form (`nextMessage` and `inputs` share one queue).
    func nextMessage() async -> ModelMessage? {
        while let item = await queue.next() {
            if case .message(let message) = item { return message }
        }
        return nil
    }

    /// One protocol message from the model to the relay, handled on the relay's event loop.
    func deliver(_ message: ModelMessage) async throws(ModelSessionError) {
        let deliverer = self.deliverer
        let accepted = try? await eventLoop.submit { deliverer.value.deliver(message) }.get()
        guard accepted == true else { throw .ended }
    }

    /// ``inputs`` as an `AsyncSequence`.
    public struct Inputs: AsyncSequence, Sendable {
        public typealias Element = ModelInput
        let session: ModelSession

        public struct AsyncIterator: AsyncIteratorProtocol {
            let session: ModelSession
            var finished = false

            public mutating func next() async -> ModelInput? {
                while !finished {
                    guard let item = await session.queue.next() else {
                        finished = true
                        return nil
                    }
                    guard case .message(let message) = item else { return .connected }
                    if let input = ModelInput(message, format: session.start.inputAudioFormat) {
                        if case .ended = input { finished = true }
                        return input
                    }
                }
                return nil
            }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(session: session) }
    }
}

extension ModelInput {
    /// The relay → model message as an input; nil for messages a model does not read (`session.start`).
    init?(_ message: ModelMessage, format: ModelControlMessage.InputAudioFormat) {
        func duration(samples: UInt64) -> Duration {
            let rate = UInt64(max(1, format.sampleRate))
            return .seconds(Int64(clamping: samples / rate))
                + .nanoseconds(Int64((samples % rate) * 1_000_000_000 / rate))
        }
        switch message {
        case .audio(let audio):
            let header = audio.header
            var frame = InputFrame(
                samples: [], opus: nil, sequence: header.sequence, mediaTime: duration(samples: header.mediaTime),
                arrival: header.relayTime == 0 ? nil : .microseconds(Int64(clamping: header.relayTime)),
                flags: header.flags)
            if format.encoding == "pcm16", let samples = try? audio.pcm16Samples() {
                frame.samples = samples
            } else {
                frame.opus = audio.payload
            }
            self = .audio(frame)
        case .control(let control):
            switch control {
            case .speechStarted(let ms): self = .speechStarted(at: .milliseconds(ms))
            case .speechStopped(let ms): self = .speechStopped(at: .milliseconds(ms))
            case .markPlayed(let name, let ms): self = .markPlayed(name: name, at: .milliseconds(ms))
            case .markCancelled(let name): self = .markCancelled(name: name)
            case .played(let played): self = .played(played)
            case .stats(let members): self = .stats(members)
            case .error(let code, let message): self = .error(code: code, message: message)
            case .stop(let reason): self = .ended(reason: reason)
            case .sessionStart, .sessionReady, .clear, .mark, .responseDone: return nil
            }
        }
    }
}

/// What the relay queues for an in-process model: the protocol's messages, and the call's connection.
enum InProcessItem: Sendable {
    case message(ModelMessage)
    case callConnected
}

/// The session's input queue: the relay's side pushes (on its event loop, after checking ``hasRoom()``), the
/// model's side awaits. Readers are served in the order they started waiting, each message to one of them.
/// Finishing wakes every reader; what was queued is still read first.
final class InProcessInputQueue: Sendable {
    private struct State {
        var items = FIFOQueue<InProcessItem>()
        var finished = false
        /// Readers waiting, oldest first, each with an id so that its cancellation resumes that one.
        var waiters: [(id: UInt64, continuation: CheckedContinuation<InProcessItem?, Never>)] = []
        var nextWaiterID: UInt64 = 0
        /// The relay's side was refused room since the readers last drained below half.
        var refused = false
    }

    private let state = NIOLockedValueBox(State())
    /// Called (from a reader's task) when the queue drained to half after the relay was refused room.
    private let onDrained: @Sendable () -> Void
    let limit: Int

    init(limit: Int, onDrained: @escaping @Sendable () -> Void) {
        self.limit = limit
        self.onDrained = onDrained
    }

    /// Whether one more message fits; a `false` arms the drained callback.
    func hasRoom() -> Bool {
        state.withLockedValue { state in
            let room = !state.finished && state.items.count < limit
            if !room { state.refused = true }
            return room
        }
    }

    /// Appends a message (the caller checked ``hasRoom()``; a stop may go past the limit); ignored once finished.
    func push(_ message: ModelMessage) {
        push(item: .message(message))
    }

    /// The caller's media path is up (ICE and DTLS done): the model may start talking.
    func pushCallConnected() {
        push(item: .callConnected)
    }

    private func push(item: InProcessItem) {
        let waiter: CheckedContinuation<InProcessItem?, Never>? = state.withLockedValue { state in
            guard !state.finished else { return nil }
            if !state.waiters.isEmpty { return state.waiters.removeFirst().continuation }
            state.items.append(item)
            return nil
        }
        waiter?.resume(returning: item)
    }

    /// No more messages: readers get what is queued, then nil.
    func finish() {
        let waiters = state.withLockedValue { state in
            state.finished = true
            defer { state.waiters.removeAll() }
            return state.waiters.map(\.continuation)
        }
        for waiter in waiters { waiter.resume(returning: nil) }
    }

    /// The next message, waiting for one; nil once finished and drained, or when the reading task is cancelled.
    func next() async -> InProcessItem? {
        let (ready, drained) = state.withLockedValue { Self.take(&$0, limit: limit) }
        if drained { onDrained() }
        if let ready { return ready }
        let id = state.withLockedValue { state in
            defer { state.nextWaiterID &+= 1 }
            return state.nextWaiterID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<InProcessItem?, Never>) in
                let (ready, drained) = state.withLockedValue { state -> (InProcessItem??, Bool) in
                    let (ready, drained) = Self.take(&state, limit: limit)
                    if ready != nil { return (ready, drained) }
                    if Task.isCancelled { return (.some(nil), drained) }
                    state.waiters.append((id, continuation))
                    return (nil, drained)
                }
                if drained { onDrained() }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let waiter: CheckedContinuation<InProcessItem?, Never>? = state.withLockedValue { state in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume(returning: nil)
        }
    }

    /// Takes the first queued message (`.some(nil)`: finished and drained; nil: nothing yet), and whether the
    /// relay waits for room that is now there.
    private static func take(_ state: inout State, limit: Int) -> (InProcessItem??, Bool) {
        guard let message = state.items.popFirst() else { return (state.finished ? .some(nil) : nil, false) }
        var drained = false
        if state.refused, state.items.count <= limit / 2 {
            state.refused = false
            drained = true
        }
        return (.some(message), drained)
    }
}

/// The relay's side of an in-process model's messages, confined to the session's event loop: the bridge takes
/// what the model sends. Set up by `ModelConnection`; after the session ended it refuses everything.
final class InProcessDeliverer {
    var receive: ((ModelMessage) -> Void)?
    /// The next output audio message's sequence number.
    private var outputSequence: UInt32 = 0

    /// Hands the message to the session; false once the session has ended.
    func deliver(_ message: ModelMessage) -> Bool {
        guard let receive else { return false }
        receive(message)
        return true
    }

    /// Output audio, numbered here, in the order it reaches the session; false once the session has ended.
    func deliver(outputSamples samples: [Int16], response: UInt64) -> Bool {
        guard receive != nil else { return false }
        defer { outputSequence &+= 1 }
        return deliver(.audio(ModelAudioMessage(
            header: .output(sequence: outputSequence, responseID: response), samples: samples)))
    }
}
