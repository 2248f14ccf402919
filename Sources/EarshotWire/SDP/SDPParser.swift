/// Limits that keep a hostile description from costing much. The defaults are far above what browsers send (a
/// Chromium offer with audio, video and data is under 6 kB) and well below what would hurt.
public struct SDPParserLimits: Hashable, Sendable {
    /// Whole description, in bytes.
    public var maximumSize: Int
    /// One line, in bytes, without its line break.
    public var maximumLineLength: Int
    /// Number of m= sections.
    public var maximumMediaDescriptions: Int

    public init(maximumSize: Int = 256 * 1024, maximumLineLength: Int = 8 * 1024, maximumMediaDescriptions: Int = 64) {
        self.maximumSize = maximumSize
        self.maximumLineLength = maximumLineLength
        self.maximumMediaDescriptions = maximumMediaDescriptions
    }

    public static let `default` = SDPParserLimits()
}

extension SessionDescription {
    /// Parses a session description (RFC 8866 §5 syntax, attributes of RFC 8839, 8122, 4145, 5888, 8843, 5761,
    /// 5506, 8285, 5576, 8830, 4585). Lines may end in CRLF or LF; the last line may lack its line break.
    ///
    /// ```
    /// session-description = version-field origin-field session-name-field [information-field] [uri-field]
    ///                       *email-field *phone-field [connection-field] *bandwidth-field 1*time-description
    ///                       [key-field] *attribute-field *media-description
    /// media-description   = media-field [information-field] *connection-field *bandwidth-field [key-field]
    ///                       *attribute-field
    /// each field          = <type letter> "=" <value> CRLF
    /// ```
    public init(parsing text: String, limits: SDPParserLimits = .default) throws(SDPError) {
        let parser = SDPParser(limits: limits)
        self = try withSDPBytes(text) { parser.parseCatching($0) }.get()
    }

    /// Parses UTF-8 bytes, e.g. an HTTP request body.
    public init(parsing bytes: some Collection<UInt8>, limits: SDPParserLimits = .default) throws(SDPError) {
        // Refuse an oversized body before copying it.
        guard bytes.count <= limits.maximumSize else { throw .tooLarge(size: bytes.count, limit: limits.maximumSize) }
        let parser = SDPParser(limits: limits)
        let result = bytes.withContiguousStorageIfAvailable { buffer in
            withSDPBytes(buffer) { parser.parseCatching($0) }
        } ?? Array(bytes).withUnsafeBufferPointer { buffer in
            withSDPBytes(buffer) { parser.parseCatching($0) }
        }
        self = try result.get()
    }
}

struct SDPParser {
    let limits: SDPParserLimits

    /// One line: its 1-based number, type letter and value bytes.
    struct Line {
        var number: Int
        var type: UInt8
        var value: SDPBytes
        var typeCharacter: Character { Character(Unicode.Scalar(type)) }
    }

    func parseCatching(_ bytes: SDPBytes) -> Result<SessionDescription, SDPError> {
        do {
            return .success(try parse(bytes))
        } catch {
            return .failure(error)
        }
    }

    func parse(_ bytes: SDPBytes) throws(SDPError) -> SessionDescription {
        guard bytes.count <= limits.maximumSize else {
            throw .tooLarge(size: bytes.count, limit: limits.maximumSize)
        }
        let lines = try splitLines(bytes)
        guard let first = lines.first else { throw .empty }

        // v=0, o=, s= must be the first three lines (RFC 8866 §5).
        guard first.type == UInt8(ascii: "v") else { throw .missingVersion }
        guard first.value.sdpEquals("0") else {
            throw .unsupportedVersion(line: first.number, value: first.value.sdpText)
        }
        guard lines.count > 1, lines[1].type == UInt8(ascii: "o") else {
            throw .missingOrigin(line: lines.count > 1 ? lines[1].number : first.number + 1)
        }
        let origin = try parseOrigin(lines[1])
        guard lines.count > 2, lines[2].type == UInt8(ascii: "s") else {
            throw .missingSessionName(line: lines.count > 2 ? lines[2].number : lines[1].number + 1)
        }
        var session = SessionDescription(origin: origin, sessionName: lines[2].value.sdpText, timings: [])

        var index = 3
        // Session section: everything up to the first m=.
        while index < lines.count, lines[index].type != UInt8(ascii: "m") {
            let line = lines[index]
            switch line.type {
            case UInt8(ascii: "i"):
                guard session.information == nil else { throw duplicate(line) }
                session.information = line.value.sdpText
            case UInt8(ascii: "u"):
                guard session.uri == nil else { throw duplicate(line) }
                session.uri = line.value.sdpText
            case UInt8(ascii: "e"):
                session.emails.append(line.value.sdpText)
            case UInt8(ascii: "p"):
                session.phones.append(line.value.sdpText)
            case UInt8(ascii: "c"):
                guard session.connection == nil else { throw duplicate(line) }
                session.connection = try parseConnection(line)
            case UInt8(ascii: "b"):
                session.bandwidths.append(try parseBandwidth(line))
            case UInt8(ascii: "t"):
                session.timings.append(try parseTiming(line))
            case UInt8(ascii: "r"):
                guard !session.timings.isEmpty else {
                    throw .misplacedLine(line: line.number, type: "r", reason: "must follow a 't=' line")
                }
                session.timings[session.timings.count - 1].repeats.append(line.value.sdpText)
            case UInt8(ascii: "z"):
                guard session.timeZones == nil else { throw duplicate(line) }
                session.timeZones = line.value.sdpText
            case UInt8(ascii: "k"):
                guard session.encryptionKey == nil else { throw duplicate(line) }
                session.encryptionKey = line.value.sdpText
            case UInt8(ascii: "a"):
                session.attributes.append(try parseAttribute(line))
            default:
                throw misplacedOrUnknown(line, section: "the session section")
            }
            index += 1
        }
        guard !session.timings.isEmpty else { throw .missingTiming }

        // Media sections.
        while index < lines.count {
            let mediaLine = lines[index]
            guard session.media.count < limits.maximumMediaDescriptions else {
                throw .tooManyMediaDescriptions(line: mediaLine.number, limit: limits.maximumMediaDescriptions)
            }
            var media = try parseMediaLine(mediaLine)
            index += 1
            while index < lines.count, lines[index].type != UInt8(ascii: "m") {
                let line = lines[index]
                switch line.type {
                case UInt8(ascii: "i"):
                    guard media.information == nil else { throw duplicate(line) }
                    media.information = line.value.sdpText
                case UInt8(ascii: "c"):
                    media.connections.append(try parseConnection(line))
                case UInt8(ascii: "b"):
                    media.bandwidths.append(try parseBandwidth(line))
                case UInt8(ascii: "k"):
                    guard media.encryptionKey == nil else { throw duplicate(line) }
                    media.encryptionKey = line.value.sdpText
                case UInt8(ascii: "a"):
                    media.attributes.append(try parseAttribute(line))
                default:
                    throw misplacedOrUnknown(line, section: "a media section")
                }
                index += 1
            }
            session.media.append(media)
        }
        return session
    }

    // MARK: Lines

    /// Splits at LF, removes one CR before each LF, checks each line's shape and text in the same pass. Blank lines
    /// are allowed only at the very end (a trailing line break is common; more are harmless).
    func splitLines(_ bytes: SDPBytes) throws(SDPError) -> [Line] {
        var lines: [Line] = []
        var number = 0
        var start = bytes.startIndex
        var blankLine: Int?
        let base = bytes.base
        let end = bytes.endIndex
        while start < end {
            number += 1
            // One pass over the line: find its end and note NUL, CR and non-ASCII bytes. Eight bytes at a time while
            // none of those four kinds of byte is in the word (most of a description), then byte by byte.
            var index = start
            var nul = false, carriageReturns = 0, nonASCII = false
            let raw = UnsafeRawPointer(base)
            while index < end {
                if end - index >= 8 {
                    let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                    if !SDPParser.wordHasSpecialByte(word) {
                        index += 8
                        continue
                    }
                }
                let byte = base[index]
                if byte == 0x0A { break }  // LF
                if byte == 0 { nul = true }
                if byte == 0x0D { carriageReturns += 1 }  // CR
                if byte >= 0x80 { nonASCII = true }
                index += 1
            }
            var contentEnd = index
            if contentEnd > start, base[contentEnd - 1] == SDPASCII.carriageReturn {
                contentEnd -= 1
                carriageReturns -= 1
            }
            let content = SDPBytes(base: base, startIndex: start, endIndex: contentEnd)
            start = index < end ? index + 1 : index
            guard content.count <= limits.maximumLineLength else {
                throw .lineTooLong(line: number, length: content.count, limit: limits.maximumLineLength)
            }
            if content.isEmpty {
                if blankLine == nil { blankLine = number }
                continue
            }
            if let blankLine {
                throw .malformedLine(line: blankLine, reason: "empty line inside the description")
            }
            guard content.count >= 2, base[content.startIndex + 1] == SDPASCII.equals else {
                throw .malformedLine(line: number, reason: "no '=' after the type letter")
            }
            let type = base[content.startIndex]
            guard type >= UInt8(ascii: "a"), type <= UInt8(ascii: "z") else {
                throw .malformedLine(line: number, reason: "the type must be one lower-case letter")
            }
            let value = content.dropFirst(2)
            if nul { throw .invalidText(line: number, reason: "the line contains a NUL byte") }
            if carriageReturns > 0 {
                throw .invalidText(line: number, reason: "the line contains a carriage return that does not end it")
            }
            if nonASCII, String(validating: value.buffer, as: UTF8.self) == nil {
                throw .invalidText(line: number, reason: "the line is not valid UTF-8")
            }
            lines.append(Line(number: number, type: type, value: value))
        }
        return lines
    }

    /// Whether any byte of `word` is NUL, LF, CR or has its high bit set (SWAR: a byte b is zero exactly when
    /// `(b - 1) & ~b` has its high bit set, with the borrow of a lower zero byte only causing false positives, which
    /// just send the caller to its byte-by-byte path).
    static func wordHasSpecialByte(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let lineFeeds = word ^ 0x0A0A_0A0A_0A0A_0A0A
        let carriageReturns = word ^ 0x0D0D_0D0D_0D0D_0D0D
        let zeroBytes = ((word &- ones) & ~word) | ((lineFeeds &- ones) & ~lineFeeds)
            | ((carriageReturns &- ones) & ~carriageReturns)
        return (word | zeroBytes) & highs != 0
    }

    func duplicate(_ line: Line) -> SDPError {
        .misplacedLine(line: line.number, type: line.typeCharacter, reason: "may appear only once in its section")
    }

    /// RFC 8866 §5: an unknown type letter makes the whole description invalid; a known one in the wrong place is
    /// reported as misplaced.
    func misplacedOrUnknown(_ line: Line, section: String) -> SDPError {
        let known: Set<UInt8> = Set("vosiuepcbtrzkam".utf8)
        if known.contains(line.type) {
            return .misplacedLine(line: line.number, type: line.typeCharacter, reason: "is not allowed in \(section)")
        }
        return .unknownLineType(line: line.number, type: line.typeCharacter)
    }

    // MARK: Fields

    /// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>` (RFC 8866 §5.2)
    func parseOrigin(_ line: Line) throws(SDPError) -> SDPOrigin {
        let fields = line.value.sdpFields()
        guard fields.count == 6 else {
            throw .badOrigin(line: line.number, reason: "expected 6 fields (username sess-id sess-version nettype "
                             + "addrtype address), found \(fields.count)")
        }
        guard fields[1].allSatisfy(SDPASCII.isDigit) else {
            throw .badOrigin(line: line.number, reason: "session id '\(fields[1].sdpText)' is not a number")
        }
        guard fields[2].allSatisfy(SDPASCII.isDigit) else {
            throw .badOrigin(line: line.number, reason: "session version '\(fields[2].sdpText)' is not a number")
        }
        return SDPOrigin(username: fields[0].sdpText, sessionID: fields[1].sdpText, sessionVersion: fields[2].sdpText,
                         networkType: fields[3].sdpText, addressType: fields[4].sdpText,
                         unicastAddress: fields[5].sdpText)
    }

    /// `c=<nettype> <addrtype> <connection-address>` (RFC 8866 §5.7)
    func parseConnection(_ line: Line) throws(SDPError) -> SDPConnection {
        let fields = line.value.sdpFields()
        guard fields.count == 3 else {
            throw .badConnection(line: line.number, reason: "expected 3 fields (nettype addrtype address), "
                                 + "found \(fields.count)")
        }
        guard fields[0].sdpIsToken(), fields[1].sdpIsToken() else {
            throw .badConnection(line: line.number, reason: "network and address types must be tokens")
        }
        return SDPConnection(networkType: fields[0].sdpText, addressType: fields[1].sdpText, address: fields[2].sdpText)
    }

    /// `b=<bwtype>:<bandwidth>` (RFC 8866 §5.8)
    func parseBandwidth(_ line: Line) throws(SDPError) -> SDPBandwidth {
        let (type, value) = line.value.sdpSplitOnce(SDPASCII.colon)
        guard type.sdpIsToken() else {
            throw .badBandwidth(line: line.number, reason: "bandwidth type '\(type.sdpText)' is not a token")
        }
        guard let value, let bandwidth = value.sdpDecimal(maximum: UInt64.max) else {
            throw .badBandwidth(line: line.number, reason: "expected '<type>:<number>'")
        }
        return SDPBandwidth(type: type.sdpText, bandwidth: bandwidth)
    }

    /// `t=<start-time> <stop-time>` (RFC 8866 §5.9)
    func parseTiming(_ line: Line) throws(SDPError) -> SDPTiming {
        let fields = line.value.sdpFields()
        guard fields.count == 2, let start = fields[0].sdpDecimal(maximum: UInt64.max),
              let stop = fields[1].sdpDecimal(maximum: UInt64.max) else {
            throw .badTiming(line: line.number, reason: "expected two numbers, e.g. 't=0 0'")
        }
        return SDPTiming(start: start, stop: stop)
    }

    /// `m=<media> <port>[/<number of ports>] <proto> 1*(SP <fmt>)` (RFC 8866 §5.14)
    func parseMediaLine(_ line: Line) throws(SDPError) -> MediaDescription {
        let fields = line.value.sdpFields()
        guard fields.count >= 4 else {
            throw .badMediaLine(line: line.number, reason: "expected '<media> <port> <proto> <fmt> ...', found "
                                + "\(fields.count) field\(fields.count == 1 ? "" : "s")")
        }
        guard fields[0].sdpIsToken() else {
            throw .badMediaLine(line: line.number, reason: "media type '\(fields[0].sdpText)' is not a token")
        }
        let (portText, countText) = fields[1].sdpSplitOnce(SDPASCII.slash)
        guard let port = portText.sdpDecimal(maximum: UInt64(UInt16.max)) else {
            throw .badPort(line: line.number, value: fields[1].sdpText)
        }
        var numberOfPorts: UInt16?
        if let countText {
            guard let count = countText.sdpDecimal(maximum: UInt64(UInt16.max)), count >= 1 else {
                throw .badPort(line: line.number, value: fields[1].sdpText)
            }
            numberOfPorts = UInt16(count)
        }
        guard fields[2].allSatisfy({ SDPASCII.isTokenChar($0) || $0 == SDPASCII.slash }) else {
            throw .badMediaLine(line: line.number, reason: "transport protocol '\(fields[2].sdpText)' is malformed")
        }
        var media = MediaDescription(type: SDPMediaType(fields[0].sdpText), port: UInt16(port),
                                     numberOfPorts: numberOfPorts, transportProtocol: fields[2].sdpText, formats: [])
        let isRTP = media.isRTP
        for format in fields[3...] {
            guard format.sdpIsToken() else {
                throw .badMediaLine(line: line.number, reason: "format '\(format.sdpText)' is not a token")
            }
            // RFC 8866 §5.14: for RTP profiles the formats are RTP payload type numbers (7 bits, RFC 3550 §5.1).
            if isRTP, format.sdpDecimal(maximum: 127) == nil {
                throw .badMediaLine(line: line.number,
                                    reason: "format '\(format.sdpText)' is not an RTP payload type (0 to 127)")
            }
            media.formats.append(format.sdpText)
        }
        return media
    }

    // MARK: Attributes

    /// The attribute names parsed into typed cases. Looked up by comparing bytes, without building Strings.
    enum KnownAttribute {
        case iceUfrag, icePwd, iceOptions, iceLite, endOfCandidates, candidate, fingerprint, setup, mid, group
        case bundleOnly, rtcpMux, rtcpMuxOnly, rtcpReducedSize, direction(SDPDirection), rtpMap, formatParameters
        case rtcpFeedback, extensionMap, extensionMapAllowMixed, ssrc, msid

        /// Dispatches on the name's length first, so most names are compared with one or two strings at most.
        init?(_ name: SDPBytes) {
            func matches(_ text: StaticString) -> Bool { name.sdpEquals(text) }
            switch name.count {
            case 3 where matches("mid"): self = .mid
            case 4 where matches("ssrc"): self = .ssrc
            case 4 where matches("fmtp"): self = .formatParameters
            case 4 where matches("msid"): self = .msid
            case 5 where matches("setup"): self = .setup
            case 5 where matches("group"): self = .group
            case 6 where matches("rtpmap"): self = .rtpMap
            case 6 where matches("extmap"): self = .extensionMap
            case 7 where matches("rtcp-fb"): self = .rtcpFeedback
            case 7 where matches("ice-pwd"): self = .icePwd
            case 8 where matches("rtcp-mux"): self = .rtcpMux
            case 8 where matches("sendrecv"): self = .direction(.sendrecv)
            case 8 where matches("sendonly"): self = .direction(.sendonly)
            case 8 where matches("recvonly"): self = .direction(.recvonly)
            case 8 where matches("inactive"): self = .direction(.inactive)
            case 8 where matches("ice-lite"): self = .iceLite
            case 9 where matches("candidate"): self = .candidate
            case 9 where matches("ice-ufrag"): self = .iceUfrag
            case 10 where matches("rtcp-rsize"): self = .rtcpReducedSize
            case 11 where matches("fingerprint"): self = .fingerprint
            case 11 where matches("ice-options"): self = .iceOptions
            case 11 where matches("bundle-only"): self = .bundleOnly
            case 13 where matches("rtcp-mux-only"): self = .rtcpMuxOnly
            case 17 where matches("end-of-candidates"): self = .endOfCandidates
            case 18 where matches("extmap-allow-mixed"): self = .extensionMapAllowMixed
            default: return nil
            }
        }
    }

    /// `a=<attribute-name>[:<attribute-value>]` (RFC 8866 §5.13). Known names are parsed into typed cases.
    func parseAttribute(_ line: Line) throws(SDPError) -> SDPAttribute {
        let (nameBytes, valueBytes) = line.value.sdpSplitOnce(SDPASCII.colon)
        guard nameBytes.sdpIsToken() else {
            throw .malformedLine(line: line.number, reason: "attribute name '\(nameBytes.sdpText)' is not a token")
        }
        let name = nameBytes.sdpText
        func bad(_ reason: String) -> SDPError { .badAttribute(line: line.number, name: name, reason: reason) }
        func requireValue() throws(SDPError) -> SDPBytes {
            guard let valueBytes, !valueBytes.isEmpty else { throw bad("a value is required") }
            return valueBytes
        }
        func requireNoValue(_ attribute: SDPAttribute) throws(SDPError) -> SDPAttribute {
            guard valueBytes == nil else { throw bad("takes no value") }
            return attribute
        }

        switch KnownAttribute(nameBytes) {
        case .iceUfrag, .icePwd:
            let value = try requireValue()
            guard value.allSatisfy(SDPASCII.isVisible) else { throw bad("must not contain spaces") }
            return nameBytes.sdpEquals("ice-ufrag") ? .iceUfrag(value.sdpText) : .icePwd(value.sdpText)
        case .iceOptions:
            let options = try requireValue().sdpFields()
            guard !options.isEmpty, options.allSatisfy({ $0.sdpIsToken() }) else {
                throw bad("expected one or more option tokens")
            }
            return .iceOptions(options.map(\.sdpText))
        case .iceLite:
            return try requireNoValue(.iceLite)
        case .endOfCandidates:
            return try requireNoValue(.endOfCandidates)
        case .candidate:
            let value = try requireValue()
            do {
                return .candidate(try ICECandidate.parse(value))
            } catch {
                throw .badCandidate(line: line.number, reason: error.reason)
            }
        case .fingerprint:
            return .fingerprint(try parseFingerprint(try requireValue(), line: line.number))
        case .setup:
            guard let role = SDPSetupRole(rawValue: try requireValue().sdpText) else {
                throw bad("role must be active, passive, actpass or holdconn")
            }
            return .setup(role)
        case .mid:
            let value = try requireValue()
            guard value.allSatisfy(SDPASCII.isVisible) else { throw bad("identification tag must not contain spaces") }
            return .mid(value.sdpText)
        case .group:
            let fields = try requireValue().sdpFields()
            guard let semantics = fields.first, semantics.sdpIsToken() else { throw bad("expected a semantics token") }
            return .group(SDPGroup(semantics: semantics.sdpText, identificationTags: fields.dropFirst().map(\.sdpText)))
        case .bundleOnly:
            return try requireNoValue(.bundleOnly)
        case .rtcpMux:
            return try requireNoValue(.rtcpMux)
        case .rtcpMuxOnly:
            return try requireNoValue(.rtcpMuxOnly)
        case .rtcpReducedSize:
            return try requireNoValue(.rtcpReducedSize)
        case .direction(let direction):
            return try requireNoValue(.direction(direction))
        case .rtpMap:
            return .rtpMap(try parseRTPMap(try requireValue(), bad: bad))
        case .formatParameters:
            let value = try requireValue()
            let (format, parameters) = value.sdpSplitOnce(SDPASCII.space)
            guard let payloadType = format.sdpDecimal(maximum: 127) else {
                // fmtp for a non-RTP format (e.g. an SCTP one): keep it as written.
                return .other(name: name, value: value.sdpText)
            }
            return .formatParameters(SDPFormatParameters(payloadType: UInt8(payloadType),
                                                         parameters: parameters?.sdpTrimmed().sdpText ?? ""))
        case .rtcpFeedback:
            let fields = try requireValue().sdpFields()
            guard fields.count >= 2, fields.count <= 3 else { throw bad("expected '<payload type> <type> [<parameter>]'") }
            var payloadType: UInt8?
            if !fields[0].sdpEquals("*") {
                guard let value = fields[0].sdpDecimal(maximum: 127) else {
                    throw bad("payload type '\(fields[0].sdpText)' must be '*' or 0 to 127")
                }
                payloadType = UInt8(value)
            }
            guard fields[1].sdpIsToken() else { throw bad("feedback type must be a token") }
            return .rtcpFeedback(SDPRTCPFeedback(payloadType: payloadType, type: fields[1].sdpText,
                                                 parameter: fields.count == 3 ? fields[2].sdpText : nil))
        case .extensionMap:
            return .extensionMap(try parseExtensionMap(try requireValue(), bad: bad))
        case .extensionMapAllowMixed:
            return try requireNoValue(.extensionMapAllowMixed)
        case .ssrc:
            let value = try requireValue()
            let (idText, rest) = value.sdpSplitOnce(SDPASCII.space)
            guard let ssrc = idText.sdpDecimal(maximum: UInt64(UInt32.max)) else {
                throw bad("ssrc '\(idText.sdpText)' must be a number from 0 to 4294967295")
            }
            guard let rest = rest?.sdpTrimmed(), !rest.isEmpty else { throw bad("expected '<ssrc> <attribute>[:<value>]'") }
            let (attribute, attributeValue) = rest.sdpSplitOnce(SDPASCII.colon)
            guard attribute.sdpIsToken() else { throw bad("ssrc attribute name '\(attribute.sdpText)' is not a token") }
            return .ssrc(SDPSSRCAttribute(ssrc: UInt32(ssrc), attribute: attribute.sdpText,
                                          value: attributeValue?.sdpText))
        case .msid:
            let fields = try requireValue().sdpFields()
            guard fields.count <= 2, let stream = fields.first else { throw bad("expected '<stream id> [<track id>]'") }
            return .msid(SDPMediaStreamID(streamID: stream.sdpText, trackID: fields.count == 2 ? fields[1].sdpText : nil))
        case nil:
            return .other(name: name, value: valueBytes?.sdpText)
        }
    }

    /// `fingerprint-attribute = "fingerprint" ":" hash-func SP fingerprint; fingerprint = 2UHEX *(":" 2UHEX)`
    /// (RFC 8122 §5). Lower-case hex is accepted too. A known hash function must have its digest length.
    func parseFingerprint(_ value: SDPBytes, line: Int) throws(SDPError) -> SDPFingerprint {
        let fields = value.sdpFields()
        guard fields.count == 2 else {
            throw .badFingerprint(line: line, reason: "expected '<hash function> <XX:XX:...>'")
        }
        guard fields[0].sdpIsToken() else {
            throw .badFingerprint(line: line, reason: "hash function '\(fields[0].sdpText)' is not a token")
        }
        let algorithm = SDPFingerprint.Algorithm(fields[0].sdpText)
        var digest: [UInt8] = []
        for pair in fields[1].split(separator: SDPASCII.colon, omittingEmptySubsequences: false) {
            guard pair.count == 2, let high = SDPASCII.hexValue(pair[pair.startIndex]),
                  let low = SDPASCII.hexValue(pair[pair.startIndex + 1]) else {
                throw .badFingerprint(line: line, reason: "the digest must be pairs of hex digits separated by ':', "
                                      + "found '\(pair.sdpText)'")
            }
            digest.append(high << 4 | low)
        }
        // 64 bytes: SHA-512, the longest registered hash; anything longer is not a certificate digest.
        guard digest.count <= 64 else {
            throw .badFingerprint(line: line, reason: "the digest is \(digest.count) bytes long; at most 64 expected")
        }
        if let size = algorithm.digestSize, size != digest.count {
            throw .badFingerprint(line: line, reason: "a \(algorithm) digest is \(size) bytes long, found \(digest.count)")
        }
        return SDPFingerprint(algorithm: algorithm, digest: digest)
    }

    /// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]` (RFC 8866 §6.6)
    func parseRTPMap(_ value: SDPBytes, bad: (String) -> SDPError) throws(SDPError) -> SDPRTPMap {
        let fields = value.sdpFields()
        guard fields.count == 2 else { throw bad("expected '<payload type> <encoding name>/<clock rate>[/<channels>]'") }
        guard let payloadType = fields[0].sdpDecimal(maximum: 127) else {
            throw bad("payload type '\(fields[0].sdpText)' must be 0 to 127")
        }
        let parts = fields[1].split(separator: SDPASCII.slash, omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, parts[0].sdpIsToken() else {
            throw bad("expected '<encoding name>/<clock rate>[/<channels>]', found '\(fields[1].sdpText)'")
        }
        guard let clockRate = parts[1].sdpDecimal(maximum: UInt64(UInt32.max)), clockRate > 0 else {
            throw bad("clock rate '\(parts[1].sdpText)' must be a positive number")
        }
        var parameters: UInt32?
        if parts.count == 3 {
            guard let value = parts[2].sdpDecimal(maximum: UInt64(UInt32.max)) else {
                throw bad("encoding parameters '\(parts[2].sdpText)' must be a number")
            }
            parameters = UInt32(value)
        }
        return SDPRTPMap(payloadType: UInt8(payloadType), encodingName: parts[0].sdpText, clockRate: UInt32(clockRate),
                         encodingParameters: parameters)
    }

    /// `a=extmap:<value>["/"<direction>] <URI> <extensionattributes>` (RFC 8285 §8). Ids 1...255 (one-byte ids are
    /// 1...14, two-byte ids 1...255; 4096...4351 are only for offers before RFC 8285 and not accepted here).
    func parseExtensionMap(_ value: SDPBytes, bad: (String) -> SDPError) throws(SDPError) -> SDPExtensionMap {
        let (head, tail) = value.sdpSplitOnce(SDPASCII.space)
        let (idText, directionText) = head.sdpSplitOnce(SDPASCII.slash)
        guard let id = idText.sdpDecimal(maximum: 255), id >= 1 else {
            throw bad("id '\(idText.sdpText)' must be 1 to 255")
        }
        var direction: SDPDirection?
        if let directionText {
            guard let parsed = SDPDirection(rawValue: directionText.sdpText) else {
                throw bad("direction '\(directionText.sdpText)' must be sendrecv, sendonly, recvonly or inactive")
            }
            direction = parsed
        }
        guard let rest = tail?.sdpTrimmed(), !rest.isEmpty else { throw bad("the extension URI is missing") }
        let (uri, attributes) = rest.sdpSplitOnce(SDPASCII.space)
        guard uri.allSatisfy(SDPASCII.isVisible) else { throw bad("the extension URI is malformed") }
        let extensionAttributes = attributes?.sdpTrimmed()
        return SDPExtensionMap(id: UInt16(id), direction: direction, uri: uri.sdpText,
                               extensionAttributes: extensionAttributes.flatMap { $0.isEmpty ? nil : $0.sdpText })
    }
}
