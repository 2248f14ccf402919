import EarshotWire
import Foundation
import Testing

/// The answers we build must be accepted by the peer that made the offer: `setRemoteDescription(answer)` succeeds
/// in headless Chromium, headless Firefox ESR and GStreamer webrtcbin, for fresh offers of several shapes, and a
/// deliberately broken answer is refused (so the check can fail).
///
/// Each test starts Tests/Interop/sdp_accept_driver.py, which runs the peer in a network namespace with only `lo`
/// (root and `unshare` needed) and speaks one JSON object per line: it prints an offer, we parse it, build the answer
/// with our code and write it back, it prints whether the peer accepted it. Every wait is bounded; the driver bounds
/// its own run too and kills the browser's process group when it ends, whatever the way.
///
/// The peers are Debian packages (chromium, firefox-esr, gstreamer1.0-plugins-bad, gstreamer1.0-nice, python3-gi,
/// gir1.2-gst-plugins-bad-1.0, gir1.2-nice-0.1) that Tests/run-all.sh installs: a missing one fails the test with
/// the package name, it is not skipped.
@Suite(.serialized)
struct SDPBrowserAcceptanceTests {
    /// (scenario, gather candidates first, policy) rounds; see webrtc_peers.py for the scenarios.
    struct Round {
        var scenario: String
        var gather = true
        var policy = SDPAudioPolicy()
    }

    @Test(.timeLimit(.minutes(1)))
    func chromiumAcceptsOurAnswers() throws {
        try requireExecutable("/usr/bin/chromium", package: "chromium")
        var red = SDPAudioPolicy()
        red.acceptsRED = true
        try exercise(peer: "chromium", rounds: [
            Round(scenario: "audio"),
            Round(scenario: "audio", gather: false),
            Round(scenario: "audio-sendonly"),
            Round(scenario: "audio-recvonly"),
            Round(scenario: "two-audio"),
            Round(scenario: "bundle"),
            Round(scenario: "gum", policy: red),
        ])
    }

    @Test(.timeLimit(.minutes(1)))
    func firefoxAcceptsOurAnswers() throws {
        try requireExecutable("/usr/bin/firefox-esr", package: "firefox-esr")
        try exercise(peer: "firefox", rounds: [
            Round(scenario: "audio"),
            Round(scenario: "audio-sendonly"),
            Round(scenario: "two-audio"),
            Round(scenario: "bundle"),
        ])
    }

    @Test(.timeLimit(.minutes(1)))
    func gstreamerAcceptsOurAnswers() throws {
        // The driver names any missing GStreamer package (python3-gi, gir1.2-gst-plugins-bad-1.0, plugins) itself.
        try requireExecutable("/usr/bin/python3", package: "python3")
        try exercise(peer: "gstreamer", rounds: [Round(scenario: "audio"), Round(scenario: "audio", gather: false)])
    }

    // MARK: Driving

    func requireExecutable(_ path: String, package: String) throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"),
                     "/usr/bin/python3 is missing: install the Debian package python3")
        try #require(FileManager.default.isExecutableFile(atPath: path),
                     "\(path) is missing: install the Debian package \(package) (Tests/run-all.sh does)")
    }

    func exercise(peer: String, rounds: [Round]) throws {
        let driver = try InteropDriver(peer: peer)
        defer { driver.stop() }
        let ready = try driver.receive(timeout: 30)
        try #require(ready["event"] as? String == "ready", "\(peer) driver did not start: \(ready)\n\(driver.stderrTail)")

        for (index, round) in rounds.enumerated() {
            let offerText = try driver.offer(scenario: round.scenario, gather: round.gather)
            let offer = try SessionDescription(parsing: offerText)
            var parameters = SDPFixtures.answerParameters(policy: round.policy)
            parameters.sessionVersion = UInt64(index + 1)
            let answer = try SDPAnswer(offer: offer, parameters: parameters)
            if !round.gather { #expect(offer.media[0].candidates.isEmpty, "\(peer) \(round.scenario)") }
            let (ok, error) = try driver.apply(answer: answer.serialized())
            let explanation = "\(peer) refused our answer to its '\(round.scenario)' offer: \(error)\n--- offer\n"
                + "\(offerText)--- answer\n\(answer.serialized())"
            #expect(ok, Comment(rawValue: explanation))
        }

        // A broken answer (no DTLS fingerprint) must be refused, proving the check can fail.
        let offer = try SessionDescription(parsing: try driver.offer(scenario: "audio", gather: true))
        var broken = try SDPAnswer(offer: offer, parameters: SDPFixtures.answerParameters()).sessionDescription
        broken.media[0].attributes.removeAll { if case .fingerprint = $0 { return true } else { return false } }
        let (ok, error) = try driver.apply(answer: broken.serialized())
        #expect(!ok, "\(peer) accepted an answer without a=fingerprint")
        // Chromium: "...Called with SDP without DTLS fingerprint."; Firefox: "Invalid description, no fingerprint
        // attribute at level 0"; webrtcbin: "No fingerprint lines in sdp for media 0".
        #expect(error.lowercased().contains("fingerprint"), "\(peer) refused the broken answer for another reason: \(error)")
        driver.quit()
    }
}

/// One run of Tests/Interop/sdp_accept_driver.py with pipes on stdin/stdout/stderr. Reads happen on background
/// threads; `receive` waits for the next stdout line with a deadline.
final class InteropDriver: @unchecked Sendable {
    enum Failure: Error, CustomStringConvertible {
        case timeout(String)
        case ended(String)
        case unexpected(String)

        var description: String {
            switch self {
            case .timeout(let text): return "timed out: \(text)"
            case .ended(let text): return "driver ended: \(text)"
            case .unexpected(let text): return "unexpected driver message: \(text)"
            }
        }
    }

    let peer: String
    let process = Process()
    let input = Pipe()
    let output = Pipe()
    let errors = Pipe()
    let condition = NSCondition()
    // Guarded by `condition`.
    var lines: [String] = []
    var pending: [UInt8] = []
    var outputEnded = false
    var stderrBytes: [UInt8] = []
    var exited = false

    init(peer: String) throws {
        self.peer = peer
        let script = SDPFixtures.packageRoot.appendingPathComponent("Tests/Interop/sdp_accept_driver.py").path
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        // The driver gives up after 50 s by itself; the per-message timeouts below are shorter.
        process.arguments = [script, "--peer", peer, "--timeout", "50"]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        process.terminationHandler = { [self] _ in
            condition.lock()
            exited = true
            condition.broadcast()
            condition.unlock()
        }
        try process.run()
        let out = output.fileHandleForReading
        let err = errors.fileHandleForReading
        Thread.detachNewThread { [self] in
            while true {
                let data = out.availableData
                condition.lock()
                if data.isEmpty {
                    outputEnded = true
                    condition.broadcast()
                    condition.unlock()
                    return
                }
                pending += data
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    lines.append(String(decoding: pending[..<newline], as: UTF8.self))
                    pending.removeSubrange(...newline)
                }
                condition.broadcast()
                condition.unlock()
            }
        }
        Thread.detachNewThread { [self] in
            while true {
                let data = err.availableData
                if data.isEmpty { return }
                condition.lock()
                stderrBytes += data
                // Keep the last 8 kB for diagnostics (GStreamer warnings can be chatty).
                if stderrBytes.count > 8192 { stderrBytes.removeFirst(stderrBytes.count - 8192) }
                condition.unlock()
            }
        }
    }

    var stderrTail: String {
        condition.lock()
        defer { condition.unlock() }
        return String(decoding: stderrBytes, as: UTF8.self)
    }

    /// The next JSON object the driver prints; throws if none arrives within `timeout` seconds.
    func receive(timeout: TimeInterval) throws -> [String: Any] {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        while lines.isEmpty, !outputEnded {
            if !condition.wait(until: deadline) { break }
        }
        let line = lines.isEmpty ? nil : lines.removeFirst()
        let ended = outputEnded
        condition.unlock()
        guard let line else {
            let context = "\(peer) after \(timeout) s; stderr:\n\(stderrTail)"
            throw ended ? Failure.ended(context) : Failure.timeout(context)
        }
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw Failure.unexpected(line)
        }
        if object["event"] as? String == "error" {
            throw Failure.unexpected("\(peer): \(object["error"] ?? "?")\nstderr:\n\(stderrTail)")
        }
        return object
    }

    func send(_ object: [String: Any]) throws {
        var data = try JSONSerialization.data(withJSONObject: object)
        data.append(UInt8(ascii: "\n"))
        try input.fileHandleForWriting.write(contentsOf: data)
    }

    func offer(scenario: String, gather: Bool) throws -> String {
        try send(["op": "offer", "scenario": scenario, "gather": gather])
        let message = try receive(timeout: 20)
        guard message["event"] as? String == "offer", let sdp = message["sdp"] as? String else {
            throw Failure.unexpected("\(message)")
        }
        return sdp
    }

    func apply(answer: String) throws -> (ok: Bool, error: String) {
        try send(["op": "answer", "sdp": answer])
        let message = try receive(timeout: 15)
        guard message["event"] as? String == "result", let ok = message["ok"] as? Bool else {
            throw Failure.unexpected("\(message)")
        }
        return (ok, message["error"] as? String ?? "")
    }

    func quit() {
        try? send(["op": "quit"])
    }

    /// Closes stdin (the driver quits on end of input), waits up to 10 s, then SIGTERM (the driver kills the
    /// browser's process group on SIGTERM), then SIGKILL (the browser also dies with the driver: PR_SET_PDEATHSIG).
    func stop() {
        try? input.fileHandleForWriting.close()
        if waitForExit(seconds: 10) { return }
        process.terminate()
        if waitForExit(seconds: 5) { return }
        kill(process.processIdentifier, SIGKILL)
        _ = waitForExit(seconds: 5)
    }

    private func waitForExit(seconds: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        condition.lock()
        defer { condition.unlock() }
        while !exited {
            if !condition.wait(until: deadline) { break }
        }
        return exited
    }
}
