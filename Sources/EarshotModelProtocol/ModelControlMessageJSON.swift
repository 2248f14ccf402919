// JSON text of control messages: reading (`init(json:)`) and writing (`encode()`).
//
// Reading: the text must be a JSON object (RFC 8259) of at most 1 MiB with a string `type`. Members this version
// does not know are ignored; a member that is absent or `null` is absent; a required member that is absent is
// `missingField`, one of the wrong JSON type `wrongFieldType`, one out of range `badFieldValue` (names of nested
// members are dotted: "input_audio_format.sample_rate"). Integer members also take a number with a zero fraction
// (`16000.0`, as some JSON writers print whole floats); number members take integers.
//
// Writing: compact JSON, `type` first, then the members in the order Docs/model-protocol.md lists them; optional
// members that are `nil` are left out; `stats` members in sorted order.

extension ModelControlMessage {
    /// Parses the JSON text of a control message (a WebSocket text message, or the body of a control stdio frame).
    public init(json bytes: UnsafeRawBufferPointer) throws(ModelProtocolError) {
        guard bytes.count <= ModelMessage.maximumBodyLength else { throw .frameTooLarge(bytes.count) }
        guard case .object(let members) = try JSONValue(parsing: bytes) else { throw .notAnObject }
        try self.init(object: members)
    }

    /// Parses the JSON text of a control message from an array.
    public init(json bytes: [UInt8]) throws(ModelProtocolError) {
        self = try withBuffer(bytes) { (raw) throws(ModelProtocolError) in try ModelControlMessage(json: raw) }
    }

    /// Parses the JSON text of a control message from an array slice.
    public init(json bytes: ArraySlice<UInt8>) throws(ModelProtocolError) {
        self = try withBuffer(bytes) { (raw) throws(ModelProtocolError) in try ModelControlMessage(json: raw) }
    }

    /// Parses the JSON text of a control message from a string.
    public init(json text: String) throws(ModelProtocolError) {
        try self.init(json: Array(text.utf8))
    }

    /// Reads a control message from a parsed JSON object.
    public init(object members: [String: JSONValue]) throws(ModelProtocolError) {
        let fields = JSONFields(members: members, path: "")
        let type = try fields.string("type")
        switch type {
        case TypeName.sessionStart:
            let format = try fields.object("input_audio_format")
            let vad = try fields.object("vad")
            let client = try fields.object("client")
            self = .sessionStart(SessionStart(
                protocolVersion: try fields.string("protocol"),
                sessionID: try fields.string("session_id"),
                inputAudioFormat: InputAudioFormat(
                    encoding: try format.string("encoding"),
                    sampleRate: try format.int("sample_rate", minimum: 1),
                    channels: try format.int("channels", minimum: 1),
                    frameMs: try format.int("frame_ms", minimum: 1)),
                outputAudioFormats: try fields.strings("output_audio_formats"),
                vad: VAD(
                    enabled: try vad.bool("enabled"),
                    threshold: try vad.double("threshold"),
                    prefixPaddingMs: try vad.int("prefix_padding_ms"),
                    silenceDurationMs: try vad.int("silence_duration_ms")),
                client: Client(
                    userAgent: try client.optionalString("user_agent"),
                    remoteAddress: try client.optionalString("remote_address"),
                    codec: try client.optionalString("codec")),
                model: try fields.optionalString("model")))
        case TypeName.speechStarted:
            self = .speechStarted(audioStartMs: try fields.int("audio_start_ms"))
        case TypeName.speechStopped:
            self = .speechStopped(audioEndMs: try fields.int("audio_end_ms"))
        case TypeName.markPlayed:
            self = .markPlayed(name: try fields.string("name"), playedAtMs: try fields.int("played_at_ms"))
        case TypeName.markCancelled:
            self = .markCancelled(name: try fields.string("name"))
        case TypeName.played:
            self = .played(Played(
                responseID: try fields.uint64("response_id"),
                playedMs: try fields.double("played_ms", minimum: 0),
                playedSamples: try fields.int("played_samples"),
                truncated: try fields.bool("truncated")))
        case TypeName.stats:
            self = .stats(members.filter { $0.key != "type" })
        case TypeName.sessionReady:
            let format = try fields.object("output_audio_format")
            self = .sessionReady(SessionReady(outputAudioFormat: OutputAudioFormat(
                encoding: try format.string("encoding"), sampleRate: try format.int("sample_rate", minimum: 1))))
        case TypeName.clear:
            self = .clear
        case TypeName.mark:
            self = .mark(name: try fields.string("name"))
        case TypeName.responseDone:
            self = .responseDone(responseID: try fields.uint64("response_id"))
        case TypeName.stop:
            self = .stop(reason: try fields.optionalString("reason"))
        case TypeName.error:
            self = .error(code: ModelErrorCode(rawValue: try fields.string("code")),
                          message: try fields.optionalString("message"))
        default:
            throw .unknownType(type)
        }
    }

    /// The compact JSON text of the message.
    public func encode() -> [UInt8] {
        var members: [(String, OrderedJSON)] = [("type", .value(.string(type)))]
        func add(_ name: String, _ value: JSONValue) { members.append((name, .value(value))) }
        func add(_ name: String, _ value: String?) {
            if let value { add(name, .string(value)) }
        }
        switch self {
        case .sessionStart(let start):
            add("protocol", start.protocolVersion)
            add("session_id", start.sessionID)
            let format = start.inputAudioFormat
            members.append(("input_audio_format", .object([
                ("encoding", .value(.string(format.encoding))),
                ("sample_rate", .value(JSONValue(format.sampleRate))),
                ("channels", .value(JSONValue(format.channels))),
                ("frame_ms", .value(JSONValue(format.frameMs))),
            ])))
            add("output_audio_formats", .array(start.outputAudioFormats.map { .string($0) }))
            members.append(("vad", .object([
                ("enabled", .value(.bool(start.vad.enabled))),
                ("threshold", .value(.number(start.vad.threshold))),
                ("prefix_padding_ms", .value(JSONValue(start.vad.prefixPaddingMs))),
                ("silence_duration_ms", .value(JSONValue(start.vad.silenceDurationMs))),
            ])))
            var client: [(String, OrderedJSON)] = []
            for (name, value) in [("user_agent", start.client.userAgent),
                                  ("remote_address", start.client.remoteAddress), ("codec", start.client.codec)] {
                if let value { client.append((name, .value(.string(value)))) }
            }
            members.append(("client", .object(client)))
            add("model", start.model)
        case .speechStarted(let audioStartMs):
            add("audio_start_ms", JSONValue(audioStartMs))
        case .speechStopped(let audioEndMs):
            add("audio_end_ms", JSONValue(audioEndMs))
        case .markPlayed(let name, let playedAtMs):
            add("name", name)
            add("played_at_ms", JSONValue(playedAtMs))
        case .markCancelled(let name), .mark(let name):
            add("name", name)
        case .played(let played):
            add("response_id", JSONValue(played.responseID))
            add("played_ms", .number(played.playedMs))
            add("played_samples", JSONValue(played.playedSamples))
            add("truncated", .bool(played.truncated))
        case .stats(let stats):
            // A "type" member would repeat the message's own.
            for (name, value) in stats.sorted(by: { $0.key < $1.key }) where name != "type" {
                add(name, value)
            }
        case .sessionReady(let ready):
            members.append(("output_audio_format", .object([
                ("encoding", .value(.string(ready.outputAudioFormat.encoding))),
                ("sample_rate", .value(JSONValue(ready.outputAudioFormat.sampleRate))),
            ])))
        case .clear:
            break
        case .responseDone(let responseID):
            add("response_id", JSONValue(responseID))
        case .stop(let reason):
            add("reason", reason)
        case .error(let code, let message):
            add("code", code.rawValue)
            add("message", message)
        }
        var output: [UInt8] = []
        OrderedJSON.object(members).write(into: &output)
        return output
    }
}

extension ModelControlMessage: CustomStringConvertible {
    /// The JSON text.
    public var description: String { String(decoding: encode(), as: UTF8.self) }
}

/// A JSON value whose objects keep the order they were built in, for writing messages as the spec shows them.
enum OrderedJSON {
    case value(JSONValue)
    case object([(String, OrderedJSON)])

    func write(into output: inout [UInt8]) {
        switch self {
        case .value(let value):
            JSONSerializer.write(value, into: &output)
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            for (index, (name, value)) in members.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                JSONSerializer.writeString(name, into: &output)
                output.append(UInt8(ascii: ":"))
                value.write(into: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }
}

/// Typed reads of an object's members, with errors naming the member.
struct JSONFields {
    let members: [String: JSONValue]
    /// The dotted path of the object ("" at the top, "vad." inside `vad`).
    let path: String

    private func name(_ member: String) -> String { path + member }

    /// The member, `nil` when absent or `null`.
    private func optional(_ member: String) -> JSONValue? {
        switch members[member] {
        case nil, .null?: nil
        case let value?: value
        }
    }

    private func required(_ member: String) throws(ModelProtocolError) -> JSONValue {
        switch members[member] {
        case nil: throw .missingField(name(member))
        case .null?: throw .wrongFieldType(name(member))
        case let value?: return value
        }
    }

    func string(_ member: String) throws(ModelProtocolError) -> String {
        guard case .string(let value) = try required(member) else { throw .wrongFieldType(name(member)) }
        return value
    }

    func optionalString(_ member: String) throws(ModelProtocolError) -> String? {
        guard let value = optional(member) else { return nil }
        guard case .string(let string) = value else { throw .wrongFieldType(name(member)) }
        return string
    }

    func strings(_ member: String) throws(ModelProtocolError) -> [String] {
        guard case .array(let elements) = try required(member) else { throw .wrongFieldType(name(member)) }
        var strings: [String] = []
        for element in elements {
            guard case .string(let string) = element else { throw .wrongFieldType(name(member)) }
            strings.append(string)
        }
        return strings
    }

    func bool(_ member: String) throws(ModelProtocolError) -> Bool {
        guard case .bool(let value) = try required(member) else { throw .wrongFieldType(name(member)) }
        return value
    }

    func object(_ member: String) throws(ModelProtocolError) -> JSONFields {
        guard case .object(let value) = try required(member) else { throw .wrongFieldType(name(member)) }
        return JSONFields(members: value, path: name(member) + ".")
    }

    /// An integer of at least `minimum` (0 unless told: every integer of version 1 is a count, a duration or a
    /// rate).
    func int(_ member: String, minimum: Int = 0) throws(ModelProtocolError) -> Int {
        let integer: Int
        switch try required(member) {
        case .integer(let value):
            guard let fitting = Int(exactly: value) else { throw .badFieldValue(name(member)) }
            integer = fitting
        case .unsignedInteger:
            throw .badFieldValue(name(member))
        case .number(let value):
            guard value.rounded(.towardZero) == value else { throw .wrongFieldType(name(member)) }
            guard let fitting = Int(exactly: value) else { throw .badFieldValue(name(member)) }
            integer = fitting
        default:
            throw .wrongFieldType(name(member))
        }
        guard integer >= minimum else { throw .badFieldValue(name(member)) }
        return integer
    }

    /// An integer in 0 … 2⁶⁴ − 1.
    func uint64(_ member: String) throws(ModelProtocolError) -> UInt64 {
        switch try required(member) {
        case .integer(let value):
            guard let fitting = UInt64(exactly: value) else { throw .badFieldValue(name(member)) }
            return fitting
        case .unsignedInteger(let value):
            return value
        case .number(let value):
            guard value.rounded(.towardZero) == value else { throw .wrongFieldType(name(member)) }
            guard let fitting = UInt64(exactly: value) else { throw .badFieldValue(name(member)) }
            return fitting
        default:
            throw .wrongFieldType(name(member))
        }
    }

    /// A number (an integer is taken as its `Double`), at least `minimum` when given.
    func double(_ member: String, minimum: Double? = nil) throws(ModelProtocolError) -> Double {
        let number: Double
        switch try required(member) {
        case .integer(let value): number = Double(value)
        case .unsignedInteger(let value): number = Double(value)
        case .number(let value): number = value
        default: throw .wrongFieldType(name(member))
        }
        if let minimum, !(number >= minimum) { throw .badFieldValue(name(member)) }
        return number
    }
}
