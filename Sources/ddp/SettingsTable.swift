// The one table of a run's settings: each TOML key (the flag's name without "--") beside the
// TrainConfig field it sets and how config.toml writes that field back. config.toml is written
// from the run's TrainConfig through this table, every setting with its value (defaults too, so
// an old file still repeats its run if a default changes), and study files are read through it
// (which keys take "none", which true/false flags have no --no- form). A test runs
// `ddp train --experimental-dump-help` and checks every flag of `train` is here or launch-only.
import Foundation
import Training

struct Setting: Sendable {
    /// How config.toml holds a field.
    enum Written {
        case value(StudyValue)
        /// An optional flag not given (no target, no sharpness, ...): `key = "none"`, which a study
        /// file reads as the flag left out.
        case unset
        /// Not written, with the reason as a comment (hidden widths of a model that is not mlp).
        case skipped(String)
    }

    /// The flag's name without "--", and the TOML key.
    let key: String
    /// The TrainConfig field, as config.json names it ("learningRate", "optim.epsilon").
    let field: String
    /// `Bool` flags: whether `--no-KEY` exists (false: `key = false` leaves the flag out).
    let inversion: Bool
    let write: @Sendable (TrainConfig) -> Written

    init(_ key: String, _ field: String, inversion: Bool = false, _ write: @escaping @Sendable (TrainConfig) -> Written) {
        (self.key, self.field, self.inversion, self.write) = (key, field, inversion, write)
    }

    /// Keys whose "none" means the flag is left out (nil in TrainConfig).
    var acceptsNone: Bool { SettingsTable.unsetKeys.contains(key) }
}

/// A TOML value as config.toml writes it.
enum StudyValue: Sendable {
    case int(Int), double(Double), bool(Bool), string(String), doubles([Double]), ints([Int])

    var toml: String {
        switch self {
        case .int(let n): return String(n)
        case .double(let x): return "\(x)"  // Swift's shortest form that reads back to the same Double (valid TOML)
        case .bool(let b): return b ? "true" : "false"
        case .string(let s): return StudyValue.quoted(s)
        case .doubles(let xs): return "[" + xs.map { "\($0)" }.joined(separator: ", ") + "]"
        case .ints(let ns): return "[" + ns.map(String.init).joined(separator: ", ") + "]"
        }
    }

    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += String(format: "\\u%04X", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

enum SettingsTable {
    private typealias W = Setting.Written
    private static func v(_ x: Int) -> W { .value(.int(x)) }
    private static func v(_ x: Double) -> W { .value(.double(x)) }
    private static func v(_ x: Bool) -> W { .value(.bool(x)) }
    private static func v(_ x: String) -> W { .value(.string(x)) }
    private static func v<T>(_ x: T?, _ value: (T) -> W) -> W { x.map(value) ?? .unset }

    /// Every setting of `ddp train`, in the order config.toml lists them.
    static let all: [Setting] = [
        Setting("data", "data") { v($0.data) },
        Setting("augment", "augment") { v($0.augment?.description ?? "none") },
        Setting("model", "model") { v($0.model) },
        Setting("hidden", "hidden") { $0.model == "mlp" ? .value(.ints($0.hidden)) : .skipped("only --model mlp has hidden widths") },
        Setting("batch-per-rank", "batchPerRank") { v($0.batchPerRank) },
        Setting("accumulate", "accumulate") { v($0.accumulate) },
        Setting("global-batch", "globalBatch") { v($0.globalBatch) { v($0) } },
        Setting("ghost-batch", "ghostBatch") { v($0.ghostBatch) { v($0) } },
        Setting("sync", "sync") { v($0.sync?.description ?? "sync") },
        Setting("epochs", "epochs") { v($0.epochs) },
        // Steps, regime adaptation and plateau stopping: all in `budget` (steps = N is budget = "steps:N").
        Setting("budget", "maxSteps,regimeEpochs,plateauPatience") { v(budget(of: $0).description) },
        Setting("seed", "seed") { $0.seed <= UInt64(Int.max) ? v(Int($0.seed)) : v(String($0.seed)) },
        Setting("optimizer", "optimizer") { v($0.optimizer.rawValue) },
        Setting("lr", "learningRate") { v($0.learningRate) },
        Setting("reference-batch", "referenceBatch") { v($0.referenceBatch) },
        Setting("lr-scaling", "lrScaling") { v($0.lrScaling.rawValue) },
        Setting("warmup-epochs", "warmupEpochs") { v($0.warmupEpochs) },
        Setting("warmup-start-lr", "warmupStartRate") { v($0.warmupStartRate) { v($0) } },
        Setting("decay", "decay") { v($0.decay.rawValue) },
        Setting("decay-epochs", "decayEpochs") { .value(.doubles($0.decayEpochs)) },
        Setting("momentum", "optim.momentum") { v($0.optim.momentum) },
        Setting("nesterov", "optim.nesterov") { v($0.optim.nesterov) },
        Setting("weight-decay", "optim.weightDecay") { v($0.optim.weightDecay) },
        Setting("decay-all", "optim.decayAll") { v($0.optim.decayAll) },
        Setting("beta1", "optim.beta1") { v($0.optim.beta1) },
        Setting("beta2", "optim.beta2") { v($0.optim.beta2) },
        Setting("eps", "optim.epsilon") { v($0.optim.epsilon) },
        Setting("trust-coefficient", "optim.trustCoefficient") { v($0.optim.trustCoefficient) },
        Setting("eval-batch", "evalBatch") { v($0.evalBatch) },
        Setting("evals-per-epoch", "evalsPerEpoch") { v($0.evalsPerEpoch) },
        Setting("target", "target") { v($0.target) { v($0) } },
        Setting("noise-scale", "noiseScale", inversion: true) { v($0.noiseScale) },
        Setting("sharpness", "sharpness") { v($0.sharpness) { v($0) } },
        Setting("sharpness-subspace", "sharpnessSubspace") { v($0.sharpnessSubspace) { v($0) } },
        Setting("sharpness-samples", "sharpnessSamples") { v($0.sharpnessSamples) },
        Setting("sharpness-steps", "sharpnessSteps") { v($0.sharpnessSteps) },
        Setting("divergence-factor", "divergenceFactor") { v($0.divergenceFactor) },
        Setting("on-nan", "onNaN") { v($0.onNaN.rawValue) },
        Setting("trace-steps", "traceSteps") { v($0.traceSteps.map { "\($0.lowerBound):\($0.upperBound)" } ?? "none") },
        Setting("checkpoint-every", "checkpointEvery") { v($0.checkpointEvery) },
        Setting("overlap", "overlap", inversion: true) { v($0.overlap) },
        Setting("bucket-kb", "bucketKB") { v($0.bucketKB ?? TrainConfig.defaultBucketKB) },
        Setting("tensorboard", "tensorboard", inversion: true) { v($0.tensorboard) },
    ]

    /// `train` flags that are not settings of the run: where it goes and how this launch runs.
    static let launchOnly: Set<String> = ["config", "run-dir", "resume", "auto-resume", "blas-threads", "collective-timeout", "progress", "no-progress"]

    /// Flags read by `train` that config.toml writes under another key.
    static let writtenElsewhere: [String: String] = ["steps": "budget"]

    /// Keys whose value may be "none": optional flags, nil in a TrainConfig() (no target, no sharpness, ...).
    static let unsetKeys = Set(all.filter { if case .unset = $0.write(TrainConfig()) { true } else { false } }.map(\.key))

    static func setting(_ key: String) -> Setting? { all.first { $0.key == key } }

    /// The budget a TrainConfig trains under (Budget.apply's inverse).
    static func budget(of c: TrainConfig) -> Budget {
        if let steps = c.maxSteps { return .steps(steps) }
        if let regime = c.regimeEpochs { return .regime(regime) }
        if let patience = c.plateauPatience { return .plateau(patience: patience, maxEpochs: c.epochs) }
        return .epochs(c.epochs)
    }

    /// config.toml: every setting of `c`, as a `ddp train` study file.
    static func toml(_ c: TrainConfig, header: String) -> String {
        var lines = [header]
        for setting in all {
            switch setting.write(c) {
            case .value(let value): lines.append("\(setting.key) = \(value.toml)")
            case .unset: lines.append("\(setting.key) = \"none\"")
            case .skipped(let reason): lines.append("# \(setting.key): \(reason)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
