/// Why a session description could not be parsed. Every case that concerns one line carries its 1-based line
/// number; `description` is a sentence meant for the person who sent the description (it ends up in an HTTP 400).
public enum SDPError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No bytes, or only line breaks.
    case empty
    /// The whole description is larger than the parser's limit.
    case tooLarge(size: Int, limit: Int)
    /// One line is longer than the parser's limit.
    case lineTooLong(line: Int, length: Int, limit: Int)
    /// More m= sections than the parser's limit.
    case tooManyMediaDescriptions(line: Int, limit: Int)
    /// The line is not valid UTF-8 or contains a NUL or a lone carriage return.
    case invalidText(line: Int, reason: String)
    /// The line is not of the form `<letter>=<value>`.
    case malformedLine(line: Int, reason: String)
    /// A type letter that RFC 8866 does not define (a parser must then reject the description, RFC 8866 §5).
    case unknownLineType(line: Int, type: Character)
    /// A line whose type letter is valid but not allowed where it appears (or appears twice).
    case misplacedLine(line: Int, type: Character, reason: String)
    /// The first line is not `v=`.
    case missingVersion
    /// `v=` is not `0`.
    case unsupportedVersion(line: Int, value: String)
    /// The second line is not `o=`.
    case missingOrigin(line: Int)
    case badOrigin(line: Int, reason: String)
    /// The third line is not `s=`.
    case missingSessionName(line: Int)
    /// No `t=` line in the session section.
    case missingTiming
    case badTiming(line: Int, reason: String)
    case badConnection(line: Int, reason: String)
    case badBandwidth(line: Int, reason: String)
    case badMediaLine(line: Int, reason: String)
    case badPort(line: Int, value: String)
    /// An `a=` line whose name is known but whose value does not follow its grammar.
    case badAttribute(line: Int, name: String, reason: String)
    case badFingerprint(line: Int, reason: String)
    case badCandidate(line: Int, reason: String)

    /// The 1-based line number the error is about, if it is about one line.
    public var line: Int? {
        switch self {
        case .empty, .tooLarge, .missingVersion, .missingTiming:
            return nil
        case .lineTooLong(let line, _, _), .tooManyMediaDescriptions(let line, _), .invalidText(let line, _),
             .malformedLine(let line, _), .unknownLineType(let line, _), .misplacedLine(let line, _, _),
             .unsupportedVersion(let line, _), .missingOrigin(let line), .badOrigin(let line, _),
             .missingSessionName(let line), .badTiming(let line, _), .badConnection(let line, _),
             .badBandwidth(let line, _), .badMediaLine(let line, _), .badPort(let line, _),
             .badAttribute(let line, _, _), .badFingerprint(let line, _), .badCandidate(let line, _):
            return line
        }
    }

    public var description: String {
        switch self {
        case .empty:
            return "the session description is empty"
        case .tooLarge(let size, let limit):
            return "the session description is \(size) bytes long; at most \(limit) are accepted"
        case .lineTooLong(let line, let length, let limit):
            return "line \(line) is \(length) bytes long; at most \(limit) are accepted"
        case .tooManyMediaDescriptions(let line, let limit):
            return "line \(line): more than \(limit) m= sections"
        case .invalidText(let line, let reason):
            return "line \(line): \(reason)"
        case .malformedLine(let line, let reason):
            return "line \(line) is not an SDP line of the form <letter>=<value>: \(reason)"
        case .unknownLineType(let line, let type):
            return "line \(line): unknown SDP line type '\(type)='"
        case .misplacedLine(let line, let type, let reason):
            return "line \(line): '\(type)=' \(reason)"
        case .missingVersion:
            return "the session description does not start with 'v=0'"
        case .unsupportedVersion(let line, let value):
            return "line \(line): unsupported SDP version 'v=\(value)' (only 'v=0' exists)"
        case .missingOrigin(let line):
            return "line \(line): expected the origin line 'o=' as the second line"
        case .badOrigin(let line, let reason):
            return "line \(line): bad origin line 'o=': \(reason)"
        case .missingSessionName(let line):
            return "line \(line): expected the session name line 's=' as the third line"
        case .missingTiming:
            return "the session description has no timing line 't=' (use 't=0 0')"
        case .badTiming(let line, let reason):
            return "line \(line): bad timing line 't=': \(reason)"
        case .badConnection(let line, let reason):
            return "line \(line): bad connection line 'c=': \(reason)"
        case .badBandwidth(let line, let reason):
            return "line \(line): bad bandwidth line 'b=': \(reason)"
        case .badMediaLine(let line, let reason):
            return "line \(line): bad media line 'm=': \(reason)"
        case .badPort(let line, let value):
            return "line \(line): bad port '\(value)' in the media line (must be 0 to 65535)"
        case .badAttribute(let line, let name, let reason):
            return "line \(line): bad 'a=\(name)': \(reason)"
        case .badFingerprint(let line, let reason):
            return "line \(line): bad 'a=fingerprint': \(reason)"
        case .badCandidate(let line, let reason):
            return "line \(line): bad 'a=candidate': \(reason)"
        }
    }
}
