// `ddp sweep --resume DIR`: the stored sweep.json is the sweep; a flag given on this command line
// that would change it is named and refused, rather than silently ignored.
import Foundation
import Training

extension SweepCommand {
    /// Flags that change how this launch runs, not what the sweep computes.
    static let launchOnlyFlags: Set<String> = ["resume", "blas-threads", "collective-timeout", "progress", "no-progress"]

    /// The long flags on a command line, without dashes or values ("--lr=0.1" -> "lr").
    static func givenFlags(_ arguments: [String]) -> [String] {
        var flags: [String] = []
        for argument in arguments.dropFirst() {
            if argument == "--" { break }
            guard argument.hasPrefix("--") else { continue }
            let name = String(argument.dropFirst(2).prefix { $0 != "=" })
            if !flags.contains(name) { flags.append(name) }
        }
        return flags
    }

    /// The given flags (as `--name`) whose value differs from `stored`'s, comparing this command's
    /// plan with the stored one field by field in their JSON form.
    func contradictions(with stored: SweepPlan, given: [String]) throws -> [String] {
        let fresh = try plan()
        let (now, then) = (try SweepCommand.fields(fresh), try SweepCommand.fields(stored))
        return given.filter { flag in
            if SweepCommand.launchOnlyFlags.contains(flag) { return false }
            if flag == "out" { return out != stored.directory }
            guard let key = SweepCommand.field(of: flag), let a = now[key], let b = then[key] else { return true }
            return a != b
        }.map { "--" + $0 }
    }

    /// The plan's settings by name, each as JSON text: the grid's own, the base's, the optimizer's.
    static func fields(_ plan: SweepPlan) throws -> [String: String] {
        func members(_ value: some Encodable) throws -> [String: Any] {
            let encoder = JSONEncoder()
            encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            return try JSONSerialization.jsonObject(with: encoder.encode(value)) as? [String: Any] ?? [:]
        }
        var all = try members(plan.base.optim).merging(members(plan.base)) { a, _ in a }
        all.merge(try members(plan)) { _, grid in grid }
        return try all.mapValues {
            String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .fragmentsAllowed]), as: UTF8.self)
        }
    }

    /// The field a flag sets: its camel-cased name, except where the two are spelled differently.
    static func field(of flag: String) -> String? {
        let renamed = ["global-batch": "globalBatches", "lars-lr": "larsLearningRate", "lr": "learningRate", "eps": "epsilon",
                       "on-nan": "onNaN", "no-noise-scale": "noiseScale", "no-overlap": "overlap", "no-nesterov": "nesterov"]
        if let name = renamed[flag] { return name }
        let words = flag.split(separator: "-")
        guard let first = words.first else { return nil }
        return String(first) + words.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }
}
