public import EarshotModelProtocol

/// Records each utterance between the relay's `speech_started` and `speech_stopped` and plays it back as one
/// response (100 ms messages at once, then a mark and `response.done`); when the caller talks over a response
/// whose `played` report has not come yet, it sends `clear` (barge-in). The demo of turn-taking, and the model the
/// barge-in measurement uses. The same behaviour as the Python reference model's parrot.
public final class ParrotModel: ReferenceModel {
    /// Output message size.
    public static let chunkMilliseconds = 100
    /// Input kept while not recording: the VAD reports speech after it began (prefix padding).
    public static let historyMilliseconds = 2000
    /// An utterance keeps its last minute (bounds memory).
    public static let maximumUtteranceMilliseconds = 60_000
    /// Skipped input (a media-time jump) is played as silence, up to this much per gap.
    public static let maximumGapMilliseconds = 1000

    private var rate = 0
    private var frames: [(mediaTime: Int, samples: [Int16])] = []
    private var firstFrame = 0
    private var buffered = 0
    /// Media time (samples) where the current utterance began; nil when not recording.
    private var startSample: Int?
    private var responseID: UInt64 = 0
    private var sequence: UInt32 = 0
    /// Responses sent whose `played` has not come yet.
    public private(set) var unplayed: Set<UInt64> = []
    public private(set) var responsesSent = 0
    public private(set) var clearsSent = 0

    public init() {}

    private func samples(_ milliseconds: Int) -> Int { milliseconds * rate / 1000 }

    public func receive(_ message: ModelMessage, into output: inout [ModelMessage]) {
        switch message {
        case .control(.sessionStart(let start)):
            rate = readyAnswer(to: start, into: &output) ?? 0
        case .audio(let audio) where rate > 0 && audio.header.type == .input:
            guard let pcm = try? audio.pcm16Samples(), !pcm.isEmpty else { return }
            record(pcm, at: Int(clamping: audio.header.mediaTime))
        case .control(.speechStarted(let startMs)) where rate > 0:
            if !unplayed.isEmpty {
                output.append(.control(.clear))
                clearsSent += 1
                unplayed.removeAll()
            }
            startSample = samples(startMs)
        case .control(.speechStopped(let endMs)) where rate > 0:
            guard let start = startSample else { return }
            startSample = nil
            play(cut(from: start, to: samples(endMs)), into: &output)
        case .control(.played(let played)):
            unplayed.remove(played.responseID)
        default:
            break
        }
    }

    private func record(_ pcm: [Int16], at mediaTime: Int) {
        frames.append((mediaTime, pcm))
        buffered += pcm.count
        let keep = samples(startSample == nil ? Self.historyMilliseconds : Self.maximumUtteranceMilliseconds)
        while firstFrame < frames.count - 1, buffered - frames[firstFrame].samples.count >= keep {
            buffered -= frames[firstFrame].samples.count
            firstFrame += 1
        }
        if firstFrame >= 256, firstFrame * 2 >= frames.count {
            frames.removeFirst(firstFrame)
            firstFrame = 0
        }
    }

    /// The input between media times `start` and `end` (samples), gaps filled with silence.
    private func cut(from start: Int, to end: Int) -> [Int16] {
        var out: [Int16] = []
        var position: Int?
        for (mediaTime, pcm) in frames[firstFrame...] {
            let low = max(mediaTime, position ?? start)
            let high = min(end, mediaTime + pcm.count)
            guard low < high else { continue }
            if let position, low > position {
                out.append(contentsOf: repeatElement(0, count: min(low - position, samples(Self.maximumGapMilliseconds))))
            }
            out.append(contentsOf: pcm[(low - mediaTime)..<(high - mediaTime)])
            position = high
        }
        return out
    }

    private func play(_ pcm: [Int16], into output: inout [ModelMessage]) {
        guard !pcm.isEmpty else { return }
        responseID += 1
        responsesSent += 1
        unplayed.insert(responseID)
        let chunk = samples(Self.chunkMilliseconds)
        var offset = 0
        while offset < pcm.count {
            let end = min(offset + chunk, pcm.count)
            output.append(.audio(ModelAudioMessage(
                header: .output(sequence: sequence, responseID: responseID), samples: Array(pcm[offset..<end]))))
            sequence &+= 1
            offset = end
        }
        output.append(.control(.mark(name: "response-\(responseID)-end")))
        output.append(.control(.responseDone(responseID: responseID)))
    }
}
