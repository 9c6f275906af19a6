// Every setting of a training run, as the user gave it (TrainConfig) and as resolved against the
// ranks and the data (ResolvedConfig: global batch, accumulation, steps, schedule). Both go to config.json.
import Data
import Optim

public struct TrainConfig: Codable, Sendable {
    /// A folder of MNIST-format files or CIFAR-10 binary batches, or "synthetic".
    public var data = MNISTFolder.fashionMNIST
    /// Random crop and flip of training batches (`--augment crop:4,flip`); nil: none.
    public var augment: Augmentation?
    /// `mlp`, `cnn`, or a layer spec such as conv32k3-pool2-fc10 (see ModelSpec).
    public var model = "mlp"
    /// Hidden widths of `mlp`.
    public var hidden = [128]
    public var epochs = 5
    /// Hoffer et al. 2017's regime adaptation: train as many steps as this many epochs take at
    /// `referenceBatch` (epochs x B / reference at batch B), with warmup and decay epochs scaled alike.
    public var regimeEpochs: Int?
    /// Stop when the epoch-end training loss has not improved by a relative 1e-3 for this many
    /// epochs (`epochs` is then the maximum): Keskar et al. 2017 train "until the loss ceased to improve".
    public var plateauPatience: Int?
    /// Synchronous SGD (nil) or (post-)local SGD: see LocalSync.
    public var sync: LocalSync?
    /// Stop after this many optimizer steps (overrides `epochs`).
    public var maxSteps: Int?
    /// The largest micro-batch one rank computes at once.
    public var batchPerRank = 32
    public var accumulate = 1
    /// If set, the accumulation is derived from it instead of `accumulate`.
    public var globalBatch: Int?
    /// BatchNorm's training statistics over consecutive groups of this many samples (Hoffer et al.
    /// 2017's ghost batches); nil: the micro-batch per rank. Must divide the micro-batch per rank.
    public var ghostBatch: Int?
    /// Base learning rate, right for `referenceBatch`.
    public var learningRate = 0.01
    public var referenceBatch = 64
    public var lrScaling = LRScaling.none
    public var warmupEpochs = 0.0
    /// The rate at step 0 of warmup; nil means `learningRate` (Goyal et al.: from the base to the scaled rate).
    public var warmupStartRate: Double?
    public var decay = LRDecay.constant
    /// Epochs at which step decay multiplies the rate by 0.1 (default: half and three quarters).
    public var decayEpochs: [Double] = []
    public var optimizer = OptimizerKind.sgd
    public var optim = OptimizerKind.Settings()
    public var seed: UInt64 = 1
    /// The seed synthetic data is made from; nil: `seed`. A sweep makes one data set for all its
    /// seeds (from its first), and its points carry that seed here, so each repeats as a `train`.
    public var dataSeed: UInt64?
    /// Samples per forward pass in evaluation.
    public var evalBatch = 1000
    /// Evaluations (train and test sets) per epoch; more give finer steps-to-target.
    public var evalsPerEpoch = 1
    /// Test accuracy whose first crossing is reported as steps-to-target (Shallue et al. 2018).
    public var target: Double?
    /// Measure the gradient noise scale every step (two dot products).
    public var noiseScale = true
    /// Keskar et al. (2017) sharpness in a box of this relative size, measured after training.
    public var sharpness: Double?
    public var sharpnessSamples = 10000
    public var sharpnessSteps = 10
    /// Also measure sharpness in a random subspace of this many dimensions (Keskar et al. 2017, Table 4: 100).
    public var sharpnessSubspace: Int?
    /// What a NaN or infinite loss or gradient does: stop the run, or skip that step's update.
    public var onNaN = NaNPolicy.stop
    /// Optimizer steps (1-based, inclusive) whose phases go to trace.json; nil: no trace.
    public var traceSteps: ClosedRange<Int>? = 1...20
    /// Also checkpoint every this many steps (0: only at each epoch's end).
    public var checkpointEvery = 0
    /// Sum gradients on a worker thread while the next batch is assembled (`--overlap`).
    public var overlap = false
    /// With --overlap: gradient buckets of at least this many KB leave as backward finishes them
    /// (0: one allreduce after backward); nil: `defaultBucketKB` (optional, so older config files decode).
    public var bucketKB: Int?
    public static let defaultBucketKB = 1024
    /// Floats per bucket (0: no buckets).
    public var bucketFloats: Int { (bucketKB ?? Self.defaultBucketKB) * 256 }
    /// Stop when the step loss is not finite or exceeds this multiple of the first step's loss.
    public var divergenceFactor = 10.0
    /// TensorBoard event files in RUN/tb/ (rank 0).
    public var tensorboard = true
    /// Run folder; nil means runs/<timestamp>.
    public var runDir: String?

    public init() {}

    /// The scaling rule as a sweep names it: none, linear, sqrt, with "+warmup", the optimizer's
    /// prefix if it has one (OptimizerKind.bareRule: "lars+", "lamb+"), and the remedies that are set: "+gb128" (ghost batch), "+regime", "+local8" (local SGD).
    public var ruleName: String {
        var name = (optimizer.bareRule != nil ? optimizer.rawValue + "+" : "") + lrScaling.rawValue
        if warmupEpochs > 0 { name += "+warmup" }
        if let ghostBatch { name += "+gb\(ghostBatch)" }
        if regimeEpochs != nil { name += "+regime" }
        if let sync { name += "+\(sync.ruleSuffix)" }
        return name
    }
}

public enum NaNPolicy: String, Codable, CaseIterable, Sendable {
    case stop, skip
}

public struct ConfigError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

public struct ResolvedConfig: Codable, Sendable {
    public let settings: TrainConfig
    public let ranks: Int
    public let batchPerRank: Int
    public let accumulate: Int
    public let globalBatch: Int
    /// Samples per BatchNorm statistics group in training.
    public let ghostBatch: Int
    public let stepsPerEpoch: Int
    public let epochs: Int
    public let totalSteps: Int
    public let schedule: LRSchedule
    public let trainSamples: Int
    public let testSamples: Int
    /// (channels, height, width) of one sample.
    public let inputShape: [Int]
    public let classes: Int
    /// The data files read, and files present for the same role but not read (X beside X.gz).
    public let dataFiles: [String]
    public let dataFilesNotRead: [String]

    /// `runGlobalBatch`: the global batch of a run being resumed (from its checkpoint), which may
    /// have been trained on another rank count; it is split over `ranks` as --global-batch is.
    /// `runGhostBatch`: the ghost batch that run's BatchNorm used, kept when --ghost-batch was not
    /// given (it defaults to the micro-batch, which another rank count may change).
    public init(_ settings: TrainConfig, ranks: Int, data: DataSplit, runGlobalBatch: Int? = nil, runGhostBatch: Int? = nil) throws {
        let n = data.train.count
        // An empty set would make every accuracy 0/0 (NaN in metrics.csv, "nan" in summary.json).
        guard n >= 1, data.test.count >= 1 else {
            throw ConfigError("the data has \(n) training and \(data.test.count) test samples: both sets need at least one")
        }
        guard ranks <= n else {
            throw ConfigError("\(ranks) ranks but only \(n) training samples: every rank needs at least one")
        }
        var batchPerRank = settings.batchPerRank
        var accumulate = settings.accumulate
        // The ghost batch this run keeps: the flag's, else the one the resumed run used (then its
        // micro-batch per rank), so a resume on another rank count keeps BatchNorm's groups.
        let keptGhost = settings.ghostBatch ?? runGhostBatch
        if let global = runGlobalBatch ?? settings.globalBatch {
            let what = runGlobalBatch != nil ? "the run's global batch" : "--global-batch"
            (batchPerRank, accumulate) = try ResolvedConfig.split(globalBatch: global, ranks: ranks, maxMicroBatch: batchPerRank,
                                                                  ghostBatch: keptGhost, what: what)
        }
        if let g = keptGhost, g < 1 || batchPerRank % g != 0 {
            throw ConfigError("--ghost-batch \(g) must divide the micro-batch per rank (\(batchPerRank)), so that ghost batches "
                              + "are the same groups of the global batch however it is split")
        }
        // Checked: a product beyond Int would trap (a crash, not a message); it is larger than any set.
        let (perRankStep, tooManyPerRank) = batchPerRank.multipliedReportingOverflow(by: accumulate)
        let (globalBatch, tooMany) = perRankStep.multipliedReportingOverflow(by: ranks)
        // A bigger batch would still use each sample once per step, while config.json and lr scaling
        // used the requested size: full-batch training is a global batch equal to the set's size.
        guard !tooManyPerRank, !tooMany, globalBatch <= n else {
            let size = tooManyPerRank || tooMany ? "\(ranks) x \(batchPerRank) x \(accumulate) (ranks x --batch-per-rank x --accumulate)" : "\(globalBatch)"
            throw ConfigError("global batch \(size) is larger than the \(n) training samples "
                              + "(full-batch training is --global-batch \(n - n % ranks)\(n % ranks == 0 ? "" : " on \(ranks) ranks"))")
        }
        let stepsPerEpoch = (n + globalBatch - 1) / globalBatch
        // Products of user counts, checked: an overflow would trap (a crash, not a message).
        func steps(_ count: Int, _ stepsEach: Int, _ flag: String) throws -> Int {
            let (product, overflow) = count.multipliedReportingOverflow(by: stepsEach)
            guard !overflow else { throw ConfigError("\(flag) \(count) is more steps than can be counted (\(stepsEach) steps each)") }
            return product
        }
        var totalSteps = try settings.maxSteps ?? steps(settings.epochs, stepsPerEpoch, "--epochs")
        // Regime adaptation: every epoch count of the schedule is in epochs of the reference batch,
        // so each batch takes the same number of steps (E x B / reference epochs at batch B).
        var epochScale = 1.0
        if let regime = settings.regimeEpochs, settings.maxSteps == nil {
            let referenceSteps = n / settings.referenceBatch + (n % settings.referenceBatch == 0 ? 0 : 1)  // (n + r - 1) / r overflows for a huge r
            totalSteps = try steps(regime, referenceSteps, "--budget regime:")
            epochScale = Double(referenceSteps) / Double(stepsPerEpoch)
        }
        let epochs = totalSteps / stepsPerEpoch + (totalSteps % stepsPerEpoch == 0 ? 0 : 1)  // --steps up to Int.max
        // Compared as a Double first: Int() of a count beyond Int (--warmup-epochs 1e300) would trap.
        let warmupLength = (settings.warmupEpochs * epochScale * Double(stepsPerEpoch)).rounded()
        if settings.warmupStartRate != nil && warmupLength == 0 {
            throw ConfigError("--warmup-start-lr needs --warmup-epochs greater than 0")
        }
        guard warmupLength <= Double(totalSteps) else {
            let length = warmupLength < 1e15 ? String(Int(warmupLength)) : "\(warmupLength)"
            throw ConfigError("--warmup-epochs \(settings.warmupEpochs) (\(length) steps) is longer than training (\(totalSteps) steps)")
        }
        let warmupSteps = Int(warmupLength)
        // Decay epochs are in epochs of --reference-batch under regime adaptation, as the budget is.
        let trainedEpochs = Double(totalSteps) / Double(stepsPerEpoch) / epochScale
        if let late = settings.decayEpochs.first(where: { $0 >= trainedEpochs }) {
            let unit = settings.regimeEpochs != nil && settings.maxSteps == nil ? " of the reference batch \(settings.referenceBatch)" : ""
            throw ConfigError("--decay-epochs \(late) is not before the end of training (\(epochLabel(trainedEpochs)) epochs\(unit)): it would never apply")
        }
        if !settings.decayEpochs.isEmpty && settings.decay != .step {
            throw ConfigError("--decay-epochs applies only to --decay step (this run uses \(settings.decay.rawValue))")
        }
        // (--steps 0 trains nothing and traces nothing, whatever the window: it writes the initial weights.)
        if let window = settings.traceSteps, window.lowerBound > totalSteps, totalSteps > 0 {
            throw ConfigError("--trace-steps \(window.lowerBound):\(window.upperBound) starts after the last step (\(totalSteps)): nothing would be traced")
        }
        let decayEpochs = settings.decayEpochs.isEmpty
            ? [0.5, 0.75].map { $0 * Double(totalSteps) / Double(stepsPerEpoch) } : settings.decayEpochs.map { $0 * epochScale }
        let milestones = decayEpochs.map { Int(($0 * Double(stepsPerEpoch)).rounded()) }
        // A step of decay inside the warmup drops the rate before it reaches its peak (Goyal et al. 2017
        // warm up for 5 epochs and decay from epoch 30).
        if settings.decay == .step, let (epoch, step) = zip(decayEpochs, milestones).first(where: { $0.1 < warmupSteps }) {
            let which = settings.decayEpochs.isEmpty ? " (the default decay epochs: 50% and 75% of training)" : ""
            throw ConfigError("step decay at epoch \(epochLabel(epoch / epochScale)) (step \(step))\(which) falls inside the warmup of "
                              + "\(warmupSteps) steps: the rate would drop before it reached its peak; decay after the warmup, or shorten it")
        }
        self.settings = settings
        self.ranks = ranks
        self.batchPerRank = batchPerRank
        self.accumulate = accumulate
        self.globalBatch = globalBatch
        self.ghostBatch = keptGhost ?? batchPerRank
        self.stepsPerEpoch = stepsPerEpoch
        self.epochs = epochs
        self.totalSteps = totalSteps
        self.schedule = LRSchedule(
            baseRate: settings.learningRate, referenceBatch: settings.referenceBatch, globalBatch: globalBatch,
            scaling: settings.lrScaling, warmupSteps: warmupSteps, warmupStartRate: settings.warmupStartRate,
            totalSteps: totalSteps, decay: settings.decay,
            milestones: milestones)
        // Checked in Double by the flags, but the optimizers compute in Float.
        if let problem = settings.optim.singlePrecisionProblem ?? schedule.singlePrecisionProblem { throw ConfigError(problem) }
        self.trainSamples = n
        self.testSamples = data.test.count
        self.inputShape = data.train.shape
        self.classes = data.train.classes
        self.dataFiles = data.files
        self.dataFilesNotRead = data.filesNotRead
        do { try settings.augment?.check(height: data.train.height, width: data.train.width) } catch {
            throw ConfigError("--augment \(settings.augment!): \(error)")
        }
    }

    /// The one place a global batch is split over ranks: ranks x micro-batch x accumulation, the
    /// micro-batch being the largest up to `maxMicroBatch` that divides a rank's share exactly, so
    /// the global batch is reached with no sample dropped or repeated. With ghost batches of G
    /// (BatchNorm statistics over groups of G, Hoffer et al. 2017) the micro-batch must also be a
    /// multiple of G, so the groups are the same however the batch is split. Refusals name the rank
    /// counts that would work, so a resume on another -np knows what to ask for.
    public static func split(globalBatch global: Int, ranks: Int, maxMicroBatch: Int, ghostBatch: Int? = nil,
                             what: String = "--global-batch") throws -> (batchPerRank: Int, accumulate: Int) {
        let group = ghostBatch ?? 1
        let (unit, tooLarge) = ranks.multipliedReportingOverflow(by: group)
        guard !tooLarge, global % unit == 0 else {
            let counts = rankCounts(splitting: [(global, ghostBatch)])
            guard !counts.isEmpty else {
                throw ConfigError("\(what) \(global) does not split into ghost batches of \(group) on any rank count (\(group) does not divide \(global))")
            }
            let into = group > 1 ? " into ghost batches of \(group)" : ""
            throw ConfigError("\(what) \(global) is not divisible by the \(ranks) ranks\(into); it can be split over \(listing(counts)) ranks")
        }
        let perRank = global / ranks
        guard let micro = stride(from: min(maxMicroBatch, perRank), through: 1, by: -1)
            .first(where: { perRank % $0 == 0 && $0 % group == 0 }) else {
            throw ConfigError("--batch-per-rank \(maxMicroBatch) is smaller than --ghost-batch \(group)")
        }
        return (micro, perRank / micro)
    }

    /// The rank counts that can run or continue these global batches exactly (see `split`): each
    /// must divide over the ranks, into its ghost batches where it has them (nil: no BatchNorm, or
    /// its groups are the micro-batch of a run not yet started). One run gives one pair, a sweep one
    /// per point. The refusal of another -np and the line after a stop both say these counts.
    public static func rankCounts(splitting batches: [(globalBatch: Int, ghostBatch: Int?)]) -> [Int] {
        let largest = batches.map { max($0.globalBatch / ($0.ghostBatch ?? 1), 1) }.min() ?? 1
        return (1...largest).filter { ranks in batches.allSatisfy { $0.globalBatch % (ranks * ($0.ghostBatch ?? 1)) == 0 } }
    }

    /// The rank counts a stopped run can continue on: those that split its batch (`rankCounts`), or
    /// under local SGD only the `ranks` it ran on: each rank holds a replica and the averagings are
    /// over them, so another count is another algorithm (it ended 3e-3 relative away on 1 and 4 ranks
    /// where synchronous runs stay within 1e-7).
    public static func continuationRankCounts(globalBatch: Int, ghostBatch: Int?, localSGD: Bool, ranks: Int) -> [Int] {
        localSGD ? [ranks] : rankCounts(splitting: [(globalBatch, ghostBatch)])
    }

    /// Rank counts as "1, 2, 4, 8" (at most `limit` of them).
    public static func listing(_ counts: [Int], limit: Int = 12) -> String {
        counts.prefix(limit).map(String.init).joined(separator: ", ") + (counts.count > limit ? ", ..." : "")
    }

    /// 1-based steps within an epoch after which to evaluate: `evalsPerEpoch` evenly spaced points
    /// of a full epoch that fall inside this one, and always its last step.
    func evaluationPoints(stepsThisEpoch: Int) -> Set<Int> {
        // More evaluations than steps are one per step (and a huge count must not size an array).
        let k = min(max(settings.evalsPerEpoch, 1), stepsPerEpoch)
        let points = (1...k).map { ($0 * stepsPerEpoch + k - 1) / k }.filter { $0 >= 1 && $0 < stepsThisEpoch }
        return Set(points + [stepsThisEpoch])
    }
}
