/// CRC-32 as used by IEEE 802.3, zlib and the STUN FINGERPRINT (RFC 8489 §14.7): reflected polynomial
/// 0xEDB88320, initial value and final xor 0xFFFFFFFF. Table-driven, one byte per step.
public enum CRC32 {
    /// The 256-entry table for the reflected polynomial 0xEDB88320 (x^32 + x^26 + … + 1, bit-reversed).
    static let table: [UInt32] = (0..<256).map { index -> UInt32 in
        var crc = UInt32(index)
        for _ in 0..<8 {
            crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1
        }
        return crc
    }

    /// Continues a checksum: `update(checksum(a), b) == checksum(a + b)`. Start from 0.
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        table.withUnsafeBufferPointer { table in
            var value = ~crc
            for byte in bytes {
                value = table[Int(UInt8(truncatingIfNeeded: value) ^ byte)] ^ (value >> 8)
            }
            return ~value
        }
    }

    /// The CRC-32 of `bytes`.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        update(0, bytes)
    }

    /// The CRC-32 of `bytes`.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { update(0, $0) }
    }
}
