// A sweep's grid: global batch x scaling rule x seed, each trained under the same budget
// (epochs, or optimizer steps as in Shallue et al. 2018). Rules name how the base rate moves with
// the batch: none | linear | sqrt, optionally "+warmup" (Goyal et al. 2017), optionally with an
// optimizer's prefix ("lars+", "lamb+": OptimizerKind.bareRule says which, and what the bare name
// means). Ghost batch sizes are an optional further axis.
import Foundation
import Optim

public struct ScalingRule: Codable, Equatable, Sendable, CustomStringConvertible {
    public var scaling: LRScaling
    public var warmup: Bool
    /// The optimizer a prefix names ("lars+", "lamb+": OptimizerKind.ruleOptimizers); nil: the sweep's own.
    public var optimizer: OptimizerKind?
    /// Hoffer et al. 2017's remedies as rule parts: "+gb128" (ghost batch 128), "+regime" (regime
    /// adaptation: the epochs budget E becomes regime:E); and "+local8" / "+local8after2" (local SGD).
    public var ghostBatch: Int?
    public var regime: Bool
    public var sync: LocalSync?

    static var grammar: String {
        let prefixes = OptimizerKind.ruleOptimizers.map { $0.rawValue + "+" }
        return "none|linear|sqrt, optionally \(prefixes.joined(separator: " or ")) first, then any of +warmup, +gbN (ghost batch N), "
            + "+regime, +localH or +localHafterE (e.g. sqrt+warmup, lars+linear+warmup, sqrt+gb128+regime)"
    }

    public init(_ text: String) throws {
        (ghostBatch, regime, sync) = (nil, false, nil)
        if let kind = OptimizerKind(rawValue: text), let bare = kind.bareRule {
            (scaling, warmup, optimizer) = (bare.scaling, bare.warmup, kind)
            return
        }
        var parts = text.split(separator: "+", omittingEmptySubsequences: false).map(String.init)
        optimizer = parts.first.flatMap { OptimizerKind(rawValue: $0) }.flatMap { $0.bareRule != nil ? $0 : nil }
        if optimizer != nil { parts.removeFirst() }
        guard let first = parts.first, let scaling = LRScaling(rawValue: first) else {
            throw ConfigError("rule '\(text)': expected \(ScalingRule.grammar)")
        }
        self.scaling = scaling
        warmup = false
        for part in parts.dropFirst() {
            if part == "warmup" && !warmup {
                warmup = true
            } else if part == "regime" && !regime {
                regime = true
            } else if part.hasPrefix("gb"), ghostBatch == nil, let g = Int(part.dropFirst(2)), g >= 1 {
                ghostBatch = g
            } else if part.hasPrefix("local"), sync == nil, let local = ScalingRule.localSync(part.dropFirst(5)) {
                sync = local
            } else {
                throw ConfigError("rule '\(text)': unknown or repeated part '\(part)'; expected \(ScalingRule.grammar)")
            }
        }
    }

    /// "8" or "8after2" (the rule-name form of local:8:2).
    private static func localSync(_ text: Substring) -> LocalSync? {
        let pieces = text.components(separatedBy: "after")
        guard (1...2).contains(pieces.count), let period = Int(pieces[0]), period >= 1 else { return nil }
        guard pieces.count == 2 else { return LocalSync(period: period) }
        guard let after = Int(pieces[1]), after >= 0 else { return nil }
        return LocalSync(period: period, afterEpochs: after)
    }

    enum CodingKeys: String, CodingKey { case scaling, warmup, optimizer, ghostBatch, regime, sync }
    /// How sweep.json named the optimizer before `optimizer`: a Bool per rule optimizer ("lars": true).
    struct LegacyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// sweep.json files written before LAMB, the remedies and `optimizer` existed read with them off.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        scaling = try c.decode(LRScaling.self, forKey: .scaling)
        warmup = try c.decode(Bool.self, forKey: .warmup)
        let legacy = try decoder.container(keyedBy: LegacyKey.self)
        optimizer = try c.decodeIfPresent(OptimizerKind.self, forKey: .optimizer)
            ?? OptimizerKind.ruleOptimizers.first { (try? legacy.decodeIfPresent(Bool.self, forKey: LegacyKey(stringValue: $0.rawValue))) == true }
        ghostBatch = try c.decodeIfPresent(Int.self, forKey: .ghostBatch)
        regime = try c.decodeIfPresent(Bool.self, forKey: .regime) ?? false
        sync = try c.decodeIfPresent(LocalSync.self, forKey: .sync)
    }

    /// The same order as TrainConfig.ruleName, so a rule in results.csv parses back to itself.
    public var description: String {
        var name = (optimizer.map { $0.rawValue + "+" } ?? "") + scaling.rawValue + (warmup ? "+warmup" : "")
        if let ghostBatch { name += "+gb\(ghostBatch)" }
        if regime { name += "+regime" }
        if let sync { name += "+\(sync.ruleSuffix)" }
        return name
    }
}

/// How long each run trains. `regime:E`: as many steps as E epochs take at --reference-batch (Hoffer
/// et al. 2017); `plateau:P[:MAX]`: until the epoch-end training loss has not improved by a relative
/// 1e-3 for P epochs, at most MAX epochs (default 100).
public enum Budget: Codable, Equatable, Sendable, CustomStringConvertible {
    case epochs(Int)
    case steps(Int)
    case regime(Int)
    case plateau(patience: Int, maxEpochs: Int)

    public static let defaultPlateauMaximum = 100
    static let grammar = "epochs:N, steps:N, regime:E or plateau:P[:MAX] with every number >= 1 (steps:0: the initial weights, as --steps 0)"

    public init(_ text: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let numbers = parts.dropFirst().map { Int($0) }
        // steps:0 is --steps 0, so the config.toml of such a run (budget = "steps:0") repeats it.
        let least = parts[0] == "steps" ? 0 : 1
        guard parts.count >= 2, numbers.allSatisfy({ ($0 ?? -1) >= least }) else {
            throw ConfigError("budget '\(text)': expected \(Budget.grammar)")
        }
        let n = numbers.map { $0! }
        switch (parts[0], n.count) {
        case ("epochs", 1): self = .epochs(n[0])
        case ("steps", 1): self = .steps(n[0])
        case ("regime", 1): self = .regime(n[0])
        case ("plateau", 1): self = .plateau(patience: n[0], maxEpochs: Budget.defaultPlateauMaximum)
        case ("plateau", 2): self = .plateau(patience: n[0], maxEpochs: n[1])
        default: throw ConfigError("budget '\(text)': expected \(Budget.grammar)")
        }
    }

    public var description: String {
        switch self {
        case .epochs(let n): return "epochs:\(n)"
        case .steps(let n): return "steps:\(n)"
        case .regime(let n): return "regime:\(n)"
        case .plateau(let p, let max): return "plateau:\(p):\(max)"
        }
    }

    /// The one place a budget becomes settings (train's --budget and every sweep point).
    public func apply(to c: inout TrainConfig) {
        (c.maxSteps, c.regimeEpochs, c.plateauPatience) = (nil, nil, nil)
        switch self {
        case .epochs(let n): c.epochs = n
        case .steps(let n): c.maxSteps = n
        case .regime(let n): (c.epochs, c.regimeEpochs) = (n, n)
        case .plateau(let p, let max): (c.epochs, c.plateauPatience) = (max, p)
        }
    }
}

public struct SweepPlan: Codable, Sendable {
    /// Everything the grid does not vary.
    public var base: TrainConfig
    public var globalBatches: [Int]
    public var rules: [ScalingRule]
    public var seeds: [UInt64]
    public var budget: Budget
    /// Warmup length for "+warmup" rules.
    public var warmupEpochs: Double
    /// Base rate of the LARS rules at the reference batch (LARS rates are per-layer trust ratios times this).
    public var larsLearningRate: Double
    /// Base rate of the LAMB rules at the reference batch (nil in sweeps made before LAMB).
    public var lambLearningRate: Double?
    /// Ghost batch sizes as an axis (Hoffer et al. 2017); nil or empty: the base's one value.
    public var ghostBatches: [Int]?
    /// Run rules after the first only at batches above the smallest: the first rule is the small-batch
    /// baseline, the others remedies for the large batch (Hoffer et al. 2017's Table 1 layout).
    public var remediesAboveSmallestOnly: Bool?
    public var directory: String?

    public init(base: TrainConfig, globalBatches: [Int], rules: [ScalingRule], seeds: [UInt64], budget: Budget,
                warmupEpochs: Double, larsLearningRate: Double, lambLearningRate: Double? = nil, ghostBatches: [Int]? = nil,
                remediesAboveSmallestOnly: Bool? = nil, directory: String?) {
        self.base = base
        self.globalBatches = globalBatches
        self.rules = rules
        self.seeds = seeds
        self.budget = budget
        self.warmupEpochs = warmupEpochs
        self.larsLearningRate = larsLearningRate
        self.lambLearningRate = lambLearningRate
        self.ghostBatches = ghostBatches
        self.remediesAboveSmallestOnly = remediesAboveSmallestOnly
        self.directory = directory
    }

    /// The seed the sweep's one data set is made from (synthetic data): --data-seed, else the first seed.
    public var dataSeed: UInt64 { base.dataSeed ?? seeds[0] }

    /// The base rate of a rule optimizer's rules (--lars-lr, --lamb-lr); the base's for any other.
    public func learningRate(of kind: OptimizerKind) -> Double {
        switch kind {
        case .lars: return larsLearningRate
        case .lamb: return lambLearningRate ?? kind.defaultLearningRate
        case .sgd, .adam, .adamw: return base.learningRate
        }
    }

    public struct Point: Sendable {
        public let name: String
        public let settings: TrainConfig
    }

    /// Throws when two points would be the same run (a repeated batch, rule or seed, or "lars" beside
    /// "lars+linear+warmup"): the second would find the first's folder taken after hours of training.
    public func checkDistinctPoints() throws {
        var seen = Set<String>()
        for point in points(in: "") where !seen.insert(point.name).inserted {
            throw ConfigError("the grid holds \(point.name) twice: --global-batch, --rules and --seeds must not repeat a value")
        }
    }

    /// Throws when a rule would run at no batch: with `remediesAboveSmallestOnly` the rules after the
    /// first run only above the smallest batch, so a sweep of one batch would drop them without a word.
    public func checkEveryRuleRuns() throws {
        guard remediesAboveSmallestOnly == true, rules.count > 1, Set(globalBatches).count < 2 else { return }
        let dropped = rules.dropFirst().map(\.description).joined(separator: ", ")
        throw ConfigError("--remedies-above-smallest-only runs the rules after the first (\(dropped)) only at batches above the smallest, "
                          + "and --global-batch has one batch (\(globalBatches.map(String.init).joined(separator: ","))): give a larger batch too")
    }

    /// Seed outermost, so a sweep cut short still holds whole grids for its first seeds.
    public func points(in directory: String) -> [Point] {
        var points: [Point] = []
        let ghosts: [Int?] = (ghostBatches ?? []).isEmpty ? [base.ghostBatch] : ghostBatches!.map { $0 }
        let smallest = globalBatches.min()
        for seed in seeds {
            for (ruleIndex, rule) in rules.enumerated() {
                for ghost in ghosts {
                    for batch in globalBatches {
                        if remediesAboveSmallestOnly == true && ruleIndex > 0 && batch == smallest { continue }
                        var c = base
                        c.seed = seed
                        c.dataSeed = dataSeed
                        c.globalBatch = batch
                        c.accumulate = 1
                        c.ghostBatch = rule.ghostBatch ?? ghost
                        c.lrScaling = rule.scaling
                        c.warmupEpochs = rule.warmup ? warmupEpochs : 0
                        if let kind = rule.optimizer {
                            c.optimizer = kind
                            c.learningRate = learningRate(of: kind)
                        }
                        c.optim = c.optimizer.keepingOnly(c.optim)
                        budget.apply(to: &c)
                        if rule.regime, case .epochs(let n) = budget { c.regimeEpochs = n }
                        if let sync = rule.sync { c.sync = sync }
                        let name = String(format: "b%05ld-%@-s%llu", batch, c.ruleName, seed)
                        c.runDir = (directory as NSString).appendingPathComponent(name)
                        points.append(Point(name: name, settings: c))
                    }
                }
            }
        }
        return points
    }
}
