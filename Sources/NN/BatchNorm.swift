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
// An optional ReLU is fused (conv-bn-relu). The per-plane passes are CConv's (batch_norm.h): the
// CPU's widest vectors, where Swift's SIMD types stay on the baseline's SSE (the layer ran at
// 4-8 GFLOP/s, a sixth of resnet8's step).
import CConv
import Tensor

public final class BatchNorm: InputGradientWriter {
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
    /// The mean and 1 / sqrt(var + eps) of the last training pass per (group, channel), or of a
    /// probe per channel (the running ones): backward recomputes x-hat from them and x (storing
    /// x-hat cost a write and a read of the whole activation, and the layer is memory-bound).
    private var groupMean = FloatBuffer(count: 0), inverseStd = FloatBuffer(count: 0)
    /// Two per-channel sums of one group's pass.
    private var channelSums = FloatBuffer(count: 0)
    private var trainingCapacity = 0

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
        trainingCapacity = trainingBatch
        groupMean = FloatBuffer(count: max(trainingBatch, 1) * channels)
        inverseStd = FloatBuffer(count: max(trainingBatch, 1) * channels)
        channelSums = FloatBuffer(count: 2 * channels)
    }

    public func forward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, batch: Int, context: PassContext) {
        forward(x, into: y, batch: batch, context: context, addingThenReLU: nil)
    }

    /// Whether `forward(_:into:batch:context:addingThenReLU:)` can take a residual block's sum: planes,
    /// and no activation of its own.
    var foldsResidualSum: Bool { spatial > 1 && activation == .none }

    /// With `addend` (N, C, S): y = relu(bn(x) + addend) in the normalising pass, for a residual block
    /// whose body ends here (Residual): the sum and its ReLU cost no pass of their own, and the body's
    /// output is not stored (backward on planes reads x and dy only).
    func forward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, batch: Int, context: PassContext,
                 addingThenReLU addend: UnsafePointer<Float>?) {
        precondition(addend == nil || foldsResidualSum, "a residual sum folds into a BatchNorm on planes without activation")
        let (c, s) = (channels, spatial)
        guard context.mode == .training else {
            // Running statistics; a probe keeps them for its backward pass.
            for channel in 0..<c {
                let plane = self.plane(channel, mean: runningMean[channel],
                                       inverseStd: 1 / (runningVariance[channel] + BatchNorm.epsilon).squareRoot())
                if context.mode == .probe { (groupMean[channel], inverseStd[channel]) = (plane.mean, plane.inverse_std) }
                for n in 0..<batch {
                    let offset = (n * c + channel) * s
                    ddp_bn_normalize(x + offset, y + offset, Int32(s), withReLU(plane, addend), addend == nil ? nil : addend! + offset)
                }
            }
            return
        }
        precondition(batch <= trainingCapacity, "BatchNorm batch \(batch) exceeds its training capacity")
        let group = max(1, min(context.ghostBatch, batch))
        var first = 0, g = 0
        while first < batch {
            let last = min(first + group, batch)
            if s == 1 {
                forwardFeatures(x, into: y, first: first, last: last, mean: groupMean.pointer + g * c, inverseStd: inverseStd.pointer + g * c)
            } else {
                forwardPlanes(x, into: y, addend: addend, first: first, last: last, mean: groupMean.pointer + g * c,
                              inverseStd: inverseStd.pointer + g * c)
            }
            first = last
            g += 1
        }
    }

    /// Training statistics of one group of planes (S > 1), each pass a sample at a time across the
    /// channels: the group's activations are read in address order. Walked a channel at a time (a
    /// jump of C x S floats from one sample's plane to the next), resnet8's BatchNorm layers took
    /// twice as long (128 per rank, forward 8.8 ms against 4.1, backward 11.4 against 6.2). Per
    /// channel the sums still add the samples in order: the bits are the channel-major walk's.
    /// The moments are taken in one read of the group about a shift per channel, the mean of the
    /// group's first plane (Chan, Golub & LeVeque 1983's shifted sums): SS = S2 - S1^2 / m keeps its
    /// digits while the shift is near the mean. Two reads (the mean, then the squared deviations
    /// about it) took a quarter of the forward pass, which is memory-bound.
    private func forwardPlanes(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, addend: UnsafePointer<Float>?, first: Int, last: Int,
                               mean: UnsafeMutablePointer<Float>, inverseStd inv: UnsafeMutablePointer<Float>) {
        let (c, s) = (channels, spatial)
        let (sums, squares) = (channelSums.pointer, channelSums.pointer + c)
        let count = Float((last - first) * s)
        for channel in 0..<c { mean[channel] = ddp_bn_sum(x + (first * c + channel) * s, Int32(s)) / Float(s) }
        sums.update(repeating: 0, count: c)
        squares.update(repeating: 0, count: c)
        var pair: (Float, Float) = (0, 0)
        for n in first..<last {
            for channel in 0..<c {
                withUnsafeMutableBytes(of: &pair) {
                    ddp_bn_shifted_sums(x + (n * c + channel) * s, Int32(s), mean[channel], $0.baseAddress!.assumingMemoryBound(to: Float.self))
                }
                sums[channel] += pair.0
                squares[channel] += pair.1
            }
        }
        for channel in 0..<c {
            let (shift, centred) = (mean[channel], sums[channel] / count)
            mean[channel] = shift + centred
            moments[channel] += shift * count + sums[channel]
            // Never below 0 by rounding (a constant channel); NaN passes.
            let deviations = squares[channel] - sums[channel] * centred
            let sumOfSquares = deviations < 0 ? 0 : deviations
            moments[c + channel] += sumOfSquares
            inv[channel] = 1 / (sumOfSquares / count + BatchNorm.epsilon).squareRoot()
        }
        for n in first..<last {
            for channel in 0..<c {
                let offset = (n * c + channel) * s
                ddp_bn_normalize(x + offset, y + offset, Int32(s), withReLU(plane(channel, mean: mean[channel], inverseStd: inv[channel]), addend),
                                 addend == nil ? nil : addend! + offset)
            }
        }
    }

    /// Training statistics of one group after a dense layer (S = 1): x (N, C) is walked a sample at
    /// a time across all channels, contiguous loops that vectorise (per channel, they were strided sums of one).
    private func forwardFeatures(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, first: Int, last: Int,
                                 mean: UnsafeMutablePointer<Float>, inverseStd inv: UnsafeMutablePointer<Float>) {
        let c = channels
        let squares = channelSums.pointer
        let count = Float(last - first)
        mean.update(repeating: 0, count: c)
        squares.update(repeating: 0, count: c)
        for n in first..<last {
            let row = x + n * c
            for k in 0..<c { mean[k] += row[k] }
        }
        for k in 0..<c {
            moments[k] += mean[k]
            mean[k] /= count
        }
        for n in first..<last {
            let row = x + n * c
            for k in 0..<c {
                let d = row[k] - mean[k]
                squares[k] += d * d
            }
        }
        for k in 0..<c {
            moments[c + k] += squares[k]
            inv[k] = 1 / (squares[k] / count + BatchNorm.epsilon).squareRoot()
        }
        for n in first..<last {
            let (row, target) = (x + n * c, y + n * c)
            for k in 0..<c { target[k] = scale[k] * ((row[k] - mean[k]) * inv[k]) + shift[k] }
        }
        if activation == .relu { applyReLU(y + first * c, count: (last - first) * c) }
    }

    /// dx written in the pass that computes it (no clearing before, no read of dx) with `overwrite`.
    public func backward(input x: UnsafePointer<Float>, output y: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                         inputGradient dx: UnsafeMutablePointer<Float>?, overwrite: Bool, batch: Int, context: PassContext) {
        precondition(context.mode != .evaluation, "BatchNorm keeps no x-hat in evaluation: differentiate a probe pass instead")
        let (c, s) = (channels, spatial)
        let training = context.mode == .training
        let group = training ? max(1, min(context.ghostBatch, batch)) : batch
        var first = 0, g = 0
        while first < batch {
            let last = min(first + group, batch)
            let statistics = training ? g * c : 0
            if s == 1 {
                if overwrite, let dx { (dx + first * c).update(repeating: 0, count: (last - first) * c) }
                backwardFeatures(x, y, dy, dx, first: first, last: last, training: training,
                                 mean: groupMean.pointer + statistics, inverseStd: inverseStd.pointer + statistics)
            } else {
                backwardPlanes(x, dy, dx, overwrite: overwrite, first: first, last: last, training: training,
                               mean: groupMean.pointer + statistics, inverseStd: inverseStd.pointer + statistics)
            }
            first = last
            g += 1
        }
    }

    /// Backward of one group of planes (S > 1), a sample at a time across the channels like forwardPlanes.
    private func backwardPlanes(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>?, overwrite: Bool,
                                first: Int, last: Int, training: Bool, mean: UnsafePointer<Float>, inverseStd inv: UnsafePointer<Float>) {
        let (c, s) = (channels, spatial)
        // Per channel, sums over the group of dy' and dy' x-hat, dy' being dy masked by the fused ReLU.
        let (sumGradient, sumProduct) = (channelSums.pointer, channelSums.pointer + c)
        sumGradient.update(repeating: 0, count: c)
        sumProduct.update(repeating: 0, count: c)
        var sums: (Float, Float) = (0, 0)
        for n in first..<last {
            for channel in 0..<c {
                let offset = (n * c + channel) * s
                withUnsafeMutableBytes(of: &sums) {
                    ddp_bn_gradient_sums(dy + offset, x + offset, Int32(s), plane(channel, mean: mean[channel], inverseStd: inv[channel]),
                                         $0.baseAddress!.assumingMemoryBound(to: Float.self))
                }
                sumGradient[channel] += sums.0
                sumProduct[channel] += sums.1
            }
        }
        for channel in 0..<c {
            scaleGradient[channel] += sumProduct[channel]
            shiftGradient[channel] += sumGradient[channel]
        }
        guard let dx else { return }
        // Training: dx = gamma inv / m (m dy' - sum dy' - x-hat sum dy' x-hat) (Ioffe & Szegedy, sec. 3);
        // a probe's statistics are constants: dx = gamma inv dy'. Both as
        // dx += factor (scaleBy dy' - meanGradient - x-hat meanProduct):
        let count = Float((last - first) * s)
        for n in first..<last {
            for channel in 0..<c {
                let plane = self.plane(channel, mean: mean[channel], inverseStd: inv[channel])
                let gammaInv = plane.scale * plane.inverse_std
                let (factor, scaleBy, meanGradient, meanProduct) = training
                    ? (gammaInv / count, count, sumGradient[channel], sumProduct[channel]) : (gammaInv, 1, 0, 0)
                let offset = (n * c + channel) * s
                ddp_bn_add_input_gradient(dy + offset, x + offset, dx + offset, Int32(s), plane, factor, scaleBy, meanGradient, meanProduct,
                                          overwrite ? 1 : 0)
            }
        }
    }

    /// Backward of one group after a dense layer (S = 1), a sample at a time across the channels.
    private func backwardFeatures(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                  _ dx: UnsafeMutablePointer<Float>?, first: Int, last: Int, training: Bool,
                                  mean: UnsafePointer<Float>, inverseStd inv: UnsafePointer<Float>) {
        let c = channels
        let relu = activation == .relu
        let (sumGradient, sumProduct) = (channelSums.pointer, channelSums.pointer + c)
        sumGradient.update(repeating: 0, count: c)
        sumProduct.update(repeating: 0, count: c)
        for n in first..<last {
            let (gradient, output, row) = (dy + n * c, y + n * c, x + n * c)
            for k in 0..<c {
                let d = relu && output[k] <= 0 ? 0 : gradient[k]
                sumGradient[k] += d
                sumProduct[k] += d * ((row[k] - mean[k]) * inv[k])
            }
        }
        for k in 0..<c {
            scaleGradient[k] += sumProduct[k]
            shiftGradient[k] += sumGradient[k]
        }
        guard let dx else { return }
        let count = Float(last - first)
        for n in first..<last {
            let (gradient, output, row, target) = (dy + n * c, y + n * c, x + n * c, dx + n * c)
            for k in 0..<c {
                let d = relu && output[k] <= 0 ? 0 : gradient[k]
                if training {
                    let xhat = (row[k] - mean[k]) * inv[k]
                    target[k] += scale[k] * inv[k] / count * (count * d - sumGradient[k] - xhat * sumProduct[k])
                } else {
                    target[k] += scale[k] * inv[k] * d
                }
            }
        }
    }

    /// The plane with the ReLU on when a residual sum is added (the block's ReLU, after the sum).
    @inline(__always)
    private func withReLU(_ plane: ddp_bn_plane, _ addend: UnsafePointer<Float>?) -> ddp_bn_plane {
        var plane = plane
        if addend != nil { plane.relu = 1 }
        return plane
    }

    /// The constants of one channel's plane passes (CConv's batch_norm.h).
    @inline(__always)
    private func plane(_ channel: Int, mean: Float, inverseStd: Float) -> ddp_bn_plane {
        ddp_bn_plane(mean: mean, inverse_std: inverseStd, scale: scale[channel], shift: shift[channel], relu: activation == .relu ? 1 : 0)
    }

    /// Per value in training: forward 8 (sum, squared deviation 3, normalise 2, scale and shift 2),
    /// backward 4 for the two sums and 5 for dx; a fused ReLU adds 1 each way.
    public func flops(batch: Int, inputGradient: Bool) -> PassFlops {
        let values = Double(batch * channels * spatial)
        let relu: Double = activation == .relu ? 1 : 0
        return PassFlops(forward: values * (8 + relu), backward: values * (4 + relu + (inputGradient ? 5 : 0)))
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
