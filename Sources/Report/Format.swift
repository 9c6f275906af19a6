// Numbers as text: SVG coordinates (two decimals, parsed back by the tests), table cells and
// tick labels, and escaping for HTML/XML text and attributes.
import Foundation

enum Format {
    /// An SVG coordinate: two decimals, "-0.00" never.
    static func coordinate(_ value: Double) -> String {
        let text = String(format: "%.2f", value)
        return text == "-0.00" ? "0.00" : text
    }

    /// A value for a table or a label: integers plainly, else four significant digits.
    static func number(_ value: Double) -> String {
        if !value.isFinite { return value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf") }
        if value == value.rounded(), abs(value) < 1e15 { return String(format: "%.0f", value) }
        if abs(value) >= 1000 { return String(format: "%.1f", value) }
        return String(format: "%.4g", value)
    }

    /// A value exactly as a data attribute: the shortest text that reads back as the same Double.
    static func exact(_ value: Double) -> String {
        "\(value)"
    }

    /// Text safe inside an element or a double-quoted attribute.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
