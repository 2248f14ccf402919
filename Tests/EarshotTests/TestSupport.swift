import Foundation

/// Paths inside the package, found by walking up from this file (no SwiftPM resources).
enum PackagePaths {
    /// The package root: the first directory above this file that holds Package.swift.
    static let root: URL = {
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while directory.path != "/" {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
                return directory
            }
            directory = directory.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    }()

    static func fixture(_ relativePath: String) throws -> String {
        String(decoding: try Data(contentsOf: root.appendingPathComponent("Fixtures/\(relativePath)")), as: UTF8.self)
    }
}

/// Runs blocking work (waiting for a process, reading its pipes) on a thread of its own, so that the cooperative
/// pool — which every async test and the relay's in-process models share — is never held by a wait.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}

/// A process a test starts: nothing on its stdin, its stdout and stderr in files that can be read while it runs,
/// the environment of this process without `EARSHOT_*` plus `environment`. `stop()` ends it (SIGTERM, then SIGKILL)
/// and removes the files.
final class LaunchedProcess: @unchecked Sendable {
    let process = Process()
    private let directory: URL
    private let outURL: URL
    private let errURL: URL
    private let out: FileHandle
    private let err: FileHandle
    private let exited = DispatchSemaphore(value: 0)

    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("earshot-process-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        outURL = directory.appendingPathComponent("stdout")
        errURL = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        out = try FileHandle(forWritingTo: outURL)
        err = try FileHandle(forWritingTo: errURL)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("EARSHOT_") }
        merged.merge(environment) { $1 }
        process.environment = merged
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        let exited = self.exited
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
    }

    var stdout: String { String(decoding: (try? Data(contentsOf: outURL)) ?? Data(), as: UTF8.self) }
    var stderr: String { String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self) }

    /// The lines of stdout written whole so far (not one still being written).
    var stdoutLines: [Substring] { stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast() }

    /// Runs `body` with the process, then `stop()`s it, whether `body` returned or threw.
    func whileRunning(_ body: (LaunchedProcess) async throws -> Void) async throws {
        do {
            try await body(self)
        } catch {
            await stop()
            throw error
        }
        await stop()
    }

    /// Waits (off the cooperative pool) up to `seconds` for the process to exit; whether it did.
    func waitForExit(seconds: Double) async throws -> Bool {
        let exited = self.exited
        let done = try await offPool { exited.wait(timeout: .now() + seconds) == .success }
        if done { exited.signal() }  // later waits see it too
        return done
    }

    /// Ends the process if it still runs (SIGTERM, SIGKILL 5 s later) and removes its files.
    func stop() async {
        if process.isRunning {
            process.terminate()
            if try! await !waitForExit(seconds: 5) { kill(process.processIdentifier, SIGKILL) }
        }
        try? out.close()
        try? err.close()
        try? FileManager.default.removeItem(at: directory)
    }
}
