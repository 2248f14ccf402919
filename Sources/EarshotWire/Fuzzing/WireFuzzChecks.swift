// Properties every wire parser must keep on arbitrary input. The fuzz targets in Tests/Fuzz run these checks on
// each input libFuzzer produces; the unit tests replay them on every input kept under Tests/Fuzz/Crashers, so a
// crasher found once stays a test for good.

/// Property checks over the public parsing and serialization APIs, one per fuzz target.
///
/// Each check takes any bytes. It returns normally when the input is handled correctly, whether it parses or is
/// rejected with a typed error, and throws ``Violation`` when a property fails: a parse → serialize → parse round
/// trip that is not a fixed point, a `serializedSize` that differs from the bytes written, two entry points that
/// disagree about the same bytes. A parser that traps crashes the caller, which is what a fuzzer reports.
public enum WireFuzzChecks {
    /// A property that did not hold, with what was expected and what was found.
    public struct Violation: Error, Hashable, Sendable, CustomStringConvertible {
        /// What went wrong.
        public var description: String

        /// Creates a violation.
        public init(_ description: String) {
            self.description = description
        }
    }

    /// The short-term key the STUN check verifies MESSAGE-INTEGRITY with: the RFC 5769 §2 password, so that the
    /// RFC vectors in the seed corpus carry valid integrity and mutations of them exercise the matching path.
    public static let stunIntegrityKey = STUNIntegrityKey(shortTermPassword: "VOkJxbRl1RmTxUk/WvJxBt")

    /// Fixed local parameters for answering fuzzed offers: valid by `SDPAnswer`'s own rules, so any failure to
    /// answer comes from the offer.
    public static let answerParameters = SDPAnswerParameters(
        iceUfrag: "fUzZ", icePwd: "fuzzfuzzfuzzfuzzfuzzfuzz",
        fingerprint: SDPFingerprint(algorithm: .sha256, digest: (0..<32).map { UInt8($0) }),
        candidates: [.host(foundation: "1", address: .ipv4Loopback, port: 40_000)],
        sessionID: 1, ssrc: 0x0102_0304, cname: "fuzz",
        mediaStreamID: SDPMediaStreamID(streamID: "fuzz-stream", trackID: "fuzz-track"))

    /// The error of a failed result, `nil` on success (results of `Void` are not `Equatable`).
    static func failure<Success, Failure>(of result: Result<Success, Failure>) -> Failure? {
        if case .failure(let error) = result { return error }
        return nil
    }

    @inline(__always)
    static func require(_ condition: Bool, _ message: @autoclosure () -> String) throws(Violation) {
        if !condition { throw Violation(message()) }
    }

    // MARK: STUN

    /// STUN (RFC 8489): parsing with and without the FINGERPRINT check, `verifyFingerprint`, `verifyIntegrity`
    /// with ``stunIntegrityKey``, `verifyIntegritySHA256`, `hasValidHeader` and `peekBindingRequestUsername`
    /// must agree with each other; a parsed message serialized without a new MESSAGE-INTEGRITY parses back to
    /// itself (stored MESSAGE-INTEGRITY and FINGERPRINT are written as found; attributes the parser ignores after
    /// MESSAGE-INTEGRITY are not part of the message); `serializedSize` equals the bytes written with and without
    /// integrity and fingerprint; a message re-signed with the key verifies, and verifies the same way as the
    /// original when the bytes it covers are the same.
    public static func stun(_ bytes: UnsafeRawBufferPointer) throws(Violation) {
        let key = stunIntegrityKey
        let validHeader = STUNMessage.hasValidHeader(bytes)
        let peeked = STUNMessage.peekBindingRequestUsername(bytes)
        if let peeked {
            try require(validHeader, "peekBindingRequestUsername found \(peeked) in a message with a bad header")
            try require(peeked.lowerBound >= STUNMessage.headerLength + 4 && peeked.upperBound <= bytes.count,
                        "peeked USERNAME range \(peeked) outside the \(bytes.count)-byte message")
        }
        let strict = Result { () throws(STUNError) in try STUNMessage(parsing: bytes) }
        let lenient = Result { () throws(STUNError) in try STUNMessage(parsing: bytes, checkFingerprint: false) }
        let fingerprintCheck = Result { () throws(STUNError) in try STUNMessage.verifyFingerprint(of: bytes) }
        let integrityCheck = Result { () throws(STUNError) in try STUNMessage.verifyIntegrity(of: bytes, key: key) }
        let integritySHA256Check = Result { () throws(STUNError) in
            try STUNMessage.verifyIntegritySHA256(of: bytes, key: key)
        }

        let message: STUNMessage
        switch lenient {
        case .failure(let error):
            if case .success = strict { throw Violation("parses with the FINGERPRINT check but not without: \(error)") }
            if !validHeader {
                let headerErrors: [STUNError] = [.truncated, .notSTUN, .badMagicCookie, .badLength, .trailingBytes]
                try require(headerErrors.contains(error), "bad header rejected with \(error)")
                for (name, result) in [("verifyFingerprint", fingerprintCheck), ("verifyIntegrity", integrityCheck),
                                       ("verifyIntegritySHA256", integritySHA256Check)] {
                    try require(failure(of: result) == error, "\(name) gave \(result) on a bad header (parse: \(error))")
                }
                try require(peeked == nil, "peekBindingRequestUsername found a USERNAME in a bad header")
            }
            return
        case .success(let parsed):
            message = parsed
        }
        try require(validHeader, "parsed although hasValidHeader is false")

        // FINGERPRINT: the strict parse differs from the lenient one only by the CRC check.
        switch strict {
        case .success(let checked):
            try require(checked == message, "strict and lenient parses differ: \(checked) / \(message)")
        case .failure(let error):
            try require(error == .badFingerprint && message.fingerprint != nil,
                        "strict parse failed with \(error) where the lenient one succeeded")
        }
        let fingerprintValid = (try? strict.get()) != nil && message.fingerprint != nil
        switch fingerprintCheck {
        case .success:
            try require(fingerprintValid, "verifyFingerprint accepted what the parser rejects or lacks")
        case .failure(let error):
            try require(!fingerprintValid, "verifyFingerprint rejected (\(error)) a FINGERPRINT the parser accepts")
            try require(error == (message.fingerprint == nil ? .fingerprintMissing : .badFingerprint),
                        "verifyFingerprint failed with \(error)")
        }

        // USERNAME routing: the peek finds what the parser keeps.
        if message.type == .bindingRequest {
            let peekedText = peeked.map { String(decoding: UnsafeRawBufferPointer(rebasing: bytes[$0]), as: UTF8.self) }
            try require(peekedText == message.username,
                        "peekBindingRequestUsername gives \(String(describing: peekedText)), the parser "
                            + "\(String(describing: message.username))")
        } else {
            try require(peeked == nil, "peekBindingRequestUsername answered for a \(message.type)")
        }

        // MESSAGE-INTEGRITY: missing exactly when the parser found none where it could be.
        if message.messageIntegrity == nil, message.attributes.allSatisfy({ $0.type != .messageIntegritySHA256 }) {
            try require(failure(of: integrityCheck) == .integrityMissing,
                        "verifyIntegrity gave \(integrityCheck) for a message without MESSAGE-INTEGRITY")
        }
        if case .success = integrityCheck {
            try require(message.messageIntegrity != nil,
                        "verifyIntegrity accepted a MESSAGE-INTEGRITY that the parser ignores")
        }
        if case .success = integritySHA256Check {
            try require(message.attributes.contains { $0.type == .messageIntegritySHA256 },
                        "verifyIntegritySHA256 succeeded without MESSAGE-INTEGRITY-SHA256")
        }

        // Serialization without a new integrity: sizes, and the round trip.
        for (integrity, fingerprint) in [(false, false), (false, true), (true, false), (true, true)] {
            let size = message.serializedSize(integrity: integrity, fingerprint: fingerprint)
            switch Result(catching: { () throws(STUNError) in
                try message.serialized(integrity: integrity ? key : nil, fingerprint: fingerprint)
            }) {
            case .success(let written):
                try require(written.count == size, "serializedSize(integrity: \(integrity), fingerprint: "
                            + "\(fingerprint)) is \(size) but \(written.count) bytes were written")
                try require(Int(written[2]) << 8 | Int(written[3]) == written.count - STUNMessage.headerLength,
                            "the header length does not match the \(written.count) bytes written")
            case .failure(let error):
                try requireTooLarge(error, size: size, message)
            }
        }

        let reserialized: [UInt8]
        do {
            reserialized = try message.serialized()
        } catch {
            try requireTooLarge(error, size: message.serializedSize(), message)
            return
        }
        let reparsed: STUNMessage
        do {
            reparsed = try STUNMessage(parsing: reserialized, checkFingerprint: false)
        } catch {
            throw Violation("the serialized message does not parse: \(error)")
        }
        try require(reparsed == message, "round trip changed the message: \(message) → \(reparsed)")
        let again = try? reparsed.serialized()
        try require(again == reserialized, "serialize → parse → serialize is not a fixed point")

        // Re-signing: what the serializer signs, the verifier accepts.
        let unsigned = STUNMessage(
            type: message.type, transactionID: message.transactionID,
            attributes: message.attributes.filter {
                STUNMessage.isWritten($0, integrity: true, fingerprint: true)
            })
        let signed: [UInt8]
        do {
            signed = try unsigned.serialized(integrity: key, fingerprint: true)
        } catch {
            try requireTooLarge(error, size: unsigned.serializedSize(integrity: true, fingerprint: true), unsigned)
            return
        }
        let signedChecks: [(String, Result<Void, STUNError>)] = [
            ("verifyIntegrity", Result { () throws(STUNError) in try STUNMessage.verifyIntegrity(of: signed, key: key) }),
            ("verifyFingerprint", Result { () throws(STUNError) in try STUNMessage.verifyFingerprint(of: signed) }),
        ]
        for (name, result) in signedChecks {
            if case .failure(let error) = result { throw Violation("\(name) rejects a message we signed: \(error)") }
        }
        switch Result(catching: { () throws(STUNError) in try STUNMessage(parsing: signed) }) {
        case .success(let parsedSigned):
            try require(parsedSigned.attributes.dropLast(2).elementsEqual(unsigned.attributes)
                            && parsedSigned.type == message.type && parsedSigned.transactionID == message.transactionID,
                        "a signed message parses to \(parsedSigned), expected \(unsigned) + integrity + fingerprint")
        case .failure(let error):
            throw Violation("a message we signed does not parse: \(error)")
        }

        // When the original's MESSAGE-INTEGRITY sits where ours does and covers the same bytes (the length field
        // aside, which the verifier rewrites), both MACs must match or neither.
        let integrityStart = signed.count - 24 - 8
        if let stored = message.messageIntegrity, integrityStart + 24 <= bytes.count,
           bytes[integrityStart] == 0x00, bytes[integrityStart + 1] == 0x08,
           bytes[integrityStart + 2] == 0x00, bytes[integrityStart + 3] == 20,
           bytes[0] == signed[0], bytes[1] == signed[1],
           (4..<integrityStart).allSatisfy({ bytes[$0] == signed[$0] }) {
            let computed = Array(signed[(integrityStart + 4)..<(integrityStart + 24)])
            let matches = Array(bytes[(integrityStart + 4)..<(integrityStart + 24)]) == computed
            try require(matches == (failure(of: integrityCheck) == nil),
                        "verifyIntegrity gave \(integrityCheck) for a MAC that \(matches ? "matches" : "differs from") "
                            + "the one computed over the same bytes (stored \(stored), computed \(computed))")
        }

        // Responses built from a parsed request serialize, verify and parse back.
        if message.type.messageClass == .request {
            let mapped = TransportAddress(address: .v6(IPv6Address(high: 0x2001_0DB8 << 32, low: 1)), port: 3478)
            var responses = [message.successResponse(attributes: [.xorMappedAddress(mapped)])]
            if let unknown = message.unknownAttributesResponse() { responses.append(unknown) }
            for response in responses {
                let wire: [UInt8]
                do {
                    wire = try response.serialized(integrity: key, fingerprint: true)
                } catch {
                    throw Violation("a response to a parsed request does not serialize: \(error)")
                }
                try require(wire.count == response.serializedSize(integrity: true, fingerprint: true),
                            "response serializedSize differs from the bytes written")
                let parsedResponse = Result { () throws(STUNError) in
                    try STUNMessage.verifyIntegrity(of: wire, key: key)
                    return try STUNMessage(parsing: wire)
                }
                guard case .success(let parsed) = parsedResponse else {
                    throw Violation("a response we built does not verify or parse: \(parsedResponse)")
                }
                try require(parsed.attributes.dropLast(2).elementsEqual(response.attributes),
                            "response round trip changed the attributes")
            }
        }
    }

    /// Serializing a parsed message may fail only because it grew past the 16-bit length (text with invalid
    /// UTF-8 is read with U+FFFD, up to three bytes for one).
    static func requireTooLarge(_ error: STUNError, size: Int, _ message: STUNMessage) throws(Violation) {
        try require(error == .messageTooLarge && size - STUNMessage.headerLength > 0xFFFF,
                    "a parsed message does not serialize (\(error), \(size) bytes): \(message)")
    }

    // MARK: RTP

    /// RTP (RFC 3550, RFC 8285): `RTPPacketLayout` and `RTPPacket` agree; the layout's ranges tile the buffer;
    /// header-extension elements found through the layout, through `RTPHeaderExtension` and by ID agree, and every
    /// typed value decodes to a fixed point; parse → serialize reproduces the bytes (padding zeroed) and parses back
    /// to the same packet; `write(into:)` writes what `serialized()` returns; rebuilding an extension from its
    /// elements gives the same elements.
    public static func rtp(_ bytes: UnsafeRawBufferPointer) throws(Violation) {
        let layoutResult = Result { () throws(RTPError) in try RTPPacketLayout(parsing: bytes) }
        let packetResult = Result { () throws(RTPError) in try RTPPacket(parsing: bytes) }
        let layout: RTPPacketLayout
        let packet: RTPPacket
        switch (layoutResult, packetResult) {
        case (.failure(let a), .failure(let b)):
            try require(a == b, "RTPPacketLayout threw \(a), RTPPacket \(b)")
            return
        case (.success(let l), .success(let p)):
            layout = l
            packet = p
        default:
            throw Violation("RTPPacketLayout gave \(layoutResult), RTPPacket \(packetResult)")
        }

        // The ranges tile the buffer: fixed header, CSRCs, extension header and data, payload, padding.
        let count = bytes.count
        let csrcEnd = 12 + 4 * layout.csrcCount
        try require((0...15).contains(layout.csrcCount) && layout.payloadType <= 127, "field out of range: \(layout)")
        if layout.extensionProfile != nil {
            try require(layout.extensionRange.lowerBound == csrcEnd + 4, "extension data does not follow its header")
        } else {
            try require(layout.extensionRange == csrcEnd..<csrcEnd, "no extension but extensionRange \(layout.extensionRange)")
        }
        try require(layout.extensionRange.count % 4 == 0, "extension data not a multiple of 4 bytes")
        try require(layout.payloadRange.lowerBound == layout.extensionRange.upperBound
                        && layout.payloadRange.upperBound + layout.paddingLength == count
                        && layout.headerLength == layout.payloadRange.lowerBound,
                    "ranges do not tile the \(count) bytes: \(layout)")
        try require((layout.paddingLength > 0) == (bytes[0] & 0x20 != 0), "padding length \(layout.paddingLength) "
                    + "disagrees with the P bit")
        for index in -1...layout.csrcCount {
            let csrc = layout.csrc(at: index, in: bytes)
            if index >= 0, index < layout.csrcCount {
                try require(csrc == packet.header.csrcs[index], "csrc(at: \(index)) disagrees with RTPPacket")
            } else {
                try require(csrc == nil, "csrc(at: \(index)) answered outside 0..<\(layout.csrcCount)")
            }
        }
        try require(packet.header.marker == layout.marker && packet.header.payloadType == layout.payloadType
                        && packet.header.sequenceNumber == layout.sequenceNumber
                        && packet.header.timestamp == layout.timestamp && packet.header.ssrc == layout.ssrc
                        && packet.header.headerExtension?.profile == layout.extensionProfile
                        && packet.payload.elementsEqual(bytes[layout.payloadRange])
                        && Int(packet.paddingLength) == layout.paddingLength,
                    "RTPPacket \(packet.header) disagrees with the layout \(layout)")

        try checkExtension(layout, packet, bytes)

        // Round trip: the same bytes except padding, which is written as zeros and the count.
        let serialized: [UInt8]
        do {
            serialized = try packet.serialized()
        } catch {
            throw Violation("a parsed packet does not serialize: \(error)")
        }
        try require(serialized.count == packet.serializedSize && serialized.count == count,
                    "serializedSize \(packet.serializedSize), wrote \(serialized.count), parsed \(count) bytes")
        let paddingStart = count - layout.paddingLength
        for index in 0..<count {
            let expected: UInt8 = index >= paddingStart && index < count - 1 ? 0 : bytes[index]
            try require(serialized[index] == expected, "serialized byte \(index) is \(serialized[index]), expected \(expected)")
        }
        var buffer = [UInt8](repeating: 0xEE, count: count + 4)
        let written = buffer.withUnsafeMutableBytes { raw in Result { () throws(RTPError) in try packet.write(into: raw) } }
        try require(written == .success(count) && buffer[..<count].elementsEqual(serialized),
                    "write(into:) gave \(written) and other bytes than serialized()")
        let reparsed = Result { () throws(RTPError) in try RTPPacket(parsing: serialized) }
        try require(reparsed == .success(packet), "round trip gave \(reparsed) for \(packet)")
        let reparsedLayout = Result { () throws(RTPError) in try RTPPacketLayout(parsing: serialized) }
        try require(reparsedLayout == .success(layout), "layout round trip gave \(reparsedLayout) for \(layout)")
    }

    static func checkExtension(_ layout: RTPPacketLayout, _ packet: RTPPacket, _ bytes: UnsafeRawBufferPointer)
        throws(Violation) {
        var elements: [(id: UInt8, range: Range<Int>)] = []
        let walk = Result { () throws(RTPError) in
            try layout.forEachExtensionElement(in: bytes) { id, range in elements.append((id, range)) }
        }
        var previousEnd = layout.extensionRange.lowerBound
        for (id, range) in elements {
            try require(id != 0 && range.lowerBound >= previousEnd && range.upperBound <= layout.extensionRange.upperBound,
                        "element \(id) at \(range) outside the extension \(layout.extensionRange) or overlapping")
            previousEnd = range.upperBound
        }
        // The first element with each ID, as the by-ID lookup must find it (it stops at the first match, so an
        // element before a malformed one is still found).
        var probes: [UInt8] = [0, 15, 255]
        for (id, _) in elements where !probes.contains(id) { probes.append(id) }
        for id in probes {
            let expected = elements.first { $0.id == id }?.range
            let found = layout.extensionElement(id: id, in: bytes)
            try require(found == expected, "extensionElement(id: \(id)) is \(String(describing: found)), "
                        + "expected \(String(describing: expected))")
            guard let range = found else { continue }
            let data = UnsafeRawBufferPointer(rebasing: bytes[range])
            try checkValue(AudioLevelExtension.self, data, layout.extensionValue(AudioLevelExtension.self, id: id, in: bytes))
            try checkValue(AbsoluteSendTimeExtension.self, data,
                           layout.extensionValue(AbsoluteSendTimeExtension.self, id: id, in: bytes))
            try checkValue(TransportSequenceNumberExtension.self, data,
                           layout.extensionValue(TransportSequenceNumberExtension.self, id: id, in: bytes))
            try checkValue(AbsoluteCaptureTimeExtension.self, data,
                           layout.extensionValue(AbsoluteCaptureTimeExtension.self, id: id, in: bytes))
            try checkValue(MediaIdentifierExtension.self, data,
                           layout.extensionValue(MediaIdentifierExtension.self, id: id, in: bytes))
        }

        // The copied extension gives the same elements, and rebuilding it from them gives them again.
        guard let headerExtension = packet.header.headerExtension else {
            try require(elements.isEmpty && failure(of: walk) == nil, "elements without an extension")
            return
        }
        let copied = Result { () throws(RTPError) in try headerExtension.elements() }
        switch (walk, copied) {
        case (.success, .success(let copiedElements)):
            try require(copiedElements.elementsEqual(elements) { $0.id == $1.id && $0.data.elementsEqual(bytes[$1.range]) },
                        "RTPHeaderExtension.elements() disagrees with the layout")
            for (id, range) in elements {
                try require(headerExtension.element(id: id) == elements.first { $0.id == id }.map { Array(bytes[$0.range]) },
                            "RTPHeaderExtension.element(id: \(id)) disagrees with the layout (\(range))")
            }
            guard let form = headerExtension.form else {
                throw Violation("elements of an extension with profile \(headerExtension.profile)")
            }
            switch Result(catching: { () throws(RTPError) in try RTPHeaderExtension(elements: copiedElements, form: form) }) {
            case .success(let rebuilt):
                try require(rebuilt.profile == headerExtension.profile && (try? rebuilt.elements()) == copiedElements,
                            "rebuilding the extension from its elements changed them")
            case .failure(let error):
                throw Violation("elements parsed in \(form) form cannot be rebuilt: \(error)")
            }
        case (.failure(let a), .failure(let b)):
            try require(a == b, "the layout's walk threw \(a), RTPHeaderExtension.elements() \(b)")
        default:
            throw Violation("the layout's walk gave \(walk), RTPHeaderExtension.elements() \(copied)")
        }
    }

    /// A typed extension value decodes the same way through every entry point and re-encodes to data that
    /// decodes to itself (the bytes themselves may differ only for a MID that is not valid UTF-8).
    static func checkValue<Value: RTPHeaderExtensionValue>(
        _ type: Value.Type, _ data: UnsafeRawBufferPointer, _ viaLayout: Value?
    ) throws(Violation) {
        let direct = try? Value(extensionData: data)
        try require(direct == viaLayout, "\(Value.self) decodes differently through the layout")
        guard let direct else { return }
        let encoded = direct.extensionData
        try require((try? Value(extensionData: encoded)) == direct, "\(Value.self) \(direct) does not round-trip")
        // A MID is text: bytes that are not UTF-8 come back repaired, everything else byte for byte.
        if !(direct is MediaIdentifierExtension) || String(validating: data, as: UTF8.self) != nil {
            try require(encoded.elementsEqual(data), "\(Value.self) re-encodes \(Array(data)) as \(encoded)")
        }
    }

    // MARK: RTCP

    /// RTCP (RFC 3550 §6, RFC 4585, transport-wide CC): `forEachPacket` and the compound parser agree on the
    /// packets; a parsed compound packet serializes to `serializedSize` bytes that parse back to it and serialize
    /// to the same bytes again.
    public static func rtcp(_ bytes: UnsafeRawBufferPointer) throws(Violation) {
        var ranges: [Range<Int>] = []
        var headersMatchRanges = true
        let walk = Result { () throws(RTCPError) in
            try RTCPCompoundPacket.forEachPacket(in: bytes) { (header, range) throws(RTCPError) in
                ranges.append(range)
                if header.packetLength != range.count || header.packetLength % 4 != 0 || header.packetLength < 4 {
                    headersMatchRanges = false
                }
            }
        }
        try require(headersMatchRanges, "forEachPacket reported a header that disagrees with its range: \(ranges)")
        var end = 0
        for range in ranges {
            try require(range.lowerBound == end && range.upperBound <= bytes.count, "packet ranges do not tile: \(ranges)")
            end = range.upperBound
        }
        let compound: RTCPCompoundPacket
        do {
            compound = try RTCPCompoundPacket(parsing: bytes)
        } catch {
            return
        }
        try require(failure(of: walk) == nil && end == bytes.count && ranges.count == compound.packets.count,
                    "the compound parser accepted what forEachPacket rejects (\(walk)) or counted otherwise")
        try require(compound.serializedSize == compound.packets.reduce(0) { $0 + $1.serializedSize },
                    "compound serializedSize is not the sum of its packets")

        let serialized: [UInt8]
        do {
            serialized = try compound.serialized()
        } catch {
            // Only a BYE reason that grew past 255 bytes when invalid UTF-8 was read as U+FFFD may not fit again.
            let grown = compound.packets.contains { packet in
                if case .goodbye(let bye) = packet { return (bye.reason?.utf8.count ?? 0) > 255 }
                return false
            }
            try require(error == .fieldOutOfRange && grown, "a parsed compound packet does not serialize: \(error)")
            return
        }
        try require(serialized.count == compound.serializedSize,
                    "serializedSize \(compound.serializedSize) but \(serialized.count) bytes were written")
        let reparsed = Result { () throws(RTCPError) in try RTCPCompoundPacket(parsing: serialized) }
        try require(reparsed == .success(compound), "round trip gave \(reparsed) for \(compound)")
        try require((try? RTCPCompoundPacket(parsing: serialized).serialized()) == serialized,
                    "serialize → parse → serialize is not a fixed point")
        for packet in compound.packets {
            let single = try? packet.serialized()
            try require(single?.count == packet.serializedSize, "a packet's serializedSize differs from its bytes")
        }
    }

    // MARK: SDP

    /// SDP (RFC 8866): bytes and the same text as a String parse alike; parse → serialize → parse is a fixed point
    /// and serializing again gives the same text; `NegotiatedAudio(offer:)` and `SDPAnswer(offer:parameters:)` with
    /// ``answerParameters`` agree, and an answer's text parses back to the answer.
    public static func sdp(_ bytes: UnsafeRawBufferPointer) throws(Violation) {
        let result = Result { () throws(SDPError) in try SessionDescription(parsing: bytes) }
        if let text = String(validating: bytes, as: UTF8.self) {
            let fromString = Result { () throws(SDPError) in try SessionDescription(parsing: text) }
            try require(fromString == result, "parsing as String gives \(fromString), as bytes \(result)")
        }
        guard case .success(let description) = result else { return }

        let text = description.serialized()
        let reparsed: SessionDescription
        do {
            reparsed = try SessionDescription(parsing: text)
        } catch {
            throw Violation("the serialized description does not parse: \(error)\n\(text)")
        }
        try require(reparsed == description, "round trip changed the description:\n\(text)")
        try require(reparsed.serialized() == text, "serialize → parse → serialize is not a fixed point")

        let negotiated = Result { () throws(SDPNegotiationError) in try NegotiatedAudio(offer: description) }
        let answer = Result { () throws(SDPNegotiationError) in
            try SDPAnswer(offer: description, parameters: answerParameters)
        }
        switch (negotiated, answer) {
        case (.failure(let a), .failure(let b)):
            try require(a == b, "NegotiatedAudio threw \(a), SDPAnswer \(b)")
        case (.success(let audio), .success(let answer)):
            try require(answer.negotiated == audio, "SDPAnswer negotiated otherwise than NegotiatedAudio")
            try require(audio.mediaIndex >= 0 && audio.mediaIndex < description.media.count
                            && answer.sessionDescription.media.count == description.media.count,
                        "the answer's sections do not match the offer's")
            let answerText = answer.serialized()
            let parsedAnswer = Result { () throws(SDPError) in try SessionDescription(parsing: answerText) }
            try require(parsedAnswer == .success(answer.sessionDescription),
                        "the answer does not survive its own text: \(parsedAnswer)\n\(answerText)")
        default:
            throw Violation("NegotiatedAudio gave \(negotiated), SDPAnswer \(answer)")
        }
    }

    // MARK: Demultiplexing

    /// RFC 7983 demultiplexing: `DatagramKind(classifying:)` follows the first-byte table (RFC 5761 for RTP versus
    /// RTCP), and whatever parses as RTP or RTCP is classified as one of them; each datagram then goes through the
    /// check of the parser it is routed to.
    public static func demux(_ bytes: UnsafeRawBufferPointer) throws(Violation) {
        let kind = DatagramKind(classifying: bytes)
        let expected: DatagramKind
        switch bytes.first {
        case nil: expected = .unknown
        case .some(0...3): expected = .stun
        case .some(16...19): expected = .zrtp
        case .some(20...63): expected = .dtls
        case .some(64...79): expected = .turnChannel
        case .some(128...191):
            if bytes.count < 2 {
                expected = .unknown
            } else {
                expected = (192...223).contains(bytes[1] | 0x80) ? .rtcp : .rtp
            }
        default: expected = .unknown
        }
        try require(kind == expected, "classified as \(kind), expected \(expected)")
        if (try? RTPPacketLayout(parsing: bytes)) != nil || (try? RTCPCompoundPacket(parsing: bytes)) != nil {
            try require(kind == .rtp || kind == .rtcp, "parses as RTP or RTCP but is classified as \(kind)")
        }
        switch kind {
        case .stun: try stun(bytes)
        case .rtp: try rtp(bytes)
        case .rtcp: try rtcp(bytes)
        case .zrtp, .dtls, .turnChannel, .unknown: break
        }
    }

    // MARK: Opus

    /// Opus packet framing (RFC 6716 §3): the TOC fields agree with the byte and with Table 2; an accepted packet
    /// keeps R1–R7: 1–48 contiguous frames of at most 1275 bytes after the TOC, at most 120 ms, ending at the
    /// packet's end or at its trailing padding.
    public static func opus(_ bytes: UnsafeRawBufferPointer) throws(Violation) {
        if let first = bytes.first {
            let toc = OpusTOC(rawValue: first)
            try require(OpusTOC(config: toc.config, isStereo: toc.isStereo, frameCountCode: toc.frameCountCode) == toc,
                        "TOC fields do not rebuild the byte \(first)")
            let ms = toc.frameDuration.microseconds
            switch toc.mode {
            case .silk: try require(toc.config < 12 && [10_000, 20_000, 40_000, 60_000].contains(ms)
                                        && toc.bandwidth <= .wideband, "SILK config \(toc.config)")
            case .hybrid: try require((12...15).contains(toc.config) && [10_000, 20_000].contains(ms)
                                          && toc.bandwidth >= .superWideband, "Hybrid config \(toc.config)")
            case .celt: try require(toc.config >= 16 && [2_500, 5_000, 10_000, 20_000].contains(ms)
                                        && toc.bandwidth != .mediumband, "CELT config \(toc.config)")
            }
        }
        let layout: OpusPacketLayout
        do {
            layout = try OpusPacketLayout(parsing: bytes)
        } catch {
            try require(error != .empty || bytes.isEmpty, "a non-empty packet rejected as empty")
            return
        }
        let count = bytes.count
        let code = layout.toc.frameCountCode
        try require(count >= 1 && layout.toc.rawValue == bytes[0], "TOC is not the first byte")
        try require((1...48).contains(layout.frameCount)
                        && layout.samplesAt48kHz <= OpusPacketLayout.maximumSamplesAt48kHz,
                    "\(layout.frameCount) frames of \(layout.toc.frameDuration)")
        switch code {
        case 0: try require(layout.frameCount == 1, "code 0 with \(layout.frameCount) frames")
        case 1, 2: try require(layout.frameCount == 2, "code \(code) with \(layout.frameCount) frames")
        default: try require(count >= 2 && layout.frameCount == Int(bytes[1] & 0x3F), "code 3 frame count")
        }
        if code == 1 { try require(layout.frames[0].count == layout.frames[1].count, "code 1 frames differ in size") }
        if code == 3, !layout.isVariableBitrate {
            try require(layout.frames.allSatisfy { $0.count == layout.frames[0].count }, "CBR frames differ in size")
        }
        try require(layout.isVariableBitrate == (code == 3 && bytes[1] & 0x80 != 0), "VBR flag")
        var previous: Int?
        for frame in layout.frames {
            try require(frame.lowerBound >= 1 && frame.upperBound <= count
                            && frame.count <= OpusPacketLayout.maximumFrameLength,
                        "frame \(frame) outside the \(count)-byte packet or too long")
            if let previous { try require(frame.lowerBound == previous, "frames are not contiguous: \(layout.frames)") }
            previous = frame.upperBound
        }
        let trailing = count - (previous ?? count)
        if code == 3 {
            // paddingLength counts the padding-length bytes and the trailing padding they announce.
            let hasPadding = bytes[1] & 0x40 != 0
            try require(hasPadding ? trailing < layout.paddingLength : layout.paddingLength == 0,
                        "padding \(layout.paddingLength) with \(trailing) trailing bytes (P = \(hasPadding))")
            try require(layout.paddingLength <= count - 2, "padding \(layout.paddingLength) in \(count) bytes")
        } else {
            try require(trailing == 0 && layout.paddingLength == 0, "code \(code) with padding")
        }
        // The LBRR probe reads the range coder within the first frame only (past its end it reads zeros), and a
        // CELT-only packet is never flagged.
        let carriesFEC = layout.firstFrameCarriesFEC(in: bytes)
        try require(!carriesFEC || layout.toc.mode != .celt, "a CELT-only packet flagged as carrying FEC")
    }
}
