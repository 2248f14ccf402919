import EarshotOpus
import Foundation

/// Deterministic test signals and the measurements the codec tests assert on.
enum SignalAnalysis {
    /// A sine of `amplitude` (in Int16 units) per channel; `frequencies[c]` is channel c's tone. Interleaved.
    static func sine(frequencies: [Double], amplitude: Double, sampleRate: Int, samplesPerChannel: Int) -> [Int16] {
        var pcm = [Int16]()
        pcm.reserveCapacity(samplesPerChannel * frequencies.count)
        for n in 0..<samplesPerChannel {
            for frequency in frequencies {
                let value = amplitude * sin(2 * Double.pi * frequency * Double(n) / Double(sampleRate))
                pcm.append(Int16(value.rounded()))
            }
        }
        return pcm
    }

    /// Channel `channel` of interleaved PCM, as Doubles.
    static func channel(_ channel: Int, of pcm: [Int16], channels: Int) -> [Double] {
        stride(from: channel, to: pcm.count, by: channels).map { Double(pcm[$0]) }
    }

    static func rms(_ x: ArraySlice<Double>) -> Double {
        guard !x.isEmpty else { return 0 }
        return (x.reduce(0) { $0 + $1 * $1 } / Double(x.count)).squareRoot()
    }

    static func decibels(_ ratio: Double) -> Double { 20 * log10(ratio) }

    /// Frequency from upward zero crossings, located by linear interpolation between samples: (crossings - 1)
    /// periods between the first and the last crossing.
    static func zeroCrossingFrequency(_ x: ArraySlice<Double>, sampleRate: Int) -> Double {
        var crossings: [Double] = []
        var previous = x.startIndex
        for i in x.indices.dropFirst() {
            if x[previous] < 0, x[i] >= 0 {
                let fraction = -x[previous] / (x[i] - x[previous])
                crossings.append(Double(previous - x.startIndex) + fraction)
            }
            previous = i
        }
        guard let first = crossings.first, let last = crossings.last, crossings.count > 1 else { return 0 }
        return Double(crossings.count - 1) * Double(sampleRate) / (last - first)
    }

    /// Power at `frequency` by the Goertzel algorithm over a Hann-windowed block (windowing keeps leakage from the
    /// tone out of the neighbouring frequencies we compare against).
    static func goertzelPower(_ x: ArraySlice<Double>, frequency: Double, sampleRate: Int) -> Double {
        let n = x.count
        let coefficient = 2 * cos(2 * Double.pi * frequency / Double(sampleRate))
        var s1 = 0.0
        var s2 = 0.0
        for (k, sample) in x.enumerated() {
            let window = 0.5 - 0.5 * cos(2 * Double.pi * Double(k) / Double(n - 1))
            let s0 = sample * window + coefficient * s1 - s2
            s2 = s1
            s1 = s0
        }
        return s1 * s1 + s2 * s2 - coefficient * s1 * s2
    }

    /// How far the tone stands above its neighbours, in dB: power at `frequency` over the strongest of the powers at
    /// the frequencies a musical fifth below and above it (×2/3, ×3/2).
    static func toneProminence(_ x: ArraySlice<Double>, frequency: Double, sampleRate: Int) -> Double {
        let tone = goertzelPower(x, frequency: frequency, sampleRate: sampleRate)
        let neighbours = [frequency * 2 / 3, frequency * 3 / 2].map {
            goertzelPower(x, frequency: $0, sampleRate: sampleRate)
        }
        return 10 * log10(tone / max(neighbours.max() ?? 0, 1e-9))
    }

    /// Normalised cross-correlation of two equally long blocks (1 = same shape).
    static func correlation(_ a: ArraySlice<Double>, _ b: ArraySlice<Double>) -> Double {
        let dot = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
        let energy = (a.reduce(0) { $0 + $1 * $1 } * b.reduce(0) { $0 + $1 * $1 }).squareRoot()
        return energy > 0 ? dot / energy : 0
    }

    /// Encodes `pcm` frame by frame and returns the packets.
    static func encodeFrames(_ pcm: [Int16], with encoder: OpusEncoder) throws -> [[UInt8]] {
        let frame = encoder.configuration.samplesPerFrame
        return try stride(from: 0, to: pcm.count - frame + 1, by: frame).map {
            try encoder.encode(Array(pcm[$0..<($0 + frame)]))
        }
    }

    /// Decodes each packet in order and concatenates the PCM.
    static func decodeAll(_ packets: [[UInt8]], with decoder: OpusDecoder) throws -> [Int16] {
        try packets.flatMap { try decoder.decode($0) }
    }
}
