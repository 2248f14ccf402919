import ArgumentParser
import Earshot
import Logging
import ServiceLifecycle

/// `earshot serve`: runs the relay until SIGINT or SIGTERM, then ends every session cleanly and exits 0.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the relay: WHIP signaling over HTTP, media over one UDP port, the built-in echo model.")

    @Option(help: "HTTP listen address for WHIP, the session API and the demo page.")
    var http: HostPort = HostPort(host: "127.0.0.1", port: 8080)

    @Option(help: "UDP listen address for all media (port 0 picks a free port).")
    var udp: HostPort = HostPort(host: "127.0.0.1", port: 50000)

    @Option(help: "Address to put in our ICE candidate, when clients must reach the relay at another address.")
    var publicAddress: String?

    @Option(help: "Require 'Authorization: Bearer TOKEN' on WHIP requests.")
    var token: String?

    @Option(help: "Most concurrent sessions; more get 503 with Retry-After.")
    var maxSessions: Int = 500

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: LogLevel = LogLevel(.info)

    func run() async throws {
        var configuration = RelayConfiguration()
        configuration.httpHost = http.host
        configuration.httpPort = http.port
        configuration.udpHost = udp.host
        configuration.udpPort = udp.port
        configuration.publicAddress = publicAddress
        configuration.token = token
        configuration.maxSessions = maxSessions
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = logLevel.level
            return handler
        }
        var logger = Logger(label: "earshot")
        logger.logLevel = logLevel.level
        let relay = RelayService(configuration: configuration, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [relay], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// `HOST:PORT`, with IPv6 hosts in brackets (`[::1]:8080`).
struct HostPort: ExpressibleByArgument, Sendable {
    var host: String
    var port: Int

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    init?(argument: String) {
        guard let colon = argument.lastIndex(of: ":"), let port = Int(argument[argument.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        var host = String(argument[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.host = host
        self.port = port
    }

    var defaultValueDescription: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// A log level as a command-line value.
struct LogLevel: ExpressibleByArgument, Sendable {
    var level: Logger.Level
    init(_ level: Logger.Level) { self.level = level }
    init?(argument: String) {
        guard let level = Logger.Level(rawValue: argument.lowercased()) else { return nil }
        self.level = level
    }
    var defaultValueDescription: String { level.rawValue }
    static var allValueStrings: [String] { Logger.Level.allCases.map(\.rawValue) }
}
