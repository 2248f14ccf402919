internal import CSRTP

/// Why an SRTP or SRTCP packet was not protected or unprotected. The session counts each kind and drops the packet.
public enum SRTPError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The authentication tag did not verify: tampered, corrupted or keyed differently.
    case authenticationFailed
    /// The packet's index was already received (replay protection, RFC 3711 §3.3.2).
    case replayed
    /// The packet's index is older than the replay window.
    case tooOld
    /// Shorter than a header plus the authentication tag.
    case tooShort(length: Int)
    /// The buffer has no room for the authentication tag.
    case bufferTooSmall(needed: Int, available: Int)
    /// The key or salt has the wrong length for the profile.
    case badKeyLength(profile: SRTPProtectionProfile, keyLength: Int, saltLength: Int)
    /// libsrtp2 rejected the profile (not supported by its crypto backend).
    case unsupportedProfile(SRTPProtectionProfile)
    /// Any other libsrtp2 status.
    case library(operation: String, status: Int)

    public var description: String {
        switch self {
        case .authenticationFailed: "SRTP authentication failed"
        case .replayed: "SRTP replay: packet index already received"
        case .tooOld: "SRTP replay: packet index older than the replay window"
        case .tooShort(let length): "packet too short for SRTP (\(length) bytes)"
        case .bufferTooSmall(let needed, let available):
            "buffer too small for SRTP protection (needs \(needed) bytes, has \(available))"
        case .badKeyLength(let profile, let key, let salt):
            "key/salt of \(key)/\(salt) bytes do not fit \(profile) "
                + "(\(profile.masterKeyLength)/\(profile.masterSaltLength))"
        case .unsupportedProfile(let profile): "libsrtp2 does not support \(profile) here"
        case .library(let operation, let status): "libsrtp2 \(operation) failed with status \(status)"
        }
    }

    init(status: srtp_err_status_t, operation: String) {
        switch status {
        case srtp_err_status_auth_fail: self = .authenticationFailed
        case srtp_err_status_replay_fail: self = .replayed
        case srtp_err_status_replay_old: self = .tooOld
        default: self = .library(operation: operation, status: Int(status.rawValue))
        }
    }
}

/// One direction of SRTP and SRTCP (RFC 3711, RFC 7714) for one DTLS-SRTP association: owns a libsrtp2 session
/// keyed with one master key and salt, matching any SSRC in that direction. Replay protection is always on.
///
/// Packets are protected and unprotected in place. Protection appends the tag (and for SRTCP the index word), so
/// the buffer needs `profile.rtpOverhead` / `profile.rtcpOverhead` bytes of room after the packet.
///
/// Concurrency: confined to one thread (a session's event loop) at a time; not `Sendable`.
public final class SRTPContext {
    public enum Direction: Sendable, Hashable {
        /// Protects packets we send.
        case outbound
        /// Unprotects packets we receive.
        case inbound
    }

    public let profile: SRTPProtectionProfile
    public let direction: Direction
    private let session: srtp_t

    /// Smallest RTP header (RFC 3550 §5.1) and RTCP header plus SSRC (RFC 3550 §6.4).
    private static let minimumRTPHeader = 12
    private static let minimumRTCPHeader = 8

    /// - Parameters:
    ///   - replayWindow: packets remembered for replay protection (libsrtp2 accepts 64 to 32768). 1024 tolerates the
    ///     reordering seen on real networks without accepting replays.
    public init(
        profile: SRTPProtectionProfile, key: [UInt8], salt: [UInt8], direction: Direction, replayWindow: Int = 1024
    ) throws(SRTPError) {
        guard key.count == profile.masterKeyLength, salt.count == profile.masterSaltLength else {
            throw .badKeyLength(profile: profile, keyLength: key.count, saltLength: salt.count)
        }
        try SRTPLibrary.ensureInitialized()
        var policy = srtp_policy_t()
        switch profile {
        case .aes128CMHMACSHA1_80:
            srtp_crypto_policy_set_rtp_default(&policy.rtp)
            srtp_crypto_policy_set_rtcp_default(&policy.rtcp)
        case .aeadAES128GCM:
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp)
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp)
        case .aeadAES256GCM:
            srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtp)
            srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtcp)
        }
        policy.ssrc.type = direction == .outbound ? ssrc_any_outbound : ssrc_any_inbound
        policy.window_size = UInt(max(64, min(32768, replayWindow)))
        policy.allow_repeat_tx = 0
        var master = key + salt
        var created: srtp_t?
        let status = master.withUnsafeMutableBufferPointer { buffer in
            policy.key = buffer.baseAddress
            return srtp_create(&created, &policy)
        }
        // Wipe our copy of the key material.
        for index in master.indices { master[index] = 0 }
        guard status == srtp_err_status_ok, let created else {
            if status == srtp_err_status_bad_param || status == srtp_err_status_cipher_fail
                || status == srtp_err_status_alloc_fail && profile != .aes128CMHMACSHA1_80
            {
                throw .unsupportedProfile(profile)
            }
            throw SRTPError(status: status, operation: "srtp_create")
        }
        self.profile = profile
        self.direction = direction
        self.session = created
    }

    deinit { srtp_dealloc(session) }

    /// Protects the RTP packet in `buffer[0..<length]`; returns the SRTP packet's length.
    public func protectRTP(buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTPError) -> Int {
        precondition(direction == .outbound, "protect needs an outbound context")
        guard length >= Self.minimumRTPHeader else { throw .tooShort(length: length) }
        let needed = length + profile.rtpOverhead
        guard buffer.count >= needed, let base = buffer.baseAddress else {
            throw .bufferTooSmall(needed: needed, available: buffer.count)
        }
        var size = Int32(length)
        let status = srtp_protect(session, base, &size)
        guard status == srtp_err_status_ok else { throw SRTPError(status: status, operation: "protect") }
        return Int(size)
    }

    /// Unprotects the SRTP packet in `buffer[0..<length]`; returns the RTP packet's length.
    public func unprotectRTP(buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTPError) -> Int {
        precondition(direction == .inbound, "unprotect needs an inbound context")
        guard length >= Self.minimumRTPHeader + profile.rtpOverhead, length <= buffer.count,
            let base = buffer.baseAddress
        else { throw .tooShort(length: length) }
        var size = Int32(length)
        let status = srtp_unprotect(session, base, &size)
        guard status == srtp_err_status_ok else { throw SRTPError(status: status, operation: "unprotect") }
        return Int(size)
    }

    /// Protects the RTCP (compound) packet in `buffer[0..<length]`; returns the SRTCP packet's length.
    public func protectRTCP(buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTPError) -> Int {
        precondition(direction == .outbound, "protect needs an outbound context")
        guard length >= Self.minimumRTCPHeader else { throw .tooShort(length: length) }
        let needed = length + profile.rtcpOverhead
        guard buffer.count >= needed, let base = buffer.baseAddress else {
            throw .bufferTooSmall(needed: needed, available: buffer.count)
        }
        var size = Int32(length)
        let status = srtp_protect_rtcp(session, base, &size)
        guard status == srtp_err_status_ok else { throw SRTPError(status: status, operation: "protect_rtcp") }
        return Int(size)
    }

    /// Unprotects the SRTCP packet in `buffer[0..<length]`; returns the RTCP packet's length.
    public func unprotectRTCP(buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTPError) -> Int {
        precondition(direction == .inbound, "unprotect needs an inbound context")
        guard length >= Self.minimumRTCPHeader + profile.rtcpOverhead, length <= buffer.count,
            let base = buffer.baseAddress
        else { throw .tooShort(length: length) }
        var size = Int32(length)
        let status = srtp_unprotect_rtcp(session, base, &size)
        guard status == srtp_err_status_ok else { throw SRTPError(status: status, operation: "unprotect_rtcp") }
        return Int(size)
    }

    // MARK: - Array conveniences (allocate when the array has no spare room; the hot path uses the buffer forms)

    /// Protects an RTP packet held in an array, growing it by the tag.
    public func protectRTP(_ packet: inout [UInt8]) throws(SRTPError) {
        try transform(&packet, room: profile.rtpOverhead) { buffer, length throws(SRTPError) in
            try protectRTP(buffer: buffer, length: length)
        }
    }

    /// Unprotects an SRTP packet held in an array, shrinking it to the RTP packet.
    public func unprotectRTP(_ packet: inout [UInt8]) throws(SRTPError) {
        try transform(&packet, room: 0) { buffer, length throws(SRTPError) in
            try unprotectRTP(buffer: buffer, length: length)
        }
    }

    /// Protects an RTCP packet held in an array, growing it by the index word and tag.
    public func protectRTCP(_ packet: inout [UInt8]) throws(SRTPError) {
        try transform(&packet, room: profile.rtcpOverhead) { buffer, length throws(SRTPError) in
            try protectRTCP(buffer: buffer, length: length)
        }
    }

    /// Unprotects an SRTCP packet held in an array, shrinking it to the RTCP packet.
    public func unprotectRTCP(_ packet: inout [UInt8]) throws(SRTPError) {
        try transform(&packet, room: 0) { buffer, length throws(SRTPError) in
            try unprotectRTCP(buffer: buffer, length: length)
        }
    }

    private func transform(
        _ packet: inout [UInt8], room: Int,
        _ body: (UnsafeMutableRawBufferPointer, Int) throws(SRTPError) -> Int
    ) throws(SRTPError) {
        let length = packet.count
        packet.append(contentsOf: repeatElement(0, count: room))
        let result: Result<Int, SRTPError> = packet.withUnsafeMutableBytes { buffer in
            do throws(SRTPError) { return .success(try body(buffer, length)) } catch { return .failure(error) }
        }
        switch result {
        case .success(let newLength): packet.removeLast(packet.count - newLength)
        case .failure(let error):
            packet.removeLast(room)
            throw error
        }
    }
}

/// libsrtp2's process-wide initialisation, done once.
enum SRTPLibrary {
    private static let status: srtp_err_status_t = srtp_init()

    static func ensureInitialized() throws(SRTPError) {
        guard status == srtp_err_status_ok else { throw SRTPError(status: status, operation: "srtp_init") }
    }

    /// The library's version string, e.g. "libsrtp2 2.5.0".
    static var version: String { String(cString: srtp_get_version_string()) }
}

extension SRTPContext {
    /// The libsrtp2 version string, e.g. "libsrtp2 2.5.0".
    public static var libraryVersion: String { SRTPLibrary.version }
}
