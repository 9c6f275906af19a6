// Per-rank time in each phase of the training step, summed per epoch with the worst single step.
// Fixed-size storage, no allocation while recording.

public enum Phase: Int, CaseIterable, Sendable {
    case data, forward, backward, allreduce, optimizer, evaluation, checkpoint

    public var name: String { String(describing: self) }
    /// Evaluation and checkpoints run between steps; the rest are parts of a step.
    public var isOutsideStep: Bool { self == .evaluation || self == .checkpoint }
}

struct EpochTiming {
    var totals = [Double](repeating: 0, count: Phase.allCases.count)
    /// A phase of the step: its largest per-step time; outside the step: its longest occurrence.
    var maxima = [Double](repeating: 0, count: Phase.allCases.count)
    /// Times each phase was recorded outside a step (evaluations, checkpoints): what their mean divides by.
    var occurrences = [Double](repeating: 0, count: Phase.allCases.count)
    var steps = 0

    /// Flat form for gathering: totals, maxima, occurrences, steps.
    var flattened: [Double] { totals + maxima + occurrences + [Double(steps)] }

    init() {}

    init(flattened row: ArraySlice<Double>) {
        let p = Phase.allCases.count
        totals = Array(row.prefix(p))
        maxima = Array(row.dropFirst(p).prefix(p))
        occurrences = Array(row.dropFirst(2 * p).prefix(p))
        steps = Int(row[row.startIndex + 3 * p])
    }
    static var flatCount: Int { 3 * Phase.allCases.count + 1 }

    /// A phase's mean: per step for the step's phases, per occurrence for evaluation and checkpoint
    /// (their total over the steps would be a "mean" larger than the longest one).
    func mean(_ phase: Phase) -> Double {
        let count = phase.isOutsideStep ? occurrences[phase.rawValue] : Double(steps)
        return totals[phase.rawValue] / max(count, 1)
    }
}

struct PhaseTimer {
    private(set) var epochs: [EpochTiming] = []
    /// Events of a window of steps, when --trace-steps asks for them.
    var trace: StepTrace?
    private var current = EpochTiming()
    private var step = [Double](repeating: 0, count: Phase.allCases.count)
    /// The phase times of the step that ended last (for per-step statistics in `ddp bench`).
    private(set) var lastStep = [Double](repeating: 0, count: Phase.allCases.count)

    /// A phase of the step from `start` to `end` (monotonic seconds): timed, and traced in the window.
    mutating func record(_ phase: Phase, from start: Double, to end: Double) {
        step[phase.rawValue] += end - start
        trace?.record(phase, from: start, to: end)
    }

    /// Folds the step's phase times into the epoch: totals and per-step maxima.
    mutating func endStep() {
        for p in 0..<step.count {
            current.totals[p] += step[p]
            current.maxima[p] = max(current.maxima[p], step[p])
            lastStep[p] = step[p]
            step[p] = 0
        }
        current.steps += 1
    }

    /// Time spent outside steps (evaluation, checkpoints), counted in the epoch's total only.
    mutating func recordOutsideStep(_ phase: Phase, from start: Double, to end: Double) {
        current.totals[phase.rawValue] += end - start
        current.maxima[phase.rawValue] = max(current.maxima[phase.rawValue], end - start)
        current.occurrences[phase.rawValue] += 1
        trace?.record(phase, from: start, to: end)
    }

    mutating func endEpoch() {
        epochs.append(current)
        current = EpochTiming()
    }
}
