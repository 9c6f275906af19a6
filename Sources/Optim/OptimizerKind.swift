// The optimizers `--optimizer` offers, their settings as config.json records them, and the one
// place an optimizer is made from a kind; the update rules live in each optimizer's own file.

/// The optimizers `--optimizer` offers.
public enum OptimizerKind: String, Codable, CaseIterable, Sendable {
    case sgd, adam, adamw, lars

    public struct Settings: Codable, Sendable {
        public var momentum = 0.9, nesterov = false, weightDecay = 0.0
        public var beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8
        /// LARS's eta (You et al. 2017 use 0.001).
        public var trustCoefficient = 0.001
        public init() {}
    }

    /// The base rate when none is given, for standardised inputs at the reference batch 64:
    /// SGD 0.01 (0.05 overshoots), Adam's usual 0.001, LARS 0.1 (its steps are eta x rate of |w|).
    public static func defaultLearningRate(_ kind: OptimizerKind) -> Double {
        switch kind {
        case .sgd: return 0.01
        case .adam, .adamw: return 0.001
        case .lars: return 0.1
        }
    }

    /// An optimizer over the flat buffer that `segments` (one per parameter tensor, in layout
    /// order) tile; optimizers without per-tensor rules only use their total.
    public func make(segments: [Range<Int>], _ s: Settings) -> Optimizer {
        let parameterCount = segments.reduce(0) { $0 + $1.count }
        switch self {
        case .sgd:
            return SGD(parameterCount: parameterCount, momentum: Float(s.momentum), nesterov: s.nesterov, weightDecay: Float(s.weightDecay))
        case .adam, .adamw:
            return Adam(parameterCount: parameterCount, beta1: Float(s.beta1), beta2: Float(s.beta2), epsilon: Float(s.epsilon),
                        weightDecay: Float(s.weightDecay), decoupled: self == .adamw)
        case .lars:
            return LARS(segments: segments, momentum: Float(s.momentum), trustCoefficient: Float(s.trustCoefficient),
                        weightDecay: Float(s.weightDecay))
        }
    }
}
