import EarshotModelProtocol
import Foundation
import Testing

/// Control messages (Docs/model-protocol.md, "Control messages"): the documented examples, round trips of every
/// message, and each way a message can be wrong.
@Suite("Control messages")
struct ModelControlMessageTests {
    /// Every JSON example of the documentation, copied as written there, with the message it must read as.
    static let documentedExamples: [(text: String, message: ModelControlMessage)] = [
        (#"{"type":"session.start","protocol":"earshot-model/1","session_id":"9f2c4e1a7b3d5f60","input_audio_format":{"encoding":"pcm16","sample_rate":16000,"channels":1,"frame_ms":20},"output_audio_formats":["pcm16/8000","pcm16/16000","pcm16/24000","pcm16/48000"],"vad":{"enabled":true,"threshold":0.5,"prefix_padding_ms":300,"silence_duration_ms":500},"client":{"user_agent":"Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0","remote_address":"127.0.0.1:40000","codec":"opus/48000/2"}}"#,
         .sessionStart(.init(
             protocolVersion: "earshot-model/1", sessionID: "9f2c4e1a7b3d5f60",
             inputAudioFormat: .init(encoding: "pcm16", sampleRate: 16_000, channels: 1, frameMs: 20),
             outputAudioFormats: ["pcm16/8000", "pcm16/16000", "pcm16/24000", "pcm16/48000"],
             vad: .init(enabled: true, threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs: 500),
             client: .init(userAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0",
                           remoteAddress: "127.0.0.1:40000", codec: "opus/48000/2")))),
        (#"{"type":"speech_started","audio_start_ms":1234}"#, .speechStarted(audioStartMs: 1234)),
        (#"{"type":"speech_stopped","audio_end_ms":2345}"#, .speechStopped(audioEndMs: 2345)),
        (#"{"type":"mark_played","name":"greeting-end","played_at_ms":5230}"#,
         .markPlayed(name: "greeting-end", playedAtMs: 5230)),
        (#"{"type":"mark_cancelled","name":"greeting-end"}"#, .markCancelled(name: "greeting-end")),
        (#"{"type":"played","response_id":7,"played_ms":1234.5,"played_samples":19752,"truncated":true}"#,
         .played(.init(responseID: 7, playedMs: 1234.5, playedSamples: 19_752, truncated: true))),
        (#"{"type":"stats","downlink":{"clears":1,"framesSent":250,"queuedMilliseconds":0,"samplesDroppedQueueFull":0,"samplesSent":239040,"underruns":0},"uplink":{"bytesReceived":19840,"concealedSamples":960,"framesDroppedQueueFull":0,"framesSent":248,"jitter":0.004,"jitterBufferDelay":0.06,"jitterBufferEmittedCount":238080,"jitterBufferTargetDelay":4.8,"packetsLost":2,"packetsReceived":248,"totalSamplesReceived":239040}}"#,
         .stats([
             "downlink": ["clears": 1, "framesSent": 250, "queuedMilliseconds": 0, "samplesDroppedQueueFull": 0,
                          "samplesSent": 239_040, "underruns": 0],
             "uplink": ["bytesReceived": 19_840, "concealedSamples": 960, "framesDroppedQueueFull": 0, "framesSent": 248,
                        "jitter": 0.004, "jitterBufferDelay": 0.06, "jitterBufferEmittedCount": 238_080,
                        "jitterBufferTargetDelay": 4.8, "packetsLost": 2, "packetsReceived": 248,
                        "totalSamplesReceived": 239_040],
         ])),
        (#"{"type":"stop","reason":"client_hangup"}"#, .stop(reason: "client_hangup")),
        (#"{"type":"error","code":"unknown_type","message":"unknown message type \"response.create\""}"#,
         .error(code: .unknownType, message: #"unknown message type "response.create""#)),
        (#"{"type":"session.ready","output_audio_format":{"encoding":"pcm16","sample_rate":24000}}"#,
         .sessionReady(.init(outputAudioFormat: .init(encoding: "pcm16", sampleRate: 24_000)))),
        (#"{"type":"clear"}"#, .clear),
        (#"{"type":"mark","name":"greeting-end"}"#, .mark(name: "greeting-end")),
        (#"{"type":"response.done","response_id":7}"#, .responseDone(responseID: 7)),
        (#"{"type":"stop","reason":"conversation finished"}"#, .stop(reason: "conversation finished")),
        (#"{"type":"error","code":"model_crashed","message":"CUDA out of memory"}"#,
         .error(code: "model_crashed", message: "CUDA out of memory")),
    ]

    /// Docs/model-protocol.md, found from this file's path.
    static func documentation() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent("Docs/model-protocol.md"), encoding: .utf8)
    }

    // MARK: The documented examples

    @Test func documentedExamplesParseAsWritten() throws {
        for (text, message) in Self.documentedExamples {
            #expect(try ModelControlMessage(json: text) == message, "\(text)")
            // The relay writes exactly what the documentation shows.
            #expect(String(decoding: message.encode(), as: UTF8.self) == text)
        }
    }

    /// The copies above are the documentation's: every ```json block of the page is one of them, and each of
    /// them is on the page.
    @Test func documentedExamplesAreTheDocumentationsOwn() throws {
        let page = try Self.documentation()
        var blocks: [String] = []
        var rest = page[...]
        while let open = rest.range(of: "```json\n"), let close = rest[open.upperBound...].range(of: "\n```") {
            blocks.append(String(rest[open.upperBound..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        #expect(blocks.count == Self.documentedExamples.count)
        #expect(Set(blocks) == Set(Self.documentedExamples.map(\.text)))
    }

    /// The complete JSON messages of the annotated session parse, and the relay would write them the same way.
    @Test func annotatedSessionMessagesParse() throws {
        let page = try Self.documentation()
        var found = 0
        for line in page.split(separator: "\n") {
            guard let arrow = line.firstIndex(where: { $0 == "→" || $0 == "←" }),
                  let brace = line[arrow...].firstIndex(of: "{"), line.hasSuffix("}"), !line.contains("…")
            else { continue }
            let text = String(line[brace...])
            let message = try ModelControlMessage(json: text)
            #expect(String(decoding: message.encode(), as: UTF8.self) == text)
            found += 1
        }
        #expect(found == 14)
    }

    // MARK: Round trips

    static let everyMessage: [ModelControlMessage] = [
        documentedExamples[0].message,
        .sessionStart(.init(
            sessionID: "", inputAudioFormat: .init(encoding: "opus", sampleRate: 48_000, frameMs: 60),
            outputAudioFormats: [], vad: .init(enabled: false, threshold: 0, prefixPaddingMs: 0, silenceDurationMs: 0),
            client: .init())),
        .speechStarted(audioStartMs: 0),
        .speechStopped(audioEndMs: .max),
        .markPlayed(name: "", playedAtMs: 0),
        .markCancelled(name: "ünïcødé \"quoted\"\n\u{1F600}"),
        .played(.init(responseID: .max, playedMs: 0, playedSamples: 0, truncated: false)),
        .played(.init(responseID: 1, playedMs: 0.0625, playedSamples: 1, truncated: true)),
        .stats([:]),
        .stats(["uplink": [:], "model": ["queue": [1, 2.5, "x", nil, true, ["deep": []]]], "big": .unsignedInteger(.max)]),
        .sessionReady(.init(outputAudioFormat: .init(encoding: "pcm16", sampleRate: 8000))),
        .clear,
        .mark(name: "m"),
        .responseDone(responseID: 0),
        .responseDone(responseID: 9_223_372_036_854_775_808),
        .stop(reason: nil),
        .stop(reason: "model_stalled"),
        .error(code: .frameTooLarge, message: nil),
        .error(code: "", message: ""),
    ]

    @Test func everyMessageRoundTrips() throws {
        for message in Self.everyMessage + Self.documentedExamples.map(\.message) {
            let text = message.encode()
            let parsed = try ModelControlMessage(json: text)
            #expect(parsed == message, "\(message)")
            #expect(parsed.encode() == text)
            #expect(message.description == String(decoding: text, as: UTF8.self))
            guard case .object(let members) = try JSONValue(parsing: text) else {
                Issue.record("not an object: \(message)")
                continue
            }
            #expect(members["type"] == .string(message.type))
        }
    }

    @Test func everyTypeIsCovered() {
        let types = Set((Self.everyMessage + Self.documentedExamples.map(\.message)).map(\.type))
        #expect(types == ["session.start", "speech_started", "speech_stopped", "mark_played", "mark_cancelled",
                          "played", "stats", "session.ready", "clear", "mark", "response.done", "stop", "error"])
    }

    @Test func directions() {
        let relayOnly: [ModelControlMessage] = [
            .sessionStart(Self.everyMessage[1].sessionStart!), .speechStarted(audioStartMs: 1),
            .speechStopped(audioEndMs: 1), .markPlayed(name: "a", playedAtMs: 1), .markCancelled(name: "a"),
            .played(.init(responseID: 1, playedMs: 1, playedSamples: 1, truncated: false)), .stats([:]),
        ]
        let modelOnly: [ModelControlMessage] = [
            .sessionReady(.init(outputAudioFormat: .init(encoding: "pcm16", sampleRate: 8000))), .clear,
            .mark(name: "a"), .responseDone(responseID: 1),
        ]
        let both: [ModelControlMessage] = [.stop(reason: nil), .error(code: .badJSON, message: nil)]
        #expect(relayOnly.allSatisfy { $0.isSentByRelay && !$0.isSentByModel })
        #expect(modelOnly.allSatisfy { !$0.isSentByRelay && $0.isSentByModel })
        #expect(both.allSatisfy { $0.isSentByRelay && $0.isSentByModel })
    }

    // MARK: Forward compatibility

    @Test func unknownMembersAreIgnored() throws {
        #expect(try ModelControlMessage(json: #"{"type":"clear","extra":{"nested":[1,2]},"future":true}"#) == .clear)
        let ready = try ModelControlMessage(json: """
            {"version":2,"output_audio_format":{"sample_rate":24000,"channels":1,"encoding":"pcm16"},
             "type":"session.ready","latency_hint":"low"}
            """)
        #expect(ready == .sessionReady(.init(outputAudioFormat: .init(encoding: "pcm16", sampleRate: 24_000))))
        // Pretty-printed JSON, as Python's json.dumps writes it by default, reads the same.
        #expect(try ModelControlMessage(json: #"{"type": "response.done", "response_id": 7}"#)
                    == .responseDone(responseID: 7))
    }

    @Test func unknownTypesThrowUnknownType() {
        #expect(throws: ModelProtocolError.unknownType("response.create")) {
            try ModelControlMessage(json: #"{"type":"response.create","response":{}}"#)
        }
        #expect(throws: ModelProtocolError.unknownType("")) { try ModelControlMessage(json: #"{"type":""}"#) }
        #expect(throws: ModelProtocolError.unknownType("Clear")) { try ModelControlMessage(json: #"{"type":"Clear"}"#) }
        #expect(ModelProtocolError.unknownType("x").code == .unknownType)
        #expect(!ModelProtocolError.unknownType("x").isFatal)
    }

    @Test func absentAndNullOptionalMembersAreTheSame() throws {
        #expect(try ModelControlMessage(json: #"{"type":"stop"}"#) == .stop(reason: nil))
        #expect(try ModelControlMessage(json: #"{"type":"stop","reason":null}"#) == .stop(reason: nil))
        #expect(ModelControlMessage.stop(reason: nil).description == #"{"type":"stop"}"#)
        #expect(try ModelControlMessage(json: #"{"type":"error","code":"x"}"#) == .error(code: "x", message: nil))
        let start = try ModelControlMessage(json: Self.documentedExamples[0].text
            .replacingOccurrences(of: #""user_agent":"Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0","#, with: "")
            .replacingOccurrences(of: #""codec":"opus/48000/2""#, with: #""codec":null"#))
        #expect(start.sessionStart?.client == .init(remoteAddress: "127.0.0.1:40000"))
    }

    @Test func integralNumbersAreTakenAsIntegers() throws {
        #expect(try ModelControlMessage(json: #"{"type":"response.done","response_id":7.0}"#)
                    == .responseDone(responseID: 7))
        #expect(try ModelControlMessage(json: #"{"type":"response.done","response_id":1e3}"#)
                    == .responseDone(responseID: 1000))
        #expect(try ModelControlMessage(json: #"{"type":"response.done","response_id":18446744073709551615}"#)
                    == .responseDone(responseID: .max))
        #expect(try ModelControlMessage(json: #"{"type":"session.ready","output_audio_format":{"encoding":"pcm16","sample_rate":16000.0}}"#)
                    == .sessionReady(.init(outputAudioFormat: .init(encoding: "pcm16", sampleRate: 16_000))))
        // And integers where a number belongs.
        #expect(try ModelControlMessage(json: #"{"type":"played","response_id":1,"played_ms":20,"played_samples":320,"truncated":false}"#)
                    == .played(.init(responseID: 1, playedMs: 20, playedSamples: 320, truncated: false)))
    }

    @Test func statsKeepEveryMemberButType() throws {
        let message = try ModelControlMessage(json: #"{"type":"stats","uplink":{"a":1},"x":[true]}"#)
        #expect(message == .stats(["uplink": ["a": 1], "x": [true]]))
        // A "type" among the counters would repeat the message's own: it is not written.
        #expect(ModelControlMessage.stats(["type": "oops", "b": 1]).description == #"{"type":"stats","b":1}"#)
    }

    @Test func outputFormatNames() {
        #expect(ModelControlMessage.OutputAudioFormat(name: "pcm16/24000")
                    == .init(encoding: "pcm16", sampleRate: 24_000))
        #expect(ModelControlMessage.OutputAudioFormat(encoding: "opus", sampleRate: 48_000).name == "opus/48000")
        for bad in ["pcm16", "pcm16/", "/24000", "pcm16/0", "pcm16/-1", "pcm16/24000/1", "pcm16/x"] {
            #expect(ModelControlMessage.OutputAudioFormat(name: bad) == nil, "\(bad)")
        }
    }

    // MARK: Negative cases, one per error

    func expectError(_ error: ModelProtocolError, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(throws: error, "\(text)", sourceLocation: sourceLocation) { try ModelControlMessage(json: text) }
    }

    @Test func badJSON() {
        expectError(.badJSON(offset: 1), "{")
        expectError(.badJSON(offset: 16), #"{"type":"clear"}x"#)
        expectError(.badJSON(offset: 16), #"{"type":"clear","type":"mark","name":"a"}"#)
        // Invalid UTF-8 in the string that starts at byte 8.
        #expect(throws: ModelProtocolError.badJSON(offset: 8)) {
            try ModelControlMessage(json: [0x7B, 0x22, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D])
        }
        #expect(ModelProtocolError.badJSON(offset: 0).code == .badJSON)
    }

    @Test func notAnObject() {
        for text in ["[]", #""clear""#, "null", "7"] { expectError(.notAnObject, text) }
        #expect(ModelProtocolError.notAnObject.code == .badJSON)
    }

    @Test func missingField() {
        expectError(.missingField("type"), "{}")
        expectError(.missingField("name"), #"{"type":"mark"}"#)
        expectError(.missingField("response_id"), #"{"type":"response.done"}"#)
        expectError(.missingField("output_audio_format"), #"{"type":"session.ready"}"#)
        expectError(.missingField("output_audio_format.sample_rate"),
                    #"{"type":"session.ready","output_audio_format":{"encoding":"pcm16"}}"#)
        expectError(.missingField("truncated"), #"{"type":"played","response_id":1,"played_ms":1,"played_samples":1}"#)
        expectError(.missingField("code"), #"{"type":"error","message":"m"}"#)
        let start = Self.documentedExamples[0].text
        expectError(.missingField("vad"), start.replacingOccurrences(
            of: #""vad":{"enabled":true,"threshold":0.5,"prefix_padding_ms":300,"silence_duration_ms":500},"#, with: ""))
        expectError(.missingField("input_audio_format.frame_ms"), start.replacingOccurrences(of: #","frame_ms":20"#, with: ""))
        expectError(.missingField("vad.threshold"), start.replacingOccurrences(of: #""threshold":0.5,"#, with: ""))
        expectError(.missingField("protocol"), start.replacingOccurrences(of: #""protocol":"earshot-model/1","#, with: ""))
        #expect(ModelProtocolError.missingField("x").code == .badJSON)
    }

    @Test func wrongFieldType() {
        expectError(.wrongFieldType("type"), #"{"type":7}"#)
        expectError(.wrongFieldType("type"), #"{"type":null}"#)
        expectError(.wrongFieldType("name"), #"{"type":"mark","name":3}"#)
        expectError(.wrongFieldType("name"), #"{"type":"mark","name":null}"#)
        expectError(.wrongFieldType("response_id"), #"{"type":"response.done","response_id":"7"}"#)
        expectError(.wrongFieldType("response_id"), #"{"type":"response.done","response_id":7.5}"#)
        expectError(.wrongFieldType("audio_start_ms"), #"{"type":"speech_started","audio_start_ms":0.5}"#)
        expectError(.wrongFieldType("truncated"),
                    #"{"type":"played","response_id":1,"played_ms":1,"played_samples":1,"truncated":"yes"}"#)
        expectError(.wrongFieldType("played_ms"),
                    #"{"type":"played","response_id":1,"played_ms":"1","played_samples":1,"truncated":true}"#)
        expectError(.wrongFieldType("reason"), #"{"type":"stop","reason":false}"#)
        expectError(.wrongFieldType("output_audio_format"), #"{"type":"session.ready","output_audio_format":"pcm16/24000"}"#)
        let start = Self.documentedExamples[0].text
        expectError(.wrongFieldType("output_audio_formats"),
                    start.replacingOccurrences(of: #"["pcm16/8000","#, with: #"[8000,"#))
        expectError(.wrongFieldType("client.user_agent"), start.replacingOccurrences(
            of: #""Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0""#, with: "[]"))
        expectError(.wrongFieldType("vad.enabled"), start.replacingOccurrences(of: #""enabled":true"#, with: #""enabled":1"#))
        #expect(ModelProtocolError.wrongFieldType("x").code == .badJSON)
    }

    @Test func badFieldValue() {
        expectError(.badFieldValue("response_id"), #"{"type":"response.done","response_id":-1}"#)
        expectError(.badFieldValue("response_id"), #"{"type":"response.done","response_id":1e20}"#)
        expectError(.badFieldValue("audio_start_ms"), #"{"type":"speech_started","audio_start_ms":-5}"#)
        expectError(.badFieldValue("audio_end_ms"), #"{"type":"speech_stopped","audio_end_ms":9223372036854775808}"#)
        expectError(.badFieldValue("played_ms"),
                    #"{"type":"played","response_id":1,"played_ms":-0.5,"played_samples":1,"truncated":true}"#)
        expectError(.badFieldValue("output_audio_format.sample_rate"),
                    #"{"type":"session.ready","output_audio_format":{"encoding":"pcm16","sample_rate":0}}"#)
        let start = Self.documentedExamples[0].text
        expectError(.badFieldValue("input_audio_format.channels"),
                    start.replacingOccurrences(of: #""channels":1"#, with: #""channels":0"#))
        #expect(ModelProtocolError.badFieldValue("x").code == .badJSON)
    }

    @Test func frameTooLarge() {
        let prefix = #"{"type":"clear","pad":""#
        let padding = String(repeating: "x", count: ModelMessage.maximumBodyLength - prefix.utf8.count - 2)
        let largest = prefix + padding + #""}"#
        #expect(largest.utf8.count == ModelMessage.maximumBodyLength)
        #expect(throws: Never.self) { try ModelControlMessage(json: largest) }
        let tooLarge = prefix + padding + #"x"}"#
        expectError(.frameTooLarge(ModelMessage.maximumBodyLength + 1), tooLarge)
        #expect(ModelProtocolError.frameTooLarge(0).isFatal)
    }

    @Test func errorCodes() {
        let codes: [ModelErrorCode] = [.badJSON, .unknownType, .badAudioHeader, .badFrame, .frameTooLarge,
                                       .unsupportedFormat, .sequenceGap, .queueFull]
        #expect(codes.map(\.rawValue) == ["bad_json", "unknown_type", "bad_audio_header", "bad_frame",
                                          "frame_too_large", "unsupported_format", "sequence_gap", "queue_full"])
        #expect(codes.filter(\.isFatal) == [.frameTooLarge, .unsupportedFormat])
        #expect(ModelErrorCode(rawValue: "model_crashed").isFatal == false)
    }
}

extension ModelControlMessage {
    /// The payload of a `session.start`, `nil` for other messages.
    var sessionStart: SessionStart? {
        if case .sessionStart(let start) = self { return start }
        return nil
    }
}
