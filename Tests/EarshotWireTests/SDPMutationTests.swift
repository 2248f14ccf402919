import EarshotWire
import Testing

/// Seeded random mutations of the real captures. The parser must never crash; whatever it accepts must serialize
/// to text that parses back to the same value; and answering must either succeed or throw a typed error.
struct SDPMutationTests {

    /// Fragments that are likely to hit grammar edges when spliced in.
    static let fragments: [[UInt8]] = [
        "\r\n", "\n", "\r", " ", "  ", ":", "/", "=", ";", "a=", "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\n", "c=IN IP6 ::1",
        "a=candidate:1 1 udp 1 ::1 9 typ host", "a=fingerprint:sha-256 ", "a=rtpmap:111 opus/48000/2", "a=setup:passive",
        "a=bundle-only", "a=group:BUNDLE 0 1", "a=ice-lite", "0", "65535", "65536", "4294967296", "-1", "::", ".local",
        "a=extmap:15/sendonly urn:x", "t=0 0\r\n", "v=0\r\n", "\u{0}", "\u{FF}",
    ].map { Array($0.utf8) }

    /// The error's case name, to count how many different errors the mutations reach.
    static func kind(of error: SDPError) -> String {
        switch error {
        case .empty: return "empty"
        case .tooLarge: return "tooLarge"
        case .lineTooLong: return "lineTooLong"
        case .tooManyMediaDescriptions: return "tooManyMediaDescriptions"
        case .invalidText: return "invalidText"
        case .malformedLine: return "malformedLine"
        case .unknownLineType: return "unknownLineType"
        case .misplacedLine: return "misplacedLine"
        case .missingVersion: return "missingVersion"
        case .unsupportedVersion: return "unsupportedVersion"
        case .missingOrigin: return "missingOrigin"
        case .badOrigin: return "badOrigin"
        case .missingSessionName: return "missingSessionName"
        case .missingTiming: return "missingTiming"
        case .badTiming: return "badTiming"
        case .badConnection: return "badConnection"
        case .badBandwidth: return "badBandwidth"
        case .badMediaLine: return "badMediaLine"
        case .badPort: return "badPort"
        case .badAttribute: return "badAttribute"
        case .badFingerprint: return "badFingerprint"
        case .badCandidate: return "badCandidate"
        }
    }

    /// Ranges of the lines of `bytes`, each including its line feed.
    static func lineRanges(_ bytes: [UInt8]) -> [Range<Int>] {
        bytes.withUnsafeBufferPointer { buffer in
            var ranges: [Range<Int>] = []
            var start = 0
            var index = 0
            while index < buffer.count {
                if buffer[index] == 0x0A {  // LF
                    ranges.append(start..<(index + 1))
                    start = index + 1
                }
                index += 1
            }
            if start < buffer.count { ranges.append(start..<buffer.count) }
            return ranges
        }
    }

    static func mutate(_ input: [UInt8], using random: inout SplitMix64) -> [UInt8] {
        var bytes = input
        let steps = Int.random(in: 1...4, using: &random)
        for _ in 0..<steps {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<9, using: &random) {
            case 0 where !bytes.isEmpty:  // replace one byte with any value
                bytes[position] = UInt8.random(in: 0...255, using: &random)
            case 1 where !bytes.isEmpty:  // replace one byte with a printable one
                bytes[position] = UInt8.random(in: 0x20...0x7E, using: &random)
            case 2:  // insert a byte
                bytes.insert(UInt8.random(in: 0...255, using: &random), at: position)
            case 3 where !bytes.isEmpty:  // delete a short range
                let end = min(bytes.count, position + Int.random(in: 1...16, using: &random))
                bytes.removeSubrange(position..<end)
            case 4:  // splice in a fragment
                bytes.insert(contentsOf: fragments[Int.random(in: 0..<fragments.count, using: &random)], at: position)
            case 5:  // truncate
                bytes.removeSubrange(position...)
            case 6, 7:  // duplicate, delete or move a whole line (with its line feed)
                let lines = lineRanges(bytes)
                guard lines.count > 1 else { break }
                let line = lines[Int.random(in: 0..<lines.count, using: &random)]
                let copy = Array(bytes[line])
                let target = lines[Int.random(in: 0..<lines.count, using: &random)].lowerBound
                switch Int.random(in: 0..<3, using: &random) {
                case 0:
                    bytes.insert(contentsOf: copy, at: target)
                case 1:
                    bytes.removeSubrange(line)
                default:
                    bytes.removeSubrange(line)
                    bytes.insert(contentsOf: copy, at: min(target, bytes.count))
                }
            default:  // flip one bit
                if !bytes.isEmpty { bytes[position] ^= 1 << UInt8.random(in: 0...7, using: &random) }
            }
        }
        return bytes
    }

    /// 10 000 mutations of each of the 10 captures (100 000 in all), one test case per capture.
    @Test(arguments: SDPFixtures.captureNames)
    func tenThousandMutationsOfEachCapture(_ name: String) throws {
        let capture = try SDPFixtures.bytes(name)
        let seed = name.utf8.reduce(UInt64(0x5EED)) { $0 &* 31 &+ UInt64($1) }
        var random = SplitMix64(seed: seed)
        let parameters = SDPFixtures.answerParameters()
        var parsed = 0
        var answered = 0
        var errorKinds = Set<String>()
        for iteration in 0..<10_000 {
            let input = Self.mutate(capture, using: &random)
            let session: SessionDescription
            do {
                session = try SessionDescription(parsing: input)
            } catch {
                errorKinds.insert(Self.kind(of: error))
                continue
            }
            parsed += 1
            // Every fourth accepted input (to keep the run short in debug builds): it must be a fixed point of
            // serialize → parse, and answering it must succeed or throw a typed error.
            guard parsed % 4 == 0 else { continue }
            let text = session.serialized()
            let reparsed = try SessionDescription(parsing: text)
            if reparsed != session {
                Issue.record("\(name) iteration \(iteration): serialize → parse changed the value\n\(text)")
                break
            }
            let answer: SDPAnswer
            do throws(SDPNegotiationError) {
                answer = try SDPAnswer(offer: session, parameters: parameters)
            } catch {
                #expect(!error.description.isEmpty)
                continue
            }
            answered += 1
            #expect(try answer.sessionDescription.reparsed() == answer.sessionDescription)
        }
        // The mutations must exercise both paths, and many different errors.
        #expect(parsed > 1_000, "\(name): \(parsed) parsed")
        #expect(answered > 100, "\(name): \(answered) answered")
        #expect(errorKinds.count >= 10, "\(name): \(errorKinds.sorted())")
    }

    /// Random bytes and random SDP-ish lines, not derived from a capture.
    @Test func randomGarbage() {
        var random = SplitMix64(seed: 42)
        for _ in 0..<10_000 {
            let count = Int.random(in: 0...512, using: &random)
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
            _ = try? SessionDescription(parsing: bytes)
            var lines: [UInt8] = Array("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n".utf8)
            for _ in 0..<Int.random(in: 0...20, using: &random) {
                lines += Self.fragments[Int.random(in: 0..<Self.fragments.count, using: &random)]
                lines += Self.fragments[Int.random(in: 0..<Self.fragments.count, using: &random)]
                lines += Array("\r\n".utf8)
            }
            if let session = try? SessionDescription(parsing: lines) {
                #expect((try? session.reparsed()) == session)
            }
        }
    }
}
