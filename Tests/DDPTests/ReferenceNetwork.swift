// An independent double-precision twin of a training step, for the reference step tests: plain
// loops, no BLAS, no im2col, nothing from NN or Optim. It reads only what a user can read: the
// IDX files, the weights in model.safetensors (in buffer order), and the documented meaning of
// the flags (PyTorch's SGD, Goyal et al.'s warmup, the mean loss over the global batch).
// Shapes: an image is (C, H, W) flattened row-major (NCHW, as the trainer feeds it).
// To add BatchNorm: a case in `Layer`; in `activations`, a branch that takes the whole batch (in
// the sampler's order) and normalises each ghost group of G consecutive samples with its own
// mean and variance; in `lossAndGradient`, its backward over the group (the usual BatchNorm
// backward: dx = (dy - mean(dy) - xhat mean(dy xhat)) scale / sqrt(var + eps)); its running
// statistics are read beside the parameters (`tensors` then also holds the state buffer) and the
// updated ones compared after the steps like the weights.
import Foundation
import TestSupport

struct ReferenceNetwork {
    enum Layer {
        /// y (O) = x (I) W^T + b, W (O, I); ReLU unless it gives the logits.
        case dense(inputs: Int, outputs: Int, relu: Bool)
        /// Valid convolution, stride 1, ReLU: x (C, H, W), W (F, C, K, K), y (F, H-K+1, W-K+1).
        case conv(channels: Int, height: Int, width: Int, filters: Int, kernel: Int)
        /// Max over P x P windows, stride P: (C, H, W) -> (C, H/P, W/P); ties to the first in row order.
        case pool(channels: Int, height: Int, width: Int, size: Int)

        var trainable: Bool {
            if case .pool = self { return false }
            return true
        }
    }

    let layers: [Layer]
    /// Per trainable layer: [weight, bias], flattened as in the safetensors file.
    var parameters: [[[Double]]]

    /// `tensors`: model.safetensors in buffer order, two (weight, bias) per trainable layer.
    init(layers: [Layer], tensors: [[Float]]) {
        self.layers = layers
        let trainable = layers.filter(\.trainable).count
        precondition(tensors.count == 2 * trainable, "\(tensors.count) tensors for \(trainable) trainable layers")
        parameters = []
        for p in 0..<trainable {
            let weight: [Double] = tensors[2 * p].map { Double($0) }
            let bias: [Double] = tensors[2 * p + 1].map { Double($0) }
            parameters.append([weight, bias])
        }
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

    /// Every activation of a batch, layer by layer: a[i] is layer i's input, a[i + 1] its output.
    /// Whole batches pass each layer, so a layer that couples samples (BatchNorm over ghost groups
    /// of consecutive samples) sees them together; the layers here map each sample alone.
    func activations(_ batch: [[Double]]) -> [[[Double]]] {
        var a = [batch]
        for (layer, p) in zip(layers, owners) {
            a.append(a.last!.map { forward(layer, $0, trainable: p.map { parameters[$0] } ?? []) })
        }
        return a
    }

    /// Loss summed over the samples and gradients summed over them (same nesting as `parameters`).
    func lossAndGradient(images: [[Double]], labels: [Int]) -> (loss: Double, gradient: [[[Double]]]) {
        var gradient = parameters.map { $0.map { [Double](repeating: 0, count: $0.count) } }
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
            delta = delta.indices.map { n in
                if let p {
                    return backward(layer, input: a[i][n], output: a[i + 1][n], delta: delta[n], trainable: parameters[p], into: &gradient[p])
                }
                return backward(layer, input: a[i][n], output: a[i + 1][n], delta: delta[n], trainable: [], into: &unused)
            }
        }
        return (loss, gradient)
    }

    /// Summed loss and correct count over the samples, forward only (the trainer's evaluation).
    func evaluate(images: [[Double]], labels: [Int]) -> (loss: Double, correct: Int) {
        var loss = 0.0, correct = 0
        for (logits, label) in zip(activations(images).last!, labels) {
            let top = logits.max()!
            loss += log(logits.reduce(0) { $0 + exp($1 - top) }) - (logits[label] - top)
            if logits.firstIndex(of: top) == label { correct += 1 }
        }
        return (loss, correct)
    }

    func forward(_ layer: Layer, _ x: [Double], trainable w: [[Double]]) -> [Double] {
        switch layer {
        case let .dense(inputs, outputs, relu):
            return (0..<outputs).map { o in
                let y = w[1][o] + (0..<inputs).reduce(0) { $0 + w[0][o * inputs + $1] * x[$1] }
                return relu ? max(y, 0) : y
            }
        case let .conv(c, h, wd, f, k):
            let (oh, ow) = (h - k + 1, wd - k + 1)
            var y = [Double](repeating: 0, count: f * oh * ow)
            for filter in 0..<f {
                for i in 0..<oh {
                    for j in 0..<ow {
                        var sum = w[1][filter]
                        for ch in 0..<c { for u in 0..<k { for v in 0..<k {
                            sum += w[0][((filter * c + ch) * k + u) * k + v] * x[(ch * h + i + u) * wd + j + v]
                        } } }
                        y[(filter * oh + i) * ow + j] = max(sum, 0)
                    }
                }
            }
            return y
        case let .pool(c, h, wd, s):
            return poolArgmax(c, h, wd, s, of: x).map { x[$0] }
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
        case let .dense(inputs, outputs, relu):
            for o in 0..<outputs {
                let dy = relu && y[o] <= 0 ? 0 : dyIn[o]
                g[1][o] += dy
                for i in 0..<inputs {
                    g[0][o * inputs + i] += dy * x[i]
                    dx[i] += dy * w[0][o * inputs + i]
                }
            }
        case let .conv(c, h, wd, f, k):
            let (oh, ow) = (h - k + 1, wd - k + 1)
            for filter in 0..<f {
                for i in 0..<oh {
                    for j in 0..<ow {
                        let o = (filter * oh + i) * ow + j
                        let dy = y[o] <= 0 ? 0 : dyIn[o]
                        g[1][filter] += dy
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
