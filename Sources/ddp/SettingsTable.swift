// The one table of a run's settings: a row per TOML key (the flag's name without "--") with the
// TrainConfig field it sets, how the parsed flag sets it (TrainingOptions.settings and
// Train.settings are this table applied) and how config.toml writes it back. config.toml is
// written from the run's TrainConfig through it, every setting with its value (defaults too, so
// an old file still repeats its run if a default changes); study files take "none" for the
// optional ones; `sweep --resume` finds the field a flag sets here. A test runs
// `ddp train --experimental-dump-help` and checks every flag of `train` is a row or launch-only.
import Foundation
import Optim
import Training

struct Setting {
    /// How config.toml holds a field.
    enum Written {
        case value(StudyValue)
        /// An optional flag not given (no target, no sharpness, ...): `key = "none"`, which a study
        /// file reads as the flag left out.
        case unset
        /// Not written, with the reason as a comment (hidden widths of a model that is not mlp).
        case skipped(String)
    }

    /// Where the flag's parsed value lives: the flags train, sweep and bench share, or train's own.
    enum Read {
        case shared((TrainingOptions, inout TrainConfig) -> Void)
        case train((Train, inout TrainConfig) -> Void)
    }

    /// The flag's name without "--", and the TOML key.
    let key: String
    /// The TrainConfig field (its last component, as config.json and sweep.json name it).
    let field: String
    /// How the parsed flag sets the field (TrainingOptions.settings, Train.settings).
    let read: Read
    /// How config.toml writes the field.
    let write: (TrainConfig) -> Written

    init(_ key: String, field: String? = nil, read: Read, write: @escaping (TrainConfig) -> Written) {
        (self.key, self.read, self.write) = (key, read, write)
        // The flag's name in camel case unless told otherwise (batch-per-rank: batchPerRank).
        self.field = field ?? key.split(separator: "-").enumerated()
            .map { $0.offset == 0 ? String($0.element) : $0.element.prefix(1).uppercased() + $0.element.dropFirst() }.joined()
    }

    /// A flag whose parsed value is the field's value as it is.
    static func shared<V: StudyValueConvertible>(_ key: String, field: String? = nil, _ option: KeyPath<TrainingOptions, V>,
                                                 _ path: WritableKeyPath<TrainConfig, V>) -> Setting {
        Setting(key, field: field, read: .shared { $1[keyPath: path] = $0[keyPath: option] }, write: { $0[keyPath: path].written })
    }

    static func train<V: StudyValueConvertible>(_ key: String, field: String? = nil, _ option: KeyPath<Train, V>,
                                                _ path: WritableKeyPath<TrainConfig, V>) -> Setting {
        Setting(key, field: field, read: .train { $1[keyPath: path] = $0[keyPath: option] }, write: { $0[keyPath: path].written })
    }
}

/// A field type config.toml can write.
protocol StudyValueConvertible {
    var written: Setting.Written { get }
}

extension Int: StudyValueConvertible { var written: Setting.Written { .value(.int(self)) } }
extension Double: StudyValueConvertible { var written: Setting.Written { .value(.double(self)) } }
extension Bool: StudyValueConvertible { var written: Setting.Written { .value(.bool(self)) } }
extension String: StudyValueConvertible { var written: Setting.Written { .value(.string(self)) } }
extension UInt64: StudyValueConvertible {
    // A seed beyond Int64 as text (TOML integers are 64-bit signed), never rounded through Double.
    var written: Setting.Written { self <= UInt64(Int.max) ? .value(.int(Int(self))) : .value(.string(String(self))) }
}
extension Array: StudyValueConvertible where Element == Double { var written: Setting.Written { .value(.doubles(self)) } }
extension Optional: StudyValueConvertible where Wrapped: StudyValueConvertible { var written: Setting.Written { self?.written ?? .unset } }
extension StudyValueConvertible where Self: RawRepresentable, RawValue == String {
    var written: Setting.Written { .value(.string(rawValue)) }
}
extension LRDecay: StudyValueConvertible {}
extension LRScaling: StudyValueConvertible {}
extension OptimizerKind: StudyValueConvertible {}
extension NaNPolicy: StudyValueConvertible {}

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

extension TrainConfig {
    /// The defaults of every setting: the flags' defaults are these (one place for each).
    static let defaults = TrainConfig()
}

enum SettingsTable {
    /// Every setting of `ddp train`, in the order config.toml lists them and flags are read (budget
    /// after epochs and steps, as it overrides them). Adding a setting: its TrainConfig field, its
    /// @Option (default taken from TrainConfig.defaults) and one row here; a test fails without the row.
    nonisolated(unsafe) static let all: [Setting] = [
        .shared("data", \.data, \.data),
        .shared("data-seed", \.dataSeed, \.dataSeed),
        Setting("augment", read: .shared { $1.augment = $0.augment?.isNone == false ? $0.augment : nil },
                write: { .value(.string($0.augment?.description ?? "none")) }),
        .shared("model", \.model, \.model),
        Setting("hidden", read: .shared { $1.hidden = $0.hidden ?? $1.hidden },
                write: { $0.model == "mlp" ? .value(.ints($0.hidden)) : .skipped("only --model mlp has hidden widths") }),
        .shared("batch-per-rank", \.batchPerRank, \.batchPerRank),
        .train("accumulate", \.accumulate, \.accumulate),
        .train("global-batch", \.globalBatch, \.globalBatch),
        Setting("ghost-batch", read: .shared { $1.ghostBatch = $0.ghostBatch.first }, write: { $0.ghostBatch.written }),
        Setting("sync", read: .shared { $1.sync = try? LocalSync.parse($0.sync) }, write: { .value(.string($0.sync?.description ?? "sync")) }),
        .train("epochs", \.epochs, \.epochs),
        Setting("steps", field: "maxSteps", read: .train { $1.maxSteps = $0.steps }, write: { _ in .skipped("in budget") }),
        // Steps, regime adaptation and plateau stopping are all in `budget` (steps = N is budget = "steps:N").
        Setting("budget", read: .train { t, c in if let text = t.budget, let budget = try? Budget(text) { budget.apply(to: &c) } },
                write: { .value(.string(budget(of: $0).description)) }),
        .train("seed", \.seed, \.seed),
        .shared("optimizer", \.optimizer, \.optimizer),
        Setting("lr", field: "learningRate", read: .shared { $1.learningRate = $0.lr ?? $0.optimizer.defaultLearningRate },
                write: { $0.learningRate.written }),
        .shared("reference-batch", \.referenceBatch, \.referenceBatch),
        .train("lr-scaling", \.lrScaling, \.lrScaling),
        .train("warmup-epochs", \.warmupEpochs, \.warmupEpochs),
        .train("warmup-start-lr", field: "warmupStartRate", \.warmupStartLr, \.warmupStartRate),
        .shared("decay", \.decay, \.decay),
        .shared("decay-epochs", \.decayEpochs, \.decayEpochs),
        .shared("momentum", \.momentum, \.optim.momentum),
        .shared("nesterov", \.nesterov, \.optim.nesterov),
        .shared("weight-decay", \.weightDecay, \.optim.weightDecay),
        .shared("decay-all", \.decayAll, \.optim.decayAll),
        .shared("beta1", \.beta1, \.optim.beta1),
        .shared("beta2", \.beta2, \.optim.beta2),
        .shared("eps", field: "epsilon", \.eps, \.optim.epsilon),
        .shared("trust-coefficient", \.trustCoefficient, \.optim.trustCoefficient),
        .shared("eval-batch", \.evalBatch, \.evalBatch),
        .shared("evals-per-epoch", \.evalsPerEpoch, \.evalsPerEpoch),
        .shared("target", \.target, \.target),
        .shared("noise-scale", \.noiseScale, \.noiseScale),
        .shared("sharpness", \.sharpness, \.sharpness),
        .shared("sharpness-subspace", \.sharpnessSubspace, \.sharpnessSubspace),
        .shared("sharpness-samples", \.sharpnessSamples, \.sharpnessSamples),
        .shared("sharpness-steps", \.sharpnessSteps, \.sharpnessSteps),
        .shared("divergence-factor", \.divergenceFactor, \.divergenceFactor),
        .shared("on-nan", field: "onNaN", \.onNan, \.onNaN),
        Setting("trace-steps", read: .shared { $1.traceSteps = $0.traceWindow },
                write: { .value(.string($0.traceSteps.map(traceText) ?? "none")) }),
        .shared("checkpoint-every", \.checkpointEvery, \.checkpointEvery),
        .shared("overlap", \.overlap, \.overlap),
        // "none": the default (TrainConfig.defaultBucketKB), as the run recorded it; buckets change no result.
        .shared("bucket-kb", field: "bucketKB", \.bucketKb, \.bucketKB),
        .shared("tensorboard", \.tensorboard, \.tensorboard),
    ]

    /// The settings the shared flags give (`TrainingOptions.settings`), or with train's own too.
    static func settings(_ options: TrainingOptions, train: Train? = nil) -> TrainConfig {
        var c = TrainConfig()
        for setting in all {
            switch setting.read {
            case .shared(let read): read(options, &c)
            case .train(let read): if let train { read(train, &c) }
            }
        }
        return c
    }

    /// --trace-steps' text for a window ("1:20").
    static func traceText(_ window: ClosedRange<Int>) -> String { "\(window.lowerBound):\(window.upperBound)" }

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
