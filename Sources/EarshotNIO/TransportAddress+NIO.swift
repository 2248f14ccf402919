public import EarshotWire
public import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension TransportAddress {
    /// The address of a NIO socket address; nil for a Unix-domain address.
    public init?(_ socketAddress: SocketAddress) {
        switch socketAddress {
        case .v4(let v4):
            let raw = v4.address.sin_addr.s_addr  // network byte order
            self.init(address: .v4(IPv4Address(rawValue: UInt32(bigEndian: raw))), port: UInt16(bigEndian: v4.address.sin_port))
        case .v6(let v6):
            var storage = v6.address.sin6_addr
            let bytes = withUnsafeBytes(of: &storage) { Array($0) }
            guard let address = IPv6Address(bytes: bytes) else { return nil }
            self.init(address: .v6(address), port: UInt16(bigEndian: v6.address.sin6_port))
        case .unixDomainSocket:
            return nil
        }
    }

    /// The NIO socket address for sending to this address.
    public var socketAddress: SocketAddress {
        switch address {
        case .v4(let v4):
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            sin.sin_addr.s_addr = v4.rawValue.bigEndian
            return SocketAddress(sin, host: "")
        case .v6(let v6):
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { raw in
                for (index, byte) in v6.bytes.enumerated() { raw[index] = byte }
            }
            return SocketAddress(sin6, host: "")
        }
    }
}

extension Instant {
    /// The current time on NIO's monotonic clock (the timeline every session on a loop shares).
    public static func now() -> Instant {
        Instant(nanoseconds: Int64(NIODeadline.now().uptimeNanoseconds))
    }

    /// The NIO deadline of this instant.
    public var nioDeadline: NIODeadline {
        NIODeadline.uptimeNanoseconds(UInt64(max(0, nanoseconds)))
    }
}
