internal import COpenSSL
internal import CEarshotShims

/// Settings shared by every DTLS endpoint of a process: our certificate, the SRTP profiles we offer or accept,
/// cipher suites and key-exchange groups. Owns one OpenSSL `SSL_CTX`.
///
/// Thread safety: configured once in `init` and never changed after; OpenSSL allows concurrent `SSL_new` from a
/// configured context, so the type is `Sendable` and one instance serves every session of a relay.
public final class DTLSContext: @unchecked Sendable {
    public struct Configuration: Sendable {
        /// Our certificate; its fingerprint goes into our SDP.
        public var certificate: DTLSCertificate
        /// SRTP profiles in order of preference. As a DTLS server we select the first of these that the client
        /// also offers (OpenSSL selects by the server's order).
        public var srtpProfiles: [SRTPProtectionProfile]
        /// OpenSSL cipher list for DTLS 1.2. ECDHE with AEAD first; CBC suites last for old peers.
        public var cipherList: String
        /// Key-exchange groups, most preferred first.
        public var groups: String

        public init(
            certificate: DTLSCertificate,
            srtpProfiles: [SRTPProtectionProfile] = SRTPProtectionProfile.defaultPreference,
            cipherList: String = Configuration.defaultCipherList,
            groups: String = "X25519:P-256:P-384"
        ) {
            self.certificate = certificate
            self.srtpProfiles = srtpProfiles
            self.cipherList = cipherList
            self.groups = groups
        }

        public static let defaultCipherList =
            "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
            + "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:"
            + "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA"
    }

    public let configuration: Configuration
    let context: OpaquePointer  // SSL_CTX *

    public init(configuration: Configuration) throws(OpenSSLError) {
        precondition(!configuration.srtpProfiles.isEmpty, "at least one SRTP protection profile is required")
        ERR_clear_error()
        guard let ctx = SSL_CTX_new(DTLS_method()) else { throw .drain("creating the DTLS context") }
        let profiles = configuration.srtpProfiles.map(\.openSSLName).joined(separator: ":")
        let ok =
            earshot_ssl_ctx_set_dtls12_only(ctx) == 1
            && SSL_CTX_use_certificate(ctx, configuration.certificate.certificate) == 1
            && SSL_CTX_use_PrivateKey(ctx, configuration.certificate.privateKey) == 1
            && SSL_CTX_check_private_key(ctx) == 1
            && SSL_CTX_set_cipher_list(ctx, configuration.cipherList) == 1
            && earshot_ssl_ctx_set_groups(ctx, configuration.groups) == 1
            // The one OpenSSL call that returns 0 on success.
            && SSL_CTX_set_tlsext_use_srtp(ctx, profiles) == 0
        guard ok else {
            SSL_CTX_free(ctx)
            throw .drain("configuring the DTLS context")
        }
        self.configuration = configuration
        self.context = ctx
    }

    deinit { SSL_CTX_free(context) }

    /// Our certificate's SHA-256 fingerprint.
    public var fingerprint: CertificateFingerprint { configuration.certificate.fingerprint }
}
