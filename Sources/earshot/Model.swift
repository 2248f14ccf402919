import ArgumentParser
import EarshotModelProtocol
import EarshotReferenceModels

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `earshot model NAME`: a built-in model as a process speaking the model protocol on stdin/stdout, for
/// `earshot serve --model exec:'earshot model parrot'` (one process per session). Exits 0 at the end of stdin or
/// after `stop`, 1 after a fatal framing error.
struct Model: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a built-in model (echo or parrot) on stdin/stdout with the model protocol's stdio framing.")

    @Argument(help: "echo or parrot.")
    var name: String

    func run() throws {
        guard let model = ReferenceModelName(rawValue: name)?.makeModel() else {
            throw ValidationError("unknown model '\(name)': echo or parrot")
        }
        var decoder = StdioFrameDecoder()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var answers: [ModelMessage] = []
        while true {
            let count = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return }
            decoder.append(buffer[..<count])
            while true {
                let message: ModelMessage
                do throws(ModelProtocolError) {
                    guard let next = try decoder.next() else { break }
                    message = next
                } catch {
                    log("earshot model \(name): \(error)")
                    if error.isFatal { throw ExitCode(1) }
                    continue
                }
                if case .control(.stop) = message { return }
                model.receive(message, into: &answers)
                for answer in answers {
                    guard let frame = try? StdioFrameEncoder.encode(answer) else { continue }
                    guard writeAll(frame) else { return }
                    if case .control(.stop) = answer { return }
                }
                answers.removeAll(keepingCapacity: true)
            }
        }
    }

    private func writeAll(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(1, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }

    private func log(_ line: String) {
        let text = Array((line + "\n").utf8)
        _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}
