/// One element of an RFC 8285 header extension: a local ID (negotiated by SDP `a=extmap`) and its data.
public struct RTPHeaderExtensionElement: Hashable, Sendable {
    /// The local identifier: 1–14 in the one-byte form, 1–255 in the two-byte form.
    public var id: UInt8
    /// The element data.
    public var data: [UInt8]

    /// Creates an element.
    public init(id: UInt8, data: [UInt8]) {
        self.id = id
        self.data = data
    }

    /// Creates an element carrying a typed value.
    public init(id: UInt8, value: some RTPHeaderExtensionValue) {
        self.init(id: id, data: value.extensionData)
    }
}

/// An RTP header extension as carried on the wire: the 16-bit profile and the data (a multiple of 4 bytes).
///
/// RFC 8285 defines two element layouts, told apart by the profile:
/// ```
/// One-byte form, profile 0xBEDE (§4.2):     Two-byte form, profile 0x100 + appbits (§4.3):
///  0 1 2 3 4 5 6 7                           0                   1
/// +-+-+-+-+-+-+-+-+                          0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
/// |  ID   |  len  |  data (len+1 bytes)     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// +-+-+-+-+-+-+-+-+                         |       ID      |     length    |  data (length bytes)
///                                           +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
/// A zero byte between elements is padding. In the one-byte form ID 15 ends parsing.
public struct RTPHeaderExtension: Hashable, Sendable {
    /// The one-byte-form profile: 0xBEDE (RFC 8285 §4.2, after the "BEDE" of its authors' example).
    public static let oneByteProfile: UInt16 = 0xBEDE
    /// The two-byte-form profile with app bits 0: 0x1000 (RFC 8285 §4.3; the low 4 bits are app bits).
    public static let twoByteProfile: UInt16 = 0x1000

    /// The element layout.
    public enum Form: Hashable, Sendable {
        /// IDs 1–14, data 1–16 bytes.
        case oneByte
        /// IDs 1–255, data 0–255 bytes; `appBits` go in the low 4 bits of the profile.
        case twoByte(appBits: UInt8)
    }

    /// The "defined by profile" field.
    public var profile: UInt16
    /// The extension data after the 4-byte extension header; a multiple of 4 bytes on the wire.
    public var data: [UInt8]

    /// Creates an extension from raw fields.
    public init(profile: UInt16, data: [UInt8]) {
        self.profile = profile
        self.data = data
    }

    /// Builds an RFC 8285 extension from elements, padded with zeros to a multiple of 4.
    ///
    /// Without `form`, the one-byte form is used when every element allows it (ID 1–14, 1–16 bytes),
    /// the two-byte form otherwise. Throws ``RTPError/badExtensionElement(id:)`` for an element the form
    /// cannot carry (ID 0, ID 15 in one-byte, empty data in one-byte, more than 255 bytes).
    public init(elements: [RTPHeaderExtensionElement], form: Form? = nil) throws(RTPError) {
        let fitsOneByte = elements.allSatisfy { (1...14).contains($0.id) && (1...16).contains($0.data.count) }
        let chosen = form ?? (fitsOneByte ? .oneByte : .twoByte(appBits: 0))
        var writer = ByteWriter()
        switch chosen {
        case .oneByte:
            for element in elements {
                guard (1...14).contains(element.id), (1...16).contains(element.data.count) else {
                    throw .badExtensionElement(id: element.id)
                }
                writer.writeUInt8(element.id << 4 | UInt8(element.data.count - 1))
                writer.write(element.data)
            }
            profile = Self.oneByteProfile
        case .twoByte(let appBits):
            for element in elements {
                guard element.id != 0, element.data.count <= 255 else { throw .badExtensionElement(id: element.id) }
                writer.writeUInt8(element.id)
                writer.writeUInt8(UInt8(element.data.count))
                writer.write(element.data)
            }
            profile = Self.twoByteProfile | UInt16(appBits & 0x0F)
        }
        writer.padToMultipleOfFour()
        data = writer.bytes
    }

    /// Whether the profile is one of the RFC 8285 forms.
    public var form: Form? {
        if profile == Self.oneByteProfile { return .oneByte }
        if profile & 0xFFF0 == Self.twoByteProfile { return .twoByte(appBits: UInt8(profile & 0x0F)) }
        return nil
    }

    /// The RFC 8285 elements, in order.
    public func elements() throws(RTPError) -> [RTPHeaderExtensionElement] {
        var elements: [RTPHeaderExtensionElement] = []
        try withRawBytes(data) { (raw) throws(RTPError) in
            try Self.walkElements(profile: profile, data: raw) { id, range in
                elements.append(RTPHeaderExtensionElement(id: id, data: Array(raw[range])))
                return true
            }
        }
        return elements
    }

    /// The data of the first element with `id`, or `nil` if absent or the extension is malformed.
    public func element(id: UInt8) -> [UInt8]? {
        (try? elements())?.first { $0.id == id }?.data
    }

    /// Decodes the first element with `id` as `Value`.
    public func value<Value: RTPHeaderExtensionValue>(_ type: Value.Type, id: UInt8) -> Value? {
        element(id: id).flatMap { try? Value(extensionData: $0) }
    }

    /// Walks the RFC 8285 elements of extension `data`, calling `body` with each ID and data range until it
    /// returns `false`.
    static func walkElements(
        profile: UInt16, data: UnsafeRawBufferPointer, _ body: (_ id: UInt8, _ range: Range<Int>) -> Bool
    ) throws(RTPError) {
        var offset = 0
        if profile == oneByteProfile {
            while offset < data.count {
                let byte = data[offset]
                let id = byte >> 4
                if id == 0 {  // padding byte (RFC 8285 §4.2)
                    offset += 1
                    continue
                }
                if id == 15 { return }  // reserved: stop processing the extension (RFC 8285 §4.2)
                let length = Int(byte & 0x0F) + 1
                guard length <= data.count - offset - 1 else { throw .badExtensionElement(id: id) }
                guard body(id, (offset + 1)..<(offset + 1 + length)) else { return }
                offset += 1 + length
            }
        } else if profile & 0xFFF0 == twoByteProfile {
            while offset < data.count {
                let id = data[offset]
                if id == 0 {  // padding byte (RFC 8285 §4.3)
                    offset += 1
                    continue
                }
                guard data.count - offset >= 2 else { throw .badExtensionElement(id: id) }
                let length = Int(data[offset + 1])
                guard length <= data.count - offset - 2 else { throw .badExtensionElement(id: id) }
                guard body(id, (offset + 2)..<(offset + 2 + length)) else { return }
                offset += 2 + length
            }
        } else {
            throw .unsupportedExtensionProfile(profile)
        }
    }
}
