import EarshotCore
import EarshotCrypto
import EarshotWire

enum TestIdentity {
    static let relayCertificate = try! DTLSCertificate(commonName: "relay")
    static let clientCertificate = try! DTLSCertificate(commonName: "client")
    static let relayContext = try! DTLSContext(configuration: .init(certificate: relayCertificate))
    static let clientContext = try! DTLSContext(configuration: .init(certificate: clientCertificate))
}

let relayAddress = TransportAddress(address: .v4(IPv4Address(127, 0, 0, 1)), port: 50000)

func clientAddress(_ n: UInt16) -> TransportAddress {
    TransportAddress(address: .v4(IPv4Address(127, 0, 0, 2)), port: 40000 + n)
}

/// One client/relay pair of peer connections (or several relay sessions behind one relay address) on a simulated
/// network: one-way delay, seeded loss, virtual time. Nothing sleeps.
struct VirtualNetwork {
    struct Pair {
        var client: PeerConnection
        var relay: PeerConnection
        var clientAddress: TransportAddress
        var clientEvents: [PeerConnection.Event] = []
        var relayEvents: [PeerConnection.Event] = []
        /// When true the relay side sends back every audio packet it receives (the built-in echo).
        var echo = true
        var echoBase: UInt32?
    }

    var pairs: [Pair] = []
    var now = Instant.zero
    var delay = Duration.milliseconds(5)
    var lossRate = 0.0
    var rng = SplitMix64(seed: 42)
    var inFlight: [(at: Instant, from: TransportAddress, to: TransportAddress, bytes: [UInt8])] = []
    var lost = 0
    /// Datagrams delivered to the relay address that no session accepted.
    var unrouted = 0

    @discardableResult
    mutating func addPair(seed: UInt64, clientPort: UInt16, relayTimeouts: Duration = .seconds(30)) throws -> Int {
        var credentialRNG = SplitMix64(seed: seed)
        let relayCredentials = ICECredentials.random(routingPrefix: "r\(seed)", using: &credentialRNG)
        let clientCredentials = ICECredentials.random(using: &credentialRNG)
        let relay = try PeerConnection(
            configuration: .init(
                role: .relay, localCredentials: relayCredentials, remoteCredentials: clientCredentials,
                remoteFingerprints: [TestIdentity.clientCertificate.fingerprint], localSSRC: 0x1000 + UInt32(seed),
                consentTimeout: relayTimeouts, seed: seed),
            dtlsContext: TestIdentity.relayContext, now: now)
        let client = try PeerConnection(
            configuration: .init(
                role: .client, localCredentials: clientCredentials, remoteCredentials: relayCredentials,
                remoteFingerprints: [TestIdentity.relayCertificate.fingerprint], remoteAddress: relayAddress,
                localSSRC: 0x2000 + UInt32(seed), seed: seed &+ 1000),
            dtlsContext: TestIdentity.clientContext, now: now)
        pairs.append(Pair(client: client, relay: relay, clientAddress: clientAddress(clientPort)))
        return pairs.count - 1
    }

    /// Raw datagram injection (hostile traffic), delivered at `now` + delay.
    mutating func inject(_ bytes: [UInt8], from: TransportAddress, to: TransportAddress) {
        inFlight.append((now + delay, from, to, bytes))
    }

    mutating func pump() {
        for index in pairs.indices {
            while let t = pairs[index].client.pollTransmit() { send(t.bytes, from: pairs[index].clientAddress, to: t.destination) }
            while let t = pairs[index].relay.pollTransmit() { send(t.bytes, from: relayAddress, to: t.destination) }
            while let e = pairs[index].client.pollEvent() { pairs[index].clientEvents.append(e) }
            while let e = pairs[index].relay.pollEvent() {
                pairs[index].relayEvents.append(e)
                if case .audio(let audio) = e, pairs[index].echo {
                    let base = pairs[index].echoBase ?? audio.timestamp
                    pairs[index].echoBase = base
                    pairs[index].relay.sendAudio(payload: audio.payload, timestamp: audio.timestamp &- base, now: now)
                }
            }
        }
        // Echo sends may have queued more.
        for index in pairs.indices {
            while let t = pairs[index].relay.pollTransmit() { send(t.bytes, from: relayAddress, to: t.destination) }
        }
    }

    private mutating func send(_ bytes: [UInt8], from: TransportAddress, to: TransportAddress) {
        if lossRate > 0, Double.random(in: 0..<1, using: &rng) < lossRate {
            lost += 1
            return
        }
        inFlight.append((now + delay, from, to, bytes))
    }

    /// Advances virtual time to `end`, delivering datagrams and firing deadlines as they fall due. `tick`, if given,
    /// runs at every step (e.g. to send audio every 20 ms).
    mutating func run(until end: Instant, every interval: Duration? = nil, tick: ((inout VirtualNetwork) -> Void)? = nil) {
        var nextTick = interval.map { now + $0 }
        var steps = 0
        while now < end, steps < 2_000_000 {
            steps += 1
            pump()
            var candidates: [Instant] = [end]
            if let t = inFlight.map(\.at).min() { candidates.append(t) }
            for p in pairs {
                if let d = p.client.nextDeadline { candidates.append(d) }
                if let d = p.relay.nextDeadline { candidates.append(d) }
            }
            if let t = nextTick { candidates.append(t) }
            now = max(now, candidates.min()!)
            let due = inFlight.filter { $0.at <= now }
            inFlight.removeAll { $0.at <= now }
            for datagram in due { deliver(datagram.bytes, from: datagram.from, to: datagram.to) }
            for index in pairs.indices {
                if let d = pairs[index].client.nextDeadline, d <= now { pairs[index].client.handleTimeout(now: now) }
                if let d = pairs[index].relay.nextDeadline, d <= now { pairs[index].relay.handleTimeout(now: now) }
            }
            if let t = nextTick, t <= now, let interval {
                tick?(&self)
                nextTick = t + interval
            }
        }
        pump()
    }

    private mutating func deliver(_ bytes: [UInt8], from: TransportAddress, to: TransportAddress) {
        if to == relayAddress {
            let owner = bytes.withUnsafeBytes { raw in pairs.firstIndex { $0.relay.accepts(datagram: raw, from: from) } }
            guard let owner else {
                unrouted += 1
                return
            }
            pairs[owner].relay.handle(datagram: bytes, from: from, now: now)
        } else if let owner = pairs.firstIndex(where: { $0.clientAddress == to }) {
            pairs[owner].client.handle(datagram: bytes, from: from, now: now)
        }
    }
}

extension PeerConnection.State {
    var isConnected: Bool { self == .connected }
}

extension Array where Element == PeerConnection.Event {
    var audioPackets: [PeerConnection.ReceivedAudio] {
        compactMap { if case .audio(let a) = $0 { a } else { nil } }
    }
    var closeReason: PeerConnection.CloseReason? {
        for case .closed(let reason) in self { return reason }
        return nil
    }
    var roundTripTimes: [Duration] {
        compactMap { if case .rtcp(let s) = $0 { s.roundTripTime } else { nil } }
    }
}
