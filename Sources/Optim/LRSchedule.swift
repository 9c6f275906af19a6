// The learning rate at every optimizer step.
// peak = base * scale(globalBatch / referenceBatch): linear (Goyal et al. 2017, sec. 2.1) or
// sqrt (Hoffer et al. 2017, Krizhevsky 2014). Gradual warmup (Goyal et al. 2017, sec. 2.2) ramps
// linearly per step from base (or a chosen start rate) at step 0 to peak at step warmupSteps. After warmup: constant, step
// decay (x decayFactor at each milestone) or cosine to zero at totalSteps (Loshchilov & Hutter 2017).
import Foundation

public enum LRScaling: String, Codable, CaseIterable, Sendable {
    case none, linear, sqrt

    public func factor(globalBatch: Int, referenceBatch: Int) -> Double {
        let ratio = Double(globalBatch) / Double(referenceBatch)
        switch self {
        case .none: return 1
        case .linear: return ratio
        case .sqrt: return ratio.squareRoot()
        }
    }
}

public enum LRDecay: String, Codable, CaseIterable, Sendable {
    case constant, step, cosine
}

public struct LRSchedule: Codable, Equatable, Sendable {
    public let baseRate: Double
    public let peakRate: Double
    /// Where warmup starts: the base rate (Goyal et al.), or a chosen rate (Keras-style warmup from lr / k).
    public let warmupStartRate: Double
    public let warmupSteps: Int
    public let totalSteps: Int
    public let decay: LRDecay
    /// Steps at which step decay multiplies the rate by `decayFactor`.
    public let milestones: [Int]
    public let decayFactor: Double

    public init(baseRate: Double, referenceBatch: Int, globalBatch: Int, scaling: LRScaling,
                warmupSteps: Int, warmupStartRate: Double? = nil, totalSteps: Int, decay: LRDecay,
                milestones: [Int] = [], decayFactor: Double = 0.1) {
        self.baseRate = baseRate
        self.peakRate = baseRate * scaling.factor(globalBatch: globalBatch, referenceBatch: referenceBatch)
        self.warmupStartRate = warmupStartRate ?? baseRate
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.decay = decay
        self.milestones = milestones.sorted()
        self.decayFactor = decayFactor
    }

    /// The first rate the steps would see as 0 or infinite in single precision (`rate(at:)` is a
    /// Float), as a message naming its flag; nil: all usable. --lr 1e-50 passes a Double check and
    /// trains nothing; --lr 1e38 with linear scaling to batch 1024 makes the first update infinite.
    public var singlePrecisionProblem: String? {
        let rates = [("--lr \(baseRate)", baseRate),
                     ("the peak rate \(peakRate) (--lr \(baseRate) scaled by \(peakRate / baseRate))", peakRate),
                     ("--warmup-start-lr \(warmupStartRate)", warmupStartRate)]
        guard let (what, rate) = rates.first(where: { Float($0.1) <= 0 || !Float($0.1).isFinite }) else { return nil }
        return "\(what) is \(Float(rate)) in single precision, which the optimizers compute in; "
            + "it must be positive and finite there (\(Float.leastNonzeroMagnitude) to \(Float.greatestFiniteMagnitude))"
    }

    /// The rate for optimizer step `step` (0-based).
    public func rate(at step: Int) -> Float {
        if step < warmupSteps {
            return Float(warmupStartRate + (peakRate - warmupStartRate) * Double(step) / Double(warmupSteps))
        }
        switch decay {
        case .constant:
            return Float(peakRate)
        case .step:
            var passed = 0
            for milestone in milestones where milestone <= step { passed += 1 }
            return Float(peakRate * pow(decayFactor, Double(passed)))
        case .cosine:
            let span = max(totalSteps - warmupSteps, 1)
            let progress = min(Double(step - warmupSteps) / Double(span), 1)
            return Float(peakRate * 0.5 * (1 + cos(Double.pi * progress)))
        }
    }
}
