// Small text helpers shared by the SDP parsers. SDP is parsed as UTF-8 bytes; values are bounds-checked slices of
// one line, and only the parts kept in the model become Strings.

typealias SDPBytes = ArraySlice<UInt8>

enum SDPASCII {
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let colon = UInt8(ascii: ":")
    static let semicolon = UInt8(ascii: ";")
    static let slash = UInt8(ascii: "/")
    static let equals = UInt8(ascii: "=")
    static let dot = UInt8(ascii: ".")
    static let hyphen = UInt8(ascii: "-")
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
        switch byte {
        case 0x21, 0x23...0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x30...0x39, 0x41...0x5A, 0x5E...0x7E:
            return true
        default:
            return false
        }
    }

    /// RFC 8839 §5.1 `ice-char`: ALPHA / DIGIT / "+" / "/".
    static func isICEChar(_ byte: UInt8) -> Bool {
        isAlpha(byte) || isDigit(byte) || byte == UInt8(ascii: "+") || byte == slash
    }

    /// Visible ASCII or any non-ASCII byte of a UTF-8 sequence: no space, no control character.
    static func isVisible(_ byte: UInt8) -> Bool { byte > 0x20 && byte != 0x7F }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case zero...nine: return byte &- zero
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte &- UInt8(ascii: "A") &+ 10
        default: return nil
        }
    }
}

extension ArraySlice where Element == UInt8 {
    /// Splits on single spaces, dropping empty fields (so runs of spaces count as one separator).
    func sdpFields() -> [SDPBytes] {
        split(separator: SDPASCII.space, omittingEmptySubsequences: true)
    }

    /// Splits at the first occurrence of `separator`; the separator is in neither part.
    func sdpSplitOnce(_ separator: UInt8) -> (head: SDPBytes, tail: SDPBytes?) {
        guard let index = firstIndex(of: separator) else { return (self, nil) }
        return (self[startIndex..<index], self[(index + 1)...])
    }

    /// Removes leading and trailing spaces and tabs.
    func sdpTrimmed() -> SDPBytes {
        var start = startIndex
        var end = endIndex
        while start < end, self[start] == SDPASCII.space || self[start] == SDPASCII.tab { start += 1 }
        while end > start, self[end - 1] == SDPASCII.space || self[end - 1] == SDPASCII.tab { end -= 1 }
        return self[start..<end]
    }

    /// Decimal digits only (no sign, no space), value at most `maximum`; nil otherwise. Overflow-safe.
    func sdpDecimal(maximum: UInt64) -> UInt64? {
        guard !isEmpty, count <= 20 else { return nil }  // 20 digits: UInt64.max has 20
        var value: UInt64 = 0
        for byte in self {
            guard SDPASCII.isDigit(byte) else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte &- SDPASCII.zero))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        return value <= maximum ? value : nil
    }

    func sdpIsToken() -> Bool { !isEmpty && allSatisfy(SDPASCII.isTokenChar) }

    /// The bytes as a String. The line was validated as UTF-8 before, and fields are cut at ASCII bytes only, so
    /// this never has to repair anything.
    var sdpText: String { String(decoding: self, as: UTF8.self) }

    func sdpEquals(_ string: StaticString) -> Bool {
        guard count == string.utf8CodeUnitCount else { return false }
        return string.withUTF8Buffer { buffer in
            var index = startIndex
            for byte in buffer {
                guard self[index] == byte else { return false }
                index += 1
            }
            return true
        }
    }

    func sdpEqualsIgnoringCase(_ string: StaticString) -> Bool {
        guard count == string.utf8CodeUnitCount else { return false }
        return string.withUTF8Buffer { buffer in
            var index = startIndex
            for byte in buffer {
                guard sdpLowercasedASCII(self[index]) == sdpLowercasedASCII(byte) else { return false }
                index += 1
            }
            return true
        }
    }
}

@inline(__always)
func sdpLowercasedASCII(_ byte: UInt8) -> UInt8 {
    byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
}

extension String {
    /// ASCII-only lower-casing (SDP tokens are ASCII; avoids locale rules).
    var sdpLowercased: String {
        String(decoding: utf8.map(sdpLowercasedASCII), as: UTF8.self)
    }

    var sdpBytes: SDPBytes { SDPBytes(utf8) }
}
