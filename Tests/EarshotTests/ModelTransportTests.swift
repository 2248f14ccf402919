import EarshotModelProtocol
import EarshotNIO
import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing

/// The two model transports against the reference model (Docs/examples/earshot_model.py, Debian's python3, the
/// standard library only) as a real peer: `exec:` over its stdin/stdout, and WebSocket to its `--listen` server on
/// a loopback port. Messages are built by hand here (JSON text, the 24-byte audio header): the transport does not
/// look inside them.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct ModelTransportTests {
    static let model = PackagePaths.root.appendingPathComponent("Docs/examples/earshot_model.py").path
    static let sessionStart = #"{"type":"session.start","protocol":"earshot-model/1","session_id":"t1","input_audio_format":{"encoding":"pcm16","sample_rate":16000,"channels":1,"frame_ms":20},"output_audio_formats":["pcm16/16000"]}"#

    /// Input audio (type 1), sequence `n`: the 24-byte header, then 320 samples of PCM16LE that encode `n`.
    static func audio(_ n: UInt32) -> [UInt8] {
        var bytes: [UInt8] = [1, 0, 0, 0]
        bytes += withUnsafeBytes(of: n.bigEndian, Array.init)
        bytes += withUnsafeBytes(of: UInt64(n * 320).bigEndian, Array.init)
        bytes += withUnsafeBytes(of: UInt64(n * 20_000).bigEndian, Array.init)
        bytes += (0..<320).flatMap { i in withUnsafeBytes(of: Int16(truncatingIfNeeded: Int(n) * 7 + i).littleEndian, Array.init) }
        return bytes
    }

    /// Collects a transport's events on its loop; waits for them with a deadline.
    final class Recorder: @unchecked Sendable {
        private let lock = NSLock()
        private var events: [ModelTransportEvent] = []

        func record(_ event: ModelTransportEvent) { lock.withLock { events.append(event) } }
        var all: [ModelTransportEvent] { lock.withLock { events } }

        var messages: [ModelTransportMessage] {
            var messages: [ModelTransportMessage] = []
            for event in all {
                if case .message(let message) = event { messages.append(message) }
            }
            return messages
        }
        var end: ModelTransportEnd? {
            all.lazy.compactMap { if case .ended(let e) = $0 { e } else { nil } }.first
        }

        func wait(timeout: Duration = .seconds(10), until condition: () -> Bool) async -> Bool {
            let clock = ContinuousClock()
            let deadline = clock.now + timeout
            while !condition() {
                guard clock.now < deadline else { return false }
                try? await Task.sleep(for: .milliseconds(5))
            }
            return true
        }
    }

    /// One session with the echo model: session.start → session.ready, 50 audio frames → the same 50 payloads
    /// back, stop → the model ends the transport cleanly.
    func echoSession(_ transport: ModelTransport, _ recorder: Recorder, loop: any EventLoop) async throws {
        try await loop.submit { transport.send(.text(Array(Self.sessionStart.utf8))) }.get()
        let ready = await recorder.wait { !recorder.messages.isEmpty }
        try #require(ready, "no answer to session.start; end: \(String(describing: recorder.end))")
        guard case .text(let first) = recorder.messages[0] else {
            Issue.record("the first answer is not JSON")
            return
        }
        let json = try #require(try JSONSerialization.jsonObject(with: Data(first)) as? [String: Any])
        #expect(json["type"] as? String == "session.ready")
        for n in 0..<50 as Range<UInt32> {
            let sent = try await loop.submit { transport.send(.binary(Self.audio(n))) }.get()
            #expect(sent)
        }
        let echoed = await recorder.wait { recorder.messages.count >= 51 }
        #expect(echoed, "\(recorder.messages.count - 1) of 50 frames came back")
        let audio = recorder.messages.dropFirst().compactMap { if case .binary(let b) = $0 { b } else { nil } }
        #expect(audio.count == 50)
        for (n, message) in audio.enumerated() {
            // Output audio: type 2, the echo's own sequence, the same payload.
            #expect(message.first == 2)
            #expect(Array(message.dropFirst(24)) == Array(Self.audio(UInt32(n)).dropFirst(24)))
        }
        try await loop.submit { transport.send(.text(Array(#"{"type":"stop","reason":"test over"}"#.utf8))) }.get()
        let ended = await recorder.wait { recorder.end != nil }
        #expect(ended)
        if case .closedByModel = recorder.end {} else { Issue.record("ended with \(String(describing: recorder.end))") }
        let stats = try await loop.submit { transport.statistics }.get()
        #expect(stats.messagesSent == 52 && stats.messagesReceived >= 51 && stats.messagesDropped == 0)
    }

    @Test("exec: the reference model on stdin/stdout")
    func execEcho() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let recorder = Recorder()
        let transport = try await loop.submit {
            NIOLoopBound(ModelTransport.launch(
                command: "/usr/bin/python3 \(Self.model) --stdio --model echo", eventLoop: loop,
                logger: Logger(label: "model-test"), onEvent: recorder.record), eventLoop: loop)
        }.get()
        try await echoSession(try await loop.submit { transport.value }.get(), recorder, loop: loop)
    }

    @Test("WebSocket: the relay dials the reference model's server on loopback")
    func webSocketEcho() async throws {
        let (server, port) = try Self.startWebSocketModel()
        defer { Self.stop(server) }
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let recorder = Recorder()
        let address = try #require(ModelTransport.WebSocketAddress(url: "ws://127.0.0.1:\(port)/echo"))
        let transport = try await loop.submit {
            NIOLoopBound(ModelTransport.connect(to: address, eventLoop: loop, onEvent: recorder.record), eventLoop: loop)
        }.get()
        // Sends before the handshake completes are refused: wait until the transport is up.
        let up = await recorder.wait {
            (try? loop.submit { transport.value.send(.text(Array(Self.sessionStart.utf8))) }.wait()) == true
                || recorder.end != nil
        }
        try #require(up && recorder.end == nil, "\(String(describing: recorder.end))")
        // session.start already went out in the probe above; run the rest of the session.
        let ready = await recorder.wait { !recorder.messages.isEmpty }
        try #require(ready)
        for n in 0..<50 as Range<UInt32> {
            _ = try await loop.submit { transport.value.send(.binary(Self.audio(n))) }.get()
        }
        let echoed = await recorder.wait { recorder.messages.count >= 51 }
        #expect(echoed, "\(recorder.messages.count - 1) of 50 frames came back")
        try await loop.submit { transport.value.close() }.get()
    }

    @Test("a refused connection, a refused WebSocket path and a bad URL are clear errors")
    func connectFailures() async throws {
        #expect(ModelTransport.WebSocketAddress(url: "http://x") == nil)
        #expect(ModelTransport.WebSocketAddress(url: "ws://[::1]:9000/m")?.port == 9000)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        // A port nobody listens on (bound, then closed).
        let closedPort = try Self.unusedPort()
        let refused = Recorder()
        _ = try await loop.submit {
            ModelTransport.connect(to: .init(url: "ws://127.0.0.1:\(closedPort)/echo")!, eventLoop: loop,
                                   onEvent: refused.record)
            return 0
        }.get()
        #expect(await refused.wait { refused.end != nil })
        if case .couldNotConnect = refused.end {} else { Issue.record("\(String(describing: refused.end))") }

        let (server, port) = try Self.startWebSocketModel()
        defer { Self.stop(server) }
        let notFound = Recorder()
        _ = try await loop.submit {
            ModelTransport.connect(to: .init(url: "ws://127.0.0.1:\(port)/no-such-model")!, eventLoop: loop,
                                   onEvent: notFound.record)
            return 0
        }.get()
        #expect(await notFound.wait { notFound.end != nil })
        guard case .couldNotConnect(let why) = notFound.end else {
            Issue.record("\(String(describing: notFound.end))")
            return
        }
        #expect(why.contains("404"))
    }

    @Test("exec: a crash and a missing program end the transport with the reason")
    func execFailures() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        for (command, expected) in [
            ("exit 3", "exited with status 3"),
            ("/nonexistent/model", "exited with status 127"),
        ] {
            let recorder = Recorder()
            _ = try await loop.submit {
                ModelTransport.launch(command: command, eventLoop: loop, logger: Logger(label: "model-test"),
                                      onEvent: recorder.record)
                return 0
            }.get()
            #expect(await recorder.wait { recorder.end != nil }, "\(command)")
            #expect(recorder.end?.description.contains(expected) == true,
                    "\(command): \(String(describing: recorder.end))")
        }
    }

    @Test("exec: framing errors on stdout are reported; a bad frame is skipped, an oversized length stops reading")
    func execFramingErrors() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        // A frame of length 0, a frame of kind 9 (skipped), a good control frame, then text a stray print() wrote.
        let command = #"printf '\000\000\000\000\000\000\000\002\011x\000\000\000\021\001{"type":"clear"}not a frame at all'; sleep 5"#
        let recorder = Recorder()
        let transport = try await loop.submit {
            NIOLoopBound(
                ModelTransport.launch(command: command, eventLoop: loop, logger: Logger(label: "model-test"),
                                      onEvent: recorder.record), eventLoop: loop)
        }.get()
        let invalid: () -> [ModelProtocolError] = {
            recorder.all.compactMap { if case .invalidFrame(let e) = $0 { e } else { nil } }
        }
        #expect(await recorder.wait { invalid().count >= 3 }, "\(recorder.all)")
        #expect(invalid().map(\.code.rawValue) == ["bad_frame", "bad_frame", "frame_too_large"])
        #expect(recorder.messages == [.text(Array(#"{"type":"clear"}"#.utf8))])
        #expect(recorder.end == nil)
        try await loop.submit { transport.value.close() }.get()
    }

    // MARK: Helpers

    /// SIGTERM, then up to 5 s for the process to go, then SIGKILL. (`Process.waitUntilExit` can spin forever off
    /// the main thread on Linux, so the wait is ours.)
    static func stop(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        for _ in 0..<500 where process.isRunning { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    static func unusedPort() throws -> Int {
        let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).wait()
        let port = channel.localAddress?.port ?? 0
        try channel.close().wait()
        return port
    }

    /// Starts the reference model's WebSocket server on a free loopback port and reads the port from its log.
    static func startWebSocketModel(script: String = model, arguments: [String] = []) throws -> (Process, Int) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [script, "--listen", "127.0.0.1:0"] + arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var log = ""
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let data = errors.fileHandleForReading.availableData
            if data.isEmpty { break }
            log += String(decoding: data, as: UTF8.self)
            // "listening on ws://127.0.0.1:PORT/" or "wss://…" (found by hand: Foundation's regular expressions
            // have been seen to hang on the wss line).
            if let marker = log.range(of: "://127.0.0.1:") {
                let digits = log[marker.upperBound...].prefix { $0.isNumber }
                if log[marker.upperBound...].dropFirst(digits.count).first == "/", let port = Int(digits) {
                    return (process, port)
                }
            }
        }
        process.terminate()
        throw ModelStartError(log: log)
    }

    struct ModelStartError: Error, CustomStringConvertible {
        var log: String
        var description: String { "the reference model did not report its port:\n\(log)" }
    }
}
