/// Numbers and durations spelled the way Go spells them, so template output matches what Go tools
/// printed: fmt's `%v` for float64 (strconv's shortest `'g'`), encoding/json's float64 and
/// time.Duration's String.
enum GoNumberFormat {
    /// fmt.Print of a float64: `22`, `0.5`, `1e+06`, `1.5e-07`.
    static func general(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Inf" : "+Inf" }
        let decimal = Decimal(value.magnitude)
        let sign = value.sign == .minus ? "-" : ""
        // Shortest form: %e when the exponent is below -4 or at least 6 (Go fixes 6 for the shortest form).
        let exponent = decimal.point - 1
        if !decimal.digits.isEmpty, exponent < -4 || exponent >= 6 {
            return sign + decimal.exponential()
        }
        return sign + decimal.fixed()
    }

    /// encoding/json's float64: plain digits between 1e-6 and 1e21, exponent form outside.
    static func json(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        let magnitude = value.magnitude
        let decimal = Decimal(magnitude)
        let sign = value.sign == .minus && magnitude != 0 ? "-" : ""
        if magnitude != 0, magnitude < 1e-6 || magnitude >= 1e21 {
            var text = decimal.exponential()
            // Go trims a leading zero from a negative two-digit exponent: 1e-07 becomes 1e-7.
            if let range = text.range(of: "e-0") { text.replaceSubrange(range, with: "e-") }
            return sign + text
        }
        return sign + decimal.fixed()
    }

    /// time.Duration's String: `0s`, `750µs`, `1.5ms`, `2m0s`, `1h2m3.5s`.
    static func duration(_ nanoseconds: Int64) -> String {
        var value = nanoseconds.magnitude
        var text: String
        if value < 1_000_000_000 {
            if value == 0 { return "0s" }
            let (unit, precision): (String, Int) =
                value < 1_000 ? ("ns", 0) : value < 1_000_000 ? ("µs", 3) : ("ms", 6)
            let fraction = fractionDigits(&value, precision: precision)
            text = "\(value)\(fraction)\(unit)"
        } else {
            let fraction = fractionDigits(&value, precision: 9)
            text = "\(value % 60)\(fraction)s"
            value /= 60
            if value > 0 {
                text = "\(value % 60)m" + text
                value /= 60
                if value > 0 { text = "\(value)h" + text }
            }
        }
        return nanoseconds < 0 ? "-" + text : text
    }

    /// Takes `precision` decimal digits off `value` and returns them as ".ddd" without trailing
    /// zeros (nothing when they are all zero), as Go's fmtFrac does.
    private static func fractionDigits(_ value: inout UInt64, precision: Int) -> String {
        var digits = ""
        var printing = false
        for _ in 0..<precision {
            let digit = value % 10
            printing = printing || digit != 0
            if printing { digits = String(digit) + digits }
            value /= 10
        }
        return printing ? "." + digits : ""
    }

    /// The shortest decimal digits that read back as the same Double, with the decimal point's
    /// place: value = 0.d1d2d3… × 10^point. Swift's description already finds the shortest digits.
    struct Decimal {
        var digits: [Character]
        var point: Int

        init(_ magnitude: Double) {
            guard magnitude != 0 else {
                digits = []
                point = 0
                return
            }
            let text = magnitude.description
            let parts = text.split(separator: "e", maxSplits: 1)
            let exponent = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            let mantissa = parts[0].split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            let whole = Array(mantissa[0])
            let fraction = mantissa.count > 1 ? Array(mantissa[1]) : []
            var all = whole + fraction
            var point = whole.count + exponent
            while all.first == "0" {
                all.removeFirst()
                point -= 1
            }
            while all.last == "0" { all.removeLast() }
            digits = all
            self.point = point
        }

        /// d.ddde±dd, with every digit.
        func exponential() -> String {
            var text = String(digits.first ?? "0")
            if digits.count > 1 { text += "." + String(digits.dropFirst()) }
            let exponent = digits.isEmpty ? 0 : point - 1
            let magnitude = exponent.magnitude
            text += exponent < 0 ? "e-" : "e+"
            text += magnitude < 10 ? "0\(magnitude)" : "\(magnitude)"
            return text
        }

        /// ddd.ddd, with as many fraction digits as needed and no more.
        func fixed() -> String {
            var text = ""
            if point > 0 {
                for index in 0..<point { text.append(index < digits.count ? digits[index] : "0") }
            } else {
                text = "0"
            }
            let fractionCount = max(digits.count - point, 0)
            if fractionCount > 0 {
                text += "."
                for index in 0..<fractionCount {
                    let position = point + index
                    text.append(position >= 0 && position < digits.count ? digits[position] : "0")
                }
            }
            return text
        }
    }
}
