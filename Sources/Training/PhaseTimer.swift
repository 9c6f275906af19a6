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
    var maxima = [Double](repeating: 0, count: Phase.allCases.count)
    var steps = 0

    /// Flat form for gathering: totals, maxima, steps.
    var flattened: [Double] { totals + maxima + [Double(steps)] }

    init() {}

    init(flattened row: ArraySlice<Double>) {
        let p = Phase.allCases.count
        totals = Array(row.prefix(p))
        maxima = Array(row.dropFirst(p).prefix(p))
        steps = Int(row[row.startIndex + 2 * p])
    }
    static var flatCount: Int { 2 * Phase.allCases.count + 1 }
}

struct PhaseTimer {
    private(set) var epochs: [EpochTiming] = []
    private var current = EpochTiming()
    private var step = [Double](repeating: 0, count: Phase.allCases.count)
    /// The phase times of the step that ended last (for per-step statistics in `ddp bench`).
    private(set) var lastStep = [Double](repeating: 0, count: Phase.allCases.count)

    mutating func add(_ phase: Phase, _ seconds: Double) {
        step[phase.rawValue] += seconds
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

    /// Time spent outside steps (evaluation), counted in the epoch's total only.
    mutating func addOutsideStep(_ phase: Phase, _ seconds: Double) {
        current.totals[phase.rawValue] += seconds
        current.maxima[phase.rawValue] = max(current.maxima[phase.rawValue], seconds)
    }

    mutating func endEpoch() {
        epochs.append(current)
        current = EpochTiming()
    }
}
