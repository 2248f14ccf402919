import CoreMetrics
import Foundation
public import Prometheus

/// The relay's metrics through swift-metrics, exported by `GET /metrics` in Prometheus text format.
///
/// Per-hop histograms are recorded as values come (one observation per packet or frame). Totals that the sessions
/// already count (packets, bytes, drops by reason, jitter-buffer figures) are published as deltas when metrics
/// are collected: `RelayEngine.publishMetrics()` adds up the live sessions and the ended ones and increments each
/// counter by what changed since the last collection, so the packet path pays nothing for them.
public final class RelayMetrics: Sendable {
    /// The registry `GET /metrics` emits.
    public let registry: PrometheusCollectorRegistry
    private let hops: [CoreMetrics.Timer]
    let sessions: CoreMetrics.Gauge
    let factory: any MetricsFactory

    /// Histogram buckets for the hops: from 20 µs (a packet's processing) to 2.5 s (a model's turnaround).
    public static let hopBuckets: [Duration] = [
        .microseconds(20), .microseconds(50), .microseconds(100), .microseconds(200), .microseconds(500),
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(20),
        .milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(500), .seconds(1),
        .milliseconds(2500),
    ]
    static let hopLabel = "earshot_hop_duration_seconds"

    /// Metrics into a registry of their own (the default), or `registry` if given.
    public convenience init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[Self.hopLabel] = Self.hopBuckets
        self.init(registry: registry, factory: factory)
    }

    init(registry: PrometheusCollectorRegistry, factory: any MetricsFactory) {
        self.registry = registry
        self.factory = factory
        hops = RelayHop.allCases.map { hop in
            CoreMetrics.Timer(label: Self.hopLabel, dimensions: [("hop", hop.rawValue)], factory: factory)
        }
        sessions = CoreMetrics.Gauge(label: "earshot_sessions", factory: factory)
    }

    func record(_ hop: RelayHop, _ duration: Duration) {
        hops[hop.index].recordNanoseconds(duration.nanosecondsClamped)
    }

    /// The text `GET /metrics` serves.
    public func exposition() -> String {
        registry.emitToString()
    }
}

/// Cumulative totals over the relay's life, published to counters as deltas (`RelayEngine.publishMetrics`).
struct RelayTotals: Equatable {
    var integers: [String: Int] = [:]
    var seconds: [String: Double] = [:]

    static func += (lhs: inout RelayTotals, rhs: RelayTotals) {
        lhs.integers.merge(rhs.integers, uniquingKeysWith: +)
        lhs.seconds.merge(rhs.seconds, uniquingKeysWith: +)
    }
}

/// Turns cumulative totals into counter increments; owns the counters it made.
final class CounterPublisher {
    private var counters: [String: CoreMetrics.Counter] = [:]
    private var floatingCounters: [String: CoreMetrics.FloatingPointCounter] = [:]
    private var published = RelayTotals()
    private let factory: any MetricsFactory

    init(factory: any MetricsFactory) {
        self.factory = factory
    }

    /// Keys are `name` or `name{label="value"}` with one label.
    func publish(_ totals: RelayTotals) {
        // A counter is created the first time its key is seen, at zero if need be, so that every series exists.
        for (key, value) in totals.integers {
            let delta = value - (published.integers[key] ?? 0)
            let counter = counter(key)
            guard delta > 0 else { continue }
            counter.increment(by: Int64(delta))
            published.integers[key] = value
        }
        for (key, value) in totals.seconds {
            let delta = value - (published.seconds[key] ?? 0)
            let counter = floatingCounter(key)
            guard delta > 0 else { continue }
            counter.increment(by: delta)
            published.seconds[key] = value
        }
    }

    private func counter(_ key: String) -> CoreMetrics.Counter {
        if let counter = counters[key] { return counter }
        let (label, dimensions) = Self.split(key)
        let counter = CoreMetrics.Counter(label: label, dimensions: dimensions, factory: factory)
        counters[key] = counter
        return counter
    }

    private func floatingCounter(_ key: String) -> CoreMetrics.FloatingPointCounter {
        if let counter = floatingCounters[key] { return counter }
        let (label, dimensions) = Self.split(key)
        let counter = CoreMetrics.FloatingPointCounter(label: label, dimensions: dimensions, factory: factory)
        floatingCounters[key] = counter
        return counter
    }

    /// `name{label="value"}` → (name, [(label, value)]).
    static func split(_ key: String) -> (String, [(String, String)]) {
        guard let open = key.firstIndex(of: "{"), key.hasSuffix("}"),
            let equals = key[open...].firstIndex(of: "=")
        else { return (key, []) }
        let name = String(key[..<open])
        let label = String(key[key.index(after: open)..<equals])
        let value = key[key.index(after: equals)..<key.index(before: key.endIndex)].trimmingCharacters(
            in: CharacterSet(charactersIn: "\""))
        return (name, [(label, value)])
    }
}

/// Gauges for the process figures.
final class ProcessGauges {
    private let resident: CoreMetrics.Gauge
    private let virtual: CoreMetrics.Gauge
    private let descriptors: CoreMetrics.Gauge
    private let start: CoreMetrics.Gauge

    init(factory: any MetricsFactory) {
        resident = CoreMetrics.Gauge(label: "process_resident_memory_bytes", factory: factory)
        virtual = CoreMetrics.Gauge(label: "process_virtual_memory_bytes", factory: factory)
        descriptors = CoreMetrics.Gauge(label: "process_open_fds", factory: factory)
        start = CoreMetrics.Gauge(label: "process_start_time_seconds", factory: factory)
    }

    func record(_ figures: ProcessFigures) {
        resident.record(figures.residentBytes)
        virtual.record(figures.virtualBytes)
        descriptors.record(figures.openFileDescriptors)
        start.record(figures.startTimeSeconds)
    }
}

/// A process's CPU time, memory and file descriptors from /proc (Linux): the relay's own (`process_cpu_seconds_total`,
/// `process_resident_memory_bytes`, … as the Prometheus client libraries name them), or a local relay's for
/// `earshot bench`.
public struct ProcessFigures: Sendable {
    public var cpuSeconds: Double
    public var residentBytes: Double
    public var virtualBytes: Double
    public var openFileDescriptors: Int
    public var startTimeSeconds: Double

    /// The figures of process `pid`, or of this process; nil when /proc does not have them.
    public static func read(pid: Int32? = nil) -> ProcessFigures? {
        let directory = pid.map { "/proc/\($0)" } ?? "/proc/self"
        guard let stat = try? String(contentsOfFile: "\(directory)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name, from `state` (field 3 in proc(5)) on.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        guard fields.count > 21, let user = Double(fields[11]), let system = Double(fields[12]),
            let start = Double(fields[19]), let virtual = Double(fields[20]), let resident = Double(fields[21])
        else { return nil }
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "\(directory)/fd").count) ?? 0
        return ProcessFigures(
            cpuSeconds: (user + system) / ticks, residentBytes: resident * pageSize, virtualBytes: virtual,
            openFileDescriptors: descriptors, startTimeSeconds: Self.bootTime() + start / ticks)
    }

    /// Seconds since the epoch at boot (`btime` in /proc/stat).
    private static func bootTime() -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return 0 }
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        return 0
    }
}
