/// HMAC (RFC 2104) with the key schedule done once.
///
/// `init(key:)` hashes the inner and outer padded keys and keeps the two hash states, so each
/// ``authenticationCode(for:)`` costs only the message blocks plus two finalizations. ICE checks every
/// STUN message of a session with the same password, so the key is built once per session.
public struct HMAC<Hash: HashFunction>: Sendable {
    private let innerStart: Hash
    private let outerStart: Hash

    /// Precomputes the keyed states for `key` (keys longer than a block are hashed first, RFC 2104 §2).
    public init(key: UnsafeRawBufferPointer) {
        var block = [UInt8](repeating: 0, count: Hash.blockByteCount)
        if key.count > Hash.blockByteCount {
            let digest = Hash.hash(key)
            block.replaceSubrange(0..<digest.count, with: digest)
        } else {
            for index in 0..<key.count { block[index] = key[index] }
        }
        // RFC 2104 §2: ipad = 0x36 repeated, opad = 0x5C repeated.
        var inner = Hash()
        inner.update(block.map { $0 ^ 0x36 })
        var outer = Hash()
        outer.update(block.map { $0 ^ 0x5C })
        innerStart = inner
        outerStart = outer
    }

    /// Precomputes the keyed states for `key`.
    public init(key: [UInt8]) {
        let (inner, outer) = key.withUnsafeBytes { raw in
            let made = HMAC(key: raw)
            return (made.innerStart, made.outerStart)
        }
        innerStart = inner
        outerStart = outer
    }

    /// A running HMAC computation for a message given in several pieces.
    public struct Context: Sendable {
        var inner: Hash
        let outer: Hash

        /// Absorbs the next piece of the message.
        public mutating func update(_ bytes: UnsafeRawBufferPointer) {
            inner.update(bytes)
        }

        /// Absorbs the next piece of the message.
        public mutating func update(_ bytes: [UInt8]) {
            inner.update(bytes)
        }

        /// Returns the authentication code.
        public func finalize() -> [UInt8] {
            var outer = self.outer
            outer.update(inner.finalize())
            return outer.finalize()
        }
    }

    /// Starts a computation to feed piece by piece.
    public func makeContext() -> Context {
        Context(inner: innerStart, outer: outerStart)
    }

    /// The authentication code of `message`.
    public func authenticationCode(for message: UnsafeRawBufferPointer) -> [UInt8] {
        var context = makeContext()
        context.update(message)
        return context.finalize()
    }

    /// The authentication code of `message`.
    public func authenticationCode(for message: [UInt8]) -> [UInt8] {
        message.withUnsafeBytes { authenticationCode(for: $0) }
    }
}
