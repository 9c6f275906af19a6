// A sweep's grid: global batch x scaling rule x seed, each trained under the same budget
// (epochs, or optimizer steps as in Shallue et al. 2018). Rules name how the base rate moves with
// the batch: none | linear | sqrt, optionally "+warmup" (Goyal et al. 2017), optionally with a
// "lars+" prefix (LARS, You et al. 2017); bare "lars" means lars+linear+warmup.
import Foundation
import Optim

public struct ScalingRule: Codable, Equatable, Sendable, CustomStringConvertible {
    public var scaling: LRScaling
    public var warmup: Bool
    public var lars: Bool

    public init(_ text: String) throws {
        if text == "lars" {
            (scaling, warmup, lars) = (.linear, true, true)
            return
        }
        var parts = text.split(separator: "+").map(String.init)
        lars = parts.first == "lars"
        if lars { parts.removeFirst() }
        warmup = parts.last == "warmup"
        if warmup { parts.removeLast() }
        guard parts.count == 1, let scaling = LRScaling(rawValue: parts[0]) else {
            throw ConfigError("rule '\(text)': expected none|linear|sqrt, optionally +warmup, optionally lars+ first (e.g. sqrt+warmup, lars+linear+warmup)")
        }
        self.scaling = scaling
    }

    public var description: String { (lars ? "lars+" : "") + scaling.rawValue + (warmup ? "+warmup" : "") }
}

public enum Budget: Codable, Equatable, Sendable, CustomStringConvertible {
    case epochs(Int)
    case steps(Int)

    public init(_ text: String) throws {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let n = Int(parts[1]), n >= 1 else {
            throw ConfigError("budget '\(text)': expected epochs:N or steps:N with N >= 1")
        }
        switch parts[0] {
        case "epochs": self = .epochs(n)
        case "steps": self = .steps(n)
        default: throw ConfigError("budget '\(text)': expected epochs:N or steps:N")
        }
    }

    public var description: String {
        switch self {
        case .epochs(let n): return "epochs:\(n)"
        case .steps(let n): return "steps:\(n)"
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
    public var directory: String?

    public init(base: TrainConfig, globalBatches: [Int], rules: [ScalingRule], seeds: [UInt64], budget: Budget,
                warmupEpochs: Double, larsLearningRate: Double, directory: String?) {
        self.base = base
        self.globalBatches = globalBatches
        self.rules = rules
        self.seeds = seeds
        self.budget = budget
        self.warmupEpochs = warmupEpochs
        self.larsLearningRate = larsLearningRate
        self.directory = directory
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

    /// Seed outermost, so a sweep cut short still holds whole grids for its first seeds.
    public func points(in directory: String) -> [Point] {
        var points: [Point] = []
        for seed in seeds {
            for rule in rules {
                for batch in globalBatches {
                    var c = base
                    c.seed = seed
                    c.globalBatch = batch
                    c.accumulate = 1
                    c.lrScaling = rule.scaling
                    c.warmupEpochs = rule.warmup ? warmupEpochs : 0
                    if rule.lars {
                        c.optimizer = .lars
                        c.learningRate = larsLearningRate
                    }
                    switch budget {
                    case .epochs(let n): (c.epochs, c.maxSteps) = (n, nil)
                    case .steps(let n): c.maxSteps = n
                    }
                    let name = String(format: "b%05d-%@-s%llu", batch, rule.description, seed)
                    c.runDir = (directory as NSString).appendingPathComponent(name)
                    points.append(Point(name: name, settings: c))
                }
            }
        }
        return points
    }
}
