// Batch normalization (Ioffe & Szegedy 2015) per feature after a dense layer, per channel after a
// convolution, with learned scale and shift, running statistics, and ghost batches (Hoffer et al.
// 2017): in training, statistics are taken over consecutive groups of `context.ghostBatch` samples.
// The running statistics are not updated in the pass: each group adds its moments (sum and
// within-group sum of squares per channel) to a slice of the reduction buffer, which rides the
// step's one allreduce, and `updateState` folds the summed moments in once per optimizer step, so
// every rank holds the same running statistics whatever the split of the batch.
//   running_mean <- (1 - 0.1) running_mean + 0.1 mean,  running_var <- (1 - 0.1) running_var + 0.1 var
// (PyTorch's momentum 0.1), var being the pooled unbiased within-group variance
// sum_g SS_g / sum_g (m_g - 1), which is PyTorch's unbiased batch variance when there is one group.
// Shapes: x, y (N, C, S) with S = H * W (1 after a dense layer); scale, shift, running stats (C).
// An optional ReLU is fused (conv-bn-relu).
import Tensor

public final class BatchNorm: Layer {
    public static let momentum: Float = 0.1
    public static let epsilon: Float = 1e-5

    public let shape: [Int]
    public let activation: Dense.Activation
    public let channels: Int
    /// Values per channel per sample (H * W).
    public let spatial: Int
    private var scale: UnsafeMutablePointer<Float>!, shift: UnsafeMutablePointer<Float>!
    private var scaleGradient: UnsafeMutablePointer<Float>!, shiftGradient: UnsafeMutablePointer<Float>!
    private var runningMean: UnsafeMutablePointer<Float>!, runningVariance: UnsafeMutablePointer<Float>!
    /// [sum of x (C) | within-group sum of squared deviations (C)] over this rank's groups of the step.
    private var moments: UnsafeMutablePointer<Float>!
    /// x-hat of the last training or probe pass (trainingBatch, C, S).
    private var normalized = FloatBuffer(count: 0)
    /// 1 / sqrt(var + eps) per (group, channel) in training; per channel (running) in a probe.
    private var inverseStd = FloatBuffer(count: 0)

    public init(shape: [Int], activation: Dense.Activation = .none) {
        precondition(!shape.isEmpty && shape.allSatisfy { $0 > 0 })
        self.shape = shape
        self.activation = activation
        channels = shape[0]
        spatial = shape.dropFirst().reduce(1, *)
    }

    public var inputShape: [Int] { shape }
    public var outputShape: [Int] { shape }
    public var parameterSpecs: [TensorSpec] {
        [TensorSpec("weight", [channels], role: .scale), TensorSpec("bias", [channels], role: .shift)]
    }
    public var stateSpecs: [TensorSpec] { [TensorSpec("running_mean", [channels]), TensorSpec("running_var", [channels])] }
    public var momentCount: Int { 2 * channels }

    public func bind(_ binding: LayerBinding) {
        (scale, shift) = (binding.parameters, binding.parameters + channels)
        (scaleGradient, shiftGradient) = (binding.gradients, binding.gradients + channels)
        (runningMean, runningVariance) = (binding.state, binding.state + channels)
        moments = binding.moments
    }

    /// Scale 1, shift 0, running mean 0, running variance 1 (PyTorch's defaults).
    public func initialize(_ rng: inout SplitMix64) {
        scale.update(repeating: 1, count: channels)
        shift.update(repeating: 0, count: channels)
        runningMean.update(repeating: 0, count: channels)
        runningVariance.update(repeating: 1, count: channels)
    }

    public func reserve(batch: Int, trainingBatch: Int) {
        normalized = FloatBuffer(count: trainingBatch * channels * spatial)
        inverseStd = FloatBuffer(count: max(trainingBatch, 1) * channels)
    }

    public func forward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, batch: Int, context: PassContext) {
        let (c, s) = (channels, spatial)
        guard context.mode == .training else {
            // Running statistics; a probe keeps x-hat for its backward pass.
            let keep = context.mode == .probe
            precondition(!keep || batch * c * s <= normalized.count, "BatchNorm probe batch exceeds its training capacity")
            for channel in 0..<c {
                let inv = 1 / (runningVariance[channel] + BatchNorm.epsilon).squareRoot()
                if keep { inverseStd[channel] = inv }
                let (mean, gamma, beta) = (runningMean[channel], scale[channel], shift[channel])
                for n in 0..<batch {
                    let offset = (n * c + channel) * s
                    let (source, target, saved) = (x + offset, y + offset, normalized.pointer + offset)
                    for i in 0..<s {
                        let xhat = (source[i] - mean) * inv
                        if keep { saved[i] = xhat }
                        target[i] = gamma * xhat + beta
                    }
                }
            }
            if activation == .relu { applyReLU(y, count: batch * c * s) }
            return
        }
        precondition(batch * c * s <= normalized.count, "BatchNorm batch \(batch) exceeds its training capacity")
        let group = max(1, min(context.ghostBatch, batch))
        var first = 0, g = 0
        while first < batch {
            let last = min(first + group, batch)
            let count = Float((last - first) * s)
            for channel in 0..<c {
                var total: Float = 0
                for n in first..<last { total += sum(x + (n * c + channel) * s, count: s) }
                let mean = total / count
                var squares: Float = 0
                for n in first..<last { squares += sumOfSquaredDeviations(x + (n * c + channel) * s, count: s, from: mean) }
                let inv = 1 / (squares / count + BatchNorm.epsilon).squareRoot()
                inverseStd[g * c + channel] = inv
                moments[channel] += total
                moments[c + channel] += squares
                let (gamma, beta) = (scale[channel], shift[channel])
                for n in first..<last {
                    let offset = (n * c + channel) * s
                    let (source, target, saved) = (x + offset, y + offset, normalized.pointer + offset)
                    for i in 0..<s {
                        let xhat = (source[i] - mean) * inv
                        saved[i] = xhat
                        target[i] = gamma * xhat + beta
                    }
                }
            }
            first = last
            g += 1
        }
        if activation == .relu { applyReLU(y, count: batch * c * s) }
    }

    public func backward(input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
                         outputGradient dy: UnsafePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>?,
                         batch: Int, context: PassContext) {
        precondition(context.mode != .evaluation, "BatchNorm keeps no x-hat in evaluation: differentiate a probe pass instead")
        let (c, s) = (channels, spatial)
        let relu = activation == .relu
        let training = context.mode == .training
        let group = training ? max(1, min(context.ghostBatch, batch)) : batch
        var first = 0, g = 0
        while first < batch {
            let last = min(first + group, batch)
            let count = Float((last - first) * s)
            for channel in 0..<c {
                // sums over the group of dy' and dy' x-hat, dy' being dy masked by the fused ReLU.
                var (sumGradient, sumProduct): (Float, Float) = (0, 0)
                for n in first..<last {
                    let offset = (n * c + channel) * s
                    let (a, b) = gradientSums(dy + offset, normalized.pointer + offset, output: relu ? y + offset : nil, count: s)
                    sumGradient += a
                    sumProduct += b
                }
                scaleGradient[channel] += sumProduct
                shiftGradient[channel] += sumGradient
                guard let dx else { continue }
                let gamma = scale[channel]
                // Training: dx = gamma inv / m (m dy' - sum dy' - x-hat sum dy' x-hat) (Ioffe & Szegedy, sec. 3);
                // a probe's statistics are constants: dx = gamma inv dy'.
                let inv = training ? inverseStd[g * c + channel] : inverseStd[channel]
                let factor = training ? gamma * inv / count : gamma * inv
                let (meanGradient, meanProduct) = training ? (sumGradient, sumProduct) : (0, 0)
                let scaleBy: Float = training ? count : 1
                for n in first..<last {
                    let offset = (n * c + channel) * s
                    let (gradient, saved, target) = (dy + offset, normalized.pointer + offset, dx + offset)
                    let output = y + offset
                    for i in 0..<s {
                        let d = relu && output[i] <= 0 ? 0 : gradient[i]
                        target[i] += factor * (scaleBy * d - meanGradient - saved[i] * meanProduct)
                    }
                }
            }
            first = last
            g += 1
        }
    }

    public func updateState(samples: Int, groups: Int) {
        let values = samples * spatial
        guard values > 0 else { return }
        let freedom = values - groups
        let m = BatchNorm.momentum
        for channel in 0..<channels {
            runningMean[channel] = (1 - m) * runningMean[channel] + m * moments[channel] / Float(values)
            if freedom > 0 {
                runningVariance[channel] = (1 - m) * runningVariance[channel] + m * moments[channels + channel] / Float(freedom)
            }
        }
    }
}

/// sum_i (x[i] - mean)^2, in 16 float lanes.
@inline(__always)
func sumOfSquaredDeviations(_ x: UnsafePointer<Float>, count: Int, from mean: Float) -> Float {
    var lanes = SIMD16<Float>()
    var i = 0
    let raw = UnsafeRawPointer(x)
    while i + 16 <= count {
        let d = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self) - mean
        lanes += d * d
        i += 16
    }
    var total = lanes.sum()
    while i < count {
        total += (x[i] - mean) * (x[i] - mean)
        i += 1
    }
    return total
}

/// (sum dy', sum dy' x-hat) with dy' = dy, or dy masked where the fused ReLU's output is not positive.
@inline(__always)
func gradientSums(_ dy: UnsafePointer<Float>, _ xhat: UnsafePointer<Float>, output y: UnsafePointer<Float>?, count: Int) -> (Float, Float) {
    var (a, b) = (SIMD16<Float>(), SIMD16<Float>())
    var i = 0
    let (gradient, saved) = (UnsafeRawPointer(dy), UnsafeRawPointer(xhat))
    while i + 16 <= count {
        var g = gradient.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
        if let y { g = g.replacing(with: 0, where: UnsafeRawPointer(y).loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self) .<= 0) }
        a += g
        b += g * saved.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
        i += 16
    }
    var (sumA, sumB) = (a.sum(), b.sum())
    while i < count {
        let g = y != nil && y![i] <= 0 ? 0 : dy[i]
        sumA += g
        sumB += g * xhat[i]
        i += 1
    }
    return (sumA, sumB)
}
