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

/// Reads a local process's CPU time and resident memory from /proc.
final class ProcessSampler: @unchecked Sendable {
    let pid: Int32
    private var last: (cpu: Double, wall: Date)?
    private let start: Date
    private let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))

    init(pid: Int32, start: Date = Date()) {
        self.pid = pid
        self.start = start
    }

    func reset() { last = cpuSeconds().map { ($0, Date()) } }

    func cpuSeconds() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command name: state(0) ... utime is field 14 overall → index 11 here, stime index 12.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / ticks
    }

    func rssMiB() -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let parts = line.split(separator: " ")
            if parts.count >= 2, let kb = Double(parts[1]) { return kb / 1024 }
        }
        return nil
    }

    /// CPU percent since the previous sample (100 = one core), and the resident memory now.
    func sample() -> ProcessSample? {
        guard let cpu = cpuSeconds(), let rss = rssMiB() else { return nil }
        let now = Date()
        defer { last = (cpu, now) }
        guard let last else { return ProcessSample(atSeconds: now.timeIntervalSince(start), cpuPercent: 0, rssMiB: rss) }
        let percent = 100 * (cpu - last.cpu) / max(0.001, now.timeIntervalSince(last.wall))
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
