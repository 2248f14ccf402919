extension SessionDescription {
    /// The description as SDP text with CRLF line endings, fields in RFC 8866 §5 order, attributes in their order.
    /// Parsing the result gives back an equal value (parse → serialize → parse is a fixed point).
    public func serialized() -> String {
        var out = SDPWriter()
        out.line("v", "0")
        out.line("o", "\(origin.username) \(origin.sessionID) \(origin.sessionVersion) \(origin.networkType) "
                 + "\(origin.addressType) \(origin.unicastAddress)")
        out.line("s", sessionName)
        if let information { out.line("i", information) }
        if let uri { out.line("u", uri) }
        for email in emails { out.line("e", email) }
        for phone in phones { out.line("p", phone) }
        if let connection { out.connection(connection) }
        for bandwidth in bandwidths { out.line("b", "\(bandwidth.type):\(bandwidth.bandwidth)") }
        for timing in timings {
            out.line("t", "\(timing.start) \(timing.stop)")
            for repeatField in timing.repeats { out.line("r", repeatField) }
        }
        if let timeZones { out.line("z", timeZones) }
        if let encryptionKey { out.line("k", encryptionKey) }
        for attribute in attributes { out.attribute(attribute) }
        for section in media {
            var mediaLine = "\(section.type) \(section.port)"
            if let numberOfPorts = section.numberOfPorts { mediaLine += "/\(numberOfPorts)" }
            mediaLine += " \(section.transportProtocol)"
            for format in section.formats { mediaLine += " \(format)" }
            out.line("m", mediaLine)
            if let information = section.information { out.line("i", information) }
            for connection in section.connections { out.connection(connection) }
            for bandwidth in section.bandwidths { out.line("b", "\(bandwidth.type):\(bandwidth.bandwidth)") }
            if let encryptionKey = section.encryptionKey { out.line("k", encryptionKey) }
            for attribute in section.attributes { out.attribute(attribute) }
        }
        return out.text
    }
}

extension SDPAttribute {
    /// The attribute value after `a=<name>:`, or nil for a property attribute (`a=rtcp-mux`).
    public var value: String? {
        switch self {
        case .iceUfrag(let value), .icePwd(let value), .mid(let value):
            return value
        case .iceOptions(let options):
            return options.joined(separator: " ")
        case .iceLite, .endOfCandidates, .bundleOnly, .rtcpMux, .rtcpMuxOnly, .rtcpReducedSize, .direction,
             .extensionMapAllowMixed:
            return nil
        case .candidate(let candidate):
            return candidate.attributeValue
        case .fingerprint(let fingerprint):
            return fingerprint.description
        case .setup(let role):
            return role.rawValue
        case .group(let group):
            return ([group.semantics] + group.identificationTags).joined(separator: " ")
        case .rtpMap(let map):
            var text = "\(map.payloadType) \(map.encodingName)/\(map.clockRate)"
            if let parameters = map.encodingParameters { text += "/\(parameters)" }
            return text
        case .formatParameters(let fmtp):
            return fmtp.parameters.isEmpty ? "\(fmtp.payloadType)" : "\(fmtp.payloadType) \(fmtp.parameters)"
        case .rtcpFeedback(let feedback):
            var text = "\(feedback.payloadType.map { String($0) } ?? "*") \(feedback.type)"
            if let parameter = feedback.parameter { text += " \(parameter)" }
            return text
        case .extensionMap(let map):
            var text = "\(map.id)"
            if let direction = map.direction { text += "/\(direction.rawValue)" }
            text += " \(map.uri)"
            if let attributes = map.extensionAttributes { text += " \(attributes)" }
            return text
        case .ssrc(let attribute):
            var text = "\(attribute.ssrc) \(attribute.attribute)"
            if let value = attribute.value { text += ":\(value)" }
            return text
        case .msid(let msid):
            return msid.trackID.map { "\(msid.streamID) \($0)" } ?? msid.streamID
        case .other(_, let value):
            return value
        }
    }

    /// The whole line without `a=` and without the line break, e.g. `rtcp-mux`, `mid:0`.
    public var text: String {
        guard let value else { return name }
        return "\(name):\(value)"
    }
}

struct SDPWriter {
    var text = ""

    mutating func line(_ type: Character, _ value: String) {
        text.append(type)
        text += "="
        text += value
        text += "\r\n"
    }

    mutating func connection(_ connection: SDPConnection) {
        line("c", "\(connection.networkType) \(connection.addressType) \(connection.address)")
    }

    mutating func attribute(_ attribute: SDPAttribute) {
        line("a", attribute.text)
    }
}
