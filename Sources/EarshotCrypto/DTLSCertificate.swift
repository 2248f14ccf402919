internal import COpenSSL
internal import CEarshotShims

/// A self-signed ECDSA P-256 certificate and its private key, as WebRTC endpoints use for DTLS-SRTP.
///
/// Peers authenticate it by the fingerprint carried in signaling (SDP), not by a chain of trust, so a fresh one is
/// generated at start-up. ECDSA is used because some peers accept only ECDSA cipher suites.
///
/// Thread safety: immutable after `init`; OpenSSL's certificate and key objects are reference counted and safe to
/// share read-only between threads, so the type is `Sendable`.
public final class DTLSCertificate: @unchecked Sendable {
    let certificate: OpaquePointer  // X509 *
    let privateKey: OpaquePointer  // EVP_PKEY *

    /// The certificate's SHA-256 fingerprint, for the `a=fingerprint` line of our SDP.
    public let fingerprint: CertificateFingerprint

    /// Generates a new key pair and a self-signed certificate.
    /// - Parameters:
    ///   - commonName: the subject and issuer CN.
    ///   - validityDays: how long the certificate is valid, from one day before now (to tolerate clock skew).
    public init(commonName: String = "earshot", validityDays: Int = 30) throws(OpenSSLError) {
        ERR_clear_error()
        guard let key = earshot_generate_p256_key() else { throw .drain("generating a P-256 key") }
        guard let x509 = X509_new() else {
            EVP_PKEY_free(key)
            throw .drain("allocating a certificate")
        }
        var ok = X509_set_version(x509, 2) == 1  // 2 means X.509 v3
        var serial = [UInt8](repeating: 0, count: 8)
        ok = ok && RAND_bytes(&serial, Int32(serial.count)) == 1
        let serialValue = serial.reduce(UInt64(0)) { $0 << 8 | UInt64($1) } & 0x7FFF_FFFF_FFFF_FFFF
        ok = ok && ASN1_INTEGER_set_uint64(X509_get_serialNumber(x509), serialValue) == 1
        ok = ok && X509_gmtime_adj(X509_getm_notBefore(x509), -86_400) != nil
        ok = ok && X509_gmtime_adj(X509_getm_notAfter(x509), 86_400 * max(1, validityDays)) != nil
        ok = ok && X509_set_pubkey(x509, key) == 1
        if ok, let name = X509_get_subject_name(x509) {
            ok = X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, commonName, -1, -1, 0) == 1
            ok = ok && X509_set_issuer_name(x509, name) == 1
        } else {
            ok = false
        }
        ok = ok && X509_sign(x509, key, EVP_sha256()) > 0
        guard ok, let digest = Self.digest(of: x509, algorithm: .sha256) else {
            X509_free(x509)
            EVP_PKEY_free(key)
            throw .drain("creating a self-signed certificate")
        }
        self.certificate = x509
        self.privateKey = key
        self.fingerprint = CertificateFingerprint(algorithm: .sha256, bytes: digest)
    }

    deinit {
        X509_free(certificate)
        EVP_PKEY_free(privateKey)
    }

    /// The certificate's fingerprint with another hash function.
    public func fingerprint(_ algorithm: CertificateFingerprint.Algorithm) -> CertificateFingerprint? {
        Self.digest(of: certificate, algorithm: algorithm).map { CertificateFingerprint(algorithm: algorithm, bytes: $0) }
    }

    /// The digest of a DER certificate with the given hash function.
    static func digest(of x509: OpaquePointer, algorithm: CertificateFingerprint.Algorithm) -> [UInt8]? {
        let md: OpaquePointer? =
            switch algorithm {
            case .sha1: EVP_sha1()
            case .sha224: EVP_sha224()
            case .sha256: EVP_sha256()
            case .sha384: EVP_sha384()
            case .sha512: EVP_sha512()
            }
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard X509_digest(x509, md, &out, &length) == 1 else {
            ERR_clear_error()
            return nil
        }
        return Array(out.prefix(Int(length)))
    }
}
