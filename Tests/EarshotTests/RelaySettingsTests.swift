import Earshot
import EarshotAudio
import Foundation
import Testing

/// Settings from flags, `EARSHOT_*` variables and a JSON file: precedence, every refusal's message, the printed form,
/// and the CLI that reads them.
@Suite("Settings: flags over environment over config file over defaults")
struct RelaySettingsTests {
    /// A config file in a fresh temporary directory.
    static func file(_ json: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("earshot-settings-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent("earshot.json")
        try Data(json.utf8).write(to: url)
        return url.path
    }

    @Test("precedence, setting by setting and name by name for named models")
    func precedence() throws {
        let path = try Self.file("""
            {"opus-bitrate": 24000, "codec-path": "passthrough", "max-sessions": 10, "opus-fec": false,
             "model-ready-timeout": 2.5, "named-model": {"a": "parrot", "b": "echo", "c": "exec:./model"}}
            """)
        let settings = try RelaySettings.resolve(
            flags: [("max-sessions", "30"), ("named-model", "a=stdio")],
            environment: [
                "EARSHOT_CONFIG": path, "EARSHOT_CODEC_PATH": "transcode", "EARSHOT_MAX_SESSIONS": "20",
                "EARSHOT_NAMED_MODEL_b": "builtin:echo", "HOME": "/root",
            ])
        let configuration = settings.configuration
        #expect(settings.configFile == path)
        #expect(configuration.audio.encoder.bitsPerSecond == 24000)  // file
        #expect(configuration.audio.encoder.inBandFEC == false)  // file, a JSON boolean for on/off
        #expect(configuration.modelReadyTimeout == .milliseconds(2500))  // file
        #expect(configuration.audio.codecPath == .transcode)  // env over file
        #expect(configuration.maxSessions == 30)  // flag over env over file
        #expect(configuration.logLevel == .info)  // default
        #expect(configuration.namedModels["a"] == .stdio)  // flag over file
        #expect(configuration.namedModels["b"]?.description == "builtin:echo")  // env over file
        #expect(configuration.namedModels["c"] == .exec("./model"))  // file
        #expect(settings.sources["opus-bitrate"] == .file(path))
        #expect(settings.sources["codec-path"] == .environment("EARSHOT_CODEC_PATH"))
        #expect(settings.sources["max-sessions"] == .flag("--max-sessions"))
        #expect(settings.sources["named-model.a"] == .flag("--named-model"))
        #expect(settings.sources["named-model.b"] == .environment("EARSHOT_NAMED_MODEL_b"))
        #expect(settings.sources["log-level"] == nil)

        // The --config flag's file wins over EARSHOT_CONFIG's; no file at all leaves the defaults.
        let other = try Self.file(#"{"max-sessions": 7}"#)
        let flagged = try RelaySettings.resolve(environment: ["EARSHOT_CONFIG": path], configFile: other)
        #expect(flagged.configuration.maxSessions == 7 && flagged.configuration.audio.codecPath == .transcode)
        #expect(try RelaySettings.resolve().configuration == RelayConfiguration())
        // A host program's own models are names the settings take.
        let hosted = try RelaySettings.resolve(
            flags: [("model", "tone")], inProcessModels: ["tone": RecordingEcho(record: ModelRecord())])
        #expect(hosted.configuration.model.description == "tone")
        if case .inProcess = hosted.configuration.model {} else { Issue.record("tone is not in-process") }
    }

    @Test("every setting at both ends of its range is accepted, and the audio pipeline takes the result")
    func extremes() throws {
        for low in [true, false] {
            var flags: [(name: String, value: String)] = []
            for (name, lowValue, highValue) in [
                ("model-ready-timeout", "0.1", "60"), ("model-stall-timeout", "1", "3600"),
                ("max-sessions", "1", "100000"), ("consent-timeout", "1", "3600"), ("connect-timeout", "1", "600"),
                ("ended-sessions-kept", "0", "100000"), ("model-rate", "8000", "48000"), ("frame-ms", "10", "20"),
                ("opus-complexity", "0", "10"), ("opus-bitrate", "6000", "510000"), ("max-queued-seconds", "1", "600"),
                ("downlink-start-delay-ms", "0", "1000"), ("vad-threshold", "0", "1"),
                ("vad-prefix-padding-ms", "0", "60000"), ("vad-silence-ms", "0", "60000"),
                ("jitter-profile", "model", "conversational"), ("codec-path", "passthrough", "transcode"),
            ] {
                flags.append((name, low ? lowValue : highValue))
            }
            let configuration = try RelaySettings.resolve(flags: flags).configuration
            try configuration.audio.jitterBuffer.validate()
            try configuration.audio.pacer.validate()
            var vad = configuration.voiceActivity
            vad.format = configuration.audio.modelFormat
            try vad.validate()
        }
    }

    /// Every setting with a value it refuses, and the whole message.
    static let refusals: [(setting: String, value: String, expected: String)] = [
        ("model", "gpt", "echo, parrot, builtin:echo, stdio, ws://HOST:PORT/PATH, wss://HOST:PORT/PATH or exec:COMMAND"),
        ("model", "ws://", "a ws:// or wss://HOST[:PORT][/PATH] URL"),
        ("model", "exec: ", "exec: followed by a command, e.g. exec:'python3 model.py --stdio'"),
        ("model-ca-file", "/nonexistent/ca.pem", "a readable PEM file (no file can be read at this path)"),
        ("model-ready-timeout", "0", "seconds from 0.1 to 60"),
        ("model-stall-timeout", "soon", "seconds from 1 to 3600"),
        ("http", "8080", "HOST:PORT (IPv6 in brackets: [::1]:8080) or off"),
        ("http", "::1:8080", "HOST:PORT (IPv6 in brackets: [::1]:8080) or off"),
        ("udp", "127.0.0.1:70000", "HOST:PORT (port 0 picks a free port)"),
        ("public-address", "relay.example", "an IPv4 or IPv6 address"),
        ("token", "two words", "1 to 256 visible ASCII characters"),
        ("max-sessions", "0", "an integer from 1 to 100000"),
        ("consent-timeout", "0.5", "seconds from 1 to 3600"),
        ("connect-timeout", "601", "seconds from 1 to 600"),
        ("node-id", "Relay-1", "1 to 8 lowercase letters or digits"),
        ("ended-sessions-kept", "-1", "an integer from 0 to 100000"),
        ("log-level", "verbose", "one of trace, debug, info, notice, warning, error, critical"),
        ("codec-path", "raw", "passthrough or transcode"),
        ("jitter-profile", "fast", "conversational or model"),
        ("model-rate", "44100", "one of 8000, 12000, 16000, 24000, 48000"),
        ("frame-ms", "40", "10 or 20"),
        ("opus-complexity", "11", "an integer from 0 to 10"),
        ("opus-bitrate", "5999", "an integer from 6000 to 510000"),
        ("opus-fec", "yes", "on or off"),
        ("opus-dtx", "1", "on or off"),
        ("max-queued-seconds", "601", "an integer from 1 to 600"),
        ("downlink-start-delay-ms", "1001", "an integer from 0 to 1000"),
        ("vad-threshold", "1.5", "a number from 0 to 1"),
        ("vad-prefix-padding-ms", "60001", "an integer from 0 to 60000"),
        ("vad-silence-ms", "half", "an integer from 0 to 60000"),
    ]

    @Test("every setting refuses a bad value with its name, where the value came from, and what it takes")
    func refusals() throws {
        // The table covers every setting.
        #expect(Set(Self.refusals.map(\.setting)) == Set(RelaySettings.all.map(\.name)))
        for (setting, value, expected) in Self.refusals {
            #expect(Self.message { try RelaySettings.resolve(flags: [(setting, value)]) }
                == "invalid setting \(setting) = '\(value)' (flag --\(setting)): expected \(expected)")
            let variable = RelaySettings.environmentVariable(setting)
            #expect(Self.message { try RelaySettings.resolve(environment: [variable: value]) }
                == "invalid setting \(setting) = '\(value)' (environment \(variable)): expected \(expected)")
            let path = try Self.file("{\"\(setting)\": \"\(value)\"}")
            #expect(Self.message { try RelaySettings.resolve(configFile: path) }
                == "invalid setting \(setting) = '\(value)' (config file \(path)): expected \(expected)")
        }
    }

    /// The message of the `SettingsError` that `body` throws ("accepted" when it does not throw).
    static func message(_ body: () throws -> RelaySettings) -> String {
        do {
            _ = try body()
            return "accepted"
        } catch {
            return (error as? SettingsError)?.description ?? "not a SettingsError: \(error)"
        }
    }

    @Test("named models, the file and its members: each refusal says what is wrong")
    func fileAndNamedModelRefusals() throws {
        let message = Self.message
        #expect(message { try RelaySettings.resolve(flags: [("named-model", "parrot")]) }
            == "invalid setting named-model = 'parrot' (flag --named-model): expected NAME=MODEL, e.g. parrot=parrot")
        #expect(message { try RelaySettings.resolve(flags: [("named-model", "a b=parrot")]) }
            == "invalid setting named-model = 'a b=parrot' (flag --named-model): expected a NAME of 1 to 64 letters, digits, '-' or '_'")
        #expect(message { try RelaySettings.resolve(environment: ["EARSHOT_NAMED_MODEL_x": "gpt"]) }
            == "invalid setting named-model = 'x=gpt' (environment EARSHOT_NAMED_MODEL_x): expected echo, parrot, builtin:echo, stdio, ws://HOST:PORT/PATH, wss://HOST:PORT/PATH or exec:COMMAND")
        let notObject = try Self.file(#"{"named-model": ["parrot"]}"#)
        #expect(message { try RelaySettings.resolve(configFile: notObject) }
            == #"invalid setting named-model = '["parrot"]' (config file \#(notObject)): expected an object of NAME: MODEL strings, e.g. {"parrot": "parrot"}"#)
        let notString = try Self.file(#"{"named-model": {"p": 1}}"#)
        #expect(message { try RelaySettings.resolve(configFile: notString) }
            == #"invalid setting named-model = 'p: 1' (config file \#(notString)): expected an object of NAME: MODEL strings, e.g. {"parrot": "parrot"}"#)
        let unknown = try Self.file(#"{"codecpath": "passthrough"}"#)
        #expect(message { try RelaySettings.resolve(configFile: unknown) }.hasPrefix(
            "unknown setting 'codecpath' (config file \(unknown)); the settings are: codec-path, connect-timeout,"))
        #expect(message { try RelaySettings.resolve(flags: [("codecpath", "x")]) }.hasPrefix(
            "unknown setting 'codecpath' (flag --codecpath); the settings are: "))
        #expect(message { try RelaySettings.resolve(configFile: "/nonexistent/earshot.json") }.hasPrefix(
            "cannot read the config file /nonexistent/earshot.json: "))
        let broken = try Self.file(#"{"codec-path": "passthrough",}"#)
        #expect(message { try RelaySettings.resolve(configFile: broken) }.hasPrefix(
            "the config file \(broken) is not JSON: "))
        let array = try Self.file(#"["codec-path"]"#)
        #expect(message { try RelaySettings.resolve(configFile: array) }
            == "the config file \(array) is not a JSON object of settings")
        // null is the default (what --print-config writes for an optional setting that is not set).
        let null = try Self.file(#"{"max-sessions": null, "public-address": null}"#)
        #expect(try RelaySettings.resolve(configFile: null).configuration == RelayConfiguration())
        let number = try Self.file(#"{"codec-path": 1}"#)
        #expect(message { try RelaySettings.resolve(configFile: number) }
            == "invalid setting codec-path = '1' (config file \(number)): expected passthrough or transcode")
    }

    @Test("the printed settings are a config file that gives the same configuration")
    func printedSettingsRoundTrip() throws {
        let settings = try RelaySettings.resolve(flags: [
            ("codec-path", "passthrough"), ("http", "[::1]:9000"), ("udp", "127.0.0.1:0"), ("model", "parrot"),
            ("named-model", "echo=builtin:echo"), ("named-model", "side=stdio"), ("model-ready-timeout", "2.5"),
            ("vad-threshold", "0.7"), ("opus-dtx", "on"), ("public-address", "192.0.2.1"), ("log-level", "debug"),
            ("vad-silence-ms", "1001"), ("vad-prefix-padding-ms", "59999"), ("downlink-start-delay-ms", "999"),
        ])
        let path = try Self.file(settings.json())
        let again = try RelaySettings.resolve(configFile: path)
        #expect(again.configuration == settings.configuration)
        #expect(again.json() == settings.json())
        #expect(settings.json().contains(#""vad-silence-ms": 1001"#))
        // A host program's defaults sit under the file, the environment and the flags.
        var defaults = RelayConfiguration()
        defaults.maxSessions = 9
        defaults.audio.codecPath = .passthrough
        let hosted = try RelaySettings.resolve(
            flags: [("max-sessions", "12")], environment: [:], defaults: defaults)
        #expect(hosted.configuration.maxSessions == 12 && hosted.configuration.audio.codecPath == .passthrough)
        #expect(hosted.sources["codec-path"] == nil)
        // The token is never printed.
        let secret = try RelaySettings.resolve(flags: [("token", "s3cret")])
        #expect(!secret.json().contains("s3cret") && secret.json().contains(#""token": "(hidden)""#))
        // http off: no listener.
        #expect(try RelaySettings.resolve(environment: ["EARSHOT_HTTP": "off"]).configuration.serveHTTP == false)
    }

    @Test("the CLI: --print-config shows the effective settings and their sources; a bad value exits 2 naming it; --help lists every setting",
          .timeLimit(.minutes(1)))
    func commandLine() async throws {
        let path = try Self.file(#"{"opus-bitrate": 24000, "codec-path": "passthrough"}"#)
        let printed = try await runEarshot(
            ["serve", "--print-config", "--config", path, "--max-sessions", "30", "--named-model", "p=parrot"],
            environment: ["EARSHOT_CODEC_PATH": "transcode", "EARSHOT_VAD_SILENCE_MS": "800"])
        #expect(printed.status == 0, "\(printed.stderr)")
        let members = try #require(try JSONSerialization.jsonObject(with: Data(printed.stdout.utf8)) as? [String: Any])
        #expect(members["opus-bitrate"] as? Int == 24000)
        #expect(members["codec-path"] as? String == "transcode")
        #expect(members["max-sessions"] as? Int == 30)
        #expect(members["vad-silence-ms"] as? Int == 800)
        #expect((members["named-model"] as? [String: String]) == ["p": "parrot"])
        #expect(members["http"] as? String == "127.0.0.1:8080")
        #expect(Set(members.keys) == Set(RelaySettings.all.map(\.name) + ["named-model"]))
        for line in [
            "# config file: \(path)", "# opus-bitrate: config file \(path)",
            "# codec-path: environment EARSHOT_CODEC_PATH", "# vad-silence-ms: environment EARSHOT_VAD_SILENCE_MS",
            "# max-sessions: flag --max-sessions", "# named-model.p: flag --named-model",
        ] {
            #expect(printed.stderr.contains(line + "\n"), "\(line) in \(printed.stderr)")
        }

        let refused = try await runEarshot(["serve"], environment: ["EARSHOT_OPUS_COMPLEXITY": "11"])
        #expect(refused.status == 2)
        #expect(refused.stderr == "earshot serve: invalid setting opus-complexity = '11' (environment EARSHOT_OPUS_COMPLEXITY): expected an integer from 0 to 10\n")

        let help = try await runEarshot(["serve", "--help"])
        for setting in RelaySettings.all {
            #expect(help.stdout.contains("--\(setting.name) "), "--\(setting.name) in --help")
            #expect(help.stdout.contains(RelaySettings.environmentVariable(setting.name)), "\(setting.name)'s variable in --help")
        }
        #expect(help.stdout.contains("--named-model") && help.stdout.contains("--print-config"))
    }
}

/// Runs the debug `earshot` with `arguments` (environment: this process's, without `EARSHOT_*`, plus
/// `environment`); its exit status and output. Bounded at 30 s.
func runEarshot(_ arguments: [String], environment: [String: String] = [:]) async throws
    -> (status: Int32, stdout: String, stderr: String)
{
    let run = try LaunchedProcess(ModelRelayTests.earshot, arguments, environment: environment)
    guard try await run.waitForExit(seconds: 30) else {
        await run.stop()
        throw TestFailure("earshot \(arguments.joined(separator: " ")) did not finish in 30 s")
    }
    let result = (run.process.terminationStatus, run.stdout, run.stderr)
    await run.stop()
    return result
}
