import Earshot
import Foundation

/// An in-process model written against Earshot's public API only: it greets each caller with a short two-note
/// chime, then repeats each thing the caller says once they pause (the relay's voice activity detector marks
/// the utterance), and goes quiet as soon as the caller talks over it (barge-in: `clear`).
struct VoiceActivityEcho: InProcessModel {
    /// The longest utterance kept (older audio is dropped), so memory stays bounded.
    static let maximumUtterance: Duration = .seconds(30)

    func serve(_ session: ModelSession) async throws {
        let rate = session.outputSampleRate
        var response: UInt64 = 0
        // The caller's recent audio by media time; an utterance is cut from it when speech stops.
        var recent: [(at: Duration, samples: [Int16])] = []
        var speechStart: Duration?
        var playing: Set<UInt64> = []
        for await input in session.inputs {
            switch input {
            case .connected:
                // The call is up: greet the caller (sent earlier, the chime would partly play to nobody).
                response += 1
                playing.insert(response)
                try await play(Self.chime(sampleRate: rate), response: response, on: session)
            case .audio(let frame):
                recent.append((frame.mediaTime, frame.samples))
                let keep = speechStart == nil ? Duration.seconds(1) : Self.maximumUtterance
                while let first = recent.first, let last = recent.last, last.at - first.at > keep {
                    recent.removeFirst()
                }
            case .speechStarted(let at):
                speechStart = at
                if !playing.isEmpty {
                    try await session.clear()  // the caller talks over us: stop at once
                    playing.removeAll()
                }
            case .speechStopped(let end):
                guard let start = speechStart else { continue }
                speechStart = nil
                let utterance = recent.filter { $0.at >= start && $0.at < end }.flatMap(\.samples)
                guard !utterance.isEmpty, session.start.inputAudioFormat.sampleRate == rate else { continue }
                response += 1
                playing.insert(response)
                try await play(utterance, response: response, on: session)
            case .played(let played):
                playing.remove(played.responseID)
            case .ended:
                return
            default:
                break
            }
        }
    }

    /// Sends `samples` as one response in 100 ms messages (the relay paces them out in real time), then a mark
    /// and the response's end.
    private func play(_ samples: [Int16], response: UInt64, on session: ModelSession) async throws {
        let chunk = session.outputSampleRate / 10
        var offset = 0
        while offset < samples.count {
            let end = min(offset + chunk, samples.count)
            try await session.send(Array(samples[offset..<end]), response: response)
            offset = end
        }
        try await session.mark("response-\(response)")
        try await session.responseDone(response)
    }

    /// Two notes (E5, then A5), 150 ms each with 10 ms fades, at a comfortable level.
    static func chime(sampleRate: Int) -> [Int16] {
        var samples: [Int16] = []
        for frequency in [659.25, 880.0] {
            let count = sampleRate * 150 / 1000
            let fade = sampleRate / 100
            for n in 0..<count {
                let envelope = min(1, Double(min(n, count - 1 - n)) / Double(fade))
                let value = 6000 * envelope * sin(2 * Double.pi * frequency * Double(n) / Double(sampleRate))
                samples.append(Int16(value))
            }
        }
        return samples
    }
}
