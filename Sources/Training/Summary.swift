// The run's result in one file (summary.json): what was trained, how well, how fast, and the
// checksum of the final parameters that every rank agreed on; or, for a run a signal stopped,
// where it stopped.

public struct RunSummary: Codable, Sendable {
    public var runDir: String
    public var data: String
    public var ranks: Int
    public var hosts: [String]
    public var globalBatch: Int
    public var batchPerRank: Int
    public var accumulate: Int
    public var epochs: Int
    public var steps: Int
    /// Scaling rule (none, linear, sqrt; +warmup; lars+) and optimizer, as a sweep lists them.
    public var rule: String
    public var optimizer: String
    public var seed: UInt64
    public var peakLr: Double
    public var warmupEpochs: Double
    /// The last evaluation; null when the run stopped before its first one (never a made-up 0).
    @Nullable public var trainAcc: Double?
    @Nullable public var testAcc: Double?
    @Nullable public var gap: Double?
    @Nullable public var trainLoss: Double?
    @Nullable public var testLoss: Double?
    @Nullable public var lossGap: Double?
    @Nullable public var bestTestAcc: Double?
    @Nullable public var target: Double?
    /// First evaluated step with test accuracy >= target.
    @Nullable public var stepsToTarget: Int?
    public var diverged: Bool
    @Nullable public var divergedStep: Int?
    /// The first rank with a NaN or infinite loss or gradient, when that stopped the run.
    @Nullable public var nonFiniteRank: Int?
    /// Steps whose update was skipped under --on-nan skip.
    public var skippedSteps: Int
    /// Gradient noise scale B_simple at the end (McCandlish et al. 2018), if measured.
    @Nullable public var gns: Double?
    /// Keskar et al. (2017) sharpness in percent, if measured (--sharpness).
    @Nullable public var sharpness: Double?
    /// null: no step was timed (--steps 0), not a rate over zero seconds.
    @Nullable public var samplesPerSec: Double?
    public var trainSeconds: Double
    public var wallSeconds: Double
    public var paramChecksum: String
    public var rankChecksums: [String]
    public var blasCore: String
    /// True when a signal stopped the run (its checkpoint is of `interruptedAtStep`; --resume or
    /// --auto-resume continues it), false when it ran to its end.
    public var interrupted: Bool? = nil
    public var interruptedAtStep: Int? = nil
    public var stopSignal: String? = nil
    /// Samples per BatchNorm statistics group (nil without BatchNorm): a resume keeps these groups,
    /// so only rank counts that split the global batch into them continue the run.
    public var ghostBatch: Int? = nil
    /// `wall_seconds` and `train_seconds` are the run's totals over all its launches (a resume
    /// starts a new one); these are the last launch's own.
    public var launches: Int? = nil
    public var launchWallSeconds: Double? = nil
    public var launchTrainSeconds: Double? = nil
    /// With a plateau budget: the epoch after which the loss had stopped improving (nil: ran to the maximum).
    public var plateauEpoch: Int?
    /// Local SGD (`local:H[:after]`), nil for synchronous SGD, and its averagings since the run last started.
    public var sync: String?
    public var localAveragings: LocalAveragingCounts?
    /// Which A `sharpness` used ("identity"), and the sharpness in a random subspace with its A, if measured.
    public var sharpnessMatrix: String?
    public var sharpnessRandom: Double?
    public var sharpnessRandomMatrix: String?
    /// With --overlap: seconds rank 0's communication thread spent in allreduces this launch, hidden
    /// or exposed (the exposed part is timing.csv's allreduce phase).
    public var communicationSeconds: Double?
    /// Why the run diverged (when `diverged` and no rank's step was non-finite), in words.
    public var divergence: String? = nil
}

/// Loss and accuracy over a whole set, in evaluation mode.
public struct Evaluation: Codable, Sendable {
    public var trainLoss = 0.0, trainAcc = 0.0, testLoss = 0.0, testAcc = 0.0
    public var gap: Double { trainAcc - testAcc }
    public var lossGap: Double { testLoss - trainLoss }
}
