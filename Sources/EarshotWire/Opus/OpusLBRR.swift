/// Whether an Opus packet carries in-band FEC (SILK "LBRR" frames, RFC 6716 §4.2.4), read from the first symbols
/// of its range-coded data without decoding it.
///
/// In SILK-only and Hybrid frames the SILK layer starts with its header bits (§4.2.3): per channel (mid, then side
/// for a stereo stream), one voice-activity flag per SILK frame (one for 10/20 ms, two for 40 ms, three for 60 ms)
/// and then one LBRR flag, each coded with probability ½. The LBRR flag of the packet's *first* frame says whether
/// it holds a low-bitrate copy of the audio before it: what a receiver decodes (`decode_fec`) when the previous
/// packet was lost. CELT-only frames carry no LBRR.
///
/// ```
///  range coder (§4.1.1), per ½-probability bit:  s = rng >> 1;  bit = val < s;  val -= bit ? 0 : s;
///                                               rng = bit ? s : rng − s;  renormalise while rng ≤ 2^23
///  SILK header (mono 20 ms):  | VAD | LBRR | …
///  SILK header (stereo 40 ms): | VAD₀ | VAD₁ | LBRR(mid) | VAD₀ | VAD₁ | LBRR(side) | …
/// ```
extension OpusPacketLayout {
    /// Whether the first frame of the packet laid out over `bytes` carries LBRR (in-band FEC) data for the
    /// audio preceding the packet. `false` for CELT-only packets and for empty (DTX) frames. For a stereo stream
    /// the flag of either channel counts.
    public func firstFrameCarriesFEC(in bytes: UnsafeRawBufferPointer) -> Bool {
        guard toc.mode != .celt, let frame = frames.first, !frame.isEmpty,
              frame.lowerBound >= 0, frame.upperBound <= bytes.count
        else { return false }
        // SILK frames per Opus frame: 10 and 20 ms hold one, 40 ms two, 60 ms three (§4.2.2).
        let silkFrames = max(1, toc.frameDuration.samplesAt48kHz / 960)
        var decoder = RangeDecoderPrefix(UnsafeRawBufferPointer(rebasing: bytes[frame]))
        for _ in 0..<(toc.isStereo ? 2 : 1) {
            for _ in 0..<silkFrames { _ = decoder.decodeHalfProbabilityBit() }
            if decoder.decodeHalfProbabilityBit() { return true }
        }
        return false
    }

    /// `firstFrameCarriesFEC(in:)` for a packet held in an array.
    public func firstFrameCarriesFEC(in bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { firstFrameCarriesFEC(in: $0) }
    }
}

/// The first steps of the Opus range decoder (RFC 6716 §4.1), enough to read equiprobable bits: the state is
/// `rng` (the range size) and `val` (the distance from the top of the range to the coded value), fed one byte
/// at a time; bytes past the end of the frame read as zero (§4.1.1).
struct RangeDecoderPrefix {
    private let bytes: UnsafeRawBufferPointer
    private var offset = 0
    private var rng: UInt32 = 128
    private var val: UInt32
    private var previous: UInt32

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        let first = Self.byte(bytes, 0)
        offset = 1
        previous = first
        val = 127 - (first >> 1)
        normalize()
    }

    /// Decodes one symbol of probability ½ (`ec_dec_bit_logp` with logp = 1); `true` is the upper half.
    mutating func decodeHalfProbabilityBit() -> Bool {
        let s = rng >> 1
        let bit = val < s
        if !bit { val -= s }
        rng = bit ? s : rng - s
        normalize()
        return bit
    }

    /// §4.1.2.1: while the range is at most 2^23, shift in 8 more bits: the low bit of the previous byte and
    /// the seven high bits of the next, inverted.
    private mutating func normalize() {
        while rng <= 1 << 23 {
            rng <<= 8
            let next = Self.byte(bytes, offset)
            offset += 1
            let symbol = ((previous << 8) | next) >> 1 & 0xFF
            previous = next
            val = ((val << 8) &+ (255 - symbol)) & 0x7FFF_FFFF
        }
    }

    private static func byte(_ bytes: UnsafeRawBufferPointer, _ index: Int) -> UInt32 {
        index < bytes.count ? UInt32(bytes[index]) : 0
    }
}
