// The optimizers `--optimizer` offers, their settings as config.json records them, and the one
// place an optimizer is made from a kind; the update rules live in each optimizer's own file.

/// The optimizers `--optimizer` offers.
public enum OptimizerKind: String, Codable, CaseIterable, Sendable {
    case sgd, adam, adamw, lars, lamb

    public struct Settings: Codable, Sendable {
        public var momentum = 0.9, nesterov = false, weightDecay = 0.0
        public var beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8
        /// LARS's eta (You et al. 2017 use 0.001).
        public var trustCoefficient = 0.001
        /// Weight decay and LARS trust ratios on every tensor; by default on weights only.
        public var decayAll = false
        public init() {}

        enum CodingKeys: String, CodingKey {
            case momentum, nesterov, weightDecay, beta1, beta2, epsilon, trustCoefficient, decayAll
        }

        /// Records written before `decayAll` existed read as false.
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            momentum = try c.decode(Double.self, forKey: .momentum)
            nesterov = try c.decode(Bool.self, forKey: .nesterov)
            weightDecay = try c.decode(Double.self, forKey: .weightDecay)
            beta1 = try c.decode(Double.self, forKey: .beta1)
            beta2 = try c.decode(Double.self, forKey: .beta2)
            epsilon = try c.decode(Double.self, forKey: .epsilon)
            trustCoefficient = try c.decode(Double.self, forKey: .trustCoefficient)
            decayAll = try c.decodeIfPresent(Bool.self, forKey: .decayAll) ?? false
        }
    }

    /// The base rate when none is given, for standardised inputs at the reference batch 64:
    /// SGD 0.01 (0.05 overshoots), Adam's usual 0.001, LARS 0.1 (its steps are eta x rate of |w|),
    /// LAMB 0.01 (each step moves a weight tensor by the rate times its norm).
    public static func defaultLearningRate(_ kind: OptimizerKind) -> Double {
        switch kind {
        case .sgd: return 0.01
        case .adam, .adamw: return 0.001
        case .lars: return 0.1
        case .lamb: return 0.01
        }
    }

    /// An optimizer over the flat buffer that `segments` (one per parameter tensor, in layout
    /// order) tile. Weight decay and LARS's and LAMB's trust ratios apply to weight tensors only, unless
    /// `decayAll` (llm.c decays 2-D tensors only; LARC excludes biases and BatchNorm).
    public func make(segments: [ParameterSegment], _ s: Settings) -> Optimizer {
        let parameterCount = segments.reduce(0) { $0 + $1.range.count }
        let decayed = segments.filter { s.decayAll || $0.isWeight }.map(\.range)
        switch self {
        case .sgd:
            return SGD(parameterCount: parameterCount, momentum: Float(s.momentum), nesterov: s.nesterov,
                       weightDecay: Float(s.weightDecay), decayed: decayed)
        case .adam, .adamw:
            return Adam(parameterCount: parameterCount, beta1: Float(s.beta1), beta2: Float(s.beta2), epsilon: Float(s.epsilon),
                        weightDecay: Float(s.weightDecay), decoupled: self == .adamw, decayed: decayed)
        case .lars:
            return LARS(segments: segments.map(\.range), adapted: segments.map { s.decayAll || $0.isWeight },
                        momentum: Float(s.momentum), trustCoefficient: Float(s.trustCoefficient), weightDecay: Float(s.weightDecay))
        case .lamb:
            return LAMB(segments: segments.map(\.range), adapted: segments.map { s.decayAll || $0.isWeight },
                        beta1: Float(s.beta1), beta2: Float(s.beta2), epsilon: Float(s.epsilon), weightDecay: Float(s.weightDecay))
        }
    }
}

/// One parameter tensor's place in the flat buffer, and whether it is a weight (vs a bias or a
/// normalization scale or shift), which decides weight decay and trust ratios.
public struct ParameterSegment: Sendable {
    public let range: Range<Int>
    public let isWeight: Bool

    public init(range: Range<Int>, isWeight: Bool) {
        self.range = range
        self.isWeight = isWeight
    }
}
