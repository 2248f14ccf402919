import EarshotCrypto
import EarshotWire

/// Two DTLS endpoints joined by a simulated link on virtual time: a fixed one-way delay and seeded random loss.
/// Nothing sleeps; time jumps to the next delivery or deadline.
struct VirtualLink {
    var client: DTLSEndpoint
    var server: DTLSEndpoint
    var now = Instant.zero
    var oneWayDelay = Duration.milliseconds(10)
    var lossRate = 0.0
    var rng = SplitMix64(seed: 1)
    var inFlight: [(at: Instant, toServer: Bool, bytes: [UInt8])] = []
    var clientEvents: [DTLSEndpoint.Event] = []
    var serverEvents: [DTLSEndpoint.Event] = []
    var datagramsLost = 0
    /// Optional tap that may rewrite or drop datagrams from the client before they reach the link.
    var clientTap: ((inout [UInt8]) -> Bool)?

    init(client: DTLSEndpoint, server: DTLSEndpoint) {
        self.client = client
        self.server = server
    }

    var bothSettled: Bool {
        settled(clientEvents) && settled(serverEvents)
    }

    private func settled(_ events: [DTLSEndpoint.Event]) -> Bool {
        events.contains { if case .connected = $0 { true } else if case .failed = $0 { true } else { false } }
    }

    /// Runs until both sides have connected or failed and the link is empty, or `limit` of virtual time passes.
    /// Asserts that whenever an endpoint is still handshaking it has a deadline (nothing can hang).
    mutating func run(until limit: Duration = .seconds(60)) -> Bool {
        let end = now + limit
        var steps = 0
        while now <= end, steps < 100_000 {
            steps += 1
            pump()
            if bothSettled && inFlight.isEmpty { return true }
            for endpoint in [client, server] where endpoint.state == .handshaking {
                precondition(endpoint.nextDeadline != nil, "a handshaking endpoint must always have a deadline")
            }
            let candidates = [inFlight.map(\.at).min(), client.nextDeadline, server.nextDeadline].compactMap { $0 }
            guard let next = candidates.min() else { return bothSettled }
            now = max(now, next)
            let due = inFlight.filter { $0.at <= now }
            inFlight.removeAll { $0.at <= now }
            for datagram in due {
                (datagram.toServer ? server : client).handle(datagram: datagram.bytes, now: now)
            }
            if let d = client.nextDeadline, d <= now { client.handleTimeout(now: now) }
            if let d = server.nextDeadline, d <= now { server.handleTimeout(now: now) }
        }
        return bothSettled
    }

    mutating func pump() {
        while var datagram = client.pollTransmit() {
            if let tap = clientTap, !tap(&datagram) { continue }
            send(datagram, toServer: true)
        }
        while let datagram = server.pollTransmit() { send(datagram, toServer: false) }
        while let event = client.pollEvent() { clientEvents.append(event) }
        while let event = server.pollEvent() { serverEvents.append(event) }
    }

    private mutating func send(_ bytes: [UInt8], toServer: Bool) {
        if lossRate > 0, Double.random(in: 0..<1, using: &rng) < lossRate {
            datagramsLost += 1
            return
        }
        inFlight.append((now + oneWayDelay, toServer, bytes))
    }
}

extension Array where Element == DTLSEndpoint.Event {
    var connection: DTLSEndpoint.Connection? {
        for event in self { if case .connected(let c) = event { return c } }
        return nil
    }
    var failure: DTLSError? {
        for event in self { if case .failed(let e) = event { return e } }
        return nil
    }
}

/// Certificates are costly to generate; tests share a few.
enum TestCertificates {
    static let client = try! DTLSCertificate(commonName: "test-client")
    static let server = try! DTLSCertificate(commonName: "test-server")
    static let stranger = try! DTLSCertificate(commonName: "stranger")
}

func makePair(
    clientProfiles: [SRTPProtectionProfile] = SRTPProtectionProfile.defaultPreference,
    serverProfiles: [SRTPProtectionProfile] = SRTPProtectionProfile.defaultPreference,
    clientExpects: [CertificateFingerprint]? = nil,
    serverExpects: [CertificateFingerprint]? = nil,
    clientMTU: Int = 1200
) throws -> VirtualLink {
    let clientContext = try DTLSContext(
        configuration: .init(certificate: TestCertificates.client, srtpProfiles: clientProfiles))
    let serverContext = try DTLSContext(
        configuration: .init(certificate: TestCertificates.server, srtpProfiles: serverProfiles))
    let client = try DTLSEndpoint(
        context: clientContext,
        configuration: .init(
            role: .client, remoteFingerprints: clientExpects ?? [TestCertificates.server.fingerprint], mtu: clientMTU))
    let server = try DTLSEndpoint(
        context: serverContext,
        configuration: .init(role: .server, remoteFingerprints: serverExpects ?? [TestCertificates.client.fingerprint]))
    return VirtualLink(client: client, server: server)
}
