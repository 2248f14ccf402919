import ArgumentParser
import Earshot
import EarshotAudio
import EarshotOpus
import Logging
import ServiceLifecycle

/// `earshot serve`: runs the relay until SIGINT or SIGTERM, then ends every session cleanly and exits 0.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the relay: WHIP signaling over HTTP, media over one UDP port, a model per session.",
        discussion: """
            --model picks what each session talks to: echo (built in, the default), parrot (built in: plays each \
            utterance back, stops when talked over), ws://HOST:PORT/PATH (a model server the relay dials per \
            session) or exec:COMMAND (a process per session on stdin/stdout). Docs/model-protocol.md.
            """)

    @Option(help: "The model: echo, parrot, builtin:echo, ws://HOST:PORT/PATH, wss://HOST:PORT/PATH or exec:COMMAND.")
    var model: String = "echo"

    @Option(help: "PEM file of the certificates a wss:// model's certificate must chain to (default: the system's roots).")
    var modelCaFile: String?

    @Option(help: ArgumentHelp(
        "A further model a WHIP offer may choose with ?model=NAME (repeatable).", valueName: "NAME=MODEL"))
    var namedModel: [String] = []

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

    @OptionGroup(title: "Audio pipeline")
    var audio: AudioOptions

    func run() async throws {
        var configuration = RelayConfiguration()
        configuration.httpHost = http.host
        configuration.httpPort = http.port
        configuration.udpHost = udp.host
        configuration.udpPort = udp.port
        configuration.publicAddress = publicAddress
        configuration.token = token
        configuration.maxSessions = maxSessions
        configuration.audio = try audio.configuration()
        configuration.voiceActivity = try audio.voiceActivity()
        do {
            configuration.model = try ModelChoice(parsing: model)
        } catch {
            throw ValidationError("--model: \(error)")
        }
        configuration.modelTrustRootsFile = modelCaFile
        for entry in namedModel {
            guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else {
                throw ValidationError("--named-model \(entry): expected NAME=MODEL, e.g. parrot=parrot")
            }
            do {
                configuration.namedModels[String(entry[..<equals])] = try ModelChoice(
                    parsing: String(entry[entry.index(after: equals)...]))
            } catch {
                throw ValidationError("--named-model \(entry): \(error)")
            }
        }
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

/// The audio pipeline's command-line options, shared by `serve` and anything else that runs a relay.
struct AudioOptions: ParsableArguments {
    @Option(help: "transcode: decode through the jitter buffer to PCM for the model, pace and encode its audio; passthrough: Opus both ways, untouched.")
    var codecPath: String = CodecPath.transcode.rawValue

    @Option(help: "Uplink jitter buffer: model (lowest latency, 0-20 ms reorder window) or conversational (smooth playout, adaptive delay).")
    var jitterProfile: String = JitterBufferConfiguration.Profile.model.rawValue

    @Option(help: "The model's PCM sample rate in Hz: 8000, 12000, 16000, 24000 or 48000.")
    var modelRate: Int = 48_000

    @Option(help: "Frame duration in ms for the model's PCM and the Opus packets sent: 10 or 20.")
    var frameMs: Int = 20

    @Option(help: "Downlink Opus encoder complexity, 0-10.")
    var opusComplexity: Int = 5

    @Option(help: "Downlink Opus bitrate in bit/s.")
    var opusBitrate: Int = 32_000

    @Option(help: "Downlink in-band FEC: on or off.")
    var opusFec: OnOff = .on

    @Option(help: "Downlink DTX (discontinuous transmission): on or off.")
    var opusDtx: OnOff = .off

    @Option(help: "The most model audio queued for the client, in seconds.")
    var maxQueuedSeconds: Int = 60

    @Option(help: "Slack in ms before the first downlink frame of a talkspurt, for models that stream at real time (0 for faster than real time).")
    var downlinkStartDelayMs: Int = 20

    @Option(help: "Server VAD threshold, 0-1 (higher needs louder, clearer speech).")
    var vadThreshold: Double = 0.5

    @Option(help: "Server VAD prefix padding in ms: audio before the detected start that speech_started includes.")
    var vadPrefixPaddingMs: Int = 300

    @Option(help: "Server VAD silence duration in ms that ends speech.")
    var vadSilenceMs: Int = 500

    func voiceActivity() throws -> VoiceActivityDetector.Configuration {
        let vad = VoiceActivityDetector.Configuration(
            threshold: vadThreshold, prefixPadding: .milliseconds(vadPrefixPaddingMs),
            silenceDuration: .milliseconds(vadSilenceMs))
        do {
            try vad.validate()
        } catch {
            throw ValidationError("\(error)")
        }
        return vad
    }

    func configuration() throws -> AudioConfiguration {
        var audio = AudioConfiguration()
        guard let path = CodecPath(rawValue: codecPath) else {
            throw ValidationError("--codec-path must be transcode or passthrough")
        }
        guard let profile = JitterBufferConfiguration.Profile(rawValue: jitterProfile) else {
            throw ValidationError("--jitter-profile must be model or conversational")
        }
        audio.codecPath = path
        audio.jitterProfile = profile
        guard let rate = OpusSampleRate(rawValue: modelRate) else {
            throw ValidationError("--model-rate must be 8000, 12000, 16000, 24000 or 48000")
        }
        guard let frame = AudioFrameDuration(rawValue: frameMs) else {
            throw ValidationError("--frame-ms must be 10 or 20")
        }
        audio.modelFormat = PCMFormat(sampleRate: rate, frameDuration: frame)
        audio.encoder = DownlinkPacer.EncoderSettings(
            complexity: opusComplexity, bitsPerSecond: opusBitrate, inBandFEC: opusFec == .on, dtx: opusDtx == .on)
        audio.maxQueuedAudio = .seconds(maxQueuedSeconds)
        audio.downlinkStartDelay = .milliseconds(downlinkStartDelayMs)
        do {
            try audio.jitterBuffer.validate()
            try audio.pacer.validate()
        } catch {
            throw ValidationError("\(error)")
        }
        return audio
    }
}

enum OnOff: String, ExpressibleByArgument, CaseIterable, Sendable {
    case on, off
}
