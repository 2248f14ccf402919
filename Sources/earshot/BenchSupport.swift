import Earshot
import Foundation

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

enum Stats {
    static func percentile(_ values: [Duration], _ p: Double) -> Duration? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count - 1)).rounded())
        return sorted[max(0, min(sorted.count - 1, rank))]
    }

    static func milliseconds(_ d: Duration?) -> Double? {
        d.map { Double($0.nanosecondsClamped) / 1e6 }
    }

    static func format(_ d: Duration?) -> String {
        milliseconds(d).map { String(format: "%.2f ms", $0) } ?? "–"
    }

    static func format(ms value: Double?, decimals: Int = 2) -> String {
        value.map { String(format: "%.\(decimals)f", $0) } ?? "–"
    }
}

/// One reading of a local process's CPU and resident memory.
struct ProcessSample {
    var atSeconds: Double
    var cpuPercent: Double
    var rssMiB: Double
}

/// Samples a local process's CPU and resident memory (`ProcessFigures`) and turns CPU time into a percentage.
final class ProcessSampler: @unchecked Sendable {
    let pid: Int32
    private var last: (cpu: Double, wall: Date)?
    private let start: Date

    init(pid: Int32, start: Date = Date()) {
        self.pid = pid
        self.start = start
    }

    func reset() { last = ProcessFigures.read(pid: pid).map { ($0.cpuSeconds, Date()) } }

    /// CPU percent since the previous sample (100 = one core), and the resident memory now.
    func sample() -> ProcessSample? {
        guard let figures = ProcessFigures.read(pid: pid) else { return nil }
        let now = Date()
        let rss = figures.residentBytes / 1_048_576
        defer { last = (figures.cpuSeconds, now) }
        guard let last else { return ProcessSample(atSeconds: now.timeIntervalSince(start), cpuPercent: 0, rssMiB: rss) }
        let percent = 100 * (figures.cpuSeconds - last.cpu) / max(0.001, now.timeIntervalSince(last.wall))
        return ProcessSample(atSeconds: now.timeIntervalSince(start), cpuPercent: percent, rssMiB: rss)
    }
}

/// The local process listening on a TCP port, from /proc/net/tcp{,6} and /proc/PID/fd (Linux).
enum LocalListener {
    static func pid(port: Int) -> Int32? {
        var inodes: Set<String> = []
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                // local_address is "ADDR:PORT" in hex; st 0A is LISTEN; the inode is field 9.
                guard fields.count > 9, fields[3] == "0A", let colon = fields[1].lastIndex(of: ":"),
                    Int(fields[1][fields[1].index(after: colon)...], radix: 16) == port
                else { continue }
                inodes.insert(String(fields[9]))
            }
        }
        guard !inodes.isEmpty,
            let processes = try? FileManager.default.contentsOfDirectory(atPath: "/proc")
        else { return nil }
        for entry in processes {
            guard let pid = Int32(entry), let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(entry)/fd")
            else { continue }
            for fd in fds {
                guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry)/fd/\(fd)"),
                    target.hasPrefix("socket:[")
                else { continue }
                if inodes.contains(String(target.dropFirst(8).dropLast())) { return pid }
            }
        }
        return nil
    }
}
