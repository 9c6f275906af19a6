// Time over a run that may span several launches (stopped by a signal, requeued, resumed on
// another rank count): the run's totals, carried from checkpoint to checkpoint, and this launch's
// own figures, kept apart and named apart. A launch killed without warning loses the time since
// its last checkpoint from the totals, as it loses those steps (the next launch redoes and counts them).
import Tensor

struct RunClock {
    /// 1 for a run's first launch, 2 after one resume, ...
    let launch: Int
    /// Totals of the earlier launches, as of the checkpoint this launch continues from.
    let wallBefore: Double
    let trainBefore: Double
    /// When this launch started (monotonic seconds).
    let launchStart: Double
    /// Seconds this launch spent in training steps (not evaluation, not checkpoints).
    var launchTrainSeconds = 0.0

    init(resuming state: CheckpointState?, start: Double) {
        // A checkpoint from before these fields counts as one launch with no wall time known.
        launch = state.map { ($0.launches ?? 1) + 1 } ?? 1
        wallBefore = state?.wallSeconds ?? 0
        trainBefore = state?.trainSeconds ?? 0
        launchStart = start
    }

    var launchWallSeconds: Double { monotonicSeconds() - launchStart }
    /// The run's wall time over all its launches so far.
    var wallSeconds: Double { wallBefore + launchWallSeconds }
    /// The run's time in training steps over all its launches so far.
    var trainSeconds: Double { trainBefore + launchTrainSeconds }
}

extension RunClock {
    /// The console's account of time: the run's totals, and this launch's when there were several.
    var line: String {
        let total = String(format: "time: %.1f s wall, %.1f s in training steps", wallSeconds, trainBefore + launchTrainSeconds)
        guard launch > 1 else { return total }
        return total + String(format: " over %ld launches (this launch: %.1f s wall, %.1f s in steps)",
                              launch, launchWallSeconds, launchTrainSeconds)
    }
}

extension RunSummary {
    mutating func recordTime(_ clock: RunClock) {
        wallSeconds = clock.wallSeconds
        trainSeconds = clock.trainSeconds
        launches = clock.launch
        launchWallSeconds = clock.launchWallSeconds
        launchTrainSeconds = clock.launchTrainSeconds
    }
}
