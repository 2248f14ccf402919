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
