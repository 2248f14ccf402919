public import EarshotModelProtocol

/// Sends every input frame straight back as output audio, one endless response (id 1), at the input's rate.
/// The protocol form of the relay's built-in echo: used to measure what the bridge and a transport add.
public final class EchoModel: ReferenceModel {
    private var sequence: UInt32 = 0
    private var ready = false

    public init() {}

    public func receive(_ message: ModelMessage, into output: inout [ModelMessage]) {
        switch message {
        case .control(.sessionStart(let start)):
            // Echoing needs output at the input's rate, else it would play at the wrong speed.
            guard start.outputAudioFormats.contains("pcm16/\(start.inputAudioFormat.sampleRate)") else {
                output.append(.control(.error(code: .unsupportedFormat, message: "echo needs output at the input's rate")))
                output.append(.control(.stop(reason: "unsupported format")))
                return
            }
            ready = readyAnswer(to: start, into: &output) != nil
        case .audio(let audio) where ready && audio.header.type == .input:
            output.append(.audio(ModelAudioMessage(
                header: .output(sequence: sequence, responseID: 1), payload: audio.payload)))
            sequence &+= 1
        default:
            break
        }
    }
}
