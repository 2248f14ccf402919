import ArgumentParser
import EarshotCrypto
import EarshotWire

/// `earshot doctor`: checks that the C libraries load and work together on this machine: a DTLS-SRTP handshake
/// between the two roles in memory, then SRTP both ways with the exported keys, for every protection profile.
struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the media stack on this machine (OpenSSL DTLS-SRTP, libsrtp2).")

    func run() throws {
        print("libsrtp2: \(SRTPContext.libraryVersion)")
        let clientCertificate = try DTLSCertificate(commonName: "doctor-client")
        let serverCertificate = try DTLSCertificate(commonName: "doctor-server")
        print("certificate: ECDSA P-256, fingerprint \(serverCertificate.fingerprint)")
        var failures = 0
        for profile in SRTPProtectionProfile.allCases {
            do {
                let summary = try Self.check(profile: profile, client: clientCertificate, server: serverCertificate)
                print("  \(profile): ok (\(summary))")
            } catch {
                failures += 1
                print("  \(profile): FAILED: \(error)")
            }
        }
        if failures > 0 { throw ExitCode.failure }
    }

    static func check(profile: SRTPProtectionProfile, client: DTLSCertificate, server: DTLSCertificate) throws -> String {
        let clientEndpoint = try DTLSEndpoint(
            context: DTLSContext(configuration: .init(certificate: client, srtpProfiles: [profile])),
            configuration: .init(role: .client, remoteFingerprints: [server.fingerprint]))
        let serverEndpoint = try DTLSEndpoint(
            context: DTLSContext(configuration: .init(certificate: server)),
            configuration: .init(role: .server, remoteFingerprints: [client.fingerprint]))
        clientEndpoint.start(now: .zero)
        var now = Instant.zero
        for _ in 0..<10 {
            now += .milliseconds(1)
            while let d = clientEndpoint.pollTransmit() { serverEndpoint.handle(datagram: d, now: now) }
            while let d = serverEndpoint.pollTransmit() { clientEndpoint.handle(datagram: d, now: now) }
        }
        guard case .connected(let connection)? = clientEndpoint.pollEvent(),
            case .connected(let serverConnection)? = serverEndpoint.pollEvent()
        else { throw DoctorError("the DTLS handshake did not complete") }
        guard connection.keyingMaterial == serverConnection.keyingMaterial else {
            throw DoctorError("the two roles derived different SRTP keys")
        }
        let keys = connection.keyingMaterial
        let send = keys.outbound(for: .client)
        let receive = keys.inbound(for: .server)
        let sender = try SRTPContext(profile: profile, key: send.key, salt: send.salt, direction: .outbound)
        let receiver = try SRTPContext(profile: profile, key: receive.key, salt: receive.salt, direction: .inbound)
        let rtp: [UInt8] = [0x80, 111, 0, 1, 0, 0, 0, 0, 0xCA, 0xFE, 0xBA, 0xBE] + [UInt8](repeating: 0xAB, count: 80)
        var packet = rtp
        try sender.protectRTP(&packet)
        try receiver.unprotectRTP(&packet)
        guard packet == rtp else { throw DoctorError("SRTP round trip changed the packet") }
        return "\(connection.version) \(connection.cipherSuite), SRTP round trip verified"
    }
}

struct DoctorError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
