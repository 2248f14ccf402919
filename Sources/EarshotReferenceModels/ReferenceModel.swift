public import EarshotModelProtocol

/// A model that speaks the model protocol as values: the relay's messages in, the model's messages out. The
/// built-in models run in the relay's process through the same `ModelBridge` as a model over a transport, so what
/// they show (turn-taking, barge-in, `played`) is what any model gets. Sans-IO: no clock; time is the media time in
/// the messages.
public protocol ReferenceModel: AnyObject {
    /// Takes one message from the relay and appends the model's answers to `output`, in order.
    func receive(_ message: ModelMessage, into output: inout [ModelMessage])
}

extension ReferenceModel {
    /// Takes one message from the relay; returns the model's answers.
    public func receive(_ message: ModelMessage) -> [ModelMessage] {
        var output: [ModelMessage] = []
        receive(message, into: &output)
        return output
    }
}

/// The built-in models by name (`earshot serve --model NAME`, `earshot model NAME`).
public enum ReferenceModelName: String, CaseIterable, Sendable {
    case echo
    case parrot

    public func makeModel() -> any ReferenceModel {
        switch self {
        case .echo: EchoModel()
        case .parrot: ParrotModel()
        }
    }
}

/// The answer to `session.start` both models give: PCM16 at the input's rate if offered, else the highest offered
/// PCM16 rate; nil (with `error` and `stop` appended) when the input is not PCM16 or no PCM16 output is offered.
func readyAnswer(to start: ModelControlMessage.SessionStart, into output: inout [ModelMessage]) -> Int? {
    let input = start.inputAudioFormat
    guard input.encoding == "pcm16", input.channels == 1, let rate = start.preferredPCM16OutputRate else {
        output.append(.control(.error(code: .unsupportedFormat, message: "this model takes PCM16 mono input and output")))
        output.append(.control(.stop(reason: "unsupported format")))
        return nil
    }
    output.append(.control(.sessionReady(.init(outputAudioFormat: .init(encoding: "pcm16", sampleRate: rate)))))
    return rate
}
