import Foundation
import Testing
import EarshotWire

/// Replays the fuzzing inputs kept in the repository through the same checks the fuzz targets run
/// (`WireFuzzChecks`, see Tests/Fuzz and Docs/fuzzing.md): every crasher found so far, and the seed corpora.
/// A crasher is kept after its bug is fixed, so the fix stays tested.
@Suite("Fuzzing: kept crashers and seeds replay")
struct FuzzCrasherReplayTests {
    /// Runs the check of the fuzz target named `target` (its folder name); `false` for an unknown target.
    static func check(_ target: String, _ bytes: UnsafeRawBufferPointer) throws(WireFuzzChecks.Violation) -> Bool {
        switch target {
        case "FuzzSTUN": try WireFuzzChecks.stun(bytes)
        case "FuzzRTP": try WireFuzzChecks.rtp(bytes)
        case "FuzzRTCP": try WireFuzzChecks.rtcp(bytes)
        case "FuzzSDP": try WireFuzzChecks.sdp(bytes)
        case "FuzzDemux": try WireFuzzChecks.demux(bytes)
        case "FuzzOpusTOC": try WireFuzzChecks.opus(bytes)
        // Not a wire format: EarshotModelProtocolTests replays its inputs (ModelProtocolFuzzReplayTests).
        case "FuzzModelProtocol": break
        // A session's side of the model protocol: EarshotModelBridgeTests replays these (ModelBridgeRobustnessTests).
        case "FuzzModelBridge": break
        default: return false
        }
        return true
    }

    /// Tests/Fuzz, found from this file's path.
    static let fuzzDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz")

    /// Every input file under `Tests/Fuzz/<folder>/<Target>/`, by target; dot files and READMEs are skipped.
    static func inputs(in folder: String) throws -> [(target: String, name: String, bytes: [UInt8])] {
        let base = fuzzDirectory.appendingPathComponent(folder)
        let manager = FileManager.default
        guard manager.fileExists(atPath: base.path) else { return [] }
        var result: [(String, String, [UInt8])] = []
        for target in try manager.contentsOfDirectory(atPath: base.path).sorted() {
            var isDirectory: ObjCBool = false
            let directory = base.appendingPathComponent(target)
            guard manager.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                continue
            }
            for name in try manager.contentsOfDirectory(atPath: directory.path).sorted()
            where !name.hasPrefix(".") && !name.hasPrefix("README") {
                result.append((target, name, Array(try Data(contentsOf: directory.appendingPathComponent(name)))))
            }
        }
        return result
    }

    static func replay(_ folder: String) throws -> Int {
        let inputs = try inputs(in: folder)
        for input in inputs {
            let outcome: Result<Bool, WireFuzzChecks.Violation> = input.bytes.withUnsafeBytes { raw in
                Result { () throws(WireFuzzChecks.Violation) in try check(input.target, raw) }
            }
            switch outcome {
            case .success(true): break
            case .success(false): Issue.record("\(folder)/\(input.target): no fuzz target of that name")
            case .failure(let violation): Issue.record("\(folder)/\(input.target)/\(input.name): \(violation)")
            }
        }
        return inputs.count
    }

    @Test func everyKeptCrasherPassesItsTargetsChecks() throws {
        _ = try Self.replay("Crashers")
    }

    @Test func everySeedPassesItsTargetsChecks() throws {
        #expect(try Self.replay("Corpus") > 100)
    }

    /// The hand-made seeds and the RFC vectors are meant to be valid: they start the fuzzer inside the formats.
    @Test func handMadeSeedsParse() throws {
        for input in try Self.inputs(in: "Corpus") where input.name.hasPrefix("hand-") || input.name.hasPrefix("rfc") {
            let parses: Bool
            switch input.target {
            case "FuzzSTUN": parses = (try? STUNMessage(parsing: input.bytes)) != nil
            case "FuzzRTP": parses = (try? RTPPacket(parsing: input.bytes)) != nil
            case "FuzzRTCP": parses = (try? RTCPCompoundPacket(parsing: input.bytes)) != nil
            case "FuzzOpusTOC": parses = (try? OpusPacketLayout(parsing: input.bytes)) != nil
            default: continue
            }
            #expect(parses, "\(input.target)/\(input.name) does not parse")
        }
        for input in try Self.inputs(in: "Corpus") where input.target == "FuzzOpusTOC" {
            #expect((try? OpusPacketLayout(parsing: input.bytes)) != nil, "FuzzOpusTOC/\(input.name) does not parse")
        }
    }
}
