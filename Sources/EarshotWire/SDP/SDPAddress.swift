/// An address as it appears in SDP (`c=` lines, ICE candidates): an IPv4 or IPv6 literal, or a host name such as
/// the mDNS name `3a52848f-29ed-4d34-b115-c38b33a68090.local` that browsers put in place of their local address.
public enum SDPAddress: Hashable, Sendable, CustomStringConvertible {
    /// The four octets in network order, e.g. `127.0.0.1` is `(127, 0, 0, 1)`, packed big-endian.
    case ipv4(UInt32)
    /// The sixteen octets as two big-endian halves.
    case ipv6(high: UInt64, low: UInt64)
    /// A fully qualified domain name, kept as written (RFC 8839 §5.1 allows an FQDN as connection-address).
    case hostname(String)

    public static let ipv4Any = SDPAddress.ipv4(0)
    public static let ipv4Loopback = SDPAddress.ipv4(0x7F00_0001)
    public static let ipv6Loopback = SDPAddress.ipv6(high: 0, low: 1)

    /// IPv4 from four octets.
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        self = .ipv4(UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d))
    }

    /// Parses an IPv4 literal, an IPv6 literal or a host name; nil if it is none of them.
    public init?(_ text: String) {
        guard let address = withSDPBytes(text, { SDPAddress.parse($0) }) else { return nil }
        self = address
    }

    /// `IP4` or `IP6` as in `c=IN IP4 …`; host names are reported as `IP4` (the usual choice for mDNS names).
    public var sdpAddressType: String {
        if case .ipv6 = self { return "IP6" }
        return "IP4"
    }

    /// The octets (4 or 16), or nil for a host name.
    public var bytes: [UInt8]? {
        switch self {
        case .ipv4(let value):
            return [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8),
                    UInt8(truncatingIfNeeded: value)]
        case .ipv6(let high, let low):
            var result: [UInt8] = []
            result.reserveCapacity(16)
            for half in [high, low] {
                for shift in stride(from: 56, through: 0, by: -8) { result.append(UInt8(truncatingIfNeeded: half >> UInt64(shift))) }
            }
            return result
        case .hostname:
            return nil
        }
    }

    /// Dotted quad, RFC 5952 text form for IPv6 (lower case, longest run of zero groups compressed), or the name.
    public var description: String {
        switch self {
        case .ipv4(let value):
            return "\(value >> 24).\((value >> 16) & 0xFF).\((value >> 8) & 0xFF).\(value & 0xFF)"
        case .ipv6(let high, let low):
            let groups: [UInt16] = (0..<8).map { index in
                let half = index < 4 ? high : low
                return UInt16(truncatingIfNeeded: half >> UInt64((3 - index % 4) * 16))
            }
            // RFC 5952 §4.2: compress the longest run of two or more zero groups (the first one on a tie).
            var bestStart = -1, bestLength = 0, index = 0
            while index < 8 {
                if groups[index] == 0 {
                    var end = index
                    while end < 8, groups[end] == 0 { end += 1 }
                    if end - index > bestLength { bestStart = index; bestLength = end - index }
                    index = end
                } else {
                    index += 1
                }
            }
            if bestLength < 2 { bestStart = -1 }
            var text = ""
            index = 0
            while index < 8 {
                if index == bestStart {
                    text += "::"
                    index += bestLength
                    continue
                }
                if !text.isEmpty, !text.hasSuffix(":") { text += ":" }
                text += String(groups[index], radix: 16)
                index += 1
            }
            return text
        case .hostname(let name):
            return name
        }
    }

    static func parse(_ bytes: SDPBytes) -> SDPAddress? {
        guard !bytes.isEmpty, bytes.count <= 253 else { return nil }  // 253: longest DNS name (RFC 1035 §2.3.4)
        if let value = parseIPv4(bytes) { return .ipv4(value) }
        if bytes.contains(SDPASCII.colon) {
            guard let (high, low) = parseIPv6(bytes) else { return nil }
            return .ipv6(high: high, low: low)
        }
        // A host name (RFC 1123 §2.1, RFC 3696 §2): dot-separated labels of 1...63 letters, digits, '-' (not first or
        // last) and '_' (seen in practice); an optional final dot; the last label not all digits (else it would be a
        // malformed IPv4 literal).
        var labels = bytes.split(separator: SDPASCII.dot, omittingEmptySubsequences: false)
        if labels.count > 1, labels.last?.isEmpty == true { labels.removeLast() }
        for label in labels {
            guard !label.isEmpty, label.count <= 63, label.first != SDPASCII.hyphen, label.last != SDPASCII.hyphen,
                  label.allSatisfy(SDPASCII.isHostnameChar) else { return nil }
        }
        guard let last = labels.last, !last.allSatisfy(SDPASCII.isDigit) else { return nil }
        return .hostname(bytes.sdpText)
    }

    /// Strict dotted quad: four decimal fields 0...255, no leading zeros beyond a single "0".
    static func parseIPv4(_ bytes: SDPBytes) -> UInt32? {
        let parts = bytes.split(separator: SDPASCII.dot, omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard part.count <= 3, let octet = part.sdpDecimal(maximum: 255) else { return nil }
            if part.count > 1, part.first == SDPASCII.zero { return nil }
            value = value << 8 | UInt32(octet)
        }
        return value
    }

    /// RFC 4291 §2.2 text forms: eight hex groups, one "::" for a run of zero groups, optional trailing dotted quad.
    static func parseIPv6(_ bytes: SDPBytes) -> (UInt64, UInt64)? {
        guard bytes.count >= 2, bytes.count <= 45 else { return nil }  // 45: longest form with an IPv4 tail
        var head: [UInt16] = []
        var tail: [UInt16] = []
        var compressed = false
        var index = bytes.startIndex
        // A leading "::" is consumed up front; a single leading ':' is invalid.
        if bytes[index] == SDPASCII.colon {
            guard bytes[index + 1] == SDPASCII.colon else { return nil }
            compressed = true
            index += 2
        }
        while index < bytes.endIndex {
            // Find the end of this group.
            var end = index
            while end < bytes.endIndex, bytes[end] != SDPASCII.colon { end += 1 }
            let group = bytes[index..<end]
            if group.contains(SDPASCII.dot) {
                // Embedded IPv4: must be last and leaves room for two groups.
                guard end == bytes.endIndex, let v4 = parseIPv4(group) else { return nil }
                let high = UInt16(v4 >> 16), low = UInt16(truncatingIfNeeded: v4)
                if compressed { tail += [high, low] } else { head += [high, low] }
                index = end
                break
            }
            guard !group.isEmpty, group.count <= 4 else { return nil }
            var value: UInt16 = 0
            var digitIndex = group.startIndex
            while digitIndex < group.endIndex {
                guard let digit = SDPASCII.hexValue(group[digitIndex]) else { return nil }
                value = value << 4 | UInt16(digit)
                digitIndex += 1
            }
            if compressed { tail.append(value) } else { head.append(value) }
            guard head.count + tail.count <= 8 else { return nil }
            if end == bytes.endIndex { index = end; break }
            // At a ':'; a second ':' right after starts the compressed run.
            index = end + 1
            if index < bytes.endIndex, bytes[index] == SDPASCII.colon {
                guard !compressed else { return nil }
                compressed = true
                index += 1
            } else if index == bytes.endIndex {
                return nil  // trailing single ':'
            }
        }
        let total = head.count + tail.count
        if compressed {
            guard total <= 7 else { return nil }
        } else {
            guard total == 8 else { return nil }
        }
        let groups = head + [UInt16](repeating: 0, count: 8 - total) + tail
        var high: UInt64 = 0, low: UInt64 = 0
        for (position, group) in groups.enumerated() {
            if position < 4 { high = high << 16 | UInt64(group) } else { low = low << 16 | UInt64(group) }
        }
        return (high, low)
    }
}
