// Study files: `--config FILE.toml` for train, sweep and bench. A key is a flag's name without
// "--" (lr = 0.1, hidden = [256, 128], lr-scaling = "sqrt", nesterov = true, noise-scale = false),
// so every flag, including flags added later, is a key with nothing to keep in step: the file
// becomes arguments in front of the command line's, and ArgumentParser keeps the last value of a
// repeated option, so the command line wins. Each new run folder gets config.toml, the arguments
// that made the run written back as such a file (`ddp train --config RUN/config.toml` repeats it).
import ArgumentParser
import Data
import Foundation
import Training
import TOMLKit

enum StudyFile {
    /// `argv` (after the program name) with `--config FILE` replaced by FILE's arguments, placed
    /// right after the subcommand so that the command line's own flags come later and win.
    static func expand(_ arguments: [String]) throws -> [String] {
        guard let index = arguments.firstIndex(where: { $0 == "--config" || $0.hasPrefix("--config=") }) else { return arguments }
        var rest = arguments
        let path: String
        if arguments[index].hasPrefix("--config=") {
            path = String(arguments[index].dropFirst("--config=".count))
            rest.remove(at: index)
        } else {
            guard index + 1 < arguments.count else { throw ValidationError("--config needs a TOML file") }
            path = arguments[index + 1]
            rest.removeSubrange(index ... index + 1)
        }
        guard rest.firstIndex(where: { $0 == "--config" || $0.hasPrefix("--config=") }) == nil else {
            throw ValidationError("--config may be given once")
        }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ValidationError("--config \(path): cannot read it (\(FileProblem.describe(error, path: path)))")
        }
        let fileArguments = try self.arguments(fromTOML: text, source: path)
        let command = rest.first.map { $0.hasPrefix("-") } == false ? 1 : 0
        return Array(rest.prefix(command)) + fileArguments + rest.dropFirst(command)
    }

    /// Flag arguments from a study file's top-level keys: true -> --key, false -> --no-key,
    /// an array -> --key a,b,c, anything else -> --key value.
    static func arguments(fromTOML text: String, source: String) throws -> [String] {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ValidationError("--config \(source): \(error.description) (line \(error.source.begin.line), column \(error.source.begin.column))")
        }
        var arguments: [String] = []
        for key in table.keys {
            guard key != "config" else { throw ValidationError("--config \(source): a study file cannot name another (key 'config')") }
            let value = table[key]!
            if let flag = value.bool {
                arguments.append(flag ? "--\(key)" : "--no-\(key)")
            } else if let list = value.array {
                arguments += ["--\(key)", try list.map { try scalar($0, key: key, source: source) }.joined(separator: ",")]
            } else {
                arguments += ["--\(key)", try scalar(value, key: key, source: source)]
            }
        }
        return arguments
    }

    static func scalar(_ value: TOMLValueConvertible, key: String, source: String) throws -> String {
        if let int = value.int { return String(int) }
        if let double = value.double { return "\(double)" }  // shortest form that reads back to the same Double
        if let string = value.string { return string }
        throw ValidationError("--config \(source): '\(key)' must be a number, a string, true/false or a list of numbers")
    }

    /// `arguments` (flags and their values, no subcommand) as a study file, without the keys in
    /// `dropping`. A repeated flag keeps its last value, as ArgumentParser does.
    static func toml(_ arguments: [String], dropping: Set<String> = [], header: String) -> String {
        var values: [String: TOMLValueConvertible] = [:]
        var i = 0
        while i < arguments.count {
            var token = arguments[i]
            i += 1
            guard token.hasPrefix("--") else { continue }
            token.removeFirst(2)
            var inline: String?
            if let equals = token.firstIndex(of: "=") {
                inline = String(token[token.index(after: equals)...])
                token = String(token[..<equals])
            }
            // No positional arguments in train, sweep or bench: a value is the next token unless it is a flag.
            if inline == nil, i < arguments.count, !arguments[i].hasPrefix("--") {
                inline = arguments[i]
                i += 1
            }
            if let text = inline {
                values[token] = typed(text)
            } else if token.hasPrefix("no-") {
                values[String(token.dropFirst(3))] = false
            } else {
                values[token] = true
            }
        }
        for key in dropping { values[key] = nil }
        return header + TOMLTable(values).convert() + "\n"
    }

    /// A number where the text is one (so the file reads naturally), a list of numbers for a
    /// comma-separated list of them, else the text itself.
    static func typed(_ text: String) -> TOMLValueConvertible {
        if let int = Int(text) { return int }
        if text.allSatisfy(\.isNumber) { return text }  // a seed beyond Int64: as text, never rounded through Double
        if let double = Double(text), double.isFinite { return double }
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        if parts.count > 1 {
            if parts.allSatisfy({ Int($0) != nil }) { return TOMLArray(parts.map { Int($0)! }) }
            if parts.allSatisfy({ Double($0)?.isFinite == true }) { return TOMLArray(parts.map { Double($0)! }) }
        }
        return text
    }

    /// The header of a run folder's config.toml.
    static func header(_ command: String) -> String {
        "# The flags of this run (ddp \(command)); repeat it with: ddp train --config config.toml --run-dir NEW\n"
    }

    /// Flag names of a command's own options (not those of its option groups): the property names
    /// in ArgumentParser's default spelling (globalBatch -> global-batch).
    static func ownFlags(of command: Any) -> Set<String> {
        Set(Mirror(reflecting: command).children.compactMap { child -> String? in
            guard let label = child.label, !String(describing: type(of: child.value)).hasPrefix("OptionGroup") else { return nil }
            return label.drop { $0 == "_" }.reduce(into: "") { name, c in
                if c.isUppercase { name += "-" + c.lowercased() } else { name.append(c) }
            }
        })
    }
}
