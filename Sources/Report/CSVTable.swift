// A CSV file as a header and rows of cells, read by column name. Plain comma-separated values
// only: no quoting or escapes (the run and sweep files never need them). An empty cell is nil.
import Foundation

public struct CSVTable: Sendable {
    public let header: [String]
    /// rows[i][j] is the cell of row i under header[j]; nil when empty or missing (short row).
    public let rows: [[String?]]
    private let index: [String: Int]

    public init(header: [String], rows: [[String?]]) {
        self.header = header
        self.rows = rows
        var index: [String: Int] = [:]
        for (j, name) in header.enumerated() where index[name] == nil { index[name] = j }
        self.index = index
    }

    /// Parses CSV text: the first non-empty line is the header; blank lines are skipped; "\r\n" is accepted.
    public init(parsing text: String) {
        var text = text
        let lines = text.withUTF8 { CSVTable.split($0) }
        let header = lines.first.map { $0.map { $0 ?? "" } } ?? []
        self.init(header: header, rows: Array(lines.dropFirst()))
    }

    /// Reads `path`; throws `ReportError` when it cannot be read.
    public static func read(_ path: String) throws -> CSVTable {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ReportError("cannot read \(path)")
        }
        return CSVTable(parsing: String(decoding: data, as: UTF8.self))
    }

    public var count: Int { rows.count }

    public func has(_ column: String) -> Bool { index[column] != nil }

    /// The cell of row `row` under `column`, nil when the cell is empty or the column is absent.
    public func cell(_ row: Int, _ column: String) -> String? {
        guard let j = index[column], j < rows[row].count else { return nil }
        return rows[row][j]
    }

    /// The cell as a number, nil when empty, absent or not a number ("nan" and "inf" are numbers).
    public func number(_ row: Int, _ column: String) -> Double? {
        cell(row, column).flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// The cell as a whole number (a rank, a count): nil unless it is an integer Int holds, so a
    /// hand-edited "nan", "1.5" or "1e300" is skipped rather than trapping the conversion.
    public func integer(_ row: Int, _ column: String) -> Int? {
        number(row, column).flatMap { Int(exactly: $0) }
    }

    /// A whole column as numbers (nil where empty or unparsable).
    public func numbers(_ column: String) -> [Double?] {
        rows.indices.map { number($0, column) }
    }

    /// Lines into cells, over the bytes (steps.csv can hold 60,000 rows per run).
    private static func split(_ bytes: UnsafeBufferPointer<UInt8>) -> [[String?]] {
        let comma = UInt8(ascii: ","), newline = UInt8(ascii: "\n"), ret = UInt8(ascii: "\r")
        var lines: [[String?]] = []
        var cells: [String?] = []
        var start = 0
        func cell(_ end: Int) -> String? {
            var stop = end
            if stop > start, bytes[stop - 1] == ret { stop -= 1 }
            return stop > start ? String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<stop]), as: UTF8.self) : nil
        }
        for i in 0..<bytes.count {
            if bytes[i] == comma {
                cells.append(cell(i))
                start = i + 1
            } else if bytes[i] == newline {
                cells.append(cell(i))
                if cells.count > 1 || cells[0] != nil { lines.append(cells) }
                cells = []
                start = i + 1
            }
        }
        if start < bytes.count {
            cells.append(cell(bytes.count))
            if cells.count > 1 || cells[0] != nil { lines.append(cells) }
        } else if !cells.isEmpty {
            cells.append(nil)
            lines.append(cells)
        }
        return lines
    }
}
