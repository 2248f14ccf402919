internal import EarshotWire

// Properties the model protocol's readers must keep on arbitrary input. The fuzz target FuzzModelProtocol (in
// Tests/Fuzz) runs `check` on each input libFuzzer produces; the unit tests replay the seeds and every crasher kept
// under Tests/Fuzz/Crashers/FuzzModelProtocol.

/// Property checks over the model protocol's parsers and the stdio frame decoder.
///
/// A check returns normally when the input is handled correctly, whether it is accepted or rejected with a
/// ``ModelProtocolError``, and throws ``Violation`` when a property fails. A reader that traps crashes the caller,
/// which is what a fuzzer reports.
public enum ModelProtocolFuzzChecks {
    /// A property that did not hold, with what was expected and what was found.
    public struct Violation: Error, Hashable, Sendable, CustomStringConvertible {
        public var description: String

        public init(_ description: String) {
            self.description = description
        }
    }

    /// What one call of `StdioFrameDecoder.next()` gave.
    enum Outcome: Hashable {
        case message(ModelMessage)
        case error(ModelProtocolError)
    }

    @inline(__always)
    static func require(_ condition: Bool, _ message: @autoclosure () -> String) throws(Violation) {
        if !condition { throw Violation(message()) }
    }

    /// Every check below on the same bytes: as JSON text, as an audio message, as a stdio stream and as the
    /// sidecar's multiplexed stream.
    public static func check(_ bytes: UnsafeRawBufferPointer) throws(Violation) {
        try json(bytes)
        try audio(bytes)
        try stdio(bytes)
        try multiplexedStdio(bytes)
    }

    // MARK: JSON and control messages

    /// `JSONValue(parsing:)` and `ModelControlMessage(json:)` agree: the control parser fails with the JSON
    /// parser's error on text that is not JSON, with `notAnObject` on JSON that is not an object, and otherwise
    /// reads the same object `ModelControlMessage(object:)` does; its errors are only the ones a control message
    /// can have. An accepted value or message serializes to text that parses back to it, and serializing again
    /// gives the same text.
    public static func json(_ bytes: UnsafeRawBufferPointer) throws(Violation) {
        let value = Result { () throws(ModelProtocolError) in try JSONValue(parsing: bytes) }
        let control = Result { () throws(ModelProtocolError) in try ModelControlMessage(json: bytes) }

        if bytes.count > ModelMessage.maximumBodyLength {
            try require(control == .failure(.frameTooLarge(bytes.count)), "an oversized control message gave \(control)")
        } else {
            switch value {
            case .failure(let error):
                guard case .badJSON(let offset) = error else { throw Violation("JSONValue failed with \(error)") }
                try require(offset >= 0 && offset <= bytes.count, "badJSON offset \(offset) outside the input")
                try require(control == .failure(error), "JSONValue failed with \(error), the control parser \(control)")
            case .success(let parsed):
                if case .object(let members) = parsed {
                    let fromObject = Result { () throws(ModelProtocolError) in
                        try ModelControlMessage(object: members)
                    }
                    try require(control == fromObject, "init(json:) gave \(control), init(object:) \(fromObject)")
                } else {
                    try require(control == .failure(.notAnObject), "a JSON \(parsed) gave \(control)")
                }
            }
        }

        if case .success(let parsed) = value {
            let text = parsed.serialized()
            let reparsed = Result { () throws(ModelProtocolError) in try JSONValue(parsing: text) }
            try require(reparsed == .success(parsed), "JSON round trip gave \(reparsed) for \(parsed)")
            try require((try? JSONValue(parsing: text).serialized()) == text, "JSON serialization is not a fixed point")
        }

        switch control {
        case .success(let message):
            let text = message.encode()
            let reparsed = Result { () throws(ModelProtocolError) in try ModelControlMessage(json: text) }
            try require(reparsed == .success(message),
                        "control round trip gave \(reparsed) for \(message) (text \(String(decoding: text, as: UTF8.self)))")
            try require((try? ModelControlMessage(json: text).encode()) == text,
                        "control message encoding is not a fixed point")
            try require(message.type == (try? JSONValue(parsing: text)).flatMap(typeMember),
                        "the encoded type is not \(message.type)")
        case .failure(let error):
            switch error {
            case .badJSON, .notAnObject, .missingField, .wrongFieldType, .badFieldValue, .unknownType, .frameTooLarge:
                break
            case .badAudioHeader, .badPCMLength, .emptyFrame, .badFrameKind, .truncatedFrame, .badSessionID:
                throw Violation("a control message failed with \(error)")
            }
        }
    }

    private static func typeMember(_ value: JSONValue) -> String? {
        guard case .object(let members) = value, case .string(let type)? = members["type"] else { return nil }
        return type
    }

    // MARK: Audio messages

    /// `ModelAudioHeader(parsing:)` and `ModelAudioMessage(parsing:)` agree; an accepted header serializes to the
    /// input's first 24 bytes and an accepted message to the whole input; flags are only those defined for the
    /// type; PCM16 reading fails exactly on odd payloads, and rebuilding from the samples gives the same message.
    public static func audio(_ bytes: UnsafeRawBufferPointer) throws(Violation) {
        let header = Result { () throws(ModelProtocolError) in try ModelAudioHeader(parsing: bytes) }
        let message = Result { () throws(ModelProtocolError) in try ModelAudioMessage(parsing: bytes) }
        if bytes.count > ModelMessage.maximumBodyLength {
            try require(message == .failure(.frameTooLarge(bytes.count)), "an oversized audio message gave \(message)")
            return
        }
        switch (header, message) {
        case (.failure(let headerError), .failure(let messageError)):
            try require(headerError == messageError, "header failed with \(headerError), message with \(messageError)")
            guard case .badAudioHeader = headerError else { throw Violation("header failed with \(headerError)") }
            if bytes.count < ModelAudioHeader.size {
                try require(headerError == .badAudioHeader(.truncated(bytes.count)), "short input gave \(headerError)")
            }
        case (.success(let parsedHeader), .success(let parsed)):
            try require(parsed.header == parsedHeader, "header \(parsedHeader) but message header \(parsed.header)")
            try require(parsedHeader.serialized().elementsEqual(bytes.prefix(ModelAudioHeader.size)),
                        "the header does not serialize to its bytes")
            let written = parsed.serialized()
            try require(written.elementsEqual(bytes), "the message does not serialize to its bytes")
            try require(written.count == parsed.serializedSize, "serializedSize differs from the bytes written")
            let allowed: ModelAudioHeader.Flags = parsedHeader.type == .input ? .defined : []
            try require(allowed.isSuperset(of: parsedHeader.flags), "flags \(parsedHeader.flags) for \(parsedHeader.type)")
            let samples = Result { () throws(ModelProtocolError) in try parsed.pcm16Samples() }
            if parsed.payload.count % 2 == 0 {
                guard case .success(let values) = samples else { throw Violation("even payload gave \(samples)") }
                try require(values.count * 2 == parsed.payload.count, "\(values.count) samples in \(parsed.payload.count) bytes")
                try require(ModelAudioMessage(header: parsedHeader, samples: values) == parsed,
                            "rebuilding from the PCM16 samples changed the message")
            } else {
                try require(samples == .failure(.badPCMLength(parsed.payload.count)), "odd payload gave \(samples)")
            }
        default:
            throw Violation("header parse gave \(header), message parse \(message)")
        }
    }

    // MARK: stdio framing

    /// The stdio decoder gives the same messages and errors in the same order however the stream is split (in one
    /// piece, byte by byte, in seeded random pieces), and stops for good after an error that loses the stream.
    /// After draining, what it buffers is at most an incomplete frame. Every message it gives encodes to a frame
    /// that decodes to exactly that message.
    public static func stdio(_ bytes: UnsafeRawBufferPointer) throws(Violation) {
        let whole = try decode(bytes, pieces: [bytes.count])
        // Byte by byte costs one append and one `next()` per byte; libFuzzer's inputs stay far below this bound,
        // which only keeps replays of large inputs fast.
        if bytes.count <= 2048 {
            let byByte = try decode(bytes, pieces: Array(repeating: 1, count: bytes.count))
            try require(byByte == whole, "byte by byte: \(byByte), in one piece: \(whole)")
        }
        var generator = SplitMix64(seed: fnv1a(bytes))
        for _ in 0..<3 {
            var pieces: [Int] = []
            var left = bytes.count
            while left > 0 {
                // Mostly small pieces, so that every field boundary falls inside some piece now and then.
                let limit = generator.next() % 4 == 0 ? max(left, 1) : 8
                let piece = Int(generator.next() % UInt64(limit)) + 1
                pieces.append(min(piece, left))
                left -= min(piece, left)
            }
            let split = try decode(bytes, pieces: pieces)
            try require(split == whole, "in pieces \(pieces): \(split), in one piece: \(whole)")
        }

        for case .message(let message) in whole {
            let frame: [UInt8]
            do {
                frame = try StdioFrameEncoder.encode(message)
            } catch {
                // Re-encoding JSON can grow it ("1e5" becomes "100000.0"); only then may it pass the limit.
                try require(error == .frameTooLarge(message.bodyCount + 1) && message.bodyCount > ModelMessage.maximumBodyLength,
                            "a decoded message does not encode: \(error)")
                continue
            }
            var decoder = StdioFrameDecoder()
            decoder.append(frame)
            let again = Result { () throws(ModelProtocolError) in try decoder.next() }
            try require(again == .success(message), "a re-encoded frame decodes to \(again), expected \(message)")
            try require(decoder.bufferedByteCount == 0, "a re-encoded frame left \(decoder.bufferedByteCount) bytes")
        }
    }

    /// The sidecar's multiplexed framing (`StdioFrameDecoder(multiplexed: true)`): the same frames (kind, session
    /// id, body) and errors however the stream is split; a lost stream stays lost; what stays buffered is at most
    /// an incomplete frame; every frame it gives encodes back to a frame that decodes to exactly it.
    public static func multiplexedStdio(_ bytes: UnsafeRawBufferPointer) throws(Violation) {
        func frames(_ pieces: [Int]) throws(Violation) -> [Result<StdioFrame, ModelProtocolError>] {
            var decoder = StdioFrameDecoder(multiplexed: true)
            var outcomes: [Result<StdioFrame, ModelProtocolError>] = []
            try feed(bytes, pieces: pieces, to: &decoder, frameLimit: MultiplexedStdio.maximumFrameLength) {
                (decoder: inout StdioFrameDecoder) throws(Violation) in
                while true {
                    let next = Result { () throws(ModelProtocolError) in try decoder.nextFrame() }
                    switch next {
                    case .success(nil):
                        break
                    case .success(let frame?):
                        try require(frame.sessionID.map(MultiplexedStdio.isValidSessionID) == true,
                                    "a frame without a valid session id: \(frame.sessionID ?? "nil")")
                        outcomes.append(.success(frame))
                        continue
                    case .failure(let error):
                        outcomes.append(.failure(error))
                        if decoder.streamError != nil {
                            try require(error.isFatal, "the stream was lost to a non-fatal \(error)")
                            break
                        }
                        try require(!error.isFatal, "a fatal \(error) did not lose the stream")
                        continue
                    }
                    break
                }
            }
            return outcomes
        }
        let whole = try frames([bytes.count])
        if bytes.count <= 2048 {
            let byByte = try frames(Array(repeating: 1, count: bytes.count))
            try require(byByte == whole, "byte by byte: \(byByte), in one piece: \(whole)")
        }
        for case .success(let frame) in whole {
            let encoded: [UInt8]
            do {
                encoded = try StdioFrameEncoder.encode(kind: frame.kind, body: frame.body, sessionID: frame.sessionID)
            } catch {
                // A multiplexed frame may carry a body longer than one message (a short id leaves room): the
                // encoder refuses what no reader would take as a message.
                try require(error == .frameTooLarge(frame.body.count + 1) && frame.body.count > ModelMessage.maximumBodyLength,
                            "a decoded frame does not encode: \(error)")
                continue
            }
            var decoder = StdioFrameDecoder(multiplexed: true)
            decoder.append(encoded)
            let again = Result { () throws(ModelProtocolError) in try decoder.nextFrame() }
            try require(again == .success(frame), "a re-encoded frame decodes to \(again), expected \(frame)")
        }
    }

    /// Appends `bytes` in pieces of the given sizes, draining the decoder after each; every outcome in order.
    static func decode(_ bytes: UnsafeRawBufferPointer, pieces: [Int]) throws(Violation) -> [Outcome] {
        var decoder = StdioFrameDecoder()
        var outcomes: [Outcome] = []
        try feed(bytes, pieces: pieces, to: &decoder, frameLimit: StdioFrameDecoder.maximumFrameLength) {
            (decoder: inout StdioFrameDecoder) throws(Violation) in
            while true {
                do throws(ModelProtocolError) {
                    guard let message = try decoder.next() else { break }
                    outcomes.append(.message(message))
                } catch {
                    outcomes.append(.error(error))
                    if let lost = decoder.streamError {
                        try require(lost == error && lost.isFatal, "the stream was lost to \(lost) after \(error)")
                        let again = Result { () throws(ModelProtocolError) in try decoder.next() }
                        try require(again == .failure(lost), "a lost stream then gave \(again)")
                        break
                    }
                    try require(!error.isFatal, "a fatal \(error) did not lose the stream")
                }
            }
        }
        return outcomes
    }

    /// Appends `bytes` to `decoder` in pieces of the given sizes; after each, unless the stream is lost, `drain`
    /// takes what it can, and then at most an incomplete frame (below `frameLimit` and its length prefix) stays
    /// buffered.
    static func feed(
        _ bytes: UnsafeRawBufferPointer, pieces: [Int], to decoder: inout StdioFrameDecoder, frameLimit: Int,
        drain: (inout StdioFrameDecoder) throws(Violation) -> Void
    ) throws(Violation) {
        var offset = 0
        for piece in pieces {
            decoder.append(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + piece)]))
            offset += piece
            if decoder.streamError != nil { continue }
            try drain(&decoder)
            try require(decoder.bufferedByteCount < 4 + frameLimit,
                        "\(decoder.bufferedByteCount) bytes buffered after draining")
        }
    }

    /// FNV-1a, to seed the random splits from the input itself (so a crash replays).
    static func fnv1a(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}

extension ModelMessage {
    /// The length of the message's body: JSON text, or audio header and payload.
    var bodyCount: Int {
        switch self {
        case .control(let control): control.encode().count
        case .audio(let audio): audio.serializedSize
        }
    }
}
