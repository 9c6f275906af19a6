// A resumed run or sweep takes every setting from what it stored (the checkpoint, sweep.json); a
// flag given on the resuming command line that would change one is named and refused rather than
// silently ignored. The same flags again (a script that adds --resume) and launch-only flags pass.
import Foundation

enum ResumeFlags {
    /// Flags that change how this launch runs, not what the run or sweep computes.
    static let launchOnly: Set<String> = ["resume", "blas-threads", "collective-timeout", "progress", "no-progress"]

    /// The long flags of a command line, without dashes or values ("--lr=0.1" -> "lr"), in order.
    static func given(_ arguments: [String]) -> [String] {
        var flags: [String] = []
        for argument in arguments {
            if argument == "--" { break }
            guard argument.hasPrefix("--") else { continue }
            let name = String(argument.dropFirst(2).prefix { $0 != "=" })
            if !flags.contains(name) { flags.append(name) }
        }
        return flags
    }

    /// Settings by field name, each as JSON text; a later value's fields win over an earlier one's.
    static func fields(_ values: [any Encodable]) throws -> [String: String] {
        var all: [String: Any] = [:]
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        for value in values {
            let members = try JSONSerialization.jsonObject(with: encoder.encode(value)) as? [String: Any] ?? [:]
            all.merge(members) { _, later in later }
        }
        return try all.mapValues {
            String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .fragmentsAllowed]), as: UTF8.self)
        }
    }

    /// The field a flag sets: the command's own exceptions (`renamed`), else SettingsTable's field
    /// for the setting (--no-X sets X's), else the camel-cased name.
    static func field(of flag: String, renamed: [String: String] = [:]) -> String? {
        if let name = renamed[flag] { return name }
        let name = flag.hasPrefix("no-") ? String(flag.dropFirst(3)) : flag
        if let setting = SettingsTable.setting(name) { return setting.field }
        let words = name.split(separator: "-")
        guard let first = words.first else { return nil }
        return String(first) + words.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    /// The given flags (as `--name`) whose setting differs between `now` (this command line) and
    /// `then` (what was stored); a flag with no field to compare counts as differing.
    /// `special`: the command's own answer for a flag (true: differs), nil to compare fields.
    static func contradictions(given: [String], now: [String: String], then: [String: String], renamed: [String: String] = [:],
                               special: (String) -> Bool? = { _ in nil }) -> [String] {
        given.filter { flag in
            if launchOnly.contains(flag) { return false }
            if let answer = special(flag) { return answer }
            guard let key = field(of: flag, renamed: renamed), let a = now[key], let b = then[key] else { return true }
            return a != b
        }.map { "--" + $0 }
    }
}
