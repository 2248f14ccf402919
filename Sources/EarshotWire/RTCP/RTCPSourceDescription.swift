/// Source description (RFC 3550 §6.5):
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |V=2|P|    SC   |  PT=SDES=202  |             length            |
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// |                          SSRC/CSRC_1                          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     type      |     length    |  text (length bytes) ...      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  ... more items, then one or more null (0) bytes to a 32-bit boundary
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// |                          SSRC/CSRC_2 ...                      |
/// ```
public struct RTCPSourceDescription: Hashable, Sendable {
    /// SDES item types (RFC 3550 §6.5.1–6.5.8).
    public enum ItemType {
        /// CNAME: canonical end-point identifier.
        public static let cname: UInt8 = 1
        /// NAME: user name.
        public static let name: UInt8 = 2
        /// EMAIL.
        public static let email: UInt8 = 3
        /// PHONE.
        public static let phone: UInt8 = 4
        /// LOC: geographic location.
        public static let location: UInt8 = 5
        /// TOOL: application name.
        public static let tool: UInt8 = 6
        /// NOTE: notice or status.
        public static let note: UInt8 = 7
        /// PRIV: private extension (prefix length, prefix, value).
        public static let privateExtension: UInt8 = 8
    }

    /// One SDES item.
    public struct Item: Hashable, Sendable {
        /// The item type (1–255; 0 ends a chunk on the wire).
        public var type: UInt8
        /// The value (UTF-8 text for the standard items), at most 255 bytes.
        public var value: [UInt8]

        /// Creates an item.
        public init(type: UInt8, value: [UInt8]) {
            self.type = type
            self.value = value
        }

        /// A CNAME item.
        public static func cname(_ text: String) -> Item {
            Item(type: ItemType.cname, value: Array(text.utf8))
        }
    }

    /// The items describing one source.
    public struct Chunk: Hashable, Sendable {
        /// The SSRC or CSRC described.
        public var ssrc: UInt32
        /// The items.
        public var items: [Item]

        /// Creates a chunk.
        public init(ssrc: UInt32, items: [Item]) {
            self.ssrc = ssrc
            self.items = items
        }

        /// The CNAME of this source.
        public var cname: String? {
            items.first { $0.type == ItemType.cname }.map { String(decoding: $0.value, as: UTF8.self) }
        }

        /// Bytes on the wire: SSRC, items, at least one null byte, padded to 4.
        var size: Int {
            let content = 4 + items.reduce(0) { $0 + 2 + $1.value.count }
            return (content + 1 + 3) / 4 * 4
        }
    }

    /// The chunks (at most 31).
    public var chunks: [Chunk]

    /// Creates a source description.
    public init(chunks: [Chunk]) {
        self.chunks = chunks
    }

    init(body: UnsafeRawBufferPointer, sourceCount: UInt8) throws(RTCPError) {
        let bad = RTCPError.badPacket(type: RTCPPacketType.sourceDescription)
        var reader = ByteReader(body, truncationError: bad)
        var chunks: [Chunk] = []
        for _ in 0..<sourceCount {
            let ssrc = try reader.readUInt32()
            var items: [Item] = []
            while true {
                let type = try reader.readUInt8()
                if type == 0 {
                    // End of the item list: skip the null padding up to the next 32-bit boundary.
                    try reader.skip((4 - reader.offset % 4) % 4)
                    break
                }
                let length = Int(try reader.readUInt8())
                items.append(Item(type: type, value: try reader.readArray(count: length)))
            }
            chunks.append(Chunk(ssrc: ssrc, items: items))
        }
        self.chunks = chunks
    }

    var bodySize: Int { chunks.reduce(0) { $0 + $1.size } }

    func validate() throws(RTCPError) {
        for chunk in chunks {
            for item in chunk.items where item.type == 0 || item.value.count > 255 { throw .fieldOutOfRange }
        }
    }

    func writeBody(to writer: inout ByteWriter) {
        for chunk in chunks {
            let start = writer.count
            writer.writeUInt32(chunk.ssrc)
            for item in chunk.items {
                writer.writeUInt8(item.type)
                writer.writeUInt8(UInt8(truncatingIfNeeded: item.value.count))
                writer.write(item.value)
            }
            writer.writeUInt8(0)  // end of items
            writer.padToMultipleOfFour(from: start)
        }
    }
}

/// Goodbye (RFC 3550 §6.6):
/// ```
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |V=2|P|    SC   |   PT=BYE=203  |             length            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                           SSRC/CSRC (SC of them)              |
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// |     length    |               reason for leaving            ... (optional, zero-padded)
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
public struct RTCPGoodbye: Hashable, Sendable {
    /// The sources leaving (at most 31).
    public var ssrcs: [UInt32]
    /// The reason, if given (an empty reason is the same as none on the wire).
    public var reason: String?

    /// Creates a goodbye.
    public init(ssrcs: [UInt32], reason: String? = nil) {
        self.ssrcs = ssrcs
        self.reason = reason
    }

    init(body: UnsafeRawBufferPointer, sourceCount: UInt8) throws(RTCPError) {
        var reader = ByteReader(body, truncationError: RTCPError.badPacket(type: RTCPPacketType.goodbye))
        ssrcs = []
        for _ in 0..<sourceCount { ssrcs.append(try reader.readUInt32()) }
        reason = nil
        if !reader.isAtEnd {
            let length = Int(try reader.readUInt8())
            if length > 0 {
                reason = String(decoding: try reader.readBuffer(count: length), as: UTF8.self)
            }
        }
    }

    private var reasonBytes: [UInt8] { Array((reason ?? "").utf8) }

    var bodySize: Int {
        let reasonLength = reasonBytes.count
        return 4 * ssrcs.count + (reasonLength > 0 ? (1 + reasonLength + 3) / 4 * 4 : 0)
    }

    func validate() throws(RTCPError) {
        guard reasonBytes.count <= 255 else { throw .fieldOutOfRange }
    }

    func writeBody(to writer: inout ByteWriter) {
        let start = writer.count
        for ssrc in ssrcs { writer.writeUInt32(ssrc) }
        let reason = reasonBytes
        if !reason.isEmpty {
            writer.writeUInt8(UInt8(truncatingIfNeeded: reason.count))
            writer.write(reason)
            writer.padToMultipleOfFour(from: start)
        }
    }
}
