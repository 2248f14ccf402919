/// Appends big-endian (network order) integers and bytes to a growing `[UInt8]`.
///
/// Serializers write through a `ByteWriter` so that one message can be appended after another in the same
/// array (RTCP compound packets, a reused send buffer). The `set…` methods patch a value already written,
/// for length fields known only at the end; their offsets come from the serializer itself, never from the
/// network, so an offset outside the written bytes is a programming error and traps.
public struct ByteWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8]

    /// Creates an empty writer with room for `capacity` bytes.
    public init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Creates a writer that appends after the bytes already in `bytes`.
    public init(appendingTo bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The number of bytes written so far.
    public var count: Int { bytes.count }

    /// Makes room for `additional` more bytes.
    public mutating func reserveCapacity(additional: Int) {
        bytes.reserveCapacity(bytes.count + max(additional, 0))
    }

    /// Appends one byte.
    public mutating func writeUInt8(_ value: UInt8) {
        bytes.append(value)
    }

    /// Appends a big-endian 16-bit integer.
    public mutating func writeUInt16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    /// Appends the low 24 bits of `value`, big-endian.
    public mutating func writeUInt24(_ value: UInt32) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 16))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    /// Appends a big-endian 32-bit integer.
    public mutating func writeUInt32(_ value: UInt32) {
        writeUInt16(UInt16(truncatingIfNeeded: value >> 16))
        writeUInt16(UInt16(truncatingIfNeeded: value))
    }

    /// Appends a big-endian 64-bit integer.
    public mutating func writeUInt64(_ value: UInt64) {
        writeUInt32(UInt32(truncatingIfNeeded: value >> 32))
        writeUInt32(UInt32(truncatingIfNeeded: value))
    }

    /// Appends bytes.
    public mutating func write(_ data: [UInt8]) {
        bytes.append(contentsOf: data)
    }

    /// Appends bytes.
    public mutating func write(_ data: ArraySlice<UInt8>) {
        bytes.append(contentsOf: data)
    }

    /// Appends bytes.
    public mutating func write(_ data: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: data)
    }

    /// Appends `count` zero bytes.
    public mutating func writeZeros(_ count: Int) {
        guard count > 0 else { return }
        bytes.append(contentsOf: repeatElement(0, count: count))
    }

    /// Appends zero bytes until the bytes written since `start` are a multiple of 4 (the alignment of
    /// STUN, RTP and RTCP).
    public mutating func padToMultipleOfFour(from start: Int = 0) {
        writeZeros((4 - (bytes.count - start) % 4) % 4)
    }

    /// Overwrites the byte at `offset`.
    public mutating func setUInt8(_ value: UInt8, at offset: Int) {
        bytes[offset] = value
    }

    /// Overwrites the big-endian 16-bit integer at `offset`.
    public mutating func setUInt16(_ value: UInt16, at offset: Int) {
        bytes[offset] = UInt8(truncatingIfNeeded: value >> 8)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: value)
    }

    /// Overwrites the big-endian 32-bit integer at `offset`.
    public mutating func setUInt32(_ value: UInt32, at offset: Int) {
        setUInt16(UInt16(truncatingIfNeeded: value >> 16), at: offset)
        setUInt16(UInt16(truncatingIfNeeded: value), at: offset + 2)
    }

    /// Calls `body` with the bytes written so far.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes(body)
    }
}

/// Writes big-endian integers into a fixed buffer whose size the caller has already checked.
///
/// Used on hot paths that must not allocate; every write is still bounds-checked by the buffer
/// subscript in debug builds, and callers verify the total size first.
struct UnsafeByteWriter {
    let buffer: UnsafeMutableRawBufferPointer
    private(set) var offset = 0

    init(_ buffer: UnsafeMutableRawBufferPointer) {
        self.buffer = buffer
    }

    mutating func writeUInt8(_ value: UInt8) {
        buffer[offset] = value
        offset += 1
    }

    mutating func writeUInt16(_ value: UInt16) {
        buffer.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt16.self)
        offset += 2
    }

    mutating func writeUInt32(_ value: UInt32) {
        buffer.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt32.self)
        offset += 4
    }

    mutating func write(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { source in
            UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + source.count)]).copyMemory(from: source)
        }
        offset += bytes.count
    }
}
