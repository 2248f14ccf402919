import ArgumentParser
import Earshot
import EarshotAudio
import EarshotOpus
import Foundation
import Logging
import ServiceLifecycle

/// `earshot serve`: runs the relay until SIGINT or SIGTERM (or, in sidecar mode, until its stdin closes), then ends
/// every session cleanly and exits 0. Every setting is a flag, an `EARSHOT_*` environment variable and a member
/// of the JSON config file, with flags over environment over file over defaults (`RelaySettings`).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the relay: WHIP signaling over HTTP, media over one UDP port, a model per session.",
        discussion: """
            --model picks what each session talks to: echo (built in, the default), parrot (built in: plays each \
            utterance back, stops when talked over), ws://HOST:PORT/PATH (a model server the relay dials per \
            session), exec:COMMAND (a process per session on stdin/stdout) or stdio (sidecar: the process that \
            started earshot is the model, on earshot's own stdin/stdout). Docs/model-protocol.md.

            Every option is also an environment variable (--codec-path: EARSHOT_CODEC_PATH; --named-model \
            NAME=MODEL: EARSHOT_NAMED_MODEL_<NAME>=MODEL) and a member of the JSON file given by --config or \
            EARSHOT_CONFIG ({"codec-path": "passthrough", "named-model": {"parrot": "parrot"}}). Flags win over \
            the environment, the environment over the file. --print-config shows the result.
            """)

    @Option(help: "A JSON config file of settings (also EARSHOT_CONFIG).")
    var config: String?

    @Flag(help: "Print the effective settings as the config file takes them (JSON, stdout) and where each came from (stderr), then exit.")
    var printConfig = false

    @Option(help: settingHelp("model")) var model: String?
    @Option(help: ArgumentHelp(
        "A further model a WHIP offer may choose with ?model=NAME (repeatable; env EARSHOT_NAMED_MODEL_<NAME>).",
        valueName: "NAME=MODEL"))
    var namedModel: [String] = []
    @Option(help: settingHelp("model-ca-file")) var modelCaFile: String?
    @Option(help: settingHelp("model-ready-timeout")) var modelReadyTimeout: String?
    @Option(help: settingHelp("model-stall-timeout")) var modelStallTimeout: String?
    @Option(help: settingHelp("http")) var http: String?
    @Option(help: settingHelp("udp")) var udp: String?
    @Option(help: settingHelp("public-address")) var publicAddress: String?
    @Option(help: settingHelp("token")) var token: String?
    @Option(help: settingHelp("max-sessions")) var maxSessions: String?
    @Option(help: settingHelp("consent-timeout")) var consentTimeout: String?
    @Option(help: settingHelp("connect-timeout")) var connectTimeout: String?
    @Option(help: settingHelp("node-id")) var nodeId: String?
    @Option(help: settingHelp("ended-sessions-kept")) var endedSessionsKept: String?
    @Option(help: settingHelp("log-level")) var logLevel: String?

    @OptionGroup(title: "Audio pipeline")
    var audio: AudioOptions

    /// The flags given, by setting name, in the order of `RelaySettings.all`.
    var flags: [(name: String, value: String)] {
        let given: [(String, String?)] = [
            ("model", model), ("model-ca-file", modelCaFile), ("model-ready-timeout", modelReadyTimeout),
            ("model-stall-timeout", modelStallTimeout), ("http", http), ("udp", udp),
            ("public-address", publicAddress), ("token", token), ("max-sessions", maxSessions),
            ("consent-timeout", consentTimeout), ("connect-timeout", connectTimeout), ("node-id", nodeId),
            ("ended-sessions-kept", endedSessionsKept), ("log-level", logLevel),
        ] + audio.given
        return given.compactMap { name, value in value.map { (name, $0) } }
            + namedModel.map { (RelaySettings.NamedModels.name, $0) }
    }

    func run() async throws {
        let settings: RelaySettings
        do {
            settings = try RelaySettings.resolve(
                flags: flags, environment: ProcessInfo.processInfo.environment, configFile: config)
        } catch {
            FileHandle.standardError.write(Data("earshot serve: \(error)\n".utf8))
            throw ExitCode(2)
        }
        if printConfig {
            print(settings.json())
            var lines = settings.configFile.map { ["# config file: \($0)"] } ?? []
            for (name, source) in settings.sources.sorted(by: { $0.key < $1.key }) { lines.append("# \(name): \(source)") }
            if settings.sources.isEmpty { lines.append("# every setting at its default") }
            FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
            return
        }
        let configuration = settings.configuration
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = configuration.logLevel
            return handler
        }
        let logger = Logger(label: "earshot")
        let relay = RelayService(configuration: configuration, logger: logger)
        // The relay also returns on its own when a sidecar's parent closes its stdin: that ends the group cleanly.
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: relay, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// A setting's help: what it does, its default, its environment variable.
func settingHelp(_ name: String) -> ArgumentHelp {
    guard let setting = RelaySettings.setting(named: name) else { return ArgumentHelp("(unknown setting \(name))") }
    return ArgumentHelp(
        "\(setting.help): \(setting.expected) (default \(setting.defaultText); env \(RelaySettings.environmentVariable(name))).",
        valueName: name == "http" || name == "udp" ? "host:port" : "value")
}

/// The audio pipeline's command-line options (settings of `RelaySettings`).
struct AudioOptions: ParsableArguments {
    @Option(help: settingHelp("codec-path")) var codecPath: String?
    @Option(help: settingHelp("jitter-profile")) var jitterProfile: String?
    @Option(help: settingHelp("model-rate")) var modelRate: String?
    @Option(help: settingHelp("frame-ms")) var frameMs: String?
    @Option(help: settingHelp("opus-complexity")) var opusComplexity: String?
    @Option(help: settingHelp("opus-bitrate")) var opusBitrate: String?
    @Option(help: settingHelp("opus-fec")) var opusFec: String?
    @Option(help: settingHelp("opus-dtx")) var opusDtx: String?
    @Option(help: settingHelp("max-queued-seconds")) var maxQueuedSeconds: String?
    @Option(help: settingHelp("downlink-start-delay-ms")) var downlinkStartDelayMs: String?
    @Option(help: settingHelp("vad-threshold")) var vadThreshold: String?
    @Option(help: settingHelp("vad-prefix-padding-ms")) var vadPrefixPaddingMs: String?
    @Option(help: settingHelp("vad-silence-ms")) var vadSilenceMs: String?

    var given: [(String, String?)] {
        [
            ("codec-path", codecPath), ("jitter-profile", jitterProfile), ("model-rate", modelRate),
            ("frame-ms", frameMs), ("opus-complexity", opusComplexity), ("opus-bitrate", opusBitrate),
            ("opus-fec", opusFec), ("opus-dtx", opusDtx), ("max-queued-seconds", maxQueuedSeconds),
            ("downlink-start-delay-ms", downlinkStartDelayMs), ("vad-threshold", vadThreshold),
            ("vad-prefix-padding-ms", vadPrefixPaddingMs), ("vad-silence-ms", vadSilenceMs),
        ]
    }
}
