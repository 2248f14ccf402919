/// A JSON value (RFC 8259), as control messages carry it.
///
/// Numbers keep their kind: a literal without fraction or exponent is an integer (``integer(_:)``, or
/// ``unsignedInteger(_:)`` for values above `Int64.max`, so that any u64 response id survives), anything else a
/// ``number(_:)``. Objects are dictionaries: member order is not kept, and the serializer writes members in sorted
/// order so that the same value always gives the same text.
public enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    /// An integer literal that fits `Int64`.
    case integer(Int64)
    /// An integer literal above `Int64.max` that fits `UInt64`. The parser produces it for no other value; build
    /// integers with `JSONValue(_: UInt64)` to keep that so.
    case unsignedInteger(UInt64)
    /// A number with a fraction or an exponent, or an integer beyond `UInt64`; always finite when parsed.
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The deepest nesting of arrays and objects the parser accepts. Parsing recurses once per level, so the bound
    /// keeps hostile input from exhausting the stack; control messages nest two or three levels.
    public static let maximumDepth = 32

    /// An integer value: ``integer(_:)`` when it fits `Int64`, else ``unsignedInteger(_:)``.
    public init(_ value: UInt64) {
        if let small = Int64(exactly: value) {
            self = .integer(small)
        } else {
            self = .unsignedInteger(value)
        }
    }

    /// An integer value.
    public init(_ value: Int) {
        self = .integer(Int64(value))
    }

    /// Parses one JSON text (RFC 8259 §2: a value with optional whitespace around it). The text must be valid
    /// UTF-8; a string escape must not leave a lone surrogate; an object must not repeat a member name; numbers
    /// must be finite as `Double`.
    public init(parsing bytes: UnsafeRawBufferPointer) throws(ModelProtocolError) {
        var parser = JSONParser(bytes: bytes)
        self = try parser.parseText()
    }

    /// Parses one JSON text from an array.
    public init(parsing bytes: [UInt8]) throws(ModelProtocolError) {
        self = try withBuffer(bytes) { (raw) throws(ModelProtocolError) in try JSONValue(parsing: raw) }
    }

    /// Parses one JSON text from a string.
    public init(parsing text: String) throws(ModelProtocolError) {
        try self.init(parsing: Array(text.utf8))
    }

    /// The compact JSON text of the value (no whitespace; object members in sorted order; non-ASCII characters as
    /// UTF-8, control characters escaped). A non-finite ``number(_:)``, which JSON cannot express, is written as
    /// `null`.
    public func serialized() -> [UInt8] {
        var output: [UInt8] = []
        JSONSerializer.write(self, into: &output)
        return output
    }
}

extension JSONValue: CustomStringConvertible {
    /// The serialized text.
    public var description: String { String(decoding: serialized(), as: UTF8.self) }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }

    /// An object; a repeated key keeps its last value.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

/// Runs `body` over the bytes of an array, keeping the typed error.
func withBuffer<R>(
    _ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(ModelProtocolError) -> R
) throws(ModelProtocolError) -> R {
    let result = bytes.withUnsafeBytes { raw in Result { () throws(ModelProtocolError) in try body(raw) } }
    return try result.get()
}

/// Runs `body` over the bytes of an array slice (offsets relative to the slice start), keeping the typed error.
func withBuffer<R>(
    _ bytes: ArraySlice<UInt8>, _ body: (UnsafeRawBufferPointer) throws(ModelProtocolError) -> R
) throws(ModelProtocolError) -> R {
    let result = bytes.withUnsafeBytes { raw in Result { () throws(ModelProtocolError) in try body(raw) } }
    return try result.get()
}

// MARK: - Parsing

/// A recursive-descent parser for RFC 8259 JSON text. Every read checks `offset` against the buffer; every
/// failure is `badJSON(offset:)` at the byte that could not be taken.
struct JSONParser {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    private static let quote = UInt8(ascii: "\"")
    private static let backslash = UInt8(ascii: "\\")

    init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    private var failure: ModelProtocolError { .badJSON(offset: offset) }

    private var current: UInt8? { offset < bytes.count ? bytes[offset] : nil }

    private func isDigit(at index: Int) -> Bool {
        index < bytes.count && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index])
    }

    /// RFC 8259 §2: `JSON-text = ws value ws`.
    mutating func parseText() throws(ModelProtocolError) -> JSONValue {
        skipWhitespace()
        let value = try parseValue(depth: 0)
        skipWhitespace()
        guard offset == bytes.count else { throw failure }
        return value
    }

    /// RFC 8259 §2: whitespace is space, horizontal tab, line feed and carriage return (no byte order mark).
    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D {
            offset += 1
        }
    }

    /// `depth` is the number of containers around the value.
    private mutating func parseValue(depth: Int) throws(ModelProtocolError) -> JSONValue {
        guard let byte = current else { throw failure }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case Self.quote: return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw failure
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(ModelProtocolError) {
        let count = literal.utf8CodeUnitCount
        guard count <= bytes.count - offset else { throw failure }
        let matches = literal.withUTF8Buffer { expected in
            (0..<count).allSatisfy { bytes[offset + $0] == expected[$0] }
        }
        guard matches else { throw failure }
        offset += count
    }

    /// RFC 8259 §4: `{ member *( , member ) }` with `member = string : value`.
    private mutating func parseObject(depth: Int) throws(ModelProtocolError) -> JSONValue {
        guard depth <= JSONValue.maximumDepth else { throw failure }
        offset += 1
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            offset += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard current == Self.quote else { throw failure }
            let nameOffset = offset
            let name = try parseString()
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw failure }
            offset += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            // RFC 8259 §4 leaves repeated names to the implementation; here they are an error, so that no two
            // readers can see different values in one message.
            guard members.updateValue(value, forKey: name) == nil else { throw .badJSON(offset: nameOffset) }
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): offset += 1
            case UInt8(ascii: "}"): offset += 1; return .object(members)
            default: throw failure
            }
        }
    }

    /// RFC 8259 §5: `[ value *( , value ) ]`.
    private mutating func parseArray(depth: Int) throws(ModelProtocolError) -> JSONValue {
        guard depth <= JSONValue.maximumDepth else { throw failure }
        offset += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            offset += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): offset += 1
            case UInt8(ascii: "]"): offset += 1; return .array(elements)
            default: throw failure
            }
        }
    }

    /// RFC 8259 §6: `-? int frac? exp?`, where `int` has no leading zero. A literal with neither fraction nor
    /// exponent is an integer when it fits `Int64` or `UInt64`; anything else must be a finite `Double`.
    private mutating func parseNumber() throws(ModelProtocolError) -> JSONValue {
        let start = offset
        if current == UInt8(ascii: "-") { offset += 1 }
        guard isDigit(at: offset) else { throw failure }
        if current == UInt8(ascii: "0") {
            offset += 1
        } else {
            while isDigit(at: offset) { offset += 1 }
        }
        var isInteger = true
        if current == UInt8(ascii: ".") {
            isInteger = false
            offset += 1
            guard isDigit(at: offset) else { throw failure }
            while isDigit(at: offset) { offset += 1 }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            isInteger = false
            offset += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { offset += 1 }
            guard isDigit(at: offset) else { throw failure }
            while isDigit(at: offset) { offset += 1 }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)
        if isInteger {
            if let value = Int64(text) { return .integer(value) }
            if bytes[start] != UInt8(ascii: "-"), let value = UInt64(text) { return .unsignedInteger(value) }
        }
        guard let value = Double(text), value.isFinite else { throw .badJSON(offset: start) }
        return .number(value)
    }

    /// RFC 8259 §7: a quoted string with escapes; unescaped bytes below 0x20 are not allowed, and the result must
    /// be valid UTF-8 without lone surrogates.
    private mutating func parseString() throws(ModelProtocolError) -> String {
        let start = offset
        offset += 1
        let contentStart = offset
        // Fast path: no escapes, so the content is the bytes between the quotes.
        while let byte = current, byte != Self.quote, byte != Self.backslash {
            guard byte >= 0x20 else { throw failure }
            offset += 1
        }
        guard let stop = current else { throw failure }
        if stop == Self.quote {
            let content = UnsafeRawBufferPointer(rebasing: bytes[contentStart..<offset])
            guard let string = String(validating: content, as: UTF8.self) else { throw .badJSON(offset: start) }
            offset += 1
            return string
        }
        var content = Array(bytes[contentStart..<offset])
        while true {
            guard let byte = current else { throw failure }
            switch byte {
            case Self.quote:
                guard let string = String(validating: content, as: UTF8.self) else { throw .badJSON(offset: start) }
                offset += 1
                return string
            case Self.backslash:
                try parseEscape(into: &content)
            case 0..<0x20:
                throw failure
            default:
                content.append(byte)
                offset += 1
            }
        }
    }

    /// One escape sequence at `offset` (the backslash), appended to `content` as UTF-8.
    private mutating func parseEscape(into content: inout [UInt8]) throws(ModelProtocolError) {
        offset += 1
        guard let escaped = current else { throw failure }
        let simple: UInt8?
        switch escaped {
        case Self.quote, Self.backslash, UInt8(ascii: "/"): simple = escaped
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "u"): simple = nil
        default: throw failure
        }
        if let simple {
            content.append(simple)
            offset += 1
            return
        }
        let escapeStart = offset - 1
        offset += 1
        var value = try parseHexQuad()
        switch value {
        case 0xD800...0xDBFF:
            // A high surrogate must be followed by an escaped low surrogate (RFC 8259 §7, UTF-16 pairs).
            guard offset + 1 < bytes.count, bytes[offset] == Self.backslash, bytes[offset + 1] == UInt8(ascii: "u")
            else { throw .badJSON(offset: escapeStart) }
            offset += 2
            let low = try parseHexQuad()
            guard (0xDC00...0xDFFF).contains(low) else { throw .badJSON(offset: escapeStart) }
            value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
        case 0xDC00...0xDFFF:
            throw .badJSON(offset: escapeStart)
        default:
            break
        }
        guard let scalar = Unicode.Scalar(value) else { throw .badJSON(offset: escapeStart) }
        UTF8.encode(scalar) { content.append($0) }
    }

    /// Four hexadecimal digits at `offset`.
    private mutating func parseHexQuad() throws(ModelProtocolError) -> UInt32 {
        guard bytes.count - offset >= 4 else { throw failure }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure
            }
            value = value << 4 | UInt32(digit)
            offset += 1
        }
        return value
    }
}

// MARK: - Serialization

enum JSONSerializer {
    static func write(_ value: JSONValue, into output: inout [UInt8]) {
        switch value {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let flag): output.append(contentsOf: (flag ? "true" : "false").utf8)
        case .integer(let integer): output.append(contentsOf: String(integer).utf8)
        case .unsignedInteger(let integer): output.append(contentsOf: String(integer).utf8)
        case .number(let number): writeNumber(number, into: &output)
        case .string(let string): writeString(string, into: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                write(element, into: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            writeObject(members.sorted { $0.key < $1.key }, into: &output)
        }
    }

    /// An object with its members in the given order (control messages put `type` first).
    static func writeObject(_ members: [(key: String, value: JSONValue)], into output: inout [UInt8]) {
        output.append(UInt8(ascii: "{"))
        for (index, member) in members.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            writeString(member.key, into: &output)
            output.append(UInt8(ascii: ":"))
            write(member.value, into: &output)
        }
        output.append(UInt8(ascii: "}"))
    }

    /// Swift's shortest round-trip form ("0.5", "1234.5", "16000.0", "1e-07", "1e+16") is a valid JSON number and
    /// always has a fraction or an exponent, so it parses back as a number with the same value.
    static func writeNumber(_ number: Double, into output: inout [UInt8]) {
        if number.isFinite {
            output.append(contentsOf: number.description.utf8)
        } else {
            output.append(contentsOf: "null".utf8)
        }
    }

    static func writeString(_ string: String, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): output.append(contentsOf: #"\\"#.utf8)
            case 0x0A: output.append(contentsOf: #"\n"#.utf8)
            case 0x0D: output.append(contentsOf: #"\r"#.utf8)
            case 0x09: output.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20:
                // RFC 8259 §7: other control characters as \u00XX.
                let hex = Array("0123456789abcdef".utf8)
                output.append(contentsOf: #"\u00"#.utf8)
                output.append(hex[Int(byte >> 4)])
                output.append(hex[Int(byte & 0x0F)])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}
