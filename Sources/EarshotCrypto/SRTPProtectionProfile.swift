/// DTLS-SRTP protection profiles (RFC 5764 §4.1.2, RFC 7714 §14.2), with the identifiers of the use_srtp extension.
public enum SRTPProtectionProfile: UInt16, CaseIterable, Sendable, CustomStringConvertible {
    /// AES-128 in counter mode with an 80-bit HMAC-SHA1 tag (RFC 3711): the profile every WebRTC peer supports.
    case aes128CMHMACSHA1_80 = 0x0001
    /// AES-128 in Galois/counter mode with a 128-bit tag (RFC 7714): faster here, preferred when the peer offers it.
    case aeadAES128GCM = 0x0007
    /// AES-256 in Galois/counter mode with a 128-bit tag (RFC 7714).
    case aeadAES256GCM = 0x0008

    /// The profile's name as OpenSSL spells it in `SSL_CTX_set_tlsext_use_srtp`.
    public var openSSLName: String {
        switch self {
        case .aes128CMHMACSHA1_80: "SRTP_AES128_CM_SHA1_80"
        case .aeadAES128GCM: "SRTP_AEAD_AES_128_GCM"
        case .aeadAES256GCM: "SRTP_AEAD_AES_256_GCM"
        }
    }

    /// Master key length in bytes.
    public var masterKeyLength: Int {
        switch self {
        case .aes128CMHMACSHA1_80, .aeadAES128GCM: 16
        case .aeadAES256GCM: 32
        }
    }

    /// Master salt length in bytes: 112 bits for AES-CM (RFC 3711), 96 bits for AEAD (RFC 7714 §12).
    public var masterSaltLength: Int {
        switch self {
        case .aes128CMHMACSHA1_80: 14
        case .aeadAES128GCM, .aeadAES256GCM: 12
        }
    }

    /// Bytes SRTP adds to each RTP packet: the authentication tag (10 bytes for HMAC-SHA1-80, 16 for GCM).
    public var rtpOverhead: Int {
        switch self {
        case .aes128CMHMACSHA1_80: 10
        case .aeadAES128GCM, .aeadAES256GCM: 16
        }
    }

    /// Bytes SRTCP adds to each RTCP packet: tag plus the 4-byte E-flag/index word.
    public var rtcpOverhead: Int { rtpOverhead + 4 }

    /// The profile's name as the webrtc-stats `srtpCipher` field spells it.
    public var description: String { openSSLName }

    /// Earshot's default preference: GCM first (cheaper and stronger), then the mandatory AES-CM profile.
    public static let defaultPreference: [SRTPProtectionProfile] = [.aeadAES128GCM, .aeadAES256GCM, .aes128CMHMACSHA1_80]
}

/// The SRTP master keys and salts exported from a DTLS handshake (RFC 5764 §4.2): the exporter output
/// `client_write_key | server_write_key | client_write_salt | server_write_salt`, split.
public struct SRTPKeyingMaterial: Hashable, Sendable {
    public var profile: SRTPProtectionProfile
    public var clientKey: [UInt8]
    public var clientSalt: [UInt8]
    public var serverKey: [UInt8]
    public var serverSalt: [UInt8]

    /// Splits the exporter output for `profile`; nil if its length does not fit the profile.
    public init?(profile: SRTPProtectionProfile, exported: [UInt8]) {
        let k = profile.masterKeyLength
        let s = profile.masterSaltLength
        guard exported.count == 2 * (k + s) else { return nil }
        self.profile = profile
        clientKey = Array(exported[0..<k])
        serverKey = Array(exported[k..<2 * k])
        clientSalt = Array(exported[2 * k..<2 * k + s])
        serverSalt = Array(exported[2 * k + s..<2 * (k + s)])
    }

    /// The key and salt a DTLS endpoint of `role` protects its outgoing packets with.
    public func outbound(for role: DTLSEndpoint.Role) -> (key: [UInt8], salt: [UInt8]) {
        role == .client ? (clientKey, clientSalt) : (serverKey, serverSalt)
    }

    /// The key and salt a DTLS endpoint of `role` unprotects incoming packets with.
    public func inbound(for role: DTLSEndpoint.Role) -> (key: [UInt8], salt: [UInt8]) {
        role == .client ? (serverKey, serverSalt) : (clientKey, clientSalt)
    }
}
