import EarshotCrypto
import EarshotModelProtocol
import EarshotNIO
public import EarshotWire
import Hummingbird
public import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
public import ServiceLifecycle

/// The relay as a ServiceLifecycle `Service`: one UDP socket for all media, the HTTP API (WHIP, sessions, metrics,
/// the demo page), the sessions between them and their models. Run it in the host's `ServiceGroup`:
///
/// ```swift
/// let relay = RelayService(configuration: configuration, logger: logger)
/// let group = ServiceGroup(configuration: .init(services: [relay], gracefulShutdownSignals: [.sigterm], logger: logger))
/// try await group.run()
/// ```
///
/// Sessions come from the built-in WHIP endpoint, or from the host's own signaling through ``offer(_:model:userAgent:)``.
/// On graceful shutdown the relay stops accepting offers, ends every session (RTCP BYE and DTLS close_notify go
/// out to the caller, `stop` to the model), waits for the in-process models' `serve` to return (cancelling those
/// still running 2 s later), closes its sockets and returns.
public final class RelayService: Service, Sendable {
    /// Where a running relay listens.
    public struct Endpoints: Sendable, Hashable {
        /// The HTTP listener (nil when `serveHTTP` is off).
        public var http: TransportAddress?
        public var udp: TransportAddress
        /// The relay's DTLS certificate fingerprint, as SDP writes it ("sha-256 AB:CD:…").
        public var fingerprint: String

        /// The WHIP endpoint's URL, when HTTP is served.
        public var whipURL: String? { http.map { "http://\($0)/v1/whip" } }
    }

    /// An SDP answer to an offer the host received through its own signaling.
    public struct Answer: Sendable, Hashable {
        /// The session's id (for ``endSession(id:reason:)``, ``session(id:)``, and the model's `session.start`).
        public var sessionID: String
        /// The SDP answer to send back to the caller.
        public var sdp: String
    }

    public let configuration: RelayConfiguration
    public let logger: Logger
    private let onReady: (@Sendable (Endpoints, RelayEngine) async -> Void)?
    private let state = NIOLockedValueBox(State.starting([]))
    private let stopSignal = StopSignal()

    private enum State {
        case starting([CheckedContinuation<(Endpoints, RelayEngine), any Error>])
        case ready(Endpoints, RelayEngine)
        case stopped
    }

    /// A relay with `configuration`; `logger`'s level is set from `configuration.logLevel`. `onReady` is called
    /// once the sockets are bound, before the first offer is taken.
    public init(
        configuration: RelayConfiguration, logger: Logger,
        onReady: (@Sendable (Endpoints, RelayEngine) async -> Void)? = nil
    ) {
        self.configuration = configuration
        var logger = logger
        logger.logLevel = configuration.logLevel
        self.logger = logger
        self.onReady = onReady
    }

    // MARK: - The host's API

    /// Where the relay listens, once it does (waits for `run` to bind its sockets). Throws
    /// ``RelayServiceError/notRunning`` if the relay stopped or failed to start.
    public func endpoints() async throws(RelayServiceError) -> Endpoints {
        try await ready().0
    }

    /// Creates a session for an SDP offer the host received through its own signaling, and returns the answer.
    /// `model` picks one of the configuration's `namedModels` (nil: the default model); `userAgent` goes to the
    /// model in `session.start`. Waits until the relay is running.
    public func offer(_ sdp: String, model: String? = nil, userAgent: String? = nil) async throws -> Answer {
        let engine = try await ready().1
        let (id, answer) = try await engine.offer(sdp, model: model, userAgent: userAgent)
        return Answer(sessionID: id, sdp: answer)
    }

    /// Ends a live session (as WHIP DELETE does); false if there is none with this id.
    public func endSession(id: String, reason: String = "ended by the host") async -> Bool {
        guard let engine = try? await ready().1 else { return false }
        return await engine.end(id: id, reason: reason, modelReason: "host_ended")
    }

    /// A session's figures (live, or among the recently ended), as `GET /v1/sessions/{id}` gives them.
    public func session(id: String) async -> SessionInfo? {
        guard let engine = try? await ready().1 else { return nil }
        return await engine.sessionInfo(id: id)
    }

    /// Every live session and the recently ended ones.
    public func sessions() async -> [SessionInfo] {
        guard let engine = try? await ready().1 else { return [] }
        return await engine.sessionInfos()
    }

    /// In-process model sessions whose `serve` has not returned (0 once `run` returned).
    public var inProcessModelTasks: Int { runner.activeCount }

    private let runner = InProcessModelRunner()

    private func ready() async throws(RelayServiceError) -> (Endpoints, RelayEngine) {
        do {
            return try await withCheckedThrowingContinuation { continuation in
                let now: Result<(Endpoints, RelayEngine), RelayServiceError>? = state.withLockedValue { state in
                    switch state {
                    case .starting(var waiters):
                        waiters.append(continuation)
                        state = .starting(waiters)
                        return nil
                    case .ready(let endpoints, let engine): return .success((endpoints, engine))
                    case .stopped: return .failure(.notRunning)
                    }
                }
                if let now { continuation.resume(with: now) }
            }
        } catch {
            throw .notRunning
        }
    }

    private func becomeReady(_ endpoints: Endpoints, _ engine: RelayEngine) {
        let waiters = state.withLockedValue { state in
            defer { state = .ready(endpoints, engine) }
            if case .starting(let waiters) = state { return waiters }
            return []
        }
        for waiter in waiters { waiter.resume(returning: (endpoints, engine)) }
    }

    private func becomeStopped() {
        let waiters = state.withLockedValue { state in
            defer { state = .stopped }
            if case .starting(let waiters) = state { return waiters }
            return []
        }
        for waiter in waiters { waiter.resume(throwing: RelayServiceError.notRunning) }
    }

    // MARK: - Service

    public func run() async throws {
        defer { becomeStopped() }
        let certificate = try DTLSCertificate(commonName: "earshot")
        let context = try DTLSContext(configuration: .init(certificate: certificate))
        let group = MultiThreadedEventLoopGroup.singleton
        let loop = group.next()
        let engine = RelayEngine(configuration: configuration, eventLoop: loop, dtlsContext: context, logger: logger)
        let stopSignal = self.stopSignal
        let logger = self.logger
        if configuration.usesStdio {
            let stdio = try await StdioMultiplexer.open(eventLoop: loop, logger: logger) { reason in
                logger.notice("sidecar: \(reason); shutting down")
                stopSignal.fire()
            }
            try await loop.submit { engine.stdio = stdio.value }.get()
        }
        engine.inProcessRunner = runner
        let socket = try await UDPSocket.bind(host: configuration.udpHost, port: configuration.udpPort, group: loop) {
            socket in
            engine.attach(socket: socket)
            return engine
        }
        let udp = socket.localAddress
        logger.info("media on udp \(udp)", metadata: ["fingerprint": "\(certificate.fingerprint)"])
        let fingerprint = certificate.fingerprint.sdpValue
        let announce: @Sendable (TransportAddress?) async -> Void = { [self] http in
            let endpoints = Endpoints(http: http, udp: udp, fingerprint: fingerprint)
            if let http { logger.info("relay ready: open http://\(http) (WHIP at http://\(http)/v1/whip)") }
            await engine.announceToSidecar(endpoints)
            becomeReady(endpoints, engine)
            await onReady?(endpoints, engine)
        }

        var app: Application<RouterResponder<BasicRequestContext>>?
        if configuration.serveHTTP {
            app = Application(
                router: HTTPAPI.makeRouter(engine: engine),
                configuration: .init(
                    address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: "earshot"),
                onServerRunning: { channel in
                    guard let address = channel.localAddress, let http = TransportAddress(address) else { return }
                    await announce(http)
                },
                eventLoopGroupProvider: .shared(group),
                logger: logger)
        } else {
            await announce(nil)
        }

        let runner = self.runner
        var failure: (any Error)?
        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask { await runner.run() }
            do {
                try await withGracefulShutdownHandler {
                    try await Self.serve(app, until: stopSignal, logger: logger)
                } onGracefulShutdown: {
                    stopSignal.fire()
                }
            } catch {
                failure = error
            }
            await engine.shutdown(reason: failure.map { "relay failed: \($0)" } ?? "relay shutting down")
            runner.finish()
        }
        await engine.closeSidecar()
        await socket.close()
        await engine.modelProcesses.terminateAll()
        if let failure { throw failure }
        logger.info("relay stopped")
    }

    /// Serves HTTP (when configured) until the stop signal fires (graceful shutdown, or the sidecar's stdin
    /// closed), then lets the HTTP server finish its open requests; an HTTP failure (the port is taken) is thrown.
    private static func serve(
        _ app: Application<RouterResponder<BasicRequestContext>>?, until stop: StopSignal, logger: Logger
    ) async throws {
        guard let app else {
            await stop.wait()
            return
        }
        let server = ServiceGroup(configuration: .init(services: [app], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                defer { stop.fire() }
                try await server.run()
            }
            tasks.addTask {
                await stop.wait()
                await server.triggerGracefulShutdown()
            }
            try await tasks.waitForAll()
        }
    }
}

/// Why the host's call on a relay could not be served.
public enum RelayServiceError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The relay is not running: it stopped, or it failed to start.
    case notRunning

    public var description: String {
        switch self {
        case .notRunning: "the relay is not running (it stopped, or failed to start)"
        }
    }
}

/// A one-shot signal: `wait` returns once `fire` was called (before or after), or when the waiting task is
/// cancelled (which fires it: a cancelled relay stops as a stopped one does).
final class StopSignal: Sendable {
    private let state = NIOLockedValueBox<(fired: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func fire() {
        let waiters = state.withLockedValue { state in
            defer { state = (true, []) }
            return state.fired ? [] : state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let fired = state.withLockedValue { state in
                    if !state.fired { state.waiters.append(continuation) }
                    return state.fired
                }
                if fired { continuation.resume() }
            }
        } onCancel: {
            fire()
        }
    }
}

extension RelayConfiguration {
    /// Whether a model of this configuration is the sidecar's (`stdio`).
    var usesStdio: Bool { model == .stdio || namedModels.values.contains(.stdio) }
}

extension RelayEngine {
    /// Starts ending sessions without waiting (for synchronous shutdown handlers).
    nonisolated func beginShutdown(reason: String) {
        Task { await self.shutdown(reason: reason) }
    }

    /// Tells the sidecar's parent where the relay listens (`relay.ready`, a relay-level message).
    func announceToSidecar(_ endpoints: RelayService.Endpoints) async {
        var members: [String: JSONValue] = [
            "type": "relay.ready", "protocol": .string(ModelProtocolVersion.current),
            "udp": .string(endpoints.udp.description),
        ]
        if let http = endpoints.http { members["http"] = .string(http.description) }
        if let whip = endpoints.whipURL { members["whip_url"] = .string(whip) }
        let json = JSONValue.object(members).serialized()
        try? await eventLoop.submit { self.stdio?.sendRelayMessage(json) }.get()
    }

    /// Closes the sidecar's pipes after the sessions' `stop` messages went out.
    func closeSidecar() async {
        try? await eventLoop.flatSubmit { self.stdio?.close() ?? self.eventLoop.makeSucceededVoidFuture() }.get()
    }
}
