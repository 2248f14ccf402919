internal import COpenSSL

/// An error reported by OpenSSL, with the text of every entry that was on its error queue.
public struct OpenSSLError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What Earshot was doing when the library failed.
    public var operation: String
    /// OpenSSL's own messages, oldest first (may be empty when the library gave no reason).
    public var reasons: [String]

    public var description: String {
        reasons.isEmpty ? "\(operation) failed" : "\(operation) failed: \(reasons.joined(separator: "; "))"
    }

    /// Drains OpenSSL's thread-local error queue into a typed error.
    static func drain(_ operation: String) -> OpenSSLError {
        OpenSSLError(operation: operation, reasons: drainErrorQueue())
    }
}

/// Empties OpenSSL's thread-local error queue, returning its entries as text.
func drainErrorQueue() -> [String] {
    var reasons: [String] = []
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    return reasons
}
