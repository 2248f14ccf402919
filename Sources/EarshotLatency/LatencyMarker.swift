#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The audio marker `earshot call` measures round trips with: a 20 ms linear chirp from 500 Hz to 4 kHz at 48 kHz
/// (960 samples) under a Hann window, −6 dBFS at its peak. A chirp is short, wide-band (so its correlation peak is
/// narrow: about a quarter of a millisecond), survives Opus at speech bitrates, and does not look like speech or a
/// tone, so a matched filter finds it again in the returned audio with sub-sample precision and without any help
/// from the relay or the model.
public enum LatencyMarker {
    public static let sampleRate = 48_000
    public static let length = 960
    public static let startFrequency = 500.0
    public static let endFrequency = 4000.0
    public static let peakAmplitude = 16_384.0

    /// The marker's samples as PCM16.
    public static let samples: [Int16] = template.map { Int16((Double($0) * peakAmplitude).rounded()) }

    /// The marker as floats in −1...1 (the matched filter's template).
    public static let template: [Float] = (0..<length).map { n in
        let t = Double(n) / Double(sampleRate)
        let duration = Double(length) / Double(sampleRate)
        let sweep = (endFrequency - startFrequency) / duration
        let phase = 2 * Double.pi * (startFrequency * t + sweep * t * t / 2)
        let window = 0.5 - 0.5 * cos(2 * Double.pi * Double(n) / Double(length - 1))
        return Float(window * sin(phase))
    }

    /// Adds the marker into `pcm` (48 kHz) starting at `offset`, saturating at the PCM16 range; the part beyond
    /// `pcm`'s end is cut.
    public static func mix(into pcm: inout [Int16], at offset: Int, markerStart: Int = 0) {
        var index = max(0, offset)
        var m = markerStart + (index - offset)
        while index < pcm.count, m < length {
            let sum = Int(pcm[index]) + Int(samples[m])
            pcm[index] = Int16(clamping: sum)
            index += 1
            m += 1
        }
    }
}
