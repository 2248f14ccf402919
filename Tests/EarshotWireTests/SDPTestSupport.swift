import EarshotWire
import Foundation
import Testing

/// Fixture access and shared values for the SDP tests.
enum SDPFixtures {
    /// The package root: the first directory above this file that holds Package.swift.
    static let packageRoot: URL = {
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while directory.path != "/" {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
                return directory
            }
            directory = directory.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    }()

    static let directory = packageRoot.appendingPathComponent("Fixtures/sdp")

    /// Every capture in Fixtures/sdp (see Fixtures/README.md for how each was made).
    static let captureNames = [
        "chromium-audio", "chromium-audio-nocandidates", "chromium-gum", "chromium-sendonly", "chromium-two-audio",
        "chromium-bundle", "firefox-audio", "firefox-gum-loopback", "firefox-bundle", "gstreamer-audio",
    ]

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent("\(name).sdp")))
    }

    static func text(_ name: String) throws -> String {
        String(decoding: try bytes(name), as: UTF8.self)
    }

    static func parse(_ name: String) throws -> SessionDescription {
        try SessionDescription(parsing: try bytes(name))
    }

    /// A fingerprint for our side: SHA-256 of nothing in particular, 32 bytes 0x00...0x1F.
    static let localFingerprint = SDPFingerprint(algorithm: .sha256, digest: (0..<32).map { UInt8($0) })

    static func answerParameters(policy: SDPAudioPolicy = SDPAudioPolicy(),
                                 candidates: [ICECandidate]? = nil) -> SDPAnswerParameters {
        SDPAnswerParameters(
            iceUfrag: "EaRs", icePwd: "earshotPasswordEarshot0", fingerprint: localFingerprint,
            candidates: candidates ?? [ICECandidate.host(foundation: "1", address: .ipv4Loopback, port: 50000)],
            sessionID: 4_611_686_018_427_387_904, sessionVersion: 2, policy: policy, ssrc: 0x1234_5678,
            cname: "earshot", mediaStreamID: SDPMediaStreamID(streamID: "earshot", trackID: "relay-audio"))
    }
}

extension SessionDescription {
    /// parse(serialized()) must equal self.
    func reparsed() throws -> SessionDescription {
        try SessionDescription(parsing: serialized())
    }
}
