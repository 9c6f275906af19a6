// What a run has shown so far: the last and best evaluation, the first step at which test
// accuracy reached the target (Shallue et al. 2018 count steps to a target), and divergence.
// Every rank holds the same values: they come from allreduced sums.

struct RunProgress: Codable, Sendable {
    let target: Double?
    let divergenceFactor: Float
    private(set) var last = Evaluation()
    /// nil until the first evaluation.
    private(set) var bestTestAcc: Double?
    private(set) var stepsToTarget: Int?
    private(set) var firstLoss: Float?
    private(set) var lastLoss: Float = 0
    private(set) var divergedStep: Int?
    /// Why the run diverged, in words for the closing message.
    private(set) var divergence: String?
    /// Set when the run stopped on a NaN or infinite loss or gradient: the first rank that had one.
    private(set) var nonFiniteRank: Int?
    /// Steps skipped for a non-finite loss or gradient under --on-nan skip.
    private(set) var skippedSteps = 0
    let skipsNonFinite: Bool
    /// With a plateau budget: the rule's state, and the epoch (1-based) after which it stopped training.
    private(set) var plateau: PlateauRule?
    private(set) var plateauEpoch: Int?

    init(settings: TrainConfig) {
        plateau = settings.plateauPatience.map { PlateauRule(patience: $0) }
        target = settings.target
        divergenceFactor = Float(settings.divergenceFactor)
        skipsNonFinite = settings.onNaN == .skip
    }

    /// A step's result: a non-finite one is skipped or stops the run; otherwise its loss is observed.
    mutating func observe(_ result: Trainer.StepResult, step: Int) {
        if let rank = result.nonFiniteRank {
            if skipsNonFinite {
                skippedSteps += 1
            } else if divergedStep == nil {
                nonFiniteRank = rank
                divergedStep = step
            }
            return
        }
        observe(loss: result.lossMean, step: step)
    }

    /// A step's mean loss: diverged when it is not finite or has grown `divergenceFactor`-fold.
    mutating func observe(loss: Float, step: Int) {
        lastLoss = loss
        if firstLoss == nil { firstLoss = loss }
        if divergedStep == nil, !loss.isFinite || loss > divergenceFactor * firstLoss! {
            divergedStep = step
            divergence = loss.isFinite ? "loss over \(divergenceFactor)x its first value" : "loss not finite"
        }
    }

    /// Diverged for a reason found outside the step (a non-finite evaluation).
    mutating func diverge(at step: Int, because reason: String) {
        if divergedStep == nil { (divergedStep, divergence) = (step, reason) }
    }

    /// An epoch's last evaluation: the plateau rule sees its training loss.
    mutating func recordEpochEnd(_ evaluation: Evaluation, epoch: Int) {
        if plateau?.observe(evaluation.trainLoss) == true, plateauEpoch == nil { plateauEpoch = epoch }
    }

    mutating func record(_ evaluation: Evaluation, step: Int) {
        last = evaluation
        bestTestAcc = max(bestTestAcc ?? 0, evaluation.testAcc)
        if let target, stepsToTarget == nil, evaluation.testAcc >= target {
            stepsToTarget = step
        }
    }
}
