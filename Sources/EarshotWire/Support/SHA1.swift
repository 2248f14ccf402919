/// SHA-1 (FIPS 180-4 §6.1), for STUN MESSAGE-INTEGRITY (HMAC-SHA1, RFC 8489 §14.5).
///
/// SHA-1 is broken for collision resistance; HMAC-SHA1 remains what STUN short-term credentials require.
public struct SHA1: HashFunction {
    /// The block size: 64 bytes.
    public static let blockByteCount = 64
    /// The digest size: 20 bytes.
    public static let digestByteCount = 20

    struct State: BlockCompression {
        static let lengthIsBigEndian = true
        // FIPS 180-4 §5.3.1 initial hash value.
        var h0: UInt32 = 0x6745_2301
        var h1: UInt32 = 0xEFCD_AB89
        var h2: UInt32 = 0x98BA_DCFE
        var h3: UInt32 = 0x1032_5476
        var h4: UInt32 = 0xC3D2_E1F0

        mutating func compress(_ block: UnsafeRawPointer) {
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 80) { w in
                for t in 0..<16 {
                    w[t] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: t * 4, as: UInt32.self))
                }
                for t in 16..<80 {
                    w[t] = rotateLeft(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1)
                }
                var a = h0, b = h1, c = h2, d = h3, e = h4
                // FIPS 180-4 §4.1.1 functions and §4.2.1 constants, 20 rounds each.
                for t in 0..<20 {
                    let f = (b & c) | (~b & d)
                    let temp = rotateLeft(a, 5) &+ f &+ e &+ 0x5A82_7999 &+ w[t]
                    e = d; d = c; c = rotateLeft(b, 30); b = a; a = temp
                }
                for t in 20..<40 {
                    let temp = rotateLeft(a, 5) &+ (b ^ c ^ d) &+ e &+ 0x6ED9_EBA1 &+ w[t]
                    e = d; d = c; c = rotateLeft(b, 30); b = a; a = temp
                }
                for t in 40..<60 {
                    let f = (b & c) | (b & d) | (c & d)
                    let temp = rotateLeft(a, 5) &+ f &+ e &+ 0x8F1B_BCDC &+ w[t]
                    e = d; d = c; c = rotateLeft(b, 30); b = a; a = temp
                }
                for t in 60..<80 {
                    let temp = rotateLeft(a, 5) &+ (b ^ c ^ d) &+ e &+ 0xCA62_C1D6 &+ w[t]
                    e = d; d = c; c = rotateLeft(b, 30); b = a; a = temp
                }
                h0 &+= a; h1 &+= b; h2 &+= c; h3 &+= d; h4 &+= e
            }
        }
    }

    var core = MerkleDamgard(State())

    /// Creates a hash in its initial state.
    public init() {}

    /// Absorbs `bytes`.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        core.update(bytes)
    }

    /// Returns the 20-byte digest.
    public func finalize() -> [UInt8] {
        let s = core.finished()
        return bigEndianDigest([s.h0, s.h1, s.h2, s.h3, s.h4])
    }
}
