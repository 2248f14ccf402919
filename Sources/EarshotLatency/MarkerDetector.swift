/// Finds `LatencyMarker`s in a stream of 48 kHz PCM, sans-IO: feed samples with `process(_:at:)` (the position of
/// their first sample in the stream's own numbering; a jump in position is a gap), collect detections with
/// `poll()`. A detection is the fractional stream position of a marker's first sample.
///
/// Matched filter: the normalised cross-correlation of the last 960 samples with the marker, computed on a grid of
/// every `coarseStep` samples. A grid value above `threshold` opens a candidate; the candidate's best grid point,
/// once 10 ms have passed without a better one, is refined at every sample within ±`coarseStep` and between samples
/// by a parabola through the peak and its neighbours. Detections are at least `minimumSeparation` apart.
///
/// Cost: 960 multiply-adds per grid point, so 48 000 / `coarseStep` × 960 per second of audio (5.8 M at the default
/// step of 8), plus the refinement per marker. Memory: a fixed ring of 2048 samples.
public struct MarkerDetector: Sendable {
    public struct Detection: Hashable, Sendable {
        /// Stream position of the marker's first sample (fractional).
        public var position: Double
        /// The normalised correlation at the peak, 0...1.
        public var correlation: Float
    }

    public let threshold: Float
    public let coarseStep: Int
    public let minimumSeparation: Int

    private let template = LatencyMarker.template
    private let templateNorm: Float
    private static let ringSize = 2048
    /// The last `ringSize` samples, each written twice (at i and i + ringSize) so that every window is contiguous
    /// and the correlation runs on SIMD vectors.
    private var ring = [Float](repeating: 0, count: 2 * MarkerDetector.ringSize)
    /// Stream position of the next sample expected.
    private var next: Int?
    /// Stream position where the current run of contiguous samples began (a window must lie inside it).
    private var runStart = 0
    private var candidate: (end: Int, value: Float)?
    private var lastDetection = Int.min / 2
    private var detections: [Detection] = []
    public private(set) var samplesProcessed = 0

    public init(threshold: Float = 0.3, coarseStep: Int = 8, minimumSeparation: Int = 4800) {
        self.threshold = threshold
        self.coarseStep = max(1, min(coarseStep, 32))
        self.minimumSeparation = minimumSeparation
        templateNorm = (LatencyMarker.template.reduce(0) { $0 + $1 * $1 }).squareRoot()
    }

    /// Processes samples whose first is at stream `position`.
    public mutating func process(_ samples: [Int16], at position: Int) {
        if next == nil || position != next {
            // A gap (or an overlap): a pending candidate is decided with what is held, and windows restart.
            finishCandidate()
            runStart = position
        }
        var p = position
        for sample in samples {
            let value = Float(sample) / 32768
            ring[p & (Self.ringSize - 1)] = value
            ring[(p & (Self.ringSize - 1)) + Self.ringSize] = value
            next = p + 1
            if p - runStart + 1 >= LatencyMarker.length, p % coarseStep == 0 {
                let value = correlation(endingAt: p)
                if value >= threshold, value > (candidate?.value ?? 0) { candidate = (p, value) }
            }
            if let open = candidate, p - open.end >= 480 { finishCandidate() }
            p += 1
        }
        samplesProcessed += samples.count
    }

    /// Detections found since the last call, in order.
    public mutating func poll() -> [Detection] {
        defer { detections.removeAll(keepingCapacity: true) }
        return detections
    }

    /// The normalised correlation of the window of 960 samples ending at stream position `end` with the marker.
    private func correlation(endingAt end: Int) -> Float {
        let start = (end - LatencyMarker.length + 1) & (Self.ringSize - 1)
        // 960 = 60 vectors of 16; two accumulators each so the additions overlap.
        var dot0 = SIMD16<Float>(), dot1 = SIMD16<Float>()
        var energy0 = SIMD16<Float>(), energy1 = SIMD16<Float>()
        template.withUnsafeBytes { t in
            ring.withUnsafeBytes { r in
                let stride = MemoryLayout<Float>.stride
                var i = 0
                while i < LatencyMarker.length {
                    let x0 = r.loadUnaligned(fromByteOffset: (start + i) * stride, as: SIMD16<Float>.self)
                    let x1 = r.loadUnaligned(fromByteOffset: (start + i + 16) * stride, as: SIMD16<Float>.self)
                    let t0 = t.loadUnaligned(fromByteOffset: i * stride, as: SIMD16<Float>.self)
                    let t1 = t.loadUnaligned(fromByteOffset: (i + 16) * stride, as: SIMD16<Float>.self)
                    dot0 += x0 * t0
                    dot1 += x1 * t1
                    energy0 += x0 * x0
                    energy1 += x1 * x1
                    i += 32
                }
            }
        }
        let dot = (dot0 + dot1).sum()
        let energy = (energy0 + energy1).sum()
        guard energy > 1e-9 else { return 0 }
        return dot / (energy.squareRoot() * templateNorm)
    }

    private mutating func finishCandidate() {
        guard let open = candidate, let next else { return }
        candidate = nil
        // Refine at every sample around the best grid point, with windows inside the run the ring still holds.
        let newest = next - 1
        var bestEnd = open.end
        var bestValue = open.value
        var values: [Int: Float] = [open.end: open.value]
        for end in (open.end - coarseStep)...(open.end + coarseStep) where end != open.end {
            let start = end - LatencyMarker.length + 1
            guard end <= newest, start >= runStart, newest - start < Self.ringSize else { continue }
            let value = correlation(endingAt: end)
            values[end] = value
            if value > bestValue {
                bestValue = value
                bestEnd = end
            }
        }
        var offset = 0.0
        if let left = values[bestEnd - 1], let right = values[bestEnd + 1] {
            let denominator = Double(left) - 2 * Double(bestValue) + Double(right)
            if denominator < 0 { offset = 0.5 * (Double(left) - Double(right)) / denominator }
        }
        let start = bestEnd - LatencyMarker.length + 1
        guard start - lastDetection >= minimumSeparation else { return }
        lastDetection = start
        detections.append(Detection(position: Double(start) + offset, correlation: bestValue))
    }

    /// Decides a pending candidate now (at the end of the stream).
    public mutating func flush() { finishCandidate() }
}
