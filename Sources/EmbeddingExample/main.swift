// A program that embeds the Earshot relay with its own in-process model (VoiceActivityEcho): the relay runs as a
// service in this program's ServiceGroup, reads its settings as `earshot serve` does (flags, EARSHOT_* variables, a
// JSON file), and hands every call to the Swift model without a socket in between. Docs/embedding.md walks
// through it.
//
//   swift run earshot-embedding-example --http 127.0.0.1:8080
//
// then open http://127.0.0.1:8080/ and press Call: a chime, then each thing you say is said back once you pause.
import Earshot
import Foundation
import Logging
import ServiceLifecycle

/// `--name value` pairs from the command line, as settings (`--config FILE` names the config file).
func flags(_ arguments: ArraySlice<String>) -> (flags: [(name: String, value: String)], config: String?)? {
    var flags: [(name: String, value: String)] = []
    var config: String?
    var rest = arguments
    while let name = rest.popFirst() {
        guard name.hasPrefix("--"), let value = rest.popFirst() else { return nil }
        if name == "--config" { config = value } else { flags.append((String(name.dropFirst(2)), value)) }
    }
    return (flags, config)
}

guard let (given, config) = flags(CommandLine.arguments.dropFirst()) else {
    FileHandle.standardError.write(Data("usage: earshot-embedding-example [--SETTING VALUE ...] [--config FILE]\n".utf8))
    exit(2)
}
let model = VoiceActivityEcho()
let settings: RelaySettings
do {
    // The model is this program's default; a flag, a variable or the file may still pick another (echo, parrot,
    // or "voice-echo" by name).
    var defaults = RelayConfiguration()
    defaults.model = .inProcess("voice-echo", model)
    settings = try RelaySettings.resolve(
        flags: given, environment: ProcessInfo.processInfo.environment, configFile: config,
        inProcessModels: ["voice-echo": model], defaults: defaults)
} catch {
    FileHandle.standardError.write(Data("earshot-embedding-example: \(error)\n".utf8))
    exit(2)
}

LoggingSystem.bootstrap(StreamLogHandler.standardError)
let logger = Logger(label: "embedding-example")
let relay = RelayService(configuration: settings.configuration, logger: logger)
let group = ServiceGroup(
    configuration: .init(
        services: [.init(service: relay, successTerminationBehavior: .gracefullyShutdownGroup)],
        gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))

try await withThrowingTaskGroup(of: Void.self) { tasks in
    tasks.addTask { try await group.run() }
    tasks.addTask {
        // Tell the user where to call once the relay listens (stdout: one line).
        if let endpoints = try? await relay.endpoints() {
            print("WHIP: \(endpoints.whipURL ?? "(no HTTP: offers through RelayService.offer)")")
            fflush(nil)
        }
    }
    try await tasks.waitForAll()
}
