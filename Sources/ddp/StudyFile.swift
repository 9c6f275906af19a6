// Study files: `--config FILE.toml` for train, sweep and bench. A key is a flag's name without
// "--" (lr = 0.1, hidden = [256, 128], lr-scaling = "sqrt", nesterov = true, noise-scale = false),
// so every flag, including flags added later, is a key: the file becomes arguments in front of the
// command line's, and ArgumentParser keeps the last value of a repeated option, so the command
// line wins. Keys are checked against the command's own flags (as ArgumentParser describes them)
// and read through SettingsTable ("none" for an optional flag not given); an error a key causes
// names the file and the key. Each new run folder gets config.toml, written from the run's
// TrainConfig by SettingsTable (`ddp train --config RUN/config.toml` repeats it).
import ArgumentParser
import Data
import Foundation
import Training
import TOMLKit

struct StudyFile {
    let path: String
    /// The keys the file set.
    let keys: [String]
    /// The long flags given on the command line itself.
    let commandLineFlags: Set<String>

    /// `argv` (after the program name) with `--config FILE` replaced by FILE's arguments, placed
    /// right after the subcommand so that the command line's own flags come later and win.
    static func expand(_ arguments: [String]) throws -> (arguments: [String], file: StudyFile?) {
        guard let index = arguments.firstIndex(where: { $0 == "--config" || $0.hasPrefix("--config=") }) else { return (arguments, nil) }
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
        guard !path.isEmpty else { throw ValidationError("--config is an empty path") }
        guard rest.firstIndex(where: { $0 == "--config" || $0.hasPrefix("--config=") }) == nil else {
            throw ValidationError("--config may be given once")
        }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ValidationError("--config \(path): cannot read it (\(FileProblem.describe(error, path: path)))")
        }
        let command = rest.first.map { $0.hasPrefix("-") } == false ? 1 : 0
        let flags = command == 1 ? longNames(of: rest[0]) : nil
        let (fileArguments, keys) = try self.arguments(fromTOML: text, source: path, flags: flags)
        let given = Set(rest.compactMap { $0.hasPrefix("--") ? String($0.dropFirst(2).prefix { $0 != "=" }) : nil })
        return (Array(rest.prefix(command)) + fileArguments + rest.dropFirst(command),
                StudyFile(path: path, keys: keys, commandLineFlags: given))
    }

    /// The long flag names of the subcommand `name`, each with whether it takes a value (an
    /// option, not a switch), as ArgumentParser describes it (its --experimental-dump-help JSON);
    /// nil for a name that is no subcommand.
    static func longNames(of name: String) -> [String: Bool]? {
        guard let command = DDP.configuration.subcommands.first(where: { $0._commandName == name }),
              let json = try? JSONSerialization.jsonObject(with: Data(command._dumpHelp().utf8)) as? [String: Any],
              let arguments = (json["command"] as? [String: Any])?["arguments"] as? [[String: Any]] else { return nil }
        var names: [String: Bool] = [:]
        for argument in arguments {
            for name in argument["names"] as? [[String: Any]] ?? [] where name["kind"] as? String == "long" {
                if let long = name["name"] as? String { names[long] = argument["kind"] as? String == "option" }
            }
        }
        return names
    }

    /// Flag arguments from a study file's top-level keys: true -> --key, false -> --no-key (or
    /// nothing when the flag has no --no- form: false is its default), "none" for an optional
    /// setting -> nothing, an array -> --key=a,b,c, anything else -> --key=value (one argument, so a
    /// negative number is read as the value, not as a flag; an empty list stays two, as "--key=" is a
    /// missing value). `flags`: the command's long flags and
    /// whether each takes a value, to refuse a key that is none of them or a value of the wrong kind.
    static func arguments(fromTOML text: String, source: String, flags: [String: Bool]?) throws -> (arguments: [String], keys: [String]) {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ValidationError("--config \(source): \(error.description) (line \(error.source.begin.line), column \(error.source.begin.column))")
        }
        var arguments: [String] = []
        var keys: [String] = []
        for key in table.keys {
            guard key != "config" else { throw ValidationError("--config \(source): a study file cannot name another (key 'config')") }
            if let flags, flags[key] == nil {
                throw ValidationError("--config \(source): key '\(key)' is not a flag of this command (no --\(key))")
            }
            keys.append(key)
            let value = table[key]!
            // true/false for an option would drop it or take the next flag as its value; a value for a switch would be a stray argument.
            if let takesValue = flags?[key], takesValue == (value.bool != nil) {
                throw ValidationError("--config \(source): key '\(key)' " + (takesValue ? "takes a value (--\(key) VALUE), not true or false"
                                                                                         : "is a switch: true or false, not \(value)"))
            }
            if let flag = value.bool {
                if flag {
                    arguments.append("--\(key)")
                } else if flags.map({ $0["no-\(key)"] != nil }) ?? true {
                    arguments.append("--no-\(key)")
                }
            } else if value.string == "none", SettingsTable.unsetKeys.contains(key) {
                continue
            } else if let list = value.array {
                let items = try list.map { try scalar($0, key: key, source: source) }.joined(separator: ",")
                arguments += items.isEmpty ? ["--\(key)", items] : ["--\(key)=\(items)"]
            } else {
                arguments.append("--\(key)=" + (try scalar(value, key: key, source: source)))
            }
        }
        return (arguments, keys)
    }

    static func scalar(_ value: TOMLValueConvertible, key: String, source: String) throws -> String {
        if let int = value.int { return String(int) }
        if let double = value.double { return "\(double)" }  // shortest form that reads back to the same Double
        if let string = value.string { return string }
        throw ValidationError("--config \(source): key '\(key)' must be a number, a string, true/false or a list of numbers")
    }

    /// An error message from parsing or validating the expanded command line, as an error naming
    /// this file and the key at fault when the message names a flag that came from the file alone.
    func attribute(message: String) -> ValidationError? {
        let fromFile = keys.filter { !commandLineFlags.contains($0) && !commandLineFlags.contains("no-" + $0) }
        let named = fromFile.filter { key in
            ["--\(key)", "--no-\(key)"].contains { flag in
                var search = message[...]
                while let range = search.range(of: flag) {
                    let next = search[range.upperBound...].first
                    if next.map({ !($0.isLetter || $0.isNumber || $0 == "-") }) ?? true { return true }
                    search = search[range.upperBound...]
                }
                return false
            }
        }
        guard let key = named.max(by: { $0.count < $1.count }) else { return nil }
        return ValidationError("--config \(path): key '\(key)': \(message)")
    }

    /// The header of a run folder's config.toml.
    static func header(_ command: String) -> String {
        "# Every setting of this run (ddp \(command)); repeat it with: ddp train --config config.toml --run-dir NEW\n"
            + "# (\"none\": an optional setting not given)"
    }
}
