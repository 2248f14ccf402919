// Small text helpers shared by the SDP parsers. SDP is parsed as UTF-8 bytes; values are bounds-checked spans of
// one line, and only the parts kept in the model become Strings.

/// A span of bytes inside a buffer that outlives it: only created inside `withSDPBytes` (or the parser's own
/// `withUnsafeBufferPointer`) and never stored. Indices are absolute positions in that buffer, like a slice's.
/// Deliberately not a Collection: these few concrete methods stay cheap even in unoptimized builds, where the
/// parser runs millions of times under the mutation tests.
struct SDPBytes {
    let base: UnsafePointer<UInt8>
    let startIndex: Int
    let endIndex: Int

    init(base: UnsafePointer<UInt8>, startIndex: Int, endIndex: Int) {
        self.base = base
        self.startIndex = startIndex
        self.endIndex = max(startIndex, endIndex)
    }

    var count: Int { endIndex - startIndex }
    var isEmpty: Bool { endIndex == startIndex }

    /// `index` must be in startIndex..<endIndex; every caller checks it first.
    subscript(index: Int) -> UInt8 {
        precondition(index >= startIndex && index < endIndex, "SDPBytes index out of range")
        return base[index]
    }

    /// Clamped to this span.
    subscript(range: Range<Int>) -> SDPBytes {
        SDPBytes(base: base, startIndex: max(startIndex, min(range.lowerBound, endIndex)),
                 endIndex: min(endIndex, max(range.upperBound, startIndex)))
    }

    var first: UInt8? { isEmpty ? nil : base[startIndex] }
    var last: UInt8? { isEmpty ? nil : base[endIndex - 1] }

    func dropFirst(_ n: Int = 1) -> SDPBytes { self[min(endIndex, startIndex + n)..<endIndex] }
    func dropLast(_ n: Int = 1) -> SDPBytes { self[startIndex..<max(startIndex, endIndex - n)] }
    func prefix(_ n: Int) -> SDPBytes { self[startIndex..<min(endIndex, startIndex + n)] }

    func firstIndex(of byte: UInt8) -> Int? {
        var index = startIndex
        while index < endIndex {
            if base[index] == byte { return index }
            index += 1
        }
        return nil
    }

    func contains(_ byte: UInt8) -> Bool { firstIndex(of: byte) != nil }

    func allSatisfy(_ predicate: (UInt8) -> Bool) -> Bool {
        var index = startIndex
        while index < endIndex {
            if !predicate(base[index]) { return false }
            index += 1
        }
        return true
    }

    func split(separator: UInt8, omittingEmptySubsequences: Bool = true) -> [SDPBytes] {
        var parts: [SDPBytes] = []
        var start = startIndex
        var index = startIndex
        while index < endIndex {
            if base[index] == separator {
                if !omittingEmptySubsequences || index > start {
                    parts.append(SDPBytes(base: base, startIndex: start, endIndex: index))
                }
                start = index + 1
            }
            index += 1
        }
        if !omittingEmptySubsequences || endIndex > start {
            parts.append(SDPBytes(base: base, startIndex: start, endIndex: endIndex))
        }
        return parts
    }

    /// Splits on single spaces, dropping empty fields (so runs of spaces count as one separator).
    func sdpFields() -> [SDPBytes] { split(separator: SDPASCII.space) }

    /// Splits at the first occurrence of `separator`; the separator is in neither part.
    func sdpSplitOnce(_ separator: UInt8) -> (head: SDPBytes, tail: SDPBytes?) {
        guard let index = firstIndex(of: separator) else { return (self, nil) }
        return (self[startIndex..<index], self[(index + 1)..<endIndex])
    }

    /// Removes leading and trailing spaces and tabs.
    func sdpTrimmed() -> SDPBytes {
        var start = startIndex
        var end = endIndex
        while start < end, base[start] == SDPASCII.space || base[start] == SDPASCII.tab { start += 1 }
        while end > start, base[end - 1] == SDPASCII.space || base[end - 1] == SDPASCII.tab { end -= 1 }
        return SDPBytes(base: base, startIndex: start, endIndex: end)
    }

    /// Decimal digits only (no sign, no space), value at most `maximum`; nil otherwise. Overflow-safe.
    func sdpDecimal(maximum: UInt64) -> UInt64? {
        guard !isEmpty, count <= 20 else { return nil }  // 20 digits: UInt64.max has 20
        var value: UInt64 = 0
        var index = startIndex
        while index < endIndex {
            let byte = base[index]
            guard SDPASCII.isDigit(byte) else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte &- SDPASCII.zero))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
            index += 1
        }
        return value <= maximum ? value : nil
    }

    func sdpIsToken() -> Bool {
        guard !isEmpty else { return false }
        var index = startIndex
        while index < endIndex {
            if !SDPASCII.isTokenChar(base[index]) { return false }
            index += 1
        }
        return true
    }

    var buffer: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base + startIndex, count: count) }

    /// The bytes as a String. The line was validated as UTF-8 before, and fields are cut at ASCII bytes only, so
    /// this never has to repair anything.
    var sdpText: String { String(decoding: buffer, as: UTF8.self) }

    func sdpEquals(_ string: StaticString) -> Bool {
        let length = endIndex - startIndex
        guard length == string.utf8CodeUnitCount else { return false }
        let other = string.utf8Start
        var offset = 0
        while offset < length {
            if base[startIndex + offset] != other[offset] { return false }
            offset += 1
        }
        return true
    }
}

/// Runs `body` with the UTF-8 bytes of `text`.
func withSDPBytes<R>(_ text: String, _ body: (SDPBytes) -> R) -> R {
    var text = text
    return text.withUTF8 { buffer in withSDPBytes(buffer, body) }
}

/// Runs `body` with the bytes of `buffer` (an empty buffer may have no address; a static byte stands in).
func withSDPBytes<R>(_ buffer: UnsafeBufferPointer<UInt8>, _ body: (SDPBytes) -> R) -> R {
    guard let base = buffer.baseAddress else {
        return withUnsafePointer(to: SDPASCII.zero) { body(SDPBytes(base: $0, startIndex: 0, endIndex: 0)) }
    }
    return body(SDPBytes(base: base, startIndex: 0, endIndex: buffer.count))
}

enum SDPASCII {
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let colon = UInt8(ascii: ":")
    static let semicolon = UInt8(ascii: ";")
    static let slash = UInt8(ascii: "/")
    static let equals = UInt8(ascii: "=")
    static let dot = UInt8(ascii: ".")
    static let hyphen = UInt8(ascii: "-")
    static let underscore = UInt8(ascii: "_")
    static let lineFeed = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")
    static let zero = UInt8(ascii: "0")
    static let nine = UInt8(ascii: "9")

    static func isDigit(_ byte: UInt8) -> Bool { byte >= zero && byte <= nine }

    static func isAlpha(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }

    /// RFC 8866 §9 `token-char`: visible ASCII except the separators `"(),/:;<=>?@[\]{}` and space.
    static func isTokenChar(_ byte: UInt8) -> Bool {
        // Plain comparisons rather than range patterns: this runs for most bytes of a description.
        if byte >= 0x5E { return byte <= 0x7E }                // ^ _ ` a-z { | } ~
        if byte >= 0x41 { return byte <= 0x5A }                // A-Z
        if byte >= 0x30 { return byte <= 0x39 }                // 0-9
        if byte >= 0x23 { return byte <= 0x27 || byte == 0x2A || byte == 0x2B || byte == 0x2D || byte == 0x2E }
        return byte == 0x21                                    // !
    }

    /// RFC 8839 §5.1 `ice-char`: ALPHA / DIGIT / "+" / "/".
    static func isICEChar(_ byte: UInt8) -> Bool {
        isAlpha(byte) || isDigit(byte) || byte == UInt8(ascii: "+") || byte == slash
    }

    /// Visible ASCII or any non-ASCII byte of a UTF-8 sequence: no space, no control character.
    static func isVisible(_ byte: UInt8) -> Bool { byte > 0x20 && byte != 0x7F }

    /// A host name character (RFC 1123 §2.1, plus '_').
    static func isHostnameChar(_ byte: UInt8) -> Bool {
        isAlpha(byte) || isDigit(byte) || byte == hyphen || byte == underscore
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        if byte >= zero && byte <= nine { return byte &- zero }
        let lower = byte | 0x20  // ASCII letters: lower case has bit 5 set
        if lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "f") { return lower &- UInt8(ascii: "a") &+ 10 }
        return nil
    }
}

func sdpLowercasedASCII(_ byte: UInt8) -> UInt8 {
    byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
}

extension String {
    /// ASCII-only lower-casing (SDP tokens are ASCII; avoids locale rules).
    var sdpLowercased: String {
        String(decoding: utf8.map(sdpLowercasedASCII), as: UTF8.self)
    }

    /// The text as a decimal number no larger than `maximum` (see `SDPBytes.sdpDecimal`).
    func sdpDecimal(maximum: UInt64) -> UInt64? {
        withSDPBytes(self) { $0.sdpDecimal(maximum: maximum) }
    }
}
