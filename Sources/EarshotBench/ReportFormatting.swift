import Foundation

/// Text for the HTML report: escaping and number formatting. Every string taken from a result goes through
/// `escape`, every number through one of these formatters, so no markup from the result and no "nan" or "inf"
/// reaches the page.
enum ReportFormat {
    /// `text` made safe for HTML and XML text and for double-quoted attribute values. Control characters that
    /// XML 1.0 does not allow (C0 other than tab, line feed, carriage return) become U+FFFD.
    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            case "\t", "\n", "\r": escaped.unicodeScalars.append(scalar)
            case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF:
                escaped.unicodeScalars.append("\u{FFFD}")
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// What the report shows for a figure that was not measured.
    static let missing = "–"

    /// `value` with `decimals` fixed decimals ("12.30"), `missing` when nil or not finite. Never "-0.00".
    static func number(_ value: Double?, decimals: Int) -> String {
        guard let value, value.isFinite else { return missing }
        let text = String(format: "%.\(max(decimals, 0))f", value)
        if text.hasPrefix("-"), text.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) {
            return String(text.dropFirst())
        }
        return text
    }

    /// Milliseconds with two decimals and the unit ("41.27 ms").
    static func ms(_ value: Double?) -> String {
        guard let value, value.isFinite else { return missing }
        return number(value, decimals: 2) + " ms"
    }

    /// A percentage with two decimals ("0.25 %").
    static func percent(_ value: Double?, decimals: Int = 2) -> String {
        guard let value, value.isFinite else { return missing }
        return number(value, decimals: decimals) + " %"
    }

    /// Seconds as given when whole ("30 s"), with one decimal otherwise ("2.5 s").
    static func seconds(_ value: Double) -> String {
        guard value.isFinite else { return missing }
        return number(value, decimals: value == value.rounded() ? 0 : 1) + " s"
    }

    /// An integer with thousands separators ("12,345").
    static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var grouped = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { grouped.append(",") }
            grouped.append(digit)
        }
        return value < 0 ? "-" + grouped : grouped
    }

    /// A coordinate or length for an SVG attribute: one decimal, 0 when not finite (callers keep values finite;
    /// this is the last guard so that no attribute ever reads "nan").
    static func pixels(_ value: Double) -> String {
        value.isFinite ? number(value, decimals: 1) : "0"
    }

    /// The decimals that show a tick step: 0 for 1, 2, 5, 10, …; 1 for 0.5, 0.2, 0.1; 2 for 0.05, ….
    static func decimals(forStep step: Double) -> Int {
        guard step.isFinite, step > 0 else { return 0 }
        return max(0, -Int((log10(step) + 1e-9).rounded(.down)))
    }
}
