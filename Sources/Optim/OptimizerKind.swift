// The optimizers `--optimizer` offers, their settings as config.json records them, and the one
// place an optimizer is made from a kind; the update rules live in each optimizer's own file.

/// The optimizers `--optimizer` offers. Every list of them (help texts, sweep rules, defaults) is
/// made from `allCases` and the properties below, so a new case is added here alone.
public enum OptimizerKind: String, Codable, CaseIterable, Sendable {
    case sgd, adam, adamw, lars, lamb

    /// What it is, for help texts.
    public var summary: String {
        switch self {
        case .sgd: return "SGD with momentum, Nesterov and L2 weight decay"
        case .adam: return "Adam with L2 weight decay"
        case .adamw: return "Adam with decoupled weight decay"
        case .lars: return "LARS, You et al. 2017: per-tensor rates lr x eta x |w| / |grad|"
        case .lamb: return "LAMB, You et al. 2019: Adam moments, per-tensor trust ratio"
        }
    }

    /// The base rate when none is given, for standardised inputs at the reference batch 64:
    /// SGD 0.01 (0.05 overshoots), Adam's usual 0.001, LARS 0.1 (its steps are eta x rate of |w|),
    /// LAMB 0.01 (each step moves a weight tensor by the rate times its norm).
    public var defaultLearningRate: Double {
        switch self {
        case .sgd: return 0.01
        case .adam, .adamw: return 0.001
        case .lars: return 0.1
        case .lamb: return 0.01
        }
    }

    /// Optimizers a sweep rule can name as a prefix (`lars+sqrt`), with the scaling and warmup the
    /// bare name means (`lars` is lars+linear+warmup, You et al. 2017; `lamb` lamb+sqrt+warmup, You
    /// et al. 2019); nil: not a rule prefix (the sweep's --optimizer applies to every rule).
    public var bareRule: (scaling: LRScaling, warmup: Bool)? {
        switch self {
        case .sgd, .adam, .adamw: return nil
        case .lars: return (.linear, true)
        case .lamb: return (.sqrt, true)
        }
    }

    /// Whether `--momentum` applies (and `--nesterov`, to SGD).
    public var usesMomentum: Bool {
        switch self {
        case .sgd, .lars: return true
        case .adam, .adamw, .lamb: return false
        }
    }

    /// Whether `--beta1`, `--beta2` and `--eps` apply (Adam's moments).
    public var usesAdamMoments: Bool {
        switch self {
        case .adam, .adamw, .lamb: return true
        case .sgd, .lars: return false
        }
    }

    /// Whether each tensor's step is scaled by a trust ratio |w| / |update| (layer-wise adaptation).
    public var usesTrustRatio: Bool {
        switch self {
        case .lars, .lamb: return true
        case .sgd, .adam, .adamw: return false
        }
    }
    /// How `--weight-decay` enters the step.
    public var weightDecayForm: String {
        switch self {
        case .sgd, .adam, .lars: return "L2 (added to the gradient)"
        case .adamw: return "decoupled (Loshchilov and Hutter 2019)"
        case .lamb: return "added to the Adam update before the trust ratio"
        }
    }

    /// The optimizers where `property` holds, as "a, b and c".
    public static func names(where property: (OptimizerKind) -> Bool) -> String {
        let names = allCases.filter(property).map(\.rawValue)
        return names.count <= 1 ? names.joined() : names.dropLast().joined(separator: ", ") + " and " + names.last!
    }

    /// "L2 (...) for sgd, adam and lars; decoupled (...) for adamw; ..." for help texts.
    public static var weightDecayText: String {
        var forms: [String] = []
        for kind in allCases where !forms.contains(kind.weightDecayForm) { forms.append(kind.weightDecayForm) }
        return forms.map { form in "\(form) for \(names { $0.weightDecayForm == form })" }.joined(separator: "; ")
    }

    /// The first setting given (differing from its default; a default given again passes) that none
    /// of `kinds` uses, the optimizers of a run or of a sweep's rules, as a message; nil: every one is
    /// used. --momentum with adam was dropped without a word, and --nesterov with --momentum 0 ran
    /// plain SGD under a "nesterov" label (torch.optim.SGD refuses it).
    public static func ignoredSetting(_ s: Settings, kinds: [OptimizerKind]) -> String? {
        let used = kinds.map(\.rawValue).joined(separator: ", ")
        let unused = specificSettings(s).first { $0.given && !kinds.contains(where: $0.usedBy) }
        return unused.map { "\($0.flag) applies to \(names(where: $0.usedBy)) only, not to \(used)" }
            ?? (s.nesterov && s.momentum == 0 ? "--nesterov needs --momentum above 0 (with 0 it is plain SGD; torch.optim.SGD refuses it too)" : nil)
    }

    /// The settings with those `kind` does not use back at their defaults: a sweep point's, so that its
    /// config.toml (a `train` study file) holds no flag `train` would refuse as ignored.
    public func keepingOnly(_ s: Settings) -> Settings {
        var kept = s
        for setting in OptimizerKind.specificSettings(s) where !setting.usedBy(self) { setting.reset(&kept) }
        return kept
    }

    /// The settings only some optimizers use: the flag, whether `s` gives it (differs from its default),
    /// which optimizers use it, and how to put it back at its default.
    private static func specificSettings(_ s: Settings)
        -> [(flag: String, given: Bool, usedBy: (OptimizerKind) -> Bool, reset: (inout Settings) -> Void)] {
        let d = Settings()
        return [
            ("--momentum \(s.momentum)", s.momentum != d.momentum, \.usesMomentum, { $0.momentum = d.momentum }),
            ("--nesterov", s.nesterov, { $0 == .sgd }, { $0.nesterov = d.nesterov }),
            ("--beta1 \(s.beta1)", s.beta1 != d.beta1, \.usesAdamMoments, { $0.beta1 = d.beta1 }),
            ("--beta2 \(s.beta2)", s.beta2 != d.beta2, \.usesAdamMoments, { $0.beta2 = d.beta2 }),
            ("--eps \(s.epsilon)", s.epsilon != d.epsilon, \.usesAdamMoments, { $0.epsilon = d.epsilon }),
            ("--trust-coefficient \(s.trustCoefficient)", s.trustCoefficient != d.trustCoefficient, { $0 == .lars },
             { $0.trustCoefficient = d.trustCoefficient }),
        ]
    }

    /// The optimizers with a rule prefix, in case order.
    public static var ruleOptimizers: [OptimizerKind] { allCases.filter { $0.bareRule != nil } }

    /// "sgd 0.01, adam 0.001, ..." for help texts.
    public static var defaultRatesText: String {
        allCases.map { "\($0.rawValue) \($0.defaultLearningRate)" }.joined(separator: ", ")
    }

    /// "sgd (SGD with ...), adam (...), ..." for help texts.
    public static var listText: String {
        allCases.map { "\($0.rawValue) (\($0.summary))" }.joined(separator: ", ")
    }

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

        /// The first setting whose single-precision value, the one the optimizers compute with, leaves
        /// the range its flag allows, as a message naming the flag; nil: all are usable. A Double
        /// check passes --beta2 0.99999999, which is 1 in Float: Adam's bias correction 1 - b2^t is
        /// then 0 and its first update NaN; --trust-coefficient 1e-50 is 0 (LARS would stop on a
        /// precondition on every rank), --eps 1e39 infinite (Adam would never move).
        public var singlePrecisionProblem: String? {
            let belowOne = Float(1).nextDown, smallest = Float.leastNonzeroMagnitude, largest = Float.greatestFiniteMagnitude
            let checks: [(flag: String, value: Double, usable: (Float) -> Bool, range: String, hint: String)] = [
                ("--momentum", momentum, { $0 < 1 }, "below 1", "at most \(belowOne)"),
                ("--beta1", beta1, { $0 < 1 }, "below 1", "at most \(belowOne)"),
                ("--beta2", beta2, { $0 < 1 }, "below 1", "at most \(belowOne)"),
                ("--eps", epsilon, { $0 > 0 && $0.isFinite }, "positive and finite", "\(smallest) to \(largest)"),
                ("--trust-coefficient", trustCoefficient, { $0 > 0 && $0.isFinite }, "positive and finite", "\(smallest) to \(largest)"),
                ("--weight-decay", weightDecay, { $0.isFinite }, "finite", "at most \(largest)"),
            ]
            guard let bad = checks.first(where: { !$0.usable(Float($0.value)) }) else { return nil }
            return "\(bad.flag) \(bad.value) is \(Float(bad.value)) in single precision, which the optimizers compute in; "
                + "it must be \(bad.range) there (\(bad.hint))"
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
