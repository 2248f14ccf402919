import EarshotModelProtocol
import Foundation
import Testing

/// Replays the inputs kept for the fuzz target FuzzModelProtocol (Tests/Fuzz) through the check it runs
/// (`ModelProtocolFuzzChecks.check`): its seeds and every crasher found so far, which stay after their fix.
@Suite("Fuzzing: FuzzModelProtocol seeds and crashers replay")
struct ModelProtocolFuzzReplayTests {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz")

    /// The files of `Tests/Fuzz/<folder>/FuzzModelProtocol/` (dot files and READMEs skipped).
    static func inputs(in folder: String) throws -> [(name: String, bytes: [UInt8])] {
        let directory = fuzzDirectory.appendingPathComponent(folder).appendingPathComponent("FuzzModelProtocol")
        guard FileManager.default.fileExists(atPath: directory.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            .filter { !$0.hasPrefix(".") && !$0.hasPrefix("README") }
            .map { ($0, Array(try Data(contentsOf: directory.appendingPathComponent($0)))) }
    }

    static func check(_ bytes: [UInt8]) -> ModelProtocolFuzzChecks.Violation? {
        bytes.withUnsafeBytes { raw in
            do throws(ModelProtocolFuzzChecks.Violation) {
                try ModelProtocolFuzzChecks.check(raw)
                return nil
            } catch {
                return error
            }
        }
    }

    @Test func everySeedPassesTheChecks() throws {
        let seeds = try Self.inputs(in: "Corpus")
        #expect(seeds.count >= 20)
        for seed in seeds {
            if let violation = Self.check(seed.bytes) { Issue.record("Corpus/FuzzModelProtocol/\(seed.name): \(violation)") }
        }
    }

    /// The seeds named `frames-*` are valid stdio streams and `json-*` valid control messages, so the fuzzer starts
    /// inside the formats.
    @Test func handMadeSeedsAreValid() throws {
        for seed in try Self.inputs(in: "Corpus") {
            if seed.name.hasPrefix("frames-") {
                var decoder = StdioFrameDecoder()
                decoder.append(seed.bytes)
                var count = 0
                while try decoder.next() != nil { count += 1 }
                #expect(count > 0 && decoder.bufferedByteCount == 0, "\(seed.name)")
            } else if seed.name.hasPrefix("json-") {
                #expect(throws: Never.self, "\(seed.name)") { try ModelControlMessage(json: seed.bytes) }
            } else if seed.name.hasPrefix("audio-") {
                #expect(throws: Never.self, "\(seed.name)") { try ModelAudioMessage(parsing: seed.bytes) }
            }
        }
    }

    @Test func everyKeptCrasherPassesTheChecks() throws {
        for crasher in try Self.inputs(in: "Crashers") {
            if let violation = Self.check(crasher.bytes) {
                Issue.record("Crashers/FuzzModelProtocol/\(crasher.name): \(violation)")
            }
        }
    }

    /// The checks hold on the streams and messages the other tests build, and on a few hostile inputs.
    @Test func checksHoldOnKnownInputs() throws {
        var inputs: [[UInt8]] = [
            [], [0], [0, 0, 0, 0], [0xFF, 0xFF, 0xFF, 0xFF, 0x01], Array("hello\n".utf8),
            try StdioFramingTests.stream(StdioFramingTests.messages),
            StdioFramingTests.clearFrame, StdioFramingTests.audioFrame,
            ModelAudioMessageTests.inputExample, ModelAudioMessageTests.outputExample,
            [0x00, 0x00, 0x00, 0x05, 0x07, 1, 2, 3, 4] + StdioFramingTests.clearFrame,
            Array(String(repeating: "[", count: 40).utf8),
        ]
        inputs += ModelControlMessageTests.documentedExamples.map { Array($0.text.utf8) }
        inputs += ModelControlMessageTests.everyMessage.map { $0.encode() }
        for input in inputs {
            if let violation = Self.check(input) { Issue.record("\(input.prefix(40)): \(violation)") }
        }
    }
}
