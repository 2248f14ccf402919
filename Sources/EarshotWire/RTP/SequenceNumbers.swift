/// Whether `a` comes after `b` in a wrapping sequence: forward distance below half the range, ties
/// (exactly half) broken by numeric order so that the relation stays antisymmetric.
@inline(__always)
func wrappingIsNewer<T: FixedWidthInteger & UnsignedInteger>(_ a: T, than b: T) -> Bool {
    let forward = a &- b
    let half = T(1) << (T.bitWidth - 1)
    if forward == half { return a > b }
    return forward != 0 && forward < half
}

extension UInt16 {
    /// Whether this RTP sequence number comes after `other`, allowing for wrap-around (RFC 3550 §A.1
    /// arithmetic): newer when the forward distance is below 2^15.
    public func isNewer(than other: UInt16) -> Bool {
        wrappingIsNewer(self, than: other)
    }
}

extension UInt32 {
    /// Whether this RTP timestamp comes after `other`, allowing for wrap-around: newer when the forward
    /// distance is below 2^31.
    public func isNewer(than other: UInt32) -> Bool {
        wrappingIsNewer(self, than: other)
    }
}

/// Extends a wrapping 16- or 32-bit counter (RTP sequence number or timestamp) to 64 bits.
///
/// Like the SRTP index estimate of RFC 3711 Appendix A, each value is placed in the roll-over period that
/// puts it closest to the highest value seen so far; the reference only moves forward. A value that
/// arrives from before the first one can come out negative (it wrapped backwards before the first packet).
public struct SequenceUnwrapper<Value: FixedWidthInteger & UnsignedInteger>: Hashable, Sendable {
    /// The highest unwrapped value so far, `nil` before the first.
    public private(set) var highest: Int64?

    /// Creates an unwrapper that has seen nothing.
    public init() {
        precondition(Value.bitWidth < 64, "unwrapping needs a narrower counter")
    }

    /// The 64-bit value `value` would unwrap to, without recording it.
    public func peek(_ value: Value) -> Int64 {
        guard let highest else { return Int64(value) }
        let reference = Value(truncatingIfNeeded: highest)
        let forward = value &- reference
        let range = Int64(1) << Value.bitWidth
        let delta = wrappingIsNewer(value, than: reference) || forward == 0
            ? Int64(forward) : Int64(forward) - range
        return highest &+ delta
    }

    /// Unwraps `value` and advances the reference if it is the newest so far.
    public mutating func unwrap(_ value: Value) -> Int64 {
        let unwrapped = peek(value)
        if highest.map({ unwrapped > $0 }) ?? true { highest = unwrapped }
        return unwrapped
    }
}

/// Unwraps 16-bit RTP sequence numbers.
public typealias RTPSequenceNumberUnwrapper = SequenceUnwrapper<UInt16>
/// Unwraps 32-bit RTP timestamps.
public typealias RTPTimestampUnwrapper = SequenceUnwrapper<UInt32>
