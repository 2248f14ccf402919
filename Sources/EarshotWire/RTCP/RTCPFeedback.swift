/// Generic NACK (RFC 4585 §6.2.1): transport-layer feedback (PT 205) with FMT 1.
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |V=2|P| FMT=1   |    PT=205     |          length               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                  SSRC of packet sender                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                  SSRC of media source                         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |            PID                |             BLP               |  (one or more)
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
/// PID is a lost sequence number; bit i of BLP (least significant first) reports PID + i + 1 lost too.
public struct RTCPGenericNACK: Hashable, Sendable {
    static let format: UInt8 = 1

    /// One PID/BLP pair.
    public struct Item: Hashable, Sendable {
        /// The packet ID: a lost sequence number.
        public var packetID: UInt16
        /// Bitmask of following lost packets.
        public var bitmask: UInt16

        /// Creates an item.
        public init(packetID: UInt16, bitmask: UInt16) {
            self.packetID = packetID
            self.bitmask = bitmask
        }
    }

    /// The SSRC of the feedback sender.
    public var senderSSRC: UInt32
    /// The SSRC of the media source the losses belong to.
    public var mediaSSRC: UInt32
    /// The PID/BLP pairs.
    public var items: [Item]

    /// Creates a NACK from its items.
    public init(senderSSRC: UInt32, mediaSSRC: UInt32, items: [Item]) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.items = items
    }

    /// Creates a NACK reporting `lostSequenceNumbers`. Each number either fits the bitmask of the current
    /// item (1–16 after its PID) or starts a new item, so an ascending list (wrap-aware) gives the fewest
    /// items; duplicates are dropped.
    public init(senderSSRC: UInt32, mediaSSRC: UInt32, lostSequenceNumbers: [UInt16]) {
        var items: [Item] = []
        for sequenceNumber in lostSequenceNumbers {
            if let last = items.last {
                let distance = sequenceNumber &- last.packetID
                if distance == 0 { continue }
                if distance <= 16 {
                    items[items.count - 1].bitmask |= 1 << (distance - 1)
                    continue
                }
            }
            items.append(Item(packetID: sequenceNumber, bitmask: 0))
        }
        self.init(senderSSRC: senderSSRC, mediaSSRC: mediaSSRC, items: items)
    }

    /// Every sequence number reported lost, item by item.
    public var lostSequenceNumbers: [UInt16] {
        var lost: [UInt16] = []
        for item in items {
            lost.append(item.packetID)
            for bit in 0..<16 where item.bitmask & (1 << bit) != 0 {
                lost.append(item.packetID &+ UInt16(bit + 1))
            }
        }
        return lost
    }

    init(body: UnsafeRawBufferPointer) throws(RTCPError) {
        guard body.count >= 8 else { throw .truncated }
        guard body.count % 4 == 0 else { throw .badPacket(type: RTCPPacketType.transportFeedback) }
        senderSSRC = body.loadBigEndianUInt32(at: 0)
        mediaSSRC = body.loadBigEndianUInt32(at: 4)
        items = stride(from: 8, to: body.count, by: 4).map {
            Item(packetID: body.loadBigEndianUInt16(at: $0), bitmask: body.loadBigEndianUInt16(at: $0 + 2))
        }
    }

    var bodySize: Int { 8 + 4 * items.count }

    func writeBody(to writer: inout ByteWriter) {
        writer.writeUInt32(senderSSRC)
        writer.writeUInt32(mediaSSRC)
        for item in items {
            writer.writeUInt16(item.packetID)
            writer.writeUInt16(item.bitmask)
        }
    }
}

/// Picture loss indication (RFC 4585 §6.3.1): payload-specific feedback (PT 206) with FMT 1 and no FCI:
/// header, SSRC of packet sender, SSRC of media source.
public struct RTCPPictureLossIndication: Hashable, Sendable {
    static let format: UInt8 = 1

    /// The SSRC of the feedback sender.
    public var senderSSRC: UInt32
    /// The SSRC of the media source that should send a key frame.
    public var mediaSSRC: UInt32

    /// Creates a PLI.
    public init(senderSSRC: UInt32, mediaSSRC: UInt32) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
    }

    init(body: UnsafeRawBufferPointer) throws(RTCPError) {
        guard body.count >= 8 else { throw .truncated }
        senderSSRC = body.loadBigEndianUInt32(at: 0)
        mediaSSRC = body.loadBigEndianUInt32(at: 4)
    }

    func writeBody(to writer: inout ByteWriter) {
        writer.writeUInt32(senderSSRC)
        writer.writeUInt32(mediaSSRC)
    }
}

/// Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1):
/// transport-layer feedback (PT 205) with FMT 15.
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |V=2|P|  FMT=15 |    PT=205     |           length              |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                     SSRC of packet sender                     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                      SSRC of media source                     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |      base sequence number     |      packet status count      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                 reference time                | fb pkt. count |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |          packet chunk         |         packet chunk          |  ...
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         recv delta ...        |         zero padding          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
/// Packet chunks (16 bits): run length `0 | S(2) | run(13)`, or status vector `1 | 0 | 14 one-bit symbols`
/// or `1 | 1 | 7 two-bit symbols`. Symbols: 0 not received, 1 received with a 1-byte unsigned delta,
/// 2 received with a 2-byte signed delta, 3 reserved. Deltas count 250 µs; the reference time counts 64 ms.
public struct RTCPTransportFeedback: Hashable, Sendable {
    static let format: UInt8 = 15

    /// Receive-delta ticks per second: one tick is 250 µs.
    public static let deltaTicksPerSecond = 4000

    /// The fate of one transport-wide sequence number.
    public struct PacketResult: Hashable, Sendable {
        /// The transport-wide sequence number.
        public var sequenceNumber: UInt16
        /// The receive time relative to the previous received packet (the first: to the reference time),
        /// in 250 µs ticks; `nil` if the packet was not received.
        public var receiveDelta: Int16?

        /// Creates a result.
        public init(sequenceNumber: UInt16, receiveDelta: Int16?) {
            self.sequenceNumber = sequenceNumber
            self.receiveDelta = receiveDelta
        }
    }

    /// The SSRC of the feedback sender.
    public var senderSSRC: UInt32
    /// The SSRC of the media source (unused by the draft, usually the first media SSRC or 0).
    public var mediaSSRC: UInt32
    /// The transport-wide sequence number of the first packet reported.
    public var baseSequenceNumber: UInt16
    /// 24-bit signed reference time in 64 ms units.
    public var referenceTime: Int32
    /// A counter of feedback packets, to detect lost feedback.
    public var feedbackPacketCount: UInt8
    /// One result per sequence number from ``baseSequenceNumber``, consecutive (the packet status count).
    public var packets: [PacketResult]

    /// Creates feedback; `receiveDeltas` holds one entry per sequence number from `baseSequenceNumber`.
    public init(
        senderSSRC: UInt32, mediaSSRC: UInt32, baseSequenceNumber: UInt16, referenceTime: Int32,
        feedbackPacketCount: UInt8, receiveDeltas: [Int16?]
    ) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.baseSequenceNumber = baseSequenceNumber
        self.referenceTime = referenceTime
        self.feedbackPacketCount = feedbackPacketCount
        packets = receiveDeltas.enumerated().map {
            PacketResult(sequenceNumber: baseSequenceNumber &+ UInt16(truncatingIfNeeded: $0.offset),
                         receiveDelta: $0.element)
        }
    }

    /// The packet status count.
    public var packetStatusCount: Int { packets.count }

    /// Status symbols (two bits on the wire).
    enum Symbol: UInt8 {
        case notReceived = 0
        case smallDelta = 1
        case largeDelta = 2
    }

    static func symbol(for delta: Int16?) -> Symbol {
        guard let delta else { return .notReceived }
        return (0...255).contains(delta) ? .smallDelta : .largeDelta
    }

    init(body: UnsafeRawBufferPointer) throws(RTCPError) {
        let type = RTCPPacketType.transportFeedback
        guard body.count >= 16 else { throw .truncated }
        var reader = ByteReader(body, truncationError: RTCPError.badPacket(type: type))
        senderSSRC = try reader.readUInt32()
        mediaSSRC = try reader.readUInt32()
        baseSequenceNumber = try reader.readUInt16()
        let statusCount = Int(try reader.readUInt16())
        let reference = try reader.readUInt24()
        referenceTime = Int32(bitPattern: reference << 8) >> 8  // sign-extend 24 bits
        feedbackPacketCount = try reader.readUInt8()

        // Chunks until every announced status is known; each chunk needs 2 bytes, so this is bounded
        // by the body even when the count is large.
        var symbols: [Symbol] = []
        symbols.reserveCapacity(min(statusCount, body.count * 8))
        while symbols.count < statusCount {
            let chunk = try reader.readUInt16()
            let left = statusCount - symbols.count
            if chunk & 0x8000 == 0 {
                // Run length: 0 | S(2) | run length(13).
                guard let symbol = Symbol(rawValue: UInt8(truncatingIfNeeded: chunk >> 13) & 0x03) else {
                    throw .badPacket(type: type)
                }
                symbols.append(contentsOf: repeatElement(symbol, count: min(Int(chunk & 0x1FFF), left)))
            } else if chunk & 0x4000 == 0 {
                // Status vector of 14 one-bit symbols, most significant first.
                for index in 0..<min(14, left) {
                    symbols.append(chunk & (0x2000 >> index) != 0 ? .smallDelta : .notReceived)
                }
            } else {
                // Status vector of 7 two-bit symbols, most significant first.
                for index in 0..<min(7, left) {
                    let raw = UInt8(truncatingIfNeeded: chunk >> (12 - 2 * index)) & 0x03
                    guard let symbol = Symbol(rawValue: raw) else { throw .badPacket(type: type) }
                    symbols.append(symbol)
                }
            }
        }
        var packets: [PacketResult] = []
        packets.reserveCapacity(symbols.count)
        for (index, symbol) in symbols.enumerated() {
            let sequenceNumber = baseSequenceNumber &+ UInt16(truncatingIfNeeded: index)
            switch symbol {
            case .notReceived:
                packets.append(PacketResult(sequenceNumber: sequenceNumber, receiveDelta: nil))
            case .smallDelta:
                packets.append(PacketResult(sequenceNumber: sequenceNumber, receiveDelta: Int16(try reader.readUInt8())))
            case .largeDelta:
                packets.append(PacketResult(sequenceNumber: sequenceNumber,
                                            receiveDelta: Int16(bitPattern: try reader.readUInt16())))
            }
        }
        // What remains is zero padding to the word boundary.
        self.packets = packets
    }

    /// Packs the status symbols greedily: a run-length chunk for runs of 7 or more equal symbols (or when
    /// nothing else fits), otherwise a one-bit vector when the next 14 need no large delta, otherwise a
    /// two-bit vector of 7.
    func chunks() -> [UInt16] {
        let symbols = packets.map { Self.symbol(for: $0.receiveDelta) }
        var chunks: [UInt16] = []
        var index = 0
        while index < symbols.count {
            var run = 1
            while index + run < symbols.count, symbols[index + run] == symbols[index], run < 0x1FFF { run += 1 }
            let window = symbols[index..<min(index + 14, symbols.count)]
            if run >= 7 || symbols.count - index == run {
                chunks.append(UInt16(symbols[index].rawValue) << 13 | UInt16(run))
                index += run
            } else if !window.contains(.largeDelta) {
                var chunk: UInt16 = 0x8000  // T=1, S=0
                for (offset, symbol) in window.enumerated() where symbol == .smallDelta {
                    chunk |= 0x2000 >> offset
                }
                chunks.append(chunk)
                index += window.count
            } else {
                var chunk: UInt16 = 0xC000  // T=1, S=1
                for (offset, symbol) in symbols[index..<min(index + 7, symbols.count)].enumerated() {
                    chunk |= UInt16(symbol.rawValue) << (12 - 2 * offset)
                }
                chunks.append(chunk)
                index += min(7, symbols.count - index)
            }
        }
        return chunks
    }

    private var deltaBytes: Int {
        packets.reduce(0) { total, packet in
            switch Self.symbol(for: packet.receiveDelta) {
            case .notReceived: total
            case .smallDelta: total + 1
            case .largeDelta: total + 2
            }
        }
    }

    var bodySize: Int {
        (16 + 2 * chunks().count + deltaBytes + 3) / 4 * 4
    }

    func validate() throws(RTCPError) {
        guard packets.count <= 0xFFFF, (-0x80_0000...0x7F_FFFF).contains(referenceTime) else { throw .fieldOutOfRange }
        // The results must be consecutive from the base sequence number.
        for (index, packet) in packets.enumerated()
        where packet.sequenceNumber != baseSequenceNumber &+ UInt16(truncatingIfNeeded: index) {
            throw .fieldOutOfRange
        }
    }

    func writeBody(to writer: inout ByteWriter) {
        let start = writer.count
        writer.writeUInt32(senderSSRC)
        writer.writeUInt32(mediaSSRC)
        writer.writeUInt16(baseSequenceNumber)
        writer.writeUInt16(UInt16(truncatingIfNeeded: packets.count))
        writer.writeUInt24(UInt32(bitPattern: referenceTime))
        writer.writeUInt8(feedbackPacketCount)
        for chunk in chunks() { writer.writeUInt16(chunk) }
        for packet in packets {
            guard let delta = packet.receiveDelta else { continue }
            if (0...255).contains(delta) {
                writer.writeUInt8(UInt8(delta))
            } else {
                writer.writeUInt16(UInt16(bitPattern: delta))
            }
        }
        writer.padToMultipleOfFour(from: start)
    }
}
