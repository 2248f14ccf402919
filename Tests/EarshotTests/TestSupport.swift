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
