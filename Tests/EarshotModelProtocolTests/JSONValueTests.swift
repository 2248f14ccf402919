import EarshotModelProtocol
import Testing

/// The JSON reader and writer behind control messages (RFC 8259).
@Suite("JSONValue")
struct JSONValueTests {
    func parse(_ text: String) throws(ModelProtocolError) -> JSONValue {
        try JSONValue(parsing: text)
    }

    /// Parses, and checks that serializing and parsing again gives the same value and the same text.
    func roundTrip(_ text: String) throws -> JSONValue {
        let value = try parse(text)
        let written = value.serialized()
        #expect(try JSONValue(parsing: written) == value, "\(text)")
        #expect(try JSONValue(parsing: written).serialized() == written, "\(text)")
        return value
    }

    // MARK: RFC 8259 examples

    /// RFC 8259 §13, the first example (an object with nested object and array), compacted whitespace kept.
    @Test func rfc8259ObjectExample() throws {
        let text = """
            {
              "Image": {
                  "Width":  800,
                  "Height": 600,
                  "Title":  "View from 15th Floor",
                  "Thumbnail": {
                      "Url":    "http://www.example.com/image/481989943",
                      "Height": 125,
                      "Width":  100
                  },
                  "Animated" : false,
                  "IDs": [116, 943, 234, 38793]
                }
            }
            """
        let value = try roundTrip(text)
        let expected: JSONValue = [
            "Image": [
                "Width": 800, "Height": 600, "Title": "View from 15th Floor",
                "Thumbnail": ["Url": "http://www.example.com/image/481989943", "Height": 125, "Width": 100],
                "Animated": false, "IDs": [116, 943, 234, 38793],
            ],
        ]
        #expect(value == expected)
    }

    /// RFC 8259 §13, the second example (an array of objects with fractions), and §13's bare values.
    @Test func rfc8259ArrayAndScalarExamples() throws {
        let value = try roundTrip("""
            [{"precision": "zip", "Latitude": 37.7668, "Longitude": -122.3959, "Address": "",
              "City": "SAN FRANCISCO", "State": "CA", "Zip": "94107", "Country": "US"}]
            """)
        guard case .array(let elements) = value, case .object(let first)? = elements.first else {
            Issue.record("not an array of objects: \(value)")
            return
        }
        #expect(first["Latitude"] == .number(37.7668))
        #expect(first["Longitude"] == .number(-122.3959))
        #expect(try roundTrip("\"Hello world!\"") == .string("Hello world!"))
        #expect(try roundTrip("42") == .integer(42))
        #expect(try roundTrip("true") == .bool(true))
        #expect(try roundTrip(" null ") == .null)
    }

    // MARK: Numbers

    @Test func integersStayExactUpToUInt64() throws {
        #expect(try roundTrip("0") == .integer(0))
        #expect(try roundTrip("-0") == .integer(0))
        #expect(try roundTrip("9223372036854775807") == .integer(.max))
        #expect(try roundTrip("-9223372036854775808") == .integer(.min))
        // Above Int64.max: kept exact, as a response id may be any u64.
        #expect(try roundTrip("9223372036854775808") == .unsignedInteger(9_223_372_036_854_775_808))
        #expect(try roundTrip("18446744073709551615") == .unsignedInteger(.max))
        #expect(JSONValue(UInt64.max) == .unsignedInteger(.max))
        #expect(JSONValue(UInt64(7)) == .integer(7))
        // Beyond UInt64 (or below Int64.min): a Double.
        #expect(try roundTrip("18446744073709551616") == .number(18_446_744_073_709_551_616))
        #expect(try roundTrip("-9223372036854775809") == .number(-9_223_372_036_854_775_809))
    }

    @Test func fractionsAndExponentsAreNumbers() throws {
        #expect(try roundTrip("1234.5") == .number(1234.5))
        #expect(try roundTrip("1.0") == .number(1))
        #expect(try roundTrip("1e5") == .number(100_000))
        #expect(try roundTrip("2E-3") == .number(0.002))
        #expect(try roundTrip("-0.0") == .number(-0.0))
        #expect(try roundTrip("1e-400") == .number(0))
        #expect(JSONValue.number(1234.5).description == "1234.5")
        #expect(JSONValue.number(16000).description == "16000.0")
        #expect(JSONValue.number(1e16).description == "1e+16")
        // JSON has no infinity or NaN: the writer falls back to null.
        #expect(JSONValue.number(.infinity).description == "null")
        #expect(JSONValue.number(.nan).description == "null")
    }

    @Test func malformedNumbersAreRejected() {
        for (text, offset) in [("01", 1), ("-", 1), ("1.", 2), (".5", 0), ("1e", 2), ("1e+", 3), ("+1", 0),
                               ("0x10", 1), ("1e400", 0), ("-1e400", 0), ("NaN", 0), ("Infinity", 0)] {
            #expect(throws: ModelProtocolError.badJSON(offset: offset), "\(text)") { try parse(text) }
        }
    }

    // MARK: Strings

    @Test func escapesDecode() throws {
        #expect(try roundTrip(#""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{08}\u{0C}\n\r\t"))
        #expect(try roundTrip(#""\u00e9\u20AC""#) == .string("é€"))
        // A surrogate pair: U+1D11E MUSICAL SYMBOL G CLEF (RFC 8259 §7's example).
        #expect(try roundTrip(#""\uD834\uDD1E""#) == .string("\u{1D11E}"))
        #expect(try roundTrip(#""\u0000""#) == .string("\u{0}"))
        #expect(try roundTrip("\"日本語 ok\"") == .string("日本語 ok"))
    }

    @Test func writerEscapesOnlyWhatJSONRequires() {
        #expect(JSONValue.string("a\"b\\c\n\u{01}/é").description == #""a\"b\\c\n\u0001/é""#)
    }

    @Test func malformedStringsAreRejected() {
        let cases: [([UInt8], Int)] = [
            (Array("\"abc".utf8), 4),                  // unterminated
            (Array("\"a\nb\"".utf8), 2),               // raw control character
            (Array(#""\x""#.utf8), 2),                 // unknown escape
            (Array(#""\u12""#.utf8), 3),               // short \u
            (Array(#""\uD834""#.utf8), 1),             // lone high surrogate
            (Array(#""\uD834\u0041""#.utf8), 1),       // high surrogate then a non-surrogate
            (Array(#""\uDD1E""#.utf8), 1),             // lone low surrogate
            ([0x22, 0xC3, 0x28, 0x22], 0),             // invalid UTF-8 (fast path)
            ([0x22, 0x5C, 0x6E, 0xFF, 0x22], 0),       // invalid UTF-8 after an escape
            ([0xEF, 0xBB, 0xBF, 0x7B, 0x7D], 0),       // a byte-order mark is not whitespace
        ]
        for (bytes, offset) in cases {
            #expect(throws: ModelProtocolError.badJSON(offset: offset), "\(bytes)") { try JSONValue(parsing: bytes) }
        }
    }

    // MARK: Structure

    @Test func objectsAreWrittenSortedAndCompact() throws {
        let value = try roundTrip(#" { "b" : [ 1 , 2 ] , "a" : { } , "c" : [ ] } "#)
        #expect(value.description == #"{"a":{},"b":[1,2],"c":[]}"#)
    }

    @Test func repeatedMemberNamesAreRejected() {
        // The second "a" starts at byte 8.
        #expect(throws: ModelProtocolError.badJSON(offset: 8)) { try parse(#"{"a":1, "a":2}"#) }
    }

    @Test func nestingIsBounded() throws {
        let deepest = String(repeating: "[", count: JSONValue.maximumDepth)
            + String(repeating: "]", count: JSONValue.maximumDepth)
        _ = try roundTrip(deepest)
        let tooDeep = String(repeating: "[", count: JSONValue.maximumDepth + 1)
            + String(repeating: "]", count: JSONValue.maximumDepth + 1)
        #expect(throws: ModelProtocolError.badJSON(offset: JSONValue.maximumDepth)) { try parse(tooDeep) }
        // Far deeper input fails at the first object too deep (5 bytes per level), without recursing further.
        #expect(throws: ModelProtocolError.badJSON(offset: 5 * JSONValue.maximumDepth)) {
            try parse(String(repeating: "{\"a\":", count: 100_000))
        }
    }

    @Test func malformedStructureIsRejected() {
        for (text, offset) in [("", 0), (" ", 1), ("{", 1), ("[1,]", 3), ("{\"a\"}", 4), ("{\"a\":1,}", 7),
                               ("{a:1}", 1), ("[1 2]", 3), ("{} {}", 3), ("tru", 0), ("nul", 0), ("[true", 5),
                               ("{\"a\":1 \"b\":2}", 7), ("'a'", 0)] {
            #expect(throws: ModelProtocolError.badJSON(offset: offset), "\(text)") { try parse(text) }
        }
    }
}
