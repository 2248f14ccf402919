@testable import EarshotWire

/// Bytes from hex text as RFCs print it: whitespace and line breaks ignored.
func hex(_ text: String) -> [UInt8] {
    let digits = text.unicodeScalars.filter { !$0.properties.isWhitespace }.map(Character.init)
    precondition(digits.count % 2 == 0, "odd number of hex digits")
    var out: [UInt8] = []
    var index = 0
    while index < digits.count {
        guard let byte = UInt8(String(digits[index...index + 1]), radix: 16) else {
            preconditionFailure("bad hex digit")
        }
        out.append(byte)
        index += 2
    }
    return out
}

/// Lower-case hex of bytes, for readable expectations.
func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

extension SplitMix64 {
    mutating func bytes(count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
    }

    /// Returns `base` with a few random edits: flipped bits, changed bytes, truncation or extension.
    mutating func mutate(_ base: [UInt8]) -> [UInt8] {
        var bytes = base
        let edits = Int.random(in: 1...4, using: &self)
        for _ in 0..<edits {
            switch Int.random(in: 0..<6, using: &self) {
            case 0 where !bytes.isEmpty:
                let at = Int.random(in: 0..<bytes.count, using: &self)
                bytes[at] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &self)
            case 1 where !bytes.isEmpty:
                let at = Int.random(in: 0..<bytes.count, using: &self)
                bytes[at] = UInt8.random(in: 0...255, using: &self)
            case 2 where !bytes.isEmpty:
                bytes.removeLast(Int.random(in: 1...bytes.count, using: &self))
            case 3:
                bytes.append(contentsOf: self.bytes(count: Int.random(in: 1...8, using: &self)))
            case 4 where bytes.count >= 4:
                // Interesting values in length-like positions.
                let at = Int.random(in: 0..<(bytes.count - 1), using: &self)
                let value = [0x00, 0xFF, 0x7F, 0x80, 0x01][Int.random(in: 0..<5, using: &self)]
                bytes[at] = UInt8(value)
            default:
                if !bytes.isEmpty {
                    let at = Int.random(in: 0..<bytes.count, using: &self)
                    bytes.insert(UInt8.random(in: 0...255, using: &self), at: at)
                }
            }
        }
        return bytes
    }
}
