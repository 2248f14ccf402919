/// Why an Opus packet is malformed (RFC 6716 §3.4, requirements R1–R7).
public enum OpusPacketError: Error, Hashable, Sendable {
    /// R1: a packet has at least one byte (the TOC).
    case empty
    /// R2: no frame is longer than 1275 bytes.
    case frameTooLong
    /// R3: a code 1 packet has an odd total length, so both frames have the same size.
    case oddLengthRequiredForCode1
    /// R4/R7: a frame length byte (or its second byte) is missing.
    case truncatedFrameLength
    /// R4: the first frame of a code 2 packet is longer than the bytes that remain.
    case firstFrameExceedsPacket
    /// R5/R6: a code 3 packet has no frame count byte.
    case missingFrameCount
    /// R5: a code 3 packet contains at least one frame.
    case noFrames
    /// R5: a code 3 packet holds at most 120 ms of audio.
    case durationExceeds120ms
    /// R6/R7: the padding length bytes, or the padding they announce, do not fit in the packet.
    case paddingExceedsPacket
    /// R6: in a CBR code 3 packet the bytes left for frames are a multiple of the frame count.
    case cbrLengthNotMultipleOfFrameCount
    /// R7: the explicit frame lengths of a VBR code 3 packet exceed the bytes available.
    case vbrFramesExceedPacket
}

/// The frames of an Opus packet, located without copying (RFC 6716 §3.2).
///
/// ```
/// code 0:  | TOC | frame (N−1 bytes)                                   |
/// code 1:  | TOC | frame 1 ((N−1)/2) | frame 2 ((N−1)/2)               |
/// code 2:  | TOC | N1 (1–2 bytes) | frame 1 (N1) | frame 2 (the rest)   |
/// code 3:  | TOC |v|p|    M    | padding length… | frame lengths… (if v) | frames | padding |
/// ```
/// Frame lengths are coded in one byte (0–251) or two (252–255 followed by a byte b: 4·b + first).
/// Ranges are byte offsets into the parsed buffer.
public struct OpusPacketLayout: Hashable, Sendable {
    /// The largest frame an Opus packet may carry (R2).
    public static let maximumFrameLength = 1275
    /// The longest packet duration, 120 ms, as samples at 48 kHz (R5).
    public static let maximumSamplesAt48kHz = 5760

    /// The TOC byte.
    public var toc: OpusTOC
    /// Each frame's bytes. A zero-length frame means no data for that frame (DTX or loss, §3.2.1).
    public var frames: [Range<Int>]
    /// Whether a code 3 packet codes frame lengths explicitly (VBR); `false` for codes 0–2.
    public var isVariableBitrate: Bool
    /// Padding bytes: the padding-length bytes plus the trailing padding (code 3 only).
    public var paddingLength: Int

    /// The number of frames (1–48).
    public var frameCount: Int { frames.count }

    /// The packet duration in samples at 48 kHz.
    public var samplesAt48kHz: Int { frames.count * toc.frameDuration.samplesAt48kHz }

    /// The packet duration in samples at `sampleRate`.
    public func samples(atRate sampleRate: Int) -> Int {
        frames.count * toc.frameDuration.samples(atRate: sampleRate)
    }

    /// The packet duration.
    public var duration: Duration { .microseconds(frames.count * toc.frameDuration.microseconds) }

    /// Reads a frame length (§3.2.1): one byte 0–251, or 252–255 and a second byte b giving 4·b + first.
    private static func readFrameLength(
        _ bytes: UnsafeRawBufferPointer, at offset: inout Int, end: Int
    ) throws(OpusPacketError) -> Int {
        guard offset < end else { throw .truncatedFrameLength }
        let first = Int(bytes[offset])
        offset += 1
        guard first >= 252 else { return first }
        guard offset < end else { throw .truncatedFrameLength }
        let second = Int(bytes[offset])
        offset += 1
        return second * 4 + first
    }

    /// Parses and validates the Opus packet occupying all of `bytes` (RFC 6716 §3.2–3.4).
    public init(parsing bytes: UnsafeRawBufferPointer) throws(OpusPacketError) {
        let count = bytes.count
        guard count >= 1 else { throw .empty }  // R1
        toc = OpusTOC(rawValue: bytes[0])
        isVariableBitrate = false
        paddingLength = 0
        let limit = Self.maximumFrameLength
        switch toc.frameCountCode {
        case 0:
            guard count - 1 <= limit else { throw .frameTooLong }  // R2
            frames = [1..<count]
        case 1:
            guard (count - 1) % 2 == 0 else { throw .oddLengthRequiredForCode1 }  // R3
            let size = (count - 1) / 2
            guard size <= limit else { throw .frameTooLong }  // R2
            frames = [1..<(1 + size), (1 + size)..<count]
        case 2:
            var offset = 1
            let first = try Self.readFrameLength(bytes, at: &offset, end: count)  // R4
            guard first <= count - offset else { throw .firstFrameExceedsPacket }  // R4
            let second = count - offset - first
            guard second <= limit else { throw .frameTooLong }  // R2 (first ≤ 1275 by its coding)
            frames = [offset..<(offset + first), (offset + first)..<count]
        default:
            guard count >= 2 else { throw .missingFrameCount }
            let countByte = bytes[1]
            isVariableBitrate = countByte & 0x80 != 0
            let hasPadding = countByte & 0x40 != 0
            let frameCount = Int(countByte & 0x3F)
            guard frameCount >= 1 else { throw .noFrames }  // R5
            guard frameCount * toc.frameDuration.samplesAt48kHz <= Self.maximumSamplesAt48kHz else {
                throw .durationExceeds120ms  // R5
            }
            var offset = 2
            var padding = 0  // trailing padding bytes
            if hasPadding {
                // Each 255 adds 254 bytes and another length byte follows; the last byte adds its value.
                while true {
                    guard offset < count else { throw .paddingExceedsPacket }
                    let value = Int(bytes[offset])
                    offset += 1
                    if value == 255 {
                        padding += 254
                    } else {
                        padding += value
                        break
                    }
                }
            }
            paddingLength = padding + (offset - 2)
            guard padding <= count - offset else { throw .paddingExceedsPacket }  // R6/R7
            let end = count - padding
            var ranges: [Range<Int>] = []
            ranges.reserveCapacity(frameCount)
            if isVariableBitrate {
                var lengths: [Int] = []
                lengths.reserveCapacity(frameCount)
                for _ in 0..<(frameCount - 1) {
                    lengths.append(try Self.readFrameLength(bytes, at: &offset, end: end))  // R7
                }
                var start = offset
                for length in lengths {
                    guard length <= end - start else { throw .vbrFramesExceedPacket }  // R7
                    ranges.append(start..<(start + length))
                    start += length
                }
                guard end - start <= limit else { throw .frameTooLong }  // R2: the implicit last frame
                ranges.append(start..<end)
            } else {
                let available = end - offset
                guard available % frameCount == 0 else { throw .cbrLengthNotMultipleOfFrameCount }  // R6
                let size = available / frameCount
                guard size <= limit else { throw .frameTooLong }  // R2
                for index in 0..<frameCount {
                    ranges.append((offset + index * size)..<(offset + (index + 1) * size))
                }
            }
            frames = ranges
        }
    }

    /// Parses and validates the Opus packet occupying all of `bytes`.
    public init(parsing bytes: [UInt8]) throws(OpusPacketError) {
        self = try withRawBytes(bytes) { (raw) throws(OpusPacketError) in try OpusPacketLayout(parsing: raw) }
    }

    /// Parses and validates the Opus packet occupying all of `bytes` (ranges relative to the slice start).
    public init(parsing bytes: ArraySlice<UInt8>) throws(OpusPacketError) {
        self = try withRawBytes(bytes) { (raw) throws(OpusPacketError) in try OpusPacketLayout(parsing: raw) }
    }
}
