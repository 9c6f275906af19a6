// The --model language: layers joined by '-', built over the data's (C, H, W) input.
//   convF kK [sS] [same|valid]   Conv2D, F filters, K x K kernel, stride S (1), padding valid by default
//   poolP [sS]                   max pool P x P, stride S (P)
//   fcN                          dense layer of N units; the last one gives the logits
//   bn                           BatchNorm per channel (after a conv) or per feature (after an fc)
//   relu                         ReLU
//   dropP                        dropout with probability P, e.g. drop0.5
//   gap                          global average pool (N, C, H, W) -> (N, C)
//   resF [sS]                    basic residual block (He et al. 2016): conv3x3 (stride S) - bn - relu -
//                                conv3x3 - bn, plus the identity, or a 1 x 1 conv (stride S) - bn
//                                projection when stride or width change; relu after the sum
//   flatten                      accepted for readability; activations are already flat (NCHW)
// Activations: a spec with a `relu` token says where every ReLU goes. A spec without one is read as
// the first round's were: each conv and each fc but the last is followed by a ReLU.
// A conv or fc whose output goes straight into bn has no bias (bn's shift takes its place); without
// a relu token, conv-bn is conv-relu-bn and keeps it. A ReLU after a conv, fc or bn is fused into
// that layer; elsewhere it is a layer of its own.
// Named models: `mlp`, `cnn` (the seed articles' conv32k3-pool2-fc10), `keskar-f1`, `keskar-c1`
// (Keskar et al. 2017, Table 1), `resnetD` for D = 6n + 2 (He et al. 2016's CIFAR ResNets: resnet8,
// resnet20, resnet44, ...). Example: conv32k3-bn-relu-pool2-conv64k3-pool2-fc128-drop0.5-fc10.
import Foundation

public enum LayerSpec: Equatable, Sendable {
    case conv(filters: Int, kernel: Int, stride: Int, same: Bool)
    case pool(size: Int, stride: Int)
    case dense(Int)
    case batchNorm
    case relu
    case dropout(Double)
    case globalAveragePool
    case residual(filters: Int, stride: Int)
    case flatten
}

public struct ModelSpecError: Error, CustomStringConvertible {
    public let description: String
}

public enum ModelSpec {
    public static let grammar = "a preset (mlp, cnn, keskar-f1, keskar-c1, resnet8, resnet20, resnetD for D = 6n+2) "
        + "or layers joined by '-': convFkK[sS][same|valid], poolP[sS], fcN, bn, relu, dropP, gap, resF[sS], flatten "
        + "(e.g. conv32k3-bn-relu-pool2-fc128-drop0.5-fc10)"

    /// The deepest resnetD preset: 6n+2 layers with n blocks a stage (He et al. went to n = 200,
    /// ResNet-1202); beyond this the spec text alone would be an allocation sized by the user.
    static let maxResidualBlocksPerStage = 10_000

    /// The presets as specs (`classes` logits), or nil.
    static func preset(_ name: String, hidden: [Int], classes: Int) throws -> String? {
        switch name {
        case "mlp": return (hidden.map { "fc\($0)" } + ["fc\(classes)"]).joined(separator: "-")
        case "cnn": return "conv32k3-pool2-flatten-fc\(classes)"
        // Keskar et al. 2017, Table 1 (F1 as in Hoffer et al.'s mnist_f1.py): 5 x [fc512, BN, ReLU].
        case "keskar-f1": return Array(repeating: "fc512-bn-relu", count: 5).joined(separator: "-") + "-fc\(classes)"
        case "keskar-c1":
            return "conv64k5same-bn-relu-pool3s2-conv64k5same-bn-relu-pool3s2"
                + "-fc384-bn-relu-drop0.5-fc192-bn-relu-drop0.5-fc\(classes)"
        default: break
        }
        // He et al. 2016, sec. 4.2: conv 16, then three stages of n blocks at 16, 32, 64 filters.
        guard name.hasPrefix("resnet"), let depth = Int(name.dropFirst(6)), depth >= 8, (depth - 2) % 6 == 0 else { return nil }
        let n = (depth - 2) / 6
        guard n <= maxResidualBlocksPerStage else {
            throw ModelSpecError(description: "\(name): resnetD presets go to D = \(6 * maxResidualBlocksPerStage + 2) (\(maxResidualBlocksPerStage) blocks a stage)")
        }
        var tokens = ["conv16k3same-bn-relu"]
        for (stage, filters) in [16, 32, 64].enumerated() {
            tokens.append(stage == 0 ? "res\(filters)" : "res\(filters)s2")
            tokens += Array(repeating: "res\(filters)", count: n - 1)
        }
        return (tokens + ["gap", "fc\(classes)"]).joined(separator: "-")
    }

    /// Expands a named model or parses a spec.
    public static func parse(_ text: String, hidden: [Int] = [128], classes: Int = 10) throws -> [LayerSpec] {
        let expanded = try preset(text, hidden: hidden, classes: classes) ?? text
        let tokens = expanded.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        return try tokens.map { token in
            guard let layer = try parseToken(token) else {
                throw ModelSpecError(description: "unknown model spec token '\(token)' in '\(text)'; expected \(grammar)")
            }
            return layer
        }
    }

    static func parseToken(_ token: String) throws -> LayerSpec? {
        switch token {
        case "flatten": return .flatten
        case "bn": return .batchNorm
        case "relu": return .relu
        case "gap": return .globalAveragePool
        default: break
        }
        if let n = number(after: "fc", in: token), n > 0 { return .dense(n) }
        if token.hasPrefix("drop"), token.count > 4, let p = Double(token.dropFirst(4)) {
            // The layer runs in Float, where p = 0.99999999 < 1 is 1: every value dropped, a 1 / 0 scale.
            guard p >= 0, Float(p) < 1 else {
                let rounded = p < 1 ? ", which is 1 in the layer's Float" : ""
                throw ModelSpecError(description: "\(token): a dropout probability must be at least 0 and below 1 (got \(p)\(rounded))")
            }
            return .dropout(p)
        }
        if token.hasPrefix("pool") {
            guard let (size, stride) = sizeAndStride(token.dropFirst(4)) else { return nil }
            return .pool(size: size, stride: stride ?? size)
        }
        if token.hasPrefix("res") {
            guard let (filters, stride) = sizeAndStride(token.dropFirst(3)) else { return nil }
            return .residual(filters: filters, stride: stride ?? 1)
        }
        guard token.hasPrefix("conv") else { return nil }
        var rest = Substring(token.dropFirst(4))
        var same = false
        if rest.hasSuffix("same") { same = true; rest = rest.dropLast(4) } else if rest.hasSuffix("valid") { rest = rest.dropLast(5) }
        let parts = rest.split(separator: "k", omittingEmptySubsequences: false)
        guard parts.count == 2, let filters = Int(parts[0]), filters > 0,
              let (kernel, stride) = sizeAndStride(parts[1]) else { return nil }
        return .conv(filters: filters, kernel: kernel, stride: stride ?? 1, same: same)
    }

    /// "3" -> (3, nil), "3s2" -> (3, 2); both positive.
    static func sizeAndStride(_ text: Substring) -> (Int, Int?)? {
        let parts = text.split(separator: "s", omittingEmptySubsequences: false)
        guard parts.count <= 2, let size = Int(parts[0]), size > 0 else { return nil }
        guard parts.count == 2 else { return (size, nil) }
        guard let stride = Int(parts[1]), stride > 0 else { return nil }
        return (size, stride)
    }

    static func number(after prefix: String, in token: String) -> Int? {
        token.hasPrefix(prefix) ? Int(token.dropFirst(prefix.count)) : nil
    }

    /// Builds the model over inputs of shape (channels, height, width).
    public static func build(_ specs: [LayerSpec], channels: Int, height: Int, width: Int, classes: Int) throws -> Model {
        guard case .dense(let last)? = specs.last(where: { $0 != .flatten }), last == classes else {
            throw ModelSpecError(description: "the model must end with fc\(classes), one logit per class")
        }
        // flatten ends the planes: a layer that needs them after it was built as if it were not there.
        if let at = specs.firstIndex(of: .flatten),
           let planar = specs[at...].first(where: { switch $0 { case .conv, .pool, .residual, .globalAveragePool: return true; default: return false } }) {
            throw ModelSpecError(description: "\(describe([planar])) needs planes, and flatten before it leaves none")
        }
        let specs = specs.filter { $0 != .flatten }
        let explicit = specs.contains(.relu)
        let lastDense = specs.lastIndex { if case .dense = $0 { return true } else { return false } }!
        var builder = Builder(shape: (channels, height, width))
        var index = 0
        while index < specs.count {
            let spec = specs[index]
            // A ReLU token right after a conv, fc or bn is fused into it.
            let fusedReLU = explicit && isFusable(spec) && index + 1 < specs.count && specs[index + 1] == .relu
            let beforeBatchNorm = index + 1 < specs.count && specs[index + 1] == .batchNorm
            // bn's shift replaces a bias only when bn takes the layer's output as is: a legacy spec's
            // ReLU sits between them (conv-relu-bn), and the bias sets where that ReLU cuts.
            func bias(_ activation: Dense.Activation) -> Bool { !(beforeBatchNorm && activation == .none) }
            switch spec {
            case .conv(let filters, let kernel, let stride, let same):
                let activation: Dense.Activation = fusedReLU || !explicit ? .relu : .none
                try builder.conv(filters: filters, kernel: kernel, stride: stride, same: same,
                                 activation: activation, bias: bias(activation))
            case .dense(let units):
                let activation: Dense.Activation = (explicit ? fusedReLU : index != lastDense) ? .relu : .none
                try builder.dense(units, activation: activation, bias: bias(activation))
            case .batchNorm:
                builder.batchNorm(activation: fusedReLU ? .relu : .none)
            case .relu:
                builder.relu()
            case .pool(let size, let stride):
                try builder.pool(size: size, stride: stride)
            case .dropout(let p):
                try builder.dropout(Float(p))
            case .globalAveragePool:
                try builder.globalAveragePool()
            case .residual(let filters, let stride):
                try builder.residual(filters: filters, stride: stride)
            case .flatten:
                break
            }
            index += fusedReLU ? 2 : 1
        }
        return Model(layers: builder.layers)
    }

    /// Layers a following ReLU is fused into.
    static func isFusable(_ spec: LayerSpec) -> Bool {
        switch spec {
        case .conv, .dense, .batchNorm: return true
        default: return false
        }
    }

    /// Multilayer perceptron inputSize -> hidden... (ReLU) -> classes, built like `--model mlp`.
    public static func mlp(inputSize: Int, hidden: [Int], classes: Int) throws -> Model {
        try build(parse("mlp", hidden: hidden, classes: classes), channels: 1, height: 1, width: inputSize, classes: classes)
    }

    /// The spec written back out, e.g. "conv32k3-pool2-fc10" (for logs and config.json).
    public static func describe(_ specs: [LayerSpec]) -> String {
        specs.map { spec in
            switch spec {
            case .conv(let f, let k, let s, let same): return "conv\(f)k\(k)" + (s == 1 ? "" : "s\(s)") + (same ? "same" : "")
            case .pool(let p, let s): return "pool\(p)" + (s == p ? "" : "s\(s)")
            case .dense(let n): return "fc\(n)"
            case .batchNorm: return "bn"
            case .relu: return "relu"
            case .dropout(let p): return "drop\(plainDecimal(p))"
            case .globalAveragePool: return "gap"
            case .residual(let f, let s): return "res\(f)" + (s == 1 ? "" : "s\(s)")
            case .flatten: return "flatten"
            }
        }.joined(separator: "-")
    }

    /// p without an exponent, parsing back to p: Swift writes 0.00001 as 1e-05, whose '-' splits
    /// the spec ("drop1e-05" is no token). A binary fraction has a finite decimal expansion, so
    /// some number of digits reads back exactly.
    static func plainDecimal(_ p: Double) -> String {
        let text = "\(p)"
        guard text.contains("e") else { return text }
        var digits = 1
        while Double(String(format: "%.\(digits)f", p)) != p { digits += 1 }
        return String(format: "%.\(digits)f", p)
    }
}
