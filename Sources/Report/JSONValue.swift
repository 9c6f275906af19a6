// summary.json and config.json as a plain JSON tree (Decodable), read by key. The report shows
// what it finds and tolerates what it does not: an absent or null key is nil, never an error.
import Foundation

public enum JSONValue: Decodable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Reads and decodes `path`; throws `ReportError` naming the file.
    public static func read(_ path: String) throws -> JSONValue {
        guard let data = FileManager.default.contents(atPath: path) else { throw ReportError("cannot read \(path)") }
        do {
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw ReportError("\(path) is not valid JSON")
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    public var number: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var array: [JSONValue]? {
        if case .array(let values) = self { return values }
        return nil
    }

    public var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var keys: [String] {
        if case .object(let members) = self { return members.keys.sorted() }
        return []
    }

    /// A short text for a table cell: numbers without a trailing ".0", arrays joined by ", ".
    public var display: String {
        switch self {
        case .null: return ""
        case .bool(let value): return value ? "yes" : "no"
        case .number(let value): return Format.number(value)
        case .string(let value): return value
        case .array(let values): return values.map(\.display).joined(separator: ", ")
        case .object(let members): return members.keys.sorted().map { "\($0): \(members[$0]!.display)" }.joined(separator: ", ")
        }
    }
}
