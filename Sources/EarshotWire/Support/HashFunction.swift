/// A streaming cryptographic hash over 64-byte blocks (SHA-1, SHA-256, MD5).
///
/// The implementations here exist for the STUN attributes that need them (MESSAGE-INTEGRITY,
/// MESSAGE-INTEGRITY-SHA256, the long-term credential key); bulk media cryptography lives elsewhere.
public protocol HashFunction: Sendable {
    /// The input block size in bytes (64 for every hash here), which HMAC needs.
    static var blockByteCount: Int { get }
    /// The digest size in bytes.
    static var digestByteCount: Int { get }
    /// Creates a hash in its initial state.
    init()
    /// Absorbs `bytes`.
    mutating func update(_ bytes: UnsafeRawBufferPointer)
    /// Finishes the hash (padding and length) and returns the digest.
    func finalize() -> [UInt8]
}

extension HashFunction {
    /// Absorbs `bytes`.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Absorbs `bytes`.
    public mutating func update(_ bytes: ArraySlice<UInt8>) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The digest of `bytes`.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var hasher = Self()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// The digest of `bytes`.
    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { hash($0) }
    }
}

/// One 64-byte block kept inline (no heap allocation) while a hash accumulates a partial block.
struct InlineBlock64 {
    var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
}

/// The compression function of a Merkle–Damgård hash with 64-byte blocks.
protocol BlockCompression: Sendable {
    /// Whether the 64-bit message length at the end of the padding is big-endian (SHA) or little-endian (MD5).
    static var lengthIsBigEndian: Bool { get }
    /// Processes one 64-byte block starting at `block` (no alignment assumed).
    mutating func compress(_ block: UnsafeRawPointer)
}

/// Buffering, padding and length encoding shared by SHA-1, SHA-256 and MD5 (FIPS 180-4 §5.1.1, RFC 1321 §3.1–3.2).
struct MerkleDamgard<Compression: BlockCompression>: Sendable {
    var compression: Compression
    var buffer = InlineBlock64()
    var buffered = 0
    var byteCount: UInt64 = 0

    init(_ compression: Compression) {
        self.compression = compression
    }

    mutating func update(_ data: UnsafeRawBufferPointer) {
        guard var source = data.baseAddress, data.count > 0 else { return }
        var left = data.count
        byteCount &+= UInt64(left)
        if buffered > 0 {
            let take = min(64 - buffered, left)
            let at = buffered
            withUnsafeMutableBytes(of: &buffer) { block in
                block.baseAddress.map { ($0 + at).copyMemory(from: source, byteCount: take) }
            }
            buffered += take
            source += take
            left -= take
            if buffered == 64 {
                compressBuffer()
            }
        }
        while left >= 64 {
            compression.compress(source)
            source += 64
            left -= 64
        }
        if left > 0 {
            let take = left
            withUnsafeMutableBytes(of: &buffer) { block in
                block.baseAddress.map { $0.copyMemory(from: source, byteCount: take) }
            }
            buffered = take
        }
    }

    private mutating func compressBuffer() {
        var state = compression
        withUnsafeBytes(of: &buffer) { block in
            block.baseAddress.map { state.compress($0) }
        }
        compression = state
        buffered = 0
    }

    /// Pads the message (0x80, zeros, 64-bit bit length) and returns the final compression state.
    func finished() -> Compression {
        var copy = self
        let bitLength = byteCount &* 8
        var pad = InlineBlock64()
        // One 0x80 byte, then zeros so that the 8-byte length field ends a block: 1–64 bytes in all.
        let padLength = buffered < 56 ? 56 - buffered : 120 - buffered
        withUnsafeMutableBytes(of: &pad) { $0[0] = 0x80 }
        withUnsafeBytes(of: pad) { copy.update(UnsafeRawBufferPointer(rebasing: $0[0..<padLength])) }
        var length = Compression.lengthIsBigEndian ? bitLength.bigEndian : bitLength.littleEndian
        withUnsafeBytes(of: &length) { copy.update($0) }
        return copy.compression
    }
}

@inline(__always)
func rotateLeft(_ value: UInt32, _ count: UInt32) -> UInt32 {
    // Masking shifts: no over-shift branch (count is always 1–31 here).
    (value &<< count) | (value &>> (32 &- count))
}

@inline(__always)
func rotateRight(_ value: UInt32, _ count: UInt32) -> UInt32 {
    (value &>> count) | (value &<< (32 &- count))
}

/// Appends `words` big-endian to a digest.
func bigEndianDigest(_ words: [UInt32]) -> [UInt8] {
    var out = [UInt8]()
    out.reserveCapacity(words.count * 4)
    for word in words {
        out.append(UInt8(truncatingIfNeeded: word >> 24))
        out.append(UInt8(truncatingIfNeeded: word >> 16))
        out.append(UInt8(truncatingIfNeeded: word >> 8))
        out.append(UInt8(truncatingIfNeeded: word))
    }
    return out
}

/// Compares two byte sequences in time independent of where they differ (for authentication codes).
public func constantTimeEquals(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for index in 0..<a.count {
        difference |= a[index] ^ b[index]
    }
    return difference == 0
}

/// Compares two byte arrays in time independent of where they differ (for authentication codes).
public func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.withUnsafeBytes { ra in b.withUnsafeBytes { rb in constantTimeEquals(ra, rb) } }
}
