public import EarshotCrypto
import EarshotNIO
public import EarshotWire
import Hummingbird
public import Logging
import NIOCore
import NIOPosix
public import ServiceLifecycle

/// The relay as a ServiceLifecycle `Service`: one UDP socket for all media, the HTTP API, and the sessions between
/// them. On graceful shutdown it stops accepting offers, ends every session (RTCP BYE and DTLS close_notify go
/// out), closes the socket and returns.
public struct RelayService: Service {
    /// Where a running relay listens; handed to `onReady` once both sockets are bound.
    public struct Endpoints: Sendable, Hashable {
        public var http: TransportAddress
        public var udp: TransportAddress
        public var fingerprint: String
    }

    public let configuration: RelayConfiguration
    public let logger: Logger
    private let onReady: (@Sendable (Endpoints, RelayEngine) async -> Void)?

    public init(
        configuration: RelayConfiguration, logger: Logger,
        onReady: (@Sendable (Endpoints, RelayEngine) async -> Void)? = nil
    ) {
        self.configuration = configuration
        self.logger = logger
        self.onReady = onReady
    }

    public func run() async throws {
        let certificate = try DTLSCertificate(commonName: "earshot")
        let context = try DTLSContext(configuration: .init(certificate: certificate))
        let group = MultiThreadedEventLoopGroup.singleton
        let loop = group.next()
        let engine = RelayEngine(configuration: configuration, eventLoop: loop, dtlsContext: context, logger: logger)
        let socket = try await UDPSocket.bind(host: configuration.udpHost, port: configuration.udpPort, group: loop) {
            socket in
            engine.attach(socket: socket)
            return engine
        }
        let udp = socket.localAddress
        logger.info("media on udp \(udp)", metadata: ["fingerprint": "\(certificate.fingerprint)"])

        let router = HTTPAPI.makeRouter(engine: engine)
        let onReady = self.onReady
        let logger = self.logger
        let app = Application(
            router: router,
            configuration: .init(
                address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: "earshot"),
            onServerRunning: { channel in
                guard let address = channel.localAddress, let http = TransportAddress(address) else { return }
                logger.info("relay ready: open http://\(http) (WHIP at http://\(http)/v1/whip)")
                await onReady?(Endpoints(http: http, udp: udp, fingerprint: certificate.fingerprint.sdpValue), engine)
            },
            eventLoopGroupProvider: .shared(group),
            logger: logger)

        do {
            try await withGracefulShutdownHandler {
                try await app.run()
            } onGracefulShutdown: {
                engine.beginShutdown(reason: "relay shutting down")
            }
        } catch {
            await engine.shutdown(reason: "relay failed: \(error)")
            await socket.close()
            await engine.modelProcesses.terminateAll()
            throw error
        }
        await engine.shutdown(reason: "relay shutting down")
        await socket.close()
        await engine.modelProcesses.terminateAll()
        logger.info("relay stopped")
    }
}

extension RelayEngine {
    /// Starts ending sessions without waiting (for synchronous shutdown handlers).
    nonisolated func beginShutdown(reason: String) {
        Task { await self.shutdown(reason: reason) }
    }
}
