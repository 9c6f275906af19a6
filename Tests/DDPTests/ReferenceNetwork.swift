// An independent double-precision twin of a training step, for the reference step tests: plain
// loops, no BLAS, no im2col, nothing from NN or Optim. It reads only what a user can read: the
// IDX files, the tensors in model.safetensors (parameters in buffer order, then BatchNorm's
// running statistics), and the documented meaning of the flags (PyTorch's SGD and BatchNorm,
// Goyal et al.'s warmup, the mean loss over the global batch, README's ghost batches).
// Shapes: an image is (C, H, W) flattened row-major (NCHW, as the trainer feeds it); a sample's
// values before a BatchNorm are (C, S), S = H * W after a convolution and 1 after a dense layer.
//
// BatchNorm, from README ("Models") and DESIGN.md ("Ghost batches"), not from Sources/NN:
// - training: each ghost group of G consecutive samples of the global batch (the sampler's order;
//   the last group of a short batch may be smaller) is normalised per channel with its own mean and
//   biased variance over its m = |group| S values: y = scale (x - mean) / sqrt(var + 1e-5) + shift;
// - backward over the group (Ioffe & Szegedy 2015): with dy' the output gradient masked by a
//   following ReLU and x-hat the normalised input, d scale = sum dy' x-hat, d shift = sum dy',
//   dx = scale / sqrt(var + eps) (dy' - mean(dy') - x-hat mean(dy' x-hat));
// - running statistics, once per optimizer step over the whole global batch (momentum 0.1):
//   mean <- 0.9 mean + 0.1 (mean of every value of the batch), var <- 0.9 var + 0.1 (pooled
//   unbiased within-group variance, sum over groups of sum (x - group mean)^2 / sum (m_g - 1));
// - evaluation: the running statistics in place of the group's.
import Foundation
import TestSupport

struct ReferenceNetwork {
    enum Layer {
        /// y (O) = x (I) W^T + b, W (O, I); ReLU unless it gives the logits (or a BatchNorm follows).
        case dense(inputs: Int, outputs: Int, relu: Bool, bias: Bool = true)
        /// Valid convolution, stride 1: x (C, H, W), W (F, C, K, K), y (F, H-K+1, W-K+1); ReLU by default.
        case conv(channels: Int, height: Int, width: Int, filters: Int, kernel: Int, relu: Bool = true, bias: Bool = true)
        /// Max over P x P windows, stride P: (C, H, W) -> (C, H/P, W/P); ties to the first in row order.
        case pool(channels: Int, height: Int, width: Int, size: Int)
        /// BatchNorm of (C, S) per channel with scale and shift (tensors [scale, shift]), then an optional ReLU.
        case batchNorm(channels: Int, spatial: Int, relu: Bool)

        /// The layer's trained tensors in file order: [weight, bias?] or BatchNorm's [scale, shift].
        var tensorCount: Int {
            switch self {
            case let .dense(_, _, _, bias), let .conv(_, _, _, _, _, _, bias): return bias ? 2 : 1
            case .pool: return 0
            case .batchNorm: return 2
            }
        }

        /// Weight decay's roles (README): weights only, not biases, not BatchNorm's scale and shift.
        var decayed: [Bool] {
            switch self {
            case .dense, .conv: return [true, false].prefix(tensorCount).map { $0 }
            case .pool: return []
            case .batchNorm: return [false, false]
            }
        }

        var trainable: Bool { tensorCount > 0 }
    }

    static let normMomentum = 0.1, normEpsilon = 1e-5

    let layers: [Layer]
    /// Per trainable layer: its tensors, flattened as in the safetensors file.
    var parameters: [[[Double]]]
    /// Per BatchNorm layer, in order: [running mean, running variance] (C each).
    var state: [[[Double]]]
    /// Ghost batch G: training statistics over consecutive groups of G samples.
    let ghostBatch: Int

    /// `tensors`: model.safetensors in file order, each trainable layer's tensors, then two
    /// (running mean, running variance) per BatchNorm layer.
    init(layers: [Layer], tensors: [[Float]], ghostBatch: Int = .max) {
        self.layers = layers
        self.ghostBatch = ghostBatch
        let counts = layers.map(\.tensorCount).filter { $0 > 0 }
        let norms = layers.filter { if case .batchNorm = $0 { return true } else { return false } }.count
        precondition(tensors.count == counts.reduce(0, +) + 2 * norms,
                     "\(tensors.count) tensors for \(counts.reduce(0, +)) trained and \(2 * norms) state tensors")
        var next = 0
        parameters = counts.map { count in
            defer { next += count }
            return tensors[next..<(next + count)].map { $0.map { Double($0) } }
        }
        state = (0..<norms).map { k in [tensors[next + 2 * k].map { Double($0) }, tensors[next + 2 * k + 1].map { Double($0) }] }
    }

    /// Each layer's index into `parameters` (nil for a layer without).
    var owners: [Int?] {
        var next = 0
        return layers.map { layer in
            guard layer.trainable else { return nil }
            next += 1
            return next - 1
        }
    }

    /// Each BatchNorm layer's index into `state` (nil for other layers).
    var normIndices: [Int?] {
        var next = 0
        return layers.map { layer in
            guard case .batchNorm = layer else { return nil }
            next += 1
            return next - 1
        }
    }

    /// The ghost groups of a batch of n samples: consecutive runs of G, the last possibly shorter.
    func groups(_ n: Int) -> [Range<Int>] {
        stride(from: 0, to: n, by: ghostBatch).map { $0..<min($0 + ghostBatch, n) }
    }

    /// Mean and biased variance of one channel over a group's values, and the sum of squared deviations.
    func moments(_ x: [[Double]], group: Range<Int>, channel: Int, spatial s: Int) -> (mean: Double, variance: Double, squares: Double, count: Int) {
        let values = group.flatMap { n in x[n][(channel * s)..<((channel + 1) * s)] }
        let mean = values.reduce(0, +) / Double(values.count)
        let squares = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        return (mean, squares / Double(values.count), squares, values.count)
    }

    /// Every activation of a batch, layer by layer: a[i] is layer i's input, a[i + 1] its output.
    /// Whole batches pass each layer: BatchNorm in training couples the samples of a ghost group.
    func activations(_ batch: [[Double]], training: Bool = true) -> [[[Double]]] {
        var a = [batch]
        for (i, (layer, p)) in zip(layers, owners).enumerated() {
            let w = p.map { parameters[$0] } ?? []
            if case let .batchNorm(c, s, relu) = layer {
                a.append(normalize(a[i], channels: c, spatial: s, relu: relu, trainable: w,
                                   running: training ? nil : state[normIndices[i]!]))
            } else {
                a.append(a.last!.map { forward(layer, $0, trainable: w) })
            }
        }
        return a
    }

    /// BatchNorm's forward: each ghost group's statistics in training, `running` ([mean, var]) in evaluation.
    func normalize(_ x: [[Double]], channels c: Int, spatial s: Int, relu: Bool, trainable w: [[Double]], running: [[Double]]?) -> [[Double]] {
        var y = x
        for group in running == nil ? groups(x.count) : [0..<x.count] {
            for channel in 0..<c {
                var (mean, variance) = (0.0, 0.0)
                if let running {
                    (mean, variance) = (running[0][channel], running[1][channel])
                } else {
                    let m = moments(x, group: group, channel: channel, spatial: s)
                    (mean, variance) = (m.mean, m.variance)
                }
                for n in group {
                    for j in (channel * s)..<((channel + 1) * s) {
                        let v = w[0][channel] * (x[n][j] - mean) / (variance + Self.normEpsilon).squareRoot() + w[1][channel]
                        y[n][j] = relu ? max(v, 0) : v
                    }
                }
            }
        }
        return y
    }

    /// The statistics a training step folds into a BatchNorm layer's running ones: per channel, the
    /// mean of every value of the batch and the pooled unbiased within-group variance.
    func batchStatistics(_ x: [[Double]], channels c: Int, spatial s: Int) -> [[Double]] {
        var result = [[Double]](repeating: [Double](repeating: 0, count: c), count: 2)
        for channel in 0..<c {
            var (total, squares, values, freedom) = (0.0, 0.0, 0, 0)
            for group in groups(x.count) {
                let m = moments(x, group: group, channel: channel, spatial: s)
                total += m.mean * Double(m.count)
                squares += m.squares
                values += m.count
                freedom += m.count - 1
            }
            result[0][channel] = total / Double(values)
            result[1][channel] = squares / Double(freedom)
        }
        return result
    }

    /// Loss summed over the samples and gradients summed over them (same nesting as `parameters`),
    /// and per BatchNorm layer the batch's [mean, variance] for `foldRunningStatistics`.
    func lossAndGradient(images: [[Double]], labels: [Int]) -> (loss: Double, gradient: [[[Double]]], statistics: [[[Double]]]) {
        var gradient = parameters.map { $0.map { [Double](repeating: 0, count: $0.count) } }
        var statistics: [[[Double]]] = []
        let a = activations(images)
        // Softmax cross-entropy on the logits; d loss / d logits = softmax - onehot.
        var loss = 0.0
        var delta = zip(a.last!, labels).map { logits, label -> [Double] in
            let top = logits.max()!
            let exps = logits.map { exp($0 - top) }
            let total = exps.reduce(0, +)
            loss += log(total) - (logits[label] - top)
            var d = exps.map { $0 / total }
            d[label] -= 1
            return d
        }
        for (i, (layer, p)) in zip(layers, owners).enumerated().reversed() {
            var unused: [[Double]] = []
            if case let .batchNorm(c, s, relu) = layer {
                statistics.insert(batchStatistics(a[i], channels: c, spatial: s), at: 0)
                delta = normalizeBackward(input: a[i], output: a[i + 1], delta: delta, channels: c, spatial: s, relu: relu,
                                          trainable: parameters[p!], into: &gradient[p!])
                continue
            }
            delta = delta.indices.map { n in
                if let p {
                    return backward(layer, input: a[i][n], output: a[i + 1][n], delta: delta[n], trainable: parameters[p], into: &gradient[p])
                }
                return backward(layer, input: a[i][n], output: a[i + 1][n], delta: delta[n], trainable: [], into: &unused)
            }
        }
        return (loss, gradient, statistics)
    }

    /// BatchNorm's backward in training, group by group; adds d scale and d shift into `g`.
    func normalizeBackward(input x: [[Double]], output y: [[Double]], delta dy: [[Double]], channels c: Int, spatial s: Int, relu: Bool,
                           trainable w: [[Double]], into g: inout [[Double]]) -> [[Double]] {
        var dx = dy.map { $0.map { _ in 0.0 } }
        for group in groups(x.count) {
            for channel in 0..<c {
                let m = moments(x, group: group, channel: channel, spatial: s)
                let inverse = 1 / (m.variance + Self.normEpsilon).squareRoot()
                let span = (channel * s)..<((channel + 1) * s)
                var (sumGradient, sumProduct) = (0.0, 0.0)
                for n in group {
                    for j in span where !(relu && y[n][j] <= 0) {
                        sumGradient += dy[n][j]
                        sumProduct += dy[n][j] * (x[n][j] - m.mean) * inverse
                    }
                }
                g[0][channel] += sumProduct
                g[1][channel] += sumGradient
                let count = Double(m.count)
                for n in group {
                    for j in span {
                        let masked = relu && y[n][j] <= 0 ? 0 : dy[n][j]
                        let xhat = (x[n][j] - m.mean) * inverse
                        dx[n][j] = w[0][channel] * inverse * (masked - sumGradient / count - xhat * sumProduct / count)
                    }
                }
            }
        }
        return dx
    }

    /// After a training step: running <- (1 - 0.1) running + 0.1 batch, per BatchNorm layer.
    mutating func foldRunningStatistics(_ statistics: [[[Double]]]) {
        for k in state.indices {
            for t in 0..<2 {
                for channel in state[k][t].indices {
                    state[k][t][channel] = (1 - Self.normMomentum) * state[k][t][channel] + Self.normMomentum * statistics[k][t][channel]
                }
            }
        }
    }

    /// Summed loss and correct count over the samples, forward only in evaluation mode (the trainer's evaluation).
    func evaluate(images: [[Double]], labels: [Int]) -> (loss: Double, correct: Int) {
        var loss = 0.0, correct = 0
        for (logits, label) in zip(activations(images, training: false).last!, labels) {
            let top = logits.max()!
            loss += log(logits.reduce(0) { $0 + exp($1 - top) }) - (logits[label] - top)
            if logits.firstIndex(of: top) == label { correct += 1 }
        }
        return (loss, correct)
    }

    func forward(_ layer: Layer, _ x: [Double], trainable w: [[Double]]) -> [Double] {
        switch layer {
        case let .dense(inputs, outputs, relu, bias):
            return (0..<outputs).map { o in
                let y = (bias ? w[1][o] : 0) + (0..<inputs).reduce(0) { $0 + w[0][o * inputs + $1] * x[$1] }
                return relu ? max(y, 0) : y
            }
        case let .conv(c, h, wd, f, k, relu, bias):
            let (oh, ow) = (h - k + 1, wd - k + 1)
            var y = [Double](repeating: 0, count: f * oh * ow)
            for filter in 0..<f {
                for i in 0..<oh {
                    for j in 0..<ow {
                        var sum = bias ? w[1][filter] : 0
                        for ch in 0..<c { for u in 0..<k { for v in 0..<k {
                            sum += w[0][((filter * c + ch) * k + u) * k + v] * x[(ch * h + i + u) * wd + j + v]
                        } } }
                        y[(filter * oh + i) * ow + j] = relu ? max(sum, 0) : sum
                    }
                }
            }
            return y
        case let .pool(c, h, wd, s):
            return poolArgmax(c, h, wd, s, of: x).map { x[$0] }
        case .batchNorm:
            preconditionFailure("BatchNorm takes the whole batch (normalize)")
        }
    }

    /// Input index of each pooled output (the first maximum in row order).
    func poolArgmax(_ c: Int, _ h: Int, _ w: Int, _ s: Int, of x: [Double]) -> [Int] {
        var indices: [Int] = []
        for ch in 0..<c {
            for i in 0..<(h / s) {
                for j in 0..<(w / s) {
                    var best = (ch * h + i * s) * w + j * s
                    for u in 0..<s { for v in 0..<s where x[(ch * h + i * s + u) * w + j * s + v] > x[best] {
                        best = (ch * h + i * s + u) * w + j * s + v
                    } }
                    indices.append(best)
                }
            }
        }
        return indices
    }

    /// Adds this sample's parameter gradients into `g` and returns d loss / d input.
    func backward(_ layer: Layer, input x: [Double], output y: [Double], delta dyIn: [Double], trainable w: [[Double]],
                  into g: inout [[Double]]) -> [Double] {
        var dx = [Double](repeating: 0, count: x.count)
        switch layer {
        case let .dense(inputs, outputs, relu, bias):
            for o in 0..<outputs {
                let dy = relu && y[o] <= 0 ? 0 : dyIn[o]
                if bias { g[1][o] += dy }
                for i in 0..<inputs {
                    g[0][o * inputs + i] += dy * x[i]
                    dx[i] += dy * w[0][o * inputs + i]
                }
            }
        case let .conv(c, h, wd, f, k, relu, bias):
            let (oh, ow) = (h - k + 1, wd - k + 1)
            for filter in 0..<f {
                for i in 0..<oh {
                    for j in 0..<ow {
                        let o = (filter * oh + i) * ow + j
                        let dy = relu && y[o] <= 0 ? 0 : dyIn[o]
                        if bias { g[1][filter] += dy }
                        for ch in 0..<c { for u in 0..<k { for v in 0..<k {
                            let (wi, xi) = (((filter * c + ch) * k + u) * k + v, (ch * h + i + u) * wd + j + v)
                            g[0][wi] += dy * x[xi]
                            dx[xi] += dy * w[0][wi]
                        } } }
                    }
                }
            }
        case let .pool(c, h, wd, s):
            for (o, i) in poolArgmax(c, h, wd, s, of: x).enumerated() { dx[i] += dyIn[o] }
        case .batchNorm:
            preconditionFailure("BatchNorm takes the whole batch (normalizeBackward)")
        }
        return dx
    }
}

/// The training images of an IDXFolder written with `pixel: IDXFolder.scrambled`, standardised as
/// the trainer documents it: (v / 255 - mean) / std over every training pixel (population std).
func referenceImages(count: Int, pixelsPerImage: Int) -> [[Double]] {
    let pixels = (0..<(count * pixelsPerImage)).map { Double(IDXFolder.scrambled($0)) / 255 }
    let mean = pixels.reduce(0, +) / Double(pixels.count)
    let std = (pixels.reduce(0) { $0 + $1 * $1 } / Double(pixels.count) - mean * mean).squareRoot()
    return (0..<count).map { n in pixels[(n * pixelsPerImage)..<((n + 1) * pixelsPerImage)].map { ($0 - mean) / std } }
}
