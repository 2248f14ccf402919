public import EarshotCrypto
import EarshotOpus

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The bare CPU cost of a relay session's media work, measured in this process: what a session cannot cost less
/// than. `earshot bench` divides the relay's CPU per session by it.
///
/// Per second a session receives and sends 50 packets of 20 ms. Passthrough does an SRTP unprotect and a protect
/// for each; transcoding adds an Opus decode and an encode (48 kHz mono, complexity 5, the relay's defaults). The
/// UDP figure is one loopback datagram sent and received with plain system calls. Costs are thread CPU time over
/// `iterations` repetitions on real packets, so other processes' load does not count.
public struct CPUFloor: Sendable, Codable {
    public var srtpProtectMicroseconds: Double
    public var srtpUnprotectMicroseconds: Double
    public var opusDecodeMicroseconds: Double
    public var opusEncodeMicroseconds: Double
    public var udpSendReceiveMicroseconds: Double
    public var profile: String

    /// CPU percent (100 = one core) per session for SRTP and Opus, and with the UDP system calls.
    public func percentPerSession(transcoding: Bool, includingUDP: Bool = false, packetsPerSecond: Double = 50)
        -> Double
    {
        var micros = srtpProtectMicroseconds + srtpUnprotectMicroseconds
        if transcoding { micros += opusDecodeMicroseconds + opusEncodeMicroseconds }
        if includingUDP { micros += 2 * udpSendReceiveMicroseconds }
        return micros * packetsPerSecond / 1e6 * 100
    }

    /// Measures each operation `iterations` times over `payloads` (Opus packets of 20 ms at 48 kHz).
    public static func measure(
        payloads: [[UInt8]], profile: SRTPProtectionProfile = .aeadAES128GCM, iterations: Int = 2000
    ) throws -> CPUFloor {
        precondition(!payloads.isEmpty && iterations > 0, "the floor needs packets and iterations")
        let key = [UInt8](repeating: 0x2B, count: profile.masterKeyLength)
        let salt = [UInt8](repeating: 0x5A, count: profile.masterSaltLength)
        let outbound = try SRTPContext(profile: profile, key: key, salt: salt, direction: .outbound)
        let inbound = try SRTPContext(profile: profile, key: key, salt: salt, direction: .inbound)
        // RTP packets with increasing sequence numbers (replay protection on), protected once for the unprotects.
        let rtp: [[UInt8]] = (0..<iterations).map { index in
            let sequence = UInt16(truncatingIfNeeded: index)
            let timestamp = UInt32(truncatingIfNeeded: index * 960)
            return [0x80, 111, UInt8(sequence >> 8), UInt8(sequence & 0xFF),
                    UInt8(timestamp >> 24), UInt8(timestamp >> 16 & 0xFF), UInt8(timestamp >> 8 & 0xFF), UInt8(timestamp & 0xFF),
                    0x12, 0x34, 0x56, 0x78] + payloads[index % payloads.count]
        }
        var buffers = rtp.map { $0 + [UInt8](repeating: 0, count: 32) }
        var lengths = [Int](repeating: 0, count: iterations)
        let protect = try time {
            for index in 0..<iterations {
                let length = rtp[index].count
                lengths[index] = try buffers[index].withUnsafeMutableBytes { try outbound.protectRTP(buffer: $0, length: length) }
            }
        }
        let unprotect = try time {
            for index in 0..<iterations {
                let length = lengths[index]
                _ = try buffers[index].withUnsafeMutableBytes { try inbound.unprotectRTP(buffer: $0, length: length) }
            }
        }
        let decoder = try OpusDecoder(sampleRate: .hz48000, channels: .mono)
        var pcm: [[Int16]] = []
        pcm.reserveCapacity(iterations)
        let decode = try time {
            for index in 0..<iterations { pcm.append(try decoder.decode(payloads[index % payloads.count])) }
        }
        let encoder = try OpusEncoder(.init(bitrate: .bitsPerSecond(32_000), complexity: 5, inBandFEC: true))
        let encode = try time {
            for index in 0..<iterations { _ = try encoder.encode(pcm[index]) }
        }
        let udp = udpSendReceive(iterations: iterations, size: rtp[0].count + 16)
        let n = Double(iterations)
        return CPUFloor(
            srtpProtectMicroseconds: protect / n, srtpUnprotectMicroseconds: unprotect / n,
            opusDecodeMicroseconds: decode / n, opusEncodeMicroseconds: encode / n,
            udpSendReceiveMicroseconds: udp.map { $0 / n } ?? 0, profile: profile.description)
    }

    /// Thread CPU time of `body`, in microseconds.
    private static func time(_ body: () throws -> Void) rethrows -> Double {
        let start = threadCPUMicroseconds()
        try body()
        return threadCPUMicroseconds() - start
    }

    static func threadCPUMicroseconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) * 1e6 + Double(ts.tv_nsec) / 1e3
    }

    /// One datagram of `size` bytes sent to a loopback socket and received, `iterations` times; total thread CPU
    /// microseconds, or nil if the sockets could not be made.
    private static func udpSendReceive(iterations: Int, size: Int) -> Double? {
        let sender = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        let receiver = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer {
            if sender >= 0 { close(sender) }
            if receiver >= 0 { close(receiver) }
        }
        guard sender >= 0, receiver >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(receiver, $0, length) }
        }
        guard bound == 0 else { return nil }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(receiver, $0, &length) }
        }
        guard named == 0 else { return nil }
        var datagram = [UInt8](repeating: 0xA5, count: size)
        var incoming = [UInt8](repeating: 0, count: 2048)
        var failed = false
        let total = time {
            for _ in 0..<iterations {
                let sent = datagram.withUnsafeMutableBytes { bytes in
                    withUnsafePointer(to: &address) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            sendto(sender, bytes.baseAddress, size, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                        }
                    }
                }
                guard sent == size else {
                    failed = true
                    break
                }
                // Loopback delivers during sendto, so the datagram is already queued: never block here.
                let received = incoming.withUnsafeMutableBytes {
                    recv(receiver, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT))
                }
                if received != size { failed = true }
            }
        }
        return failed ? nil : total
    }
}
