import EarshotModelProtocol
import Testing

/// The 24-byte audio header and audio messages (Docs/model-protocol.md, "Audio messages").
@Suite("Audio messages")
struct ModelAudioMessageTests {
    /// Bytes from the space-separated hex of the documentation.
    static func hex(_ text: String) -> [UInt8] {
        text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { UInt8($0, radix: 16) }
    }

    /// The doc's worked example, without the five stdio bytes: input frame 3, concealed, media time 960, relay
    /// time 61 250 µs, samples 0, 1, −1, 1000.
    static let inputExample = hex("""
        01 01 00 00 00 00 00 03 00 00 00 00 00 00 03 c0 00 00 00 00 00 00 ef 42 00 00 01 00 ff ff e8 03
        """)
    /// The doc's output example: sequence 0 of response 7, samples 256 and −256.
    static let outputExample = hex("02 00 00 00  00 00 00 00  00 00 00 00 00 00 00 07  00 00 00 00 00 00 00 00  00 01 00 ff")

    @Test func documentedInputExample() throws {
        let message = try ModelAudioMessage(parsing: Self.inputExample)
        let header = ModelAudioHeader.input(sequence: 3, mediaTime: 960, relayTime: 61_250, flags: .concealed)
        #expect(message.header == header)
        #expect(try message.pcm16Samples() == [0, 1, -1, 1000])
        #expect(message == ModelAudioMessage(header: header, samples: [0, 1, -1, 1000]))
        #expect(message.serialized() == Self.inputExample)
        #expect(message.serializedSize == Self.inputExample.count)
        #expect(header.serialized() == Array(Self.inputExample.prefix(24)))
    }

    @Test func documentedOutputExample() throws {
        let message = try ModelAudioMessage(parsing: Self.outputExample)
        #expect(message.header == .output(sequence: 0, responseID: 7))
        #expect(message.header.responseID == 7)
        #expect(message.header.relayTime == 0)
        #expect(try message.pcm16Samples() == [256, -256])
        #expect(ModelAudioMessage(header: .output(sequence: 0, responseID: 7), samples: [256, -256]).serialized()
                    == Self.outputExample)
    }

    @Test func everyFieldRoundTrips() throws {
        let headers: [ModelAudioHeader] = [
            .input(sequence: 0, mediaTime: 0, relayTime: 0),
            .input(sequence: .max, mediaTime: .max, relayTime: .max, flags: .defined),
            .input(sequence: 70, mediaTime: 22_400, relayTime: 0, flags: [.concealed, .gapBefore]),
            .input(sequence: 1, mediaTime: 320, relayTime: 181_100, flags: .timeStretched),
            .output(sequence: 0x0102_0304, responseID: 0x0506_0708_090A_0B0C),
            .output(sequence: 5, responseID: .max),
        ]
        for header in headers {
            let bytes = header.serialized()
            #expect(bytes.count == ModelAudioHeader.size)
            #expect(try ModelAudioHeader(parsing: bytes) == header)
            for payload in [[], [0x01], Array(repeating: 0xAB, count: 640)] as [[UInt8]] {
                let message = ModelAudioMessage(header: header, payload: payload)
                let written = message.serialized()
                #expect(written.count == message.serializedSize)
                #expect(try ModelAudioMessage(parsing: written) == message)
            }
        }
        // Big-endian fields in their places.
        #expect(ModelAudioHeader.output(sequence: 0x0102_0304, responseID: 0x0506_0708_090A_0B0C).serialized()
                    == [2, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test func pcm16IsLittleEndianAndTakesEveryValue() throws {
        let samples: [Int16] = [.min, -1, 0, 1, 0x0102, .max]
        let message = ModelAudioMessage(header: .output(sequence: 0, responseID: 1), samples: samples)
        #expect(message.payload == [0x00, 0x80, 0xFF, 0xFF, 0x00, 0x00, 0x01, 0x00, 0x02, 0x01, 0xFF, 0x7F])
        #expect(try message.pcm16Samples() == samples)
        let odd = ModelAudioMessage(header: .output(sequence: 0, responseID: 1), payload: [1, 2, 3])
        #expect(throws: ModelProtocolError.badPCMLength(3)) { try odd.pcm16Samples() }
    }

    // MARK: Negative cases

    @Test func shortHeadersAreTruncated() {
        for count in [0, 1, 23] {
            let bytes = Array(Self.inputExample.prefix(count))
            #expect(throws: ModelProtocolError.badAudioHeader(.truncated(count))) { try ModelAudioHeader(parsing: bytes) }
            #expect(throws: ModelProtocolError.badAudioHeader(.truncated(count))) { try ModelAudioMessage(parsing: bytes) }
        }
    }

    @Test func unknownTypesAreRejected() {
        for type: UInt8 in [0x00, 0x03, 0xFF] {
            var bytes = Self.inputExample
            bytes[0] = type
            #expect(throws: ModelProtocolError.badAudioHeader(.unknownType(type))) { try ModelAudioMessage(parsing: bytes) }
        }
    }

    @Test func reservedBytesMustBeZero() {
        var bytes = Self.outputExample
        bytes[3] = 0x01
        #expect(throws: ModelProtocolError.badAudioHeader(.reservedNotZero(1))) { try ModelAudioMessage(parsing: bytes) }
        bytes[2] = 0x80
        #expect(throws: ModelProtocolError.badAudioHeader(.reservedNotZero(0x8001))) { try ModelAudioMessage(parsing: bytes) }
    }

    @Test func undefinedFlagsAreRejected() {
        var input = Self.inputExample
        input[1] = 0x08  // bit 3: not defined in version 1
        #expect(throws: ModelProtocolError.badAudioHeader(.undefinedFlags(0x08))) { try ModelAudioMessage(parsing: input) }
        input[1] = 0x07  // all three defined bits: fine
        #expect(throws: Never.self) { try ModelAudioMessage(parsing: input) }
        var output = Self.outputExample
        output[1] = 0x01  // output audio has no flags
        #expect(throws: ModelProtocolError.badAudioHeader(.undefinedFlags(0x01))) { try ModelAudioMessage(parsing: output) }
    }

    @Test func messagesOverOneMebibyteAreRejected() throws {
        let largest = ModelAudioMessage(header: .output(sequence: 0, responseID: 1),
                                        payload: Array(repeating: 0, count: ModelAudioMessage.maximumPayloadLength))
        #expect(largest.serializedSize == 1_048_576)
        #expect(try ModelAudioMessage(parsing: largest.serialized()) == largest)
        let tooLarge = largest.serialized() + [0, 0]
        #expect(throws: ModelProtocolError.frameTooLarge(1_048_578)) { try ModelAudioMessage(parsing: tooLarge) }
    }

    @Test func errorsMapToTheirCodes() {
        #expect(ModelProtocolError.badAudioHeader(.truncated(3)).code == .badAudioHeader)
        #expect(ModelProtocolError.badPCMLength(3).code == .badAudioHeader)
        #expect(!ModelProtocolError.badAudioHeader(.unknownType(9)).isFatal)
    }
}
