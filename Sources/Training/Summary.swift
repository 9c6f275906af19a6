// The run's result in one file (summary.json): what was trained, how well, how fast, and the
// checksum of the final parameters that every rank agreed on.

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
    public var trainAcc: Double
    public var testAcc: Double
    public var gap: Double
    public var trainLoss: Double
    public var testLoss: Double
    public var lossGap: Double
    public var bestTestAcc: Double?
    public var target: Double?
    /// First evaluated step with test accuracy >= target.
    public var stepsToTarget: Int?
    public var diverged: Bool
    public var divergedStep: Int?
    /// The first rank with a NaN or infinite loss or gradient, when that stopped the run.
    public var nonFiniteRank: Int?
    /// Steps whose update was skipped under --on-nan skip.
    public var skippedSteps: Int
    /// Gradient noise scale B_simple at the end (McCandlish et al. 2018), if measured.
    public var gns: Double?
    /// Keskar et al. (2017) sharpness in percent, if measured (--sharpness).
    public var sharpness: Double?
    public var samplesPerSec: Double
    public var trainSeconds: Double
    public var wallSeconds: Double
    public var paramChecksum: String
    public var rankChecksums: [String]
    public var blasCore: String
    /// With a plateau budget: the epoch after which the loss had stopped improving (nil: ran to the maximum).
    public var plateauEpoch: Int?
    /// Local SGD (`local:H[:after]`), nil for synchronous SGD, and its averagings since the run last started.
    public var sync: String?
    public var localAveragings: LocalAveragingCounts?
    /// Which A `sharpness` used ("identity"), and the sharpness in a random subspace with its A, if measured.
    public var sharpnessMatrix: String?
    public var sharpnessRandom: Double?
    public var sharpnessRandomMatrix: String?
}

/// Loss and accuracy over a whole set, in evaluation mode.
public struct Evaluation: Codable, Sendable {
    public var trainLoss = 0.0, trainAcc = 0.0, testLoss = 0.0, testAcc = 0.0
    public var gap: Double { trainAcc - testAcc }
    public var lossGap: Double { testLoss - trainLoss }
}
