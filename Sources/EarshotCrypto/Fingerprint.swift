/// A certificate fingerprint as carried in SDP (`a=fingerprint:sha-256 AB:CD:…`, RFC 8122 §5).
public struct CertificateFingerprint: Hashable, Sendable, CustomStringConvertible {
    /// Hash functions named in RFC 8122 (the "Hash Function Textual Names" registry).
    public enum Algorithm: String, CaseIterable, Sendable {
        case sha1 = "sha-1"
        case sha224 = "sha-224"
        case sha256 = "sha-256"
        case sha384 = "sha-384"
        case sha512 = "sha-512"

        /// The digest length in bytes.
        public var digestLength: Int {
            switch self {
            case .sha1: 20
            case .sha224: 28
            case .sha256: 32
            case .sha384: 48
            case .sha512: 64
            }
        }
    }

    public var algorithm: Algorithm
    public var bytes: [UInt8]

    public init(algorithm: Algorithm, bytes: [UInt8]) {
        self.algorithm = algorithm
        self.bytes = bytes
    }

    /// Parses the value of an `a=fingerprint` attribute: a hash function name, a space, and upper- or lower-case
    /// hex bytes separated by colons. Returns nil for an unknown hash function or malformed bytes.
    public init?(sdpValue: some StringProtocol) {
        let parts = sdpValue.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2, let algorithm = Algorithm(rawValue: parts[0].lowercased()) else { return nil }
        var bytes: [UInt8] = []
        for pair in parts[1].split(separator: ":", omittingEmptySubsequences: false) {
            guard pair.count == 2, let byte = UInt8(pair, radix: 16) else { return nil }
            bytes.append(byte)
        }
        guard bytes.count == algorithm.digestLength else { return nil }
        self.init(algorithm: algorithm, bytes: bytes)
    }

    /// The attribute value as SDP carries it: `sha-256 AB:CD:…` (upper-case hex, as browsers write it).
    public var sdpValue: String {
        algorithm.rawValue + " " + bytes.map { byte in
            let hex = String(byte, radix: 16, uppercase: true)
            return byte < 16 ? "0" + hex : hex
        }.joined(separator: ":")
    }

    public var description: String { sdpValue }
}
