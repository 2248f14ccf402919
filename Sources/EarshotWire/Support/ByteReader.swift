/// The error a ``ByteReader`` built without a custom error throws when a read runs past the end.
public enum ByteReaderError: Error, Hashable, Sendable {
    /// A read needed more bytes than remain in the buffer.
    case truncated
}

/// A bounds-checked, big-endian (network order) reader over a borrowed buffer.
///
/// Every read checks the remaining length first and throws `Failure` (chosen by the creator, so each
/// parser can report truncation in its own error type) instead of trapping. The reader holds an
/// `UnsafeRawBufferPointer`: it must not outlive the buffer it was created over. Offsets are relative to
/// the start of that buffer.
public struct ByteReader<Failure: Error> {
    /// The whole buffer being read.
    public let bytes: UnsafeRawBufferPointer
    /// The offset of the next byte to read.
    public private(set) var offset: Int
    /// The error thrown when a read would run past the end of ``bytes``.
    public let truncationError: Failure

    /// Creates a reader at `offset` (clamped to the buffer) that throws `truncationError` on truncation.
    public init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0, truncationError: Failure) {
        self.bytes = bytes
        self.offset = min(max(offset, 0), bytes.count)
        self.truncationError = truncationError
    }

    /// How many bytes are left to read.
    public var remaining: Int { bytes.count - offset }

    /// Whether every byte has been read.
    public var isAtEnd: Bool { offset >= bytes.count }

    @inline(__always)
    mutating func claim(_ count: Int) throws(Failure) -> Int {
        guard count >= 0, count <= remaining else { throw truncationError }
        let start = offset
        offset = start + count
        return start
    }

    /// Reads one byte.
    public mutating func readUInt8() throws(Failure) -> UInt8 {
        let at = try claim(1)
        return bytes[at]
    }

    /// Reads a big-endian 16-bit integer.
    public mutating func readUInt16() throws(Failure) -> UInt16 {
        let at = try claim(2)
        return bytes.loadBigEndianUInt16(at: at)
    }

    /// Reads a big-endian 24-bit integer into the low 24 bits of a `UInt32`.
    public mutating func readUInt24() throws(Failure) -> UInt32 {
        let at = try claim(3)
        return UInt32(bytes[at]) << 16 | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2])
    }

    /// Reads a big-endian 32-bit integer.
    public mutating func readUInt32() throws(Failure) -> UInt32 {
        let at = try claim(4)
        return bytes.loadBigEndianUInt32(at: at)
    }

    /// Reads a big-endian 64-bit integer.
    public mutating func readUInt64() throws(Failure) -> UInt64 {
        let at = try claim(8)
        return bytes.loadBigEndianUInt64(at: at)
    }

    /// Consumes `count` bytes and returns their offsets in ``bytes`` (no copy).
    public mutating func readRange(count: Int) throws(Failure) -> Range<Int> {
        let at = try claim(count)
        return at..<(at + count)
    }

    /// Consumes `count` bytes and returns them as a buffer borrowed from ``bytes`` (no copy).
    public mutating func readBuffer(count: Int) throws(Failure) -> UnsafeRawBufferPointer {
        let range = try readRange(count: count)
        return UnsafeRawBufferPointer(rebasing: bytes[range])
    }

    /// Consumes `count` bytes and returns a copy of them.
    public mutating func readArray(count: Int) throws(Failure) -> [UInt8] {
        let range = try readRange(count: count)
        return Array(bytes[range])
    }

    /// Consumes every remaining byte and returns their offsets.
    public mutating func readRest() -> Range<Int> {
        let range = offset..<bytes.count
        offset = bytes.count
        return range
    }

    /// Skips `count` bytes.
    public mutating func skip(_ count: Int) throws(Failure) {
        _ = try claim(count)
    }

    /// Returns the byte at `offset + ahead` without consuming anything.
    public func peekUInt8(ahead: Int = 0) throws(Failure) -> UInt8 {
        guard ahead >= 0, ahead < remaining else { throw truncationError }
        return bytes[offset + ahead]
    }
}

extension ByteReader where Failure == ByteReaderError {
    /// Creates a reader that throws ``ByteReaderError/truncated`` on truncation.
    public init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) {
        self.init(bytes, offset: offset, truncationError: .truncated)
    }
}

// Unchecked big-endian loads: callers have already checked the bounds.
extension UnsafeRawBufferPointer {
    @inline(__always)
    func loadBigEndianUInt16(at offset: Int) -> UInt16 {
        UInt16(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always)
    func loadBigEndianUInt32(at offset: Int) -> UInt32 {
        UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always)
    func loadBigEndianUInt64(at offset: Int) -> UInt64 {
        UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}

/// Runs `body` over the bytes of an array, keeping `body`'s typed error.
@inline(__always)
func withRawBytes<R, E: Error>(
    _ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(E) -> R
) throws(E) -> R {
    let result: Result<R, E> = array.withUnsafeBytes { raw in Result { () throws(E) -> R in try body(raw) } }
    return try result.get()
}

/// Runs `body` over the bytes of an array slice (offsets relative to the slice start), keeping `body`'s typed error.
@inline(__always)
func withRawBytes<R, E: Error>(
    _ slice: ArraySlice<UInt8>, _ body: (UnsafeRawBufferPointer) throws(E) -> R
) throws(E) -> R {
    let result: Result<R, E> = slice.withUnsafeBytes { raw in Result { () throws(E) -> R in try body(raw) } }
    return try result.get()
}
