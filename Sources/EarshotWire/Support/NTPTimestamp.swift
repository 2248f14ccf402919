/// A 64-bit NTP timestamp (RFC 5905 §6; used by RTCP, RFC 3550 §4): 32 bits of seconds since
/// 1900-01-01 00:00 UTC and 32 bits of fraction.
///
/// The seconds wrap every 2^32 s (the first wrap is in February 2036); RTCP only ever compares nearby
/// timestamps, so the wrapped value is what goes on the wire.
public struct NTPTimestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Seconds in the high 32 bits, fraction in the low 32 bits.
    public var rawValue: UInt64

    /// Seconds between the NTP epoch (1900) and the Unix epoch (1970): 70 years including 17 leap days.
    public static let unixEpochOffsetSeconds: Int64 = 2_208_988_800

    /// Creates a timestamp from its 64-bit wire value.
    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// Creates a timestamp from seconds and fraction.
    public init(seconds: UInt32, fraction: UInt32) {
        rawValue = UInt64(seconds) << 32 | UInt64(fraction)
    }

    /// The timestamp of a time given as a duration since the Unix epoch (the caller reads the clock).
    public init(sinceUnixEpoch time: Duration) {
        let (seconds, attoseconds) = time.components
        var wholeSeconds = seconds &+ Self.unixEpochOffsetSeconds
        var atto = attoseconds
        if atto < 0 {  // components of a negative duration carry a negative attosecond part
            atto += 1_000_000_000_000_000_000
            wholeSeconds &-= 1
        }
        // fraction = attoseconds × 2^32 / 10^18, exact in 128-bit arithmetic.
        let product = UInt64(atto).multipliedFullWidth(by: 1 << 32)
        let fraction = UInt64(1_000_000_000_000_000_000).dividingFullWidth(product).quotient
        self.init(seconds: UInt32(truncatingIfNeeded: wholeSeconds), fraction: UInt32(truncatingIfNeeded: fraction))
    }

    /// The whole seconds since 1900 (modulo 2^32).
    public var seconds: UInt32 { UInt32(truncatingIfNeeded: rawValue >> 32) }

    /// The fraction of a second in units of 2^-32 s.
    public var fraction: UInt32 { UInt32(truncatingIfNeeded: rawValue) }

    /// The middle 32 bits (16 bits of seconds, 16 of fraction): the "compact" form RTCP uses for LSR and
    /// round-trip times (RFC 3550 §6.4.1), in units of 1/65536 s.
    public var middle32: UInt32 { UInt32(truncatingIfNeeded: rawValue >> 16) }

    /// The time since the Unix epoch this timestamp denotes, taking the seconds in NTP era 0 (1900–2036).
    public var sinceUnixEpoch: Duration {
        let seconds = Int64(self.seconds) - Self.unixEpochOffsetSeconds
        // attoseconds = fraction × 10^18 / 2^32.
        let atto = UInt64(fraction).multipliedFullWidth(by: 1_000_000_000_000_000_000)
        let attoseconds = Int64(truncatingIfNeeded: (UInt64(atto.high) << 32) | (atto.low >> 32))
        return Duration(secondsComponent: seconds, attosecondsComponent: attoseconds)
    }

    public static func < (lhs: NTPTimestamp, rhs: NTPTimestamp) -> Bool {
        lhs.rawValue < rhs.rawValue
    }

    public var description: String {
        "\(seconds).\(String(fraction, radix: 16))"
    }
}
