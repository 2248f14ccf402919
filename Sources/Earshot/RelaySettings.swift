import EarshotAudio
import EarshotModelProtocol
import EarshotOpus
import EarshotWire
import Foundation
import Logging

/// The relay's settings by name, read from command-line flags, environment variables and a JSON config file, with
/// flags over environment over file over defaults. One name per setting everywhere: the flag `--codec-path`, the
/// variable `EARSHOT_CODEC_PATH`, the file's member `"codec-path"`. Invalid values fail with a message naming the
/// setting, where the value came from and what is allowed (``SettingsError``).
///
/// The config file is JSON: one object, a member per setting (`"named-model"` is an object of NAME: MODEL). JSON
/// because the relay already has a strict parser for it (the model protocol's), a sidecar's parent writes it
/// with its standard library, and `earshot serve --print-config` prints exactly what the file takes.
public struct RelaySettings: Sendable {
    /// The effective configuration.
    public private(set) var configuration: RelayConfiguration
    /// Where each setting's value came from (settings left at their default are absent).
    public private(set) var sources: [String: SettingSource]
    /// The config file read, if any.
    public private(set) var configFile: String?

    /// The variable that names the config file (the flag is `--config`).
    public static let configFileVariable = "EARSHOT_CONFIG"
    /// Prefix of the variables of `named-model`: `EARSHOT_NAMED_MODEL_<NAME>=MODEL`.
    public static let namedModelVariablePrefix = "EARSHOT_NAMED_MODEL_"

    /// The environment variable of a setting: `codec-path` → `EARSHOT_CODEC_PATH`.
    public static func environmentVariable(_ setting: String) -> String {
        "EARSHOT_" + setting.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    /// Resolves the settings: `defaults` (a host program's own defaults; the relay's otherwise), then the config
    /// file (`--config`, else `EARSHOT_CONFIG`), then the environment's `EARSHOT_*` variables, then `flags`
    /// (setting name and value, in the order given; `named-model` may repeat, as `NAME=MODEL`).
    /// `inProcessModels` are the host program's own models, which `model` and `named-model` may name.
    public static func resolve(
        flags: [(name: String, value: String)] = [], environment: [String: String] = [:], configFile: String? = nil,
        inProcessModels: [String: any InProcessModel] = [:], defaults: RelayConfiguration = RelayConfiguration()
    ) throws(SettingsError) -> RelaySettings {
        var settings = RelaySettings(configuration: defaults, sources: [:], configFile: nil)
        let file = configFile ?? environment[configFileVariable].flatMap { $0.isEmpty ? nil : $0 }
        if let file {
            settings.configFile = file
            for (name, value) in try readFile(file) {
                if name == NamedModels.name {
                    guard case .object(let members) = value else {
                        throw .invalid(
                            setting: name, value: value.description, source: .file(file), expected: NamedModels.fileExpected)
                    }
                    for (key, model) in members.sorted(by: { $0.key < $1.key }) {
                        guard case .string(let text) = model else {
                            throw .invalid(
                                setting: name, value: "\(key): \(model)", source: .file(file),
                                expected: NamedModels.fileExpected)
                        }
                        try settings.setNamedModel(key, text, source: .file(file), inProcessModels: inProcessModels)
                    }
                    continue
                }
                guard let setting = setting(named: name) else {
                    throw .unknownSetting(name: name, source: .file(file))
                }
                // null is the default, as --print-config writes an optional setting that is not set.
                if value == .null { continue }
                try settings.apply(setting, text(of: value, for: setting), source: .file(file), inProcessModels)
            }
        }
        for setting in all {
            let variable = environmentVariable(setting.name)
            if let value = environment[variable] {
                try settings.apply(setting, value, source: .environment(variable), inProcessModels)
            }
        }
        for (variable, value) in environment.sorted(by: { $0.key < $1.key })
        where variable.hasPrefix(namedModelVariablePrefix) {
            let name = String(variable.dropFirst(namedModelVariablePrefix.count))
            try settings.setNamedModel(name, value, source: .environment(variable), inProcessModels: inProcessModels)
        }
        for (name, value) in flags {
            let source = SettingSource.flag("--\(name)")
            if name == NamedModels.name {
                guard let equals = value.firstIndex(of: "="), equals != value.startIndex else {
                    throw .invalid(setting: name, value: value, source: source, expected: NamedModels.flagExpected)
                }
                try settings.setNamedModel(
                    String(value[..<equals]), String(value[value.index(after: equals)...]), source: source,
                    inProcessModels: inProcessModels)
                continue
            }
            guard let setting = setting(named: name) else { throw .unknownSetting(name: name, source: source) }
            try settings.apply(setting, value, source: source, inProcessModels)
        }
        // Each setting's range keeps the audio pipeline valid (`AudioConfiguration`'s jitter buffer and pacer, the
        // VAD): no combination of valid settings fails later (RelaySettingsTests checks the extremes).
        return settings
    }

    /// The effective settings as a config file takes them: one JSON object, a member per setting in the order of
    /// ``all`` (the token is shown as "(hidden)").
    public func json() -> String {
        var lines: [String] = []
        for setting in Self.all {
            var value = setting.current(configuration)
            if setting.name == "token", value != .null { value = "(hidden)" }
            lines.append("  \(JSONValue.string(setting.name)): \(value)")
            if setting.name == "model" {
                let named = configuration.namedModels.sorted { $0.key < $1.key }
                    .map { "\(JSONValue.string($0.key)): \(JSONValue.string($0.value.description))" }
                lines.append("  \(JSONValue.string(NamedModels.name)): {\(named.joined(separator: ", "))}")
            }
        }
        return "{\n" + lines.joined(separator: ",\n") + "\n}"
    }

    // MARK: - Applying values

    private mutating func apply(
        _ setting: Setting, _ value: String, source: SettingSource, _ inProcessModels: [String: any InProcessModel]
    ) throws(SettingsError) {
        do {
            try setting.apply(&configuration, value, inProcessModels)
        } catch {
            throw .invalid(setting: setting.name, value: value, source: source, expected: error.expected)
        }
        sources[setting.name] = source
    }

    private mutating func setNamedModel(
        _ name: String, _ model: String, source: SettingSource, inProcessModels: [String: any InProcessModel]
    ) throws(SettingsError) {
        guard NamedModels.isValidName(name) else {
            throw .invalid(setting: NamedModels.name, value: "\(name)=\(model)", source: source, expected: NamedModels.nameExpected)
        }
        do throws(ModelChoiceError) {
            configuration.namedModels[name] = try ModelChoice(parsing: model, inProcessModels: inProcessModels)
        } catch {
            throw .invalid(setting: NamedModels.name, value: "\(name)=\(model)", source: source, expected: error.expected)
        }
        sources["\(NamedModels.name).\(name)"] = source
    }

    private static func readFile(_ path: String) throws(SettingsError) -> [(String, JSONValue)] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadableFile(path: path, reason: (error as NSError).localizedDescription)
        }
        let value: JSONValue
        do {
            value = try JSONValue(parsing: [UInt8](data))
        } catch {
            throw .malformedFile(path: path, reason: "not JSON: \(error)")
        }
        guard case .object(let members) = value else {
            throw .malformedFile(path: path, reason: "not a JSON object of settings")
        }
        return members.sorted { $0.key < $1.key }
    }

    /// A file's JSON value as the text a flag would carry.
    private static func text(of value: JSONValue, for setting: Setting) -> String {
        switch value {
        case .string(let text): text
        case .bool(let flag) where setting.isOnOff: flag ? "on" : "off"
        case .integer(let number): String(number)
        case .unsignedInteger(let number): String(number)
        case .number(let number): String(number)
        default: value.description
        }
    }

    // MARK: - The settings

    /// Where one setting's value came from.
    public enum SettingSource: Hashable, Sendable, CustomStringConvertible {
        case file(String)
        case environment(String)
        case flag(String)

        public var description: String {
            switch self {
            case .file(let path): "config file \(path)"
            case .environment(let variable): "environment \(variable)"
            case .flag(let flag): "flag \(flag)"
            }
        }
    }

    /// Why a value does not fit a setting: what the setting takes.
    public struct Problem: Error, Sendable {
        public var expected: String
    }

    /// One setting: its name, what it takes, how it applies, how it prints.
    public struct Setting: Sendable {
        public let name: String
        /// What the setting takes, for help and errors ("an integer from 0 to 10").
        public let expected: String
        /// One line for `--help`.
        public let help: String
        let apply: @Sendable (inout RelayConfiguration, String, [String: any InProcessModel]) throws(Problem) -> Void
        let current: @Sendable (RelayConfiguration) -> JSONValue
        var isOnOff: Bool { expected == Parse.onOffExpected }

        /// The default value as text.
        public var defaultText: String {
            switch current(RelayConfiguration()) {
            case .string(let text): text
            case .null: "none"
            case let other: other.description
            }
        }
    }

    public static func setting(named name: String) -> Setting? {
        all.first { $0.name == name }
    }

    /// Every setting but `named-model` (repeatable NAME=MODEL, see ``NamedModels``) and `config`.
    public static let all: [Setting] = [
        Setting(
            name: "model", expected: ModelChoiceError.allowed,
            help: "The model each session talks to (unless the offer picks a named model)",
            apply: { (config, text, models) throws(Problem) in
                do throws(ModelChoiceError) {
                    config.model = try ModelChoice(parsing: text, inProcessModels: models)
                } catch {
                    throw Problem(expected: error.expected)
                }
            }, current: { .string($0.model.description) }),
        Setting(
            name: "model-ca-file", expected: "a readable PEM file",
            help: "PEM certificates a wss:// model's certificate must chain to (default: the system's roots)",
            apply: { (config, text, _) throws(Problem) in
                guard !text.isEmpty, FileManager.default.isReadableFile(atPath: text) else {
                    throw Problem(expected: "a readable PEM file (no file can be read at this path)")
                }
                config.modelTrustRootsFile = text
            }, current: { $0.modelTrustRootsFile.map(JSONValue.string) ?? .null }),
        Setting(
            name: "model-ready-timeout", expected: "seconds from 0.1 to 60",
            help: "A protocol model must answer session.start within this many seconds",
            apply: { (config, text, _) throws(Problem) in
                config.modelReadyTimeout = try Parse.seconds(text, 0.1...60)
            }, current: { .number($0.modelReadyTimeout.seconds) }),
        Setting(
            name: "model-stall-timeout", expected: "seconds from 1 to 3600",
            help: "A model that takes nothing of its input for this many seconds ends its session",
            apply: { (config, text, _) throws(Problem) in
                config.modelStallTimeout = try Parse.seconds(text, 1...3600)
            }, current: { .number($0.modelStallTimeout.seconds) }),
        Setting(
            name: "http", expected: "HOST:PORT (IPv6 in brackets: [::1]:8080) or off",
            help: "HTTP listen address for WHIP, the session API, metrics and the demo page; off serves no HTTP",
            apply: { (config, text, _) throws(Problem) in
                if text == "off" {
                    config.serveHTTP = false
                    return
                }
                let (host, port) = try Parse.hostPort(text, expected: "HOST:PORT (IPv6 in brackets: [::1]:8080) or off")
                config.serveHTTP = true
                config.httpHost = host
                config.httpPort = port
            }, current: { $0.serveHTTP ? .string(HostPort.text($0.httpHost, $0.httpPort)) : "off" }),
        Setting(
            name: "udp", expected: "HOST:PORT (port 0 picks a free port)",
            help: "UDP listen address for all media (port 0 picks a free port)",
            apply: { (config, text, _) throws(Problem) in
                (config.udpHost, config.udpPort) = try Parse.hostPort(text, expected: "HOST:PORT (port 0 picks a free port)")
            }, current: { .string(HostPort.text($0.udpHost, $0.udpPort)) }),
        Setting(
            name: "public-address", expected: "an IPv4 or IPv6 address",
            help: "Address to put in our ICE candidate, when clients must reach the relay at another address",
            apply: { (config, text, _) throws(Problem) in
                guard Parse.isIPAddress(text) else { throw Problem(expected: "an IPv4 or IPv6 address") }
                config.publicAddress = text
            }, current: { $0.publicAddress.map(JSONValue.string) ?? .null }),
        Setting(
            name: "token", expected: "1 to 256 visible ASCII characters",
            help: "Require 'Authorization: Bearer TOKEN' on WHIP requests",
            apply: { (config, text, _) throws(Problem) in
                guard (1...256).contains(text.utf8.count), text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                    throw Problem(expected: "1 to 256 visible ASCII characters")
                }
                config.token = text
            }, current: { $0.token.map(JSONValue.string) ?? .null }),
        Setting(
            name: "max-sessions", expected: Parse.integerExpected(1...100_000),
            help: "Most concurrent sessions; more get 503 with Retry-After",
            apply: { (config, text, _) throws(Problem) in config.maxSessions = try Parse.integer(text, 1...100_000) },
            current: { JSONValue($0.maxSessions) }),
        Setting(
            name: "consent-timeout", expected: "seconds from 1 to 3600",
            help: "A session with no valid STUN or media for this many seconds ends (RFC 7675 consent)",
            apply: { (config, text, _) throws(Problem) in config.consentTimeout = try Parse.seconds(text, 1...3600) },
            current: { .number($0.consentTimeout.seconds) }),
        Setting(
            name: "connect-timeout", expected: "seconds from 1 to 600",
            help: "ICE and DTLS must complete within this many seconds of the offer",
            apply: { (config, text, _) throws(Problem) in config.connectTimeout = try Parse.seconds(text, 1...600) },
            current: { .number($0.connectTimeout.seconds) }),
        Setting(
            name: "node-id", expected: "1 to 8 lowercase letters or digits",
            help: "This relay's id in ICE ufrags (a routing token for a stateless UDP front)",
            apply: { (config, text, _) throws(Problem) in
                guard (1...8).contains(text.utf8.count),
                    text.utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) })
                else { throw Problem(expected: "1 to 8 lowercase letters or digits") }
                config.nodeID = text
            }, current: { .string($0.nodeID) }),
        Setting(
            name: "ended-sessions-kept", expected: Parse.integerExpected(0...100_000),
            help: "Ended sessions kept for GET /v1/sessions/{id}",
            apply: { (config, text, _) throws(Problem) in
                config.endedSessionsKept = try Parse.integer(text, 0...100_000)
            }, current: { JSONValue($0.endedSessionsKept) }),
        Setting(
            name: "log-level", expected: Parse.choiceExpected(Logger.Level.allCases.map(\.rawValue)),
            help: "Log level",
            apply: { (config, text, _) throws(Problem) in
                guard let level = Logger.Level(rawValue: text.lowercased()) else {
                    throw Problem(expected: Parse.choiceExpected(Logger.Level.allCases.map(\.rawValue)))
                }
                config.logLevel = level
            }, current: { .string($0.logLevel.rawValue) }),
        Setting(
            name: "codec-path", expected: Parse.choiceExpected(CodecPath.allCases.map(\.rawValue)),
            help: "transcode: decode through the jitter buffer to PCM for the model, pace and encode its audio; passthrough: Opus both ways, untouched",
            apply: { (config, text, _) throws(Problem) in
                config.audio.codecPath = try Parse.choice(text, CodecPath.allCases)
            }, current: { .string($0.audio.codecPath.rawValue) }),
        Setting(
            name: "jitter-profile",
            expected: Parse.choiceExpected(JitterBufferConfiguration.Profile.allCases.map(\.rawValue)),
            help: "Uplink jitter buffer: model (lowest latency) or conversational (smooth playout, adaptive delay)",
            apply: { (config, text, _) throws(Problem) in
                config.audio.jitterProfile = try Parse.choice(text, JitterBufferConfiguration.Profile.allCases)
            }, current: { .string($0.audio.jitterProfile.rawValue) }),
        Setting(
            name: "model-rate", expected: "one of 8000, 12000, 16000, 24000, 48000",
            help: "The model's PCM sample rate in Hz",
            apply: { (config, text, _) throws(Problem) in
                guard let hz = Int(text), let rate = OpusSampleRate(rawValue: hz) else {
                    throw Problem(expected: "one of 8000, 12000, 16000, 24000, 48000")
                }
                config.audio.modelFormat.sampleRate = rate
            }, current: { JSONValue($0.audio.modelFormat.sampleRate.rawValue) }),
        Setting(
            name: "frame-ms", expected: "10 or 20",
            help: "Frame duration in ms for the model's PCM and the Opus packets sent",
            apply: { (config, text, _) throws(Problem) in
                guard let ms = Int(text), let frame = AudioFrameDuration(rawValue: ms) else {
                    throw Problem(expected: "10 or 20")
                }
                config.audio.modelFormat.frameDuration = frame
            }, current: { JSONValue($0.audio.modelFormat.frameDuration.rawValue) }),
        Setting(
            name: "opus-complexity", expected: Parse.integerExpected(DownlinkPacer.EncoderSettings.allowedComplexity),
            help: "Downlink Opus encoder complexity",
            apply: { (config, text, _) throws(Problem) in
                config.audio.encoder.complexity = try Parse.integer(text, DownlinkPacer.EncoderSettings.allowedComplexity)
            }, current: { JSONValue($0.audio.encoder.complexity) }),
        Setting(
            name: "opus-bitrate", expected: Parse.integerExpected(DownlinkPacer.EncoderSettings.allowedBitsPerSecond),
            help: "Downlink Opus bitrate in bit/s",
            apply: { (config, text, _) throws(Problem) in
                config.audio.encoder.bitsPerSecond = try Parse.integer(
                    text, DownlinkPacer.EncoderSettings.allowedBitsPerSecond)
            }, current: { JSONValue($0.audio.encoder.bitsPerSecond) }),
        Setting(
            name: "opus-fec", expected: Parse.onOffExpected, help: "Downlink in-band FEC",
            apply: { (config, text, _) throws(Problem) in config.audio.encoder.inBandFEC = try Parse.onOff(text) },
            current: { .string($0.audio.encoder.inBandFEC ? "on" : "off") }),
        Setting(
            name: "opus-dtx", expected: Parse.onOffExpected, help: "Downlink DTX (discontinuous transmission)",
            apply: { (config, text, _) throws(Problem) in config.audio.encoder.dtx = try Parse.onOff(text) },
            current: { .string($0.audio.encoder.dtx ? "on" : "off") }),
        Setting(
            name: "max-queued-seconds", expected: Parse.integerExpected(1...600),
            help: "The most model audio queued for the client, in seconds",
            apply: { (config, text, _) throws(Problem) in
                config.audio.maxQueuedAudio = .seconds(try Parse.integer(text, 1...600))
            }, current: { JSONValue(Int($0.audio.maxQueuedAudio.components.seconds)) }),
        Setting(
            name: "downlink-start-delay-ms", expected: Parse.integerExpected(0...1000),
            help: "Slack in ms before the first downlink frame of a talkspurt (0 for models faster than real time)",
            apply: { (config, text, _) throws(Problem) in
                config.audio.downlinkStartDelay = .milliseconds(try Parse.integer(text, 0...1000))
            }, current: { JSONValue(milliseconds($0.audio.downlinkStartDelay)) }),
        Setting(
            name: "vad-threshold", expected: "a number from 0 to 1",
            help: "Server VAD threshold (higher needs louder, clearer speech)",
            apply: { (config, text, _) throws(Problem) in
                guard let value = Double(text), value.isFinite, (0...1).contains(value) else {
                    throw Problem(expected: "a number from 0 to 1")
                }
                config.voiceActivity.threshold = value
            }, current: { .number($0.voiceActivity.threshold) }),
        Setting(
            name: "vad-prefix-padding-ms", expected: Parse.integerExpected(0...60_000),
            help: "Server VAD prefix padding in ms: audio before the detected start that speech_started includes",
            apply: { (config, text, _) throws(Problem) in
                config.voiceActivity.prefixPadding = .milliseconds(try Parse.integer(text, 0...60_000))
            }, current: { JSONValue(milliseconds($0.voiceActivity.prefixPadding)) }),
        Setting(
            name: "vad-silence-ms", expected: Parse.integerExpected(0...60_000),
            help: "Server VAD silence duration in ms that ends speech",
            apply: { (config, text, _) throws(Problem) in
                config.voiceActivity.silenceDuration = .milliseconds(try Parse.integer(text, 0...60_000))
            }, current: { JSONValue(milliseconds($0.voiceActivity.silenceDuration)) }),
    ]

    /// `named-model`: further models an offer may pick by name (`?model=NAME`).
    public enum NamedModels {
        public static let name = "named-model"
        static let flagExpected = "NAME=MODEL, e.g. parrot=parrot"
        static let fileExpected = "an object of NAME: MODEL strings, e.g. {\"parrot\": \"parrot\"}"
        static let nameExpected = "a NAME of 1 to 64 letters, digits, '-' or '_'"

        static func isValidName(_ name: String) -> Bool {
            (1...64).contains(name.utf8.count)
                && name.utf8.allSatisfy { $0 < 0x80 && (Character(UnicodeScalar($0)).isLetter
                    || Character(UnicodeScalar($0)).isNumber || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")) }
        }
    }
}

/// Why settings could not be resolved; every message names the setting, where the value came from, and what is
/// allowed.
public enum SettingsError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalid(setting: String, value: String, source: RelaySettings.SettingSource, expected: String)
    case unknownSetting(name: String, source: RelaySettings.SettingSource)
    case unreadableFile(path: String, reason: String)
    case malformedFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalid(let setting, let value, let source, let expected):
            "invalid setting \(setting) = '\(value)' (\(source)): expected \(expected)"
        case .unknownSetting(let name, let source):
            "unknown setting '\(name)' (\(source)); the settings are: "
                + (RelaySettings.all.map(\.name) + [RelaySettings.NamedModels.name]).sorted().joined(separator: ", ")
        case .unreadableFile(let path, let reason): "cannot read the config file \(path): \(reason)"
        case .malformedFile(let path, let reason): "the config file \(path) is \(reason)"
        }
    }
}

/// Parsers of setting values; each throws what the setting takes.
enum Parse {
    static let onOffExpected = "on or off"

    static func integerExpected(_ range: ClosedRange<Int>) -> String {
        "an integer from \(range.lowerBound) to \(range.upperBound)"
    }

    static func choiceExpected(_ choices: [String]) -> String {
        choices.count == 2 ? "\(choices[0]) or \(choices[1])" : "one of " + choices.joined(separator: ", ")
    }

    static func integer(_ text: String, _ range: ClosedRange<Int>) throws(RelaySettings.Problem) -> Int {
        guard let value = Int(text), range.contains(value) else {
            throw RelaySettings.Problem(expected: integerExpected(range))
        }
        return value
    }

    static func seconds(_ text: String, _ range: ClosedRange<Double>) throws(RelaySettings.Problem) -> Duration {
        guard let value = Double(text), value.isFinite, range.contains(value) else {
            throw RelaySettings.Problem(expected: "seconds from \(number(range.lowerBound)) to \(number(range.upperBound))")
        }
        return .nanoseconds(Int64((value * 1e9).rounded()))
    }

    static func choice<T: RawRepresentable<String>>(_ text: String, _ all: [T]) throws(RelaySettings.Problem) -> T {
        guard let value = T(rawValue: text) else { throw RelaySettings.Problem(expected: choiceExpected(all.map(\.rawValue))) }
        return value
    }

    static func onOff(_ text: String) throws(RelaySettings.Problem) -> Bool {
        switch text {
        case "on", "true": return true
        case "off", "false": return false
        default: throw RelaySettings.Problem(expected: onOffExpected)
        }
    }

    static func hostPort(_ text: String, expected: String) throws(RelaySettings.Problem) -> (String, Int) {
        guard let parsed = HostPort.parse(text) else { throw RelaySettings.Problem(expected: expected) }
        return parsed
    }

    /// Whether `text` is an IPv4 or IPv6 address literal (no names: a candidate must be an address).
    static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    private static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}

/// `HOST:PORT` with IPv6 hosts in brackets (`[::1]:8080`).
public enum HostPort {
    public static func parse(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            return nil  // an IPv6 host without brackets is ambiguous
        }
        guard !host.isEmpty, !host.contains(where: \.isWhitespace) else { return nil }
        return (host, port)
    }

    public static func text(_ host: String, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

/// A duration in whole milliseconds, rounded (the settings in ms are whole milliseconds).
private func milliseconds(_ duration: Duration) -> Int {
    Int((Double(duration.nanosecondsClamped) / 1e6).rounded())
}
