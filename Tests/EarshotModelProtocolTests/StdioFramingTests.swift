import EarshotModelProtocol
import EarshotWire
import Testing

/// The `exec:` transport's frames (Docs/model-protocol.md, "stdio").
@Suite("stdio framing")
struct StdioFramingTests {
    /// The doc's control frame: `{"type":"clear"}`, length 17.
    static let clearFrame = ModelAudioMessageTests.hex(
        "00 00 00 11 01 7b 22 74 79 70 65 22 3a 22 63 6c 65 61 72 22 7d")
    /// The doc's audio frame: the worked input example with its five stdio bytes.
    static let audioFrame = ModelAudioMessageTests.hex("""
        00 00 00 21 02 01 01 00 00 00 00 00 03 00 00 00 00 00 00 03 c0 00 00 00 00 00 00 ef
        42 00 00 01 00 ff ff e8 03
        """)

    /// A mixed stream: every control message of the control tests, and audio of several sizes and both types.
    static let messages: [ModelMessage] = {
        var messages = ModelControlMessageTests.everyMessage.map(ModelMessage.control)
        for (index, size) in [0, 2, 640, 25_600, 3].enumerated() {
            let header: ModelAudioHeader = index % 2 == 0
                ? .input(sequence: UInt32(index), mediaTime: UInt64(index) * 320, relayTime: 1_000, flags: .gapBefore)
                : .output(sequence: UInt32(index), responseID: 7)
            messages.insert(.audio(ModelAudioMessage(header: header, payload: (0..<size).map { UInt8(truncatingIfNeeded: $0) })),
                            at: index * 3)
        }
        return messages
    }()

    static func stream(_ messages: [ModelMessage]) throws -> [UInt8] {
        var bytes: [UInt8] = []
        for message in messages { bytes += try StdioFrameEncoder.encode(message) }
        return bytes
    }

    /// Appends `bytes` in pieces of the given sizes and drains after each; the messages, errors recorded as such.
    static func decode(_ bytes: [UInt8], pieces: [Int]) -> [Result<ModelMessage, ModelProtocolError>] {
        var decoder = StdioFrameDecoder()
        var results: [Result<ModelMessage, ModelProtocolError>] = []
        var offset = 0
        for piece in pieces {
            decoder.append(bytes[offset..<(offset + piece)])
            offset += piece
            while true {
                do {
                    guard let message = try decoder.next() else { break }
                    results.append(.success(message))
                } catch {
                    results.append(.failure(error))
                    if decoder.streamError != nil { return results }
                }
            }
        }
        return results
    }

    // MARK: The documented frames

    @Test func documentedFramesDecodeAndEncode() throws {
        var decoder = StdioFrameDecoder()
        decoder.append(Self.clearFrame + Self.audioFrame)
        let audio = try ModelAudioMessage(parsing: ModelAudioMessageTests.inputExample)
        #expect(try decoder.next() == .control(.clear))
        #expect(try decoder.next() == .audio(audio))
        #expect(try decoder.next() == nil)
        #expect(decoder.bufferedByteCount == 0)
        #expect(try StdioFrameEncoder.encode(.control(.clear)) == Self.clearFrame)
        #expect(try StdioFrameEncoder.encode(.audio(audio)) == Self.audioFrame)
    }

    // MARK: Splits

    @Test func wholeStreamDecodes() throws {
        let bytes = try Self.stream(Self.messages)
        #expect(Self.decode(bytes, pieces: [bytes.count]) == Self.messages.map { .success($0) })
    }

    @Test func byteByByteDecodes() throws {
        let bytes = try Self.stream(Self.messages)
        var decoder = StdioFrameDecoder()
        var decoded: [ModelMessage] = []
        for byte in bytes {
            decoder.append([byte])
            while let message = try decoder.next() { decoded.append(message) }
            // Never more than the frame under way.
            #expect(decoder.bufferedByteCount <= 4 + 1 + ModelAudioHeader.size + 25_600)
        }
        #expect(decoded == Self.messages)
        #expect(decoder.bufferedByteCount == 0)
    }

    @Test func randomSplitsDecode() throws {
        let bytes = try Self.stream(Self.messages)
        var generator = SplitMix64(seed: 0x5EED_0001)
        for _ in 0..<20 {
            var pieces: [Int] = []
            var left = bytes.count
            while left > 0 {
                let piece = min(left, Int(generator.next() % 3000) + 1)
                pieces.append(piece)
                left -= piece
            }
            #expect(Self.decode(bytes, pieces: pieces) == Self.messages.map { .success($0) }, "\(pieces)")
        }
    }

    @Test func partialFramesWait() throws {
        var decoder = StdioFrameDecoder()
        decoder.append(Self.audioFrame.prefix(3))
        #expect(try decoder.next() == nil)
        decoder.append(Self.audioFrame[3..<10])
        #expect(try decoder.next() == nil)
        #expect(decoder.bufferedByteCount == 10)
        decoder.append(Self.audioFrame[10...])
        #expect(try decoder.next() == .audio(try ModelAudioMessage(parsing: ModelAudioMessageTests.inputExample)))
    }

    // MARK: Limits

    @Test func oversizedLengthIsRejectedBeforeBuffering() throws {
        var decoder = StdioFrameDecoder()
        // Length 1 048 578: one byte over the limit. Only the length has arrived.
        decoder.append([0x00, 0x10, 0x00, 0x02])
        #expect(throws: ModelProtocolError.frameTooLarge(1_048_578)) { try decoder.next() }
        #expect(decoder.bufferedByteCount == 0)
        #expect(decoder.streamError == .frameTooLarge(1_048_578))
        // The stream is lost: what follows is not buffered, and every call throws the same error.
        decoder.append(Self.clearFrame)
        #expect(decoder.bufferedByteCount == 0)
        #expect(throws: ModelProtocolError.frameTooLarge(1_048_578)) { try decoder.next() }

        // A stray print() on stdout: "hello\n" reads as a length of 0x68656c6c.
        var printed = StdioFrameDecoder()
        printed.append(Array("hello\n".utf8))
        #expect(throws: ModelProtocolError.frameTooLarge(0x6865_6C6C)) { try printed.next() }
        #expect(ModelProtocolError.frameTooLarge(0).code == .frameTooLarge)
    }

    @Test func largestFrameIsAccepted() throws {
        let largest = ModelMessage.audio(ModelAudioMessage(
            header: .output(sequence: 1, responseID: 2),
            payload: Array(repeating: 0x55, count: ModelAudioMessage.maximumPayloadLength)))
        let frame = try StdioFrameEncoder.encode(largest)
        #expect(frame.prefix(5) == [0x00, 0x10, 0x00, 0x01, 0x02])  // length 1 048 577, audio
        #expect(Self.decode(frame, pieces: [65_536, frame.count - 65_536]) == [.success(largest)])
    }

    @Test func encoderRefusesOversizedMessages() {
        let audio = ModelMessage.audio(ModelAudioMessage(
            header: .output(sequence: 1, responseID: 2),
            payload: Array(repeating: 0, count: ModelAudioMessage.maximumPayloadLength + 1)))
        #expect(throws: ModelProtocolError.frameTooLarge(1_048_578)) { try StdioFrameEncoder.encode(audio) }
        let reason = String(repeating: "x", count: ModelMessage.maximumBodyLength)
        let control = ModelMessage.control(.stop(reason: reason))
        #expect(throws: ModelProtocolError.frameTooLarge(reason.utf8.count + #"{"type":"stop","reason":""}"#.utf8.count + 1)) {
            try StdioFrameEncoder.encode(control)
        }
    }

    // MARK: Recoverable errors

    @Test func emptyFrameIsSkipped() throws {
        var decoder = StdioFrameDecoder()
        decoder.append([0, 0, 0, 0] + Self.clearFrame)
        #expect(throws: ModelProtocolError.emptyFrame) { try decoder.next() }
        #expect(try decoder.next() == .control(.clear))
        #expect(ModelProtocolError.emptyFrame.code == .badFrame)
        #expect(!ModelProtocolError.emptyFrame.isFatal)
    }

    @Test func unknownKindIsSkippedWithoutBuffering() throws {
        var decoder = StdioFrameDecoder()
        // Length 1001, kind 0x03, then 1000 body bytes in several appends.
        decoder.append([0x00, 0x00, 0x03, 0xE9, 0x03, 0xAA])
        #expect(throws: ModelProtocolError.badFrameKind(3)) { try decoder.next() }
        #expect(decoder.bufferedByteCount == 0)
        decoder.append(Array(repeating: 0xAA, count: 500))
        #expect(decoder.bufferedByteCount == 0)
        #expect(try decoder.next() == nil)
        decoder.append(Array(repeating: 0xAA, count: 499) + Self.clearFrame)
        #expect(try decoder.next() == .control(.clear))
        #expect(try decoder.next() == nil)
        #expect(ModelProtocolError.badFrameKind(3).code == .badFrame)

        // Kind 0 with everything in one piece.
        var whole = StdioFrameDecoder()
        whole.append([0x00, 0x00, 0x00, 0x03, 0x00, 0x7B, 0x7D] + Self.clearFrame)
        #expect(throws: ModelProtocolError.badFrameKind(0)) { try whole.next() }
        #expect(try whole.next() == .control(.clear))
    }

    @Test func badContentSkipsOnlyItsFrame() throws {
        func controlFrame(_ text: String) -> [UInt8] {
            let body = Array(text.utf8)
            return [0, 0, UInt8((body.count + 1) >> 8), UInt8((body.count + 1) & 0xFF), 0x01] + body
        }
        var badHeader = Self.audioFrame
        badHeader[5] = 0x09  // audio type 9
        var decoder = StdioFrameDecoder()
        decoder.append(controlFrame("{not json") + controlFrame(#"{"type":"response.create"}"#)
                       + controlFrame(#"{"type":"mark"}"#) + badHeader + [0, 0, 0, 1, 0x01] + Self.clearFrame)
        #expect(throws: ModelProtocolError.badJSON(offset: 1)) { try decoder.next() }
        #expect(throws: ModelProtocolError.unknownType("response.create")) { try decoder.next() }
        #expect(throws: ModelProtocolError.missingField("name")) { try decoder.next() }
        #expect(throws: ModelProtocolError.badAudioHeader(.unknownType(9))) { try decoder.next() }
        // An empty control body (length 1) is not JSON.
        #expect(throws: ModelProtocolError.badJSON(offset: 0)) { try decoder.next() }
        #expect(try decoder.next() == .control(.clear))
        #expect(decoder.streamError == nil)
    }

    @Test func manyFramesInOneAppendAreReleased() throws {
        let frame = try StdioFrameEncoder.encode(.audio(ModelAudioMessage(
            header: .input(sequence: 0, mediaTime: 0, relayTime: 0), payload: Array(repeating: 1, count: 640))))
        var decoder = StdioFrameDecoder()
        decoder.append(Array([[UInt8]](repeating: frame, count: 400).joined()))
        var count = 0
        while try decoder.next() != nil {
            count += 1
            #expect(decoder.bufferedByteCount == (400 - count) * frame.count)
        }
        #expect(count == 400)
        #expect(decoder.bufferedByteCount == 0)
    }
}

/// The sidecar's multiplexed framing (`earshot serve --model stdio`, Docs/model-protocol.md "Sidecar").
@Suite struct MultiplexedStdioFramingTests {
    @Test("the documented example: clear from the model in session a1")
    func documentedExample() throws {
        let bytes: [UInt8] = [0x00, 0x00, 0x00, 0x14, 0x01, 0x02, 0x61, 0x31] + Array(#"{"type":"clear"}"#.utf8)
        var decoder = StdioFrameDecoder(multiplexed: true)
        decoder.append(bytes)
        let frame = try #require(try decoder.nextFrame())
        #expect(frame.sessionID == "a1" && frame.kind == .control)
        #expect(try ModelControlMessage(json: frame.body) == .clear)
        #expect(try StdioFrameEncoder.encode(.control(.clear), sessionID: "a1") == bytes)
    }

    @Test("frames of several sessions and a relay-level one, byte by byte")
    func sessionsInterleaved() throws {
        let message = ModelAudioMessage(header: .output(sequence: 0, responseID: 1), samples: [1, -1])
        let audio = ModelMessage.audio(message)
        let stream = try StdioFrameEncoder.encode(.control(.clear), sessionID: "s1")
            + StdioFrameEncoder.encode(kind: .control, body: Array(#"{"type":"relay.ready"}"#.utf8), sessionID: "")
            + StdioFrameEncoder.encode(audio, sessionID: "s2")
        var decoder = StdioFrameDecoder(multiplexed: true)
        var frames: [StdioFrame] = []
        for byte in stream {
            decoder.append([byte])
            while let frame = try decoder.nextFrame() { frames.append(frame) }
        }
        #expect(frames.map(\.sessionID) == ["s1", "", "s2"])
        #expect(frames[2].kind == .audio && frames[2].body == message.serialized())
        #expect(decoder.bufferedByteCount == 0)
    }

    @Test("a session id longer than its frame, or not ASCII, skips that frame only; an oversized length loses the stream")
    func badFrames() throws {
        var decoder = StdioFrameDecoder(multiplexed: true)
        decoder.append([0x00, 0x00, 0x00, 0x03, 0x01, 0x05, 0x61])  // id length 5, one byte left
        decoder.append([0x00, 0x00, 0x00, 0x04, 0x01, 0x01, 0xC3, 0x7B])  // id not ASCII
        decoder.append(try StdioFrameEncoder.encode(.control(.clear), sessionID: "ok"))
        #expect(throws: ModelProtocolError.badSessionID) { try decoder.nextFrame() }
        #expect(throws: ModelProtocolError.badSessionID) { try decoder.nextFrame() }
        #expect(try decoder.nextFrame()?.sessionID == "ok")
        #expect(ModelProtocolError.badSessionID.code == .badFrame && !ModelProtocolError.badSessionID.isFatal)

        var lost = StdioFrameDecoder(multiplexed: true)
        let over = UInt32(MultiplexedStdio.maximumFrameLength + 1)
        lost.append([UInt8(over >> 24), UInt8(over >> 16 & 0xFF), UInt8(over >> 8 & 0xFF), UInt8(over & 0xFF)])
        #expect(throws: ModelProtocolError.frameTooLarge(Int(over))) { try lost.nextFrame() }
        #expect(lost.streamError == .frameTooLarge(Int(over)) && lost.bufferedByteCount == 0)
        // The largest multiplexed length is still taken: 1 MiB body, kind, id length, a 255-byte id.
        var largest = StdioFrameDecoder(multiplexed: true)
        let limit = UInt32(MultiplexedStdio.maximumFrameLength)
        largest.append([UInt8(limit >> 24), UInt8(limit >> 16 & 0xFF), UInt8(limit >> 8 & 0xFF), UInt8(limit & 0xFF)])
        #expect(try largest.nextFrame() == nil && largest.streamError == nil)
    }

    @Test("the encoder refuses an id the wire cannot carry")
    func encoderRefusesBadIDs() {
        #expect(throws: ModelProtocolError.badSessionID) {
            try StdioFrameEncoder.encode(.control(.clear), sessionID: String(repeating: "a", count: 256))
        }
        #expect(throws: ModelProtocolError.badSessionID) { try StdioFrameEncoder.encode(.control(.clear), sessionID: "é") }
    }
}
