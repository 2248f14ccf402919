import Earshot
import EarshotClient
import Foundation
import Testing

/// Sidecar mode driven by the Python example (Docs/examples/earshot_sidecar.py, python3 from Debian): the example
/// starts `earshot serve --model stdio` as its child and serves echo and parrot through the relay's own
/// stdin/stdout; our client calls the relay over WHIP.
@Suite("Sidecar: a Python parent serves the models on the relay's stdio", .serialized)
struct SidecarTests {
    static let example = PackagePaths.root.appendingPathComponent("Docs/examples/earshot_sidecar.py").path

    @Test("echo and parrot through the sidecar's pipes, sessions multiplexed; SIGTERM ends the live session and both processes",
          .timeLimit(.minutes(1)))
    func sidecar() async throws {
        try requireExecutable("/usr/bin/python3", package: "python3")
        let run = try LaunchedProcess("/usr/bin/python3", [
            Self.example, "--earshot", ModelRelayTests.earshot, "--model", "parrot", "--",
            "--http", "127.0.0.1:0", "--udp", "127.0.0.1:0", "--named-model", "echo=stdio", "--log-level", "info",
        ])
        try await run.whileRunning(exercise)
    }

    private func exercise(_ run: LaunchedProcess) async throws {
        let process = run.process
        let log = { run.stderr }

        // The example prints one line once the relay told it where it listens (relay.ready).
        struct Ready: Decodable {
            var event: String
            var whip_url: String
            var http: String
        }
        let clock = ContinuousClock()
        var ready: Ready?
        let deadline = clock.now + .seconds(20)
        while ready == nil, clock.now < deadline, process.isRunning {
            if let line = run.stdoutLines.first {  // a whole line only
                ready = try JSONDecoder().decode(Ready.self, from: Data(line.utf8))
            } else {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        let whip = try #require(ready?.whip_url, "no ready line; stderr:\n\(log())")
        #expect(ready?.event == "ready")

        // Echo (picked by name) and parrot (the default) at the same time on the one pipe.
        let echo = try await ClientSession.start(
            configuration: .init(url: whip + "?model=echo", packets: ClientFixtures.packets),
            dtlsContext: ClientFixtures.context)
        let parrot = try await ClientSession.start(
            configuration: .init(url: whip, packets: TalkFixtures.turns), dtlsContext: ClientFixtures.context)
        #expect(await echo.waitUntilConnected(timeout: .seconds(10)))
        #expect(await parrot.waitUntilConnected(timeout: .seconds(10)))
        echo.startMedia()
        parrot.startMedia()
        #expect(await echo.waitUntilReceived(100, timeout: .seconds(15)), "\(log())")
        // The parrot answers the first utterance (0.4–2.0 s) after the VAD's silence: its audio comes back.
        #expect(await parrot.waitUntilReceived(40, timeout: .seconds(15)), "\(log())")

        let echoID = String(echo.resource.split(separator: "/").last ?? "")
        let parrotID = String(parrot.resource.split(separator: "/").last ?? "")
        let base = "http://\(try #require(ready?.http))"
        let echoInfo = try JSONDecoder().decode(
            SessionInfo.self, from: Data(try await HTTPClient.request("GET", "\(base)/v1/sessions/\(echoID)").body.utf8))
        #expect(echoInfo.model.name == "stdio")
        #expect(echoInfo.model.bridge?.outputFormat == "pcm16/48000")
        #expect((echoInfo.model.bridge?.outputMessagesReceived ?? 0) >= 90)
        #expect(echoInfo.model.bridge?.errorsSent == 0)
        let parrotInfo = try JSONDecoder().decode(
            SessionInfo.self, from: Data(try await HTTPClient.request("GET", "\(base)/v1/sessions/\(parrotID)").body.utf8))
        #expect((parrotInfo.model.bridge?.responsesDone ?? 0) >= 1, "the parrot answered a turn")
        #expect((parrotInfo.model.bridge?.speechStoppedSent ?? 0) >= 1)
        // Frames from the parent the relay could not use are counted in the relay's metrics (none here).
        let metrics = try await HTTPClient.request("GET", "\(base)/metrics").body
        for reason in ["sidecar_unknown_session", "sidecar_bad_frame", "sidecar_relay_level"] {
            #expect(metrics.contains("earshot_drops_total{reason=\"\(reason)\"} 0"), "\(reason) in /metrics")
        }

        // The echo call hangs up (WHIP DELETE: its model gets `stop`); the parrot's call is live at SIGTERM.
        await echo.stop()
        process.terminate()
        let finished = try await run.waitForExit(seconds: 15)
        #expect(finished, "the example did not exit after SIGTERM: \(log().suffix(3000))")
        #expect(process.terminationStatus == 0, "\(log())")
        let text = log()
        #expect(text.contains("[session \(echoID)] the relay stops the session: client_hangup"), "\(text)")
        #expect(text.contains("[session \(parrotID)] the relay stops the session: relay_shutdown"), "\(text)")
        #expect(text.contains("the relay exited with status 0"), "\(text)")
        // The relay's close_notify left before it exited; a loaded machine may take a moment to deliver it.
        #expect(await parrot.waitUntilClosed(timeout: .seconds(10)))
        let report = await parrot.report()
        #expect(report.closeReason == "closed by the peer")
        await parrot.stop(deleteResource: false)
    }
}
