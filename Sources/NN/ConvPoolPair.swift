// A convolution on the direct kernels followed by a max-pool, run sample by sample. Apart, the two
// layers move the convolution's whole output through memory four times (11 MB for the seed CNN at
// 128 samples: written by the convolution, read by the pool; its gradient cleared, then scattered
// by the pool's backward, then read with the ReLU's mask by the convolution's backward) while the
// step's arithmetic on it is small. Together, one sample's output (F x Ho x Wo, 86 KB there) is
// made, pooled and, backward, rebuilt from the pooled gradient while it is in cache, and the
// batch's output is never written. The numbers are the layers' own, bit for bit (ConvPoolTests):
// the same windows and ties, the same per-sample dW order, and the same mask, since a pooled value
// is its window's winning output. Sequential runs a pair this way wherever a Conv2D on the direct
// kernels is followed by a MaxPool; the layers stay two layers (names, parameters, their
// own lines in `ddp bench --layers`).
import Tensor

final class ConvPoolPair {
    /// Whether Sequentials made from now on run their pairs together: DDP_CONV=unfused runs the two
    /// layers apart (to time both ways in one build); tests set it.
    nonisolated(unsafe) static var enabled = DirectKernels.environmentChoice != "unfused"

    let conv: Conv2D, pool: MaxPool
    let direct: DirectConvolution
    /// One sample's convolution output, then its output gradient (F, Ho, Wo), where the pool does
    /// not read the grid (its windows) or the convolution needs dx.
    private var sample = FloatBuffer(count: 0)
    /// The bias a convolution without one adds (0: its store adds 0 too, which turns -0 into +0).
    private var zeroBias = FloatBuffer(count: 0)

    /// nil unless `first` is a Conv2D on the direct kernels and `second` a MaxPool.
    init?(_ first: Layer, _ second: Layer) {
        guard let conv = first as? Conv2D, let pool = second as? MaxPool, let direct = conv.direct else { return nil }
        (self.conv, self.pool, self.direct) = (conv, pool, direct)
    }

    func reserve() {
        sample = FloatBuffer(count: conv.outputSize)
        zeroBias = FloatBuffer(count: conv.filters)
    }

    /// The pool's y (N, pool output) from the convolution's x (N, conv input).
    func forward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, batch: Int) {
        let profiler = LayerProfiler.active
        var (convSeconds, poolSeconds) = (0.0, 0.0)
        let bias = conv.hasBias ? UnsafePointer(conv.bias) : nil
        let relu = conv.activation == .relu
        direct.packForward(conv.weight)
        for n in 0..<batch {
            let start = profiler == nil ? 0 : monotonicSeconds()
            let middle: Double
            if pool.readsAnyLayout && !direct.forwardByOutputs {
                // The pool reads the convolution's grid and adds the bias and ReLU as it reads.
                let grid = direct.forwardGrid(x + n * conv.inputSize)
                middle = profiler == nil ? 0 : monotonicSeconds()
                pool.forward(sample: n, grid, layout: direct.gridLayout, bias: bias ?? UnsafePointer(zeroBias.pointer), relu: relu, into: y)
            } else {
                direct.forwardSample(x + n * conv.inputSize, bias: bias, relu: relu, into: sample.pointer)
                middle = profiler == nil ? 0 : monotonicSeconds()
                pool.forward(sample: n, sample.pointer, layout: pool.dense, into: y)
            }
            if profiler != nil {
                convSeconds += middle - start
                poolSeconds += monotonicSeconds() - middle
            }
        }
        profiler?.add(conv, backward: false, seconds: convSeconds)
        profiler?.add(pool, backward: false, seconds: poolSeconds)
    }

    /// The convolution's parameter gradients and, if asked, dx (added, as every layer's) from the
    /// pool's y and dy.
    func backward(input x: UnsafePointer<Float>, poolOutput y: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                  inputGradient dx: UnsafeMutablePointer<Float>?, batch: Int) {
        let profiler = LayerProfiler.active
        var (convSeconds, poolSeconds) = (0.0, 0.0)
        let relu = conv.activation == .relu
        direct.beginBackward(weight: conv.weight, weightGradient: conv.weightGradient, inputGradient: dx != nil)
        // Without dx (the network's first layer), the pool writes the sample's gradient straight onto
        // the grid dW reads (zeros in its padding), where it would be copied there.
        let ontoGrid = pool.readsAnyLayout && dx == nil && !direct.weightGradientByFilters
        for n in 0..<batch {
            let start = profiler == nil ? 0 : monotonicSeconds()
            let middle: Double
            if ontoGrid {
                pool.backward(sample: n, outputGradient: dy, maskedBy: relu ? y : nil, layout: direct.gradientGridLayout,
                              into: ConvScratch.gradientGrid.pointer)
                middle = profiler == nil ? 0 : monotonicSeconds()
                direct.weightGradientFromGrid(input: x + n * conv.inputSize, weightGradient: conv.weightGradient,
                                              biasGradient: conv.hasBias ? conv.biasGradient : nil)
            } else {
                pool.backward(sample: n, outputGradient: dy, maskedBy: relu ? y : nil, layout: pool.dense, into: sample.pointer)
                middle = profiler == nil ? 0 : monotonicSeconds()
                // The ReLU's mask is applied above: the sample's gradient goes in as it is.
                direct.backwardSample(input: x + n * conv.inputSize, mask: nil, outputGradient: sample.pointer,
                                      weightGradient: conv.weightGradient, biasGradient: conv.hasBias ? conv.biasGradient : nil,
                                      inputGradient: dx.map { $0 + n * conv.inputSize })
            }
            if profiler != nil {
                poolSeconds += middle - start
                convSeconds += monotonicSeconds() - middle
            }
        }
        direct.endBackward(weightGradient: conv.weightGradient)
        profiler?.add(pool, backward: true, seconds: poolSeconds)
        profiler?.add(conv, backward: true, seconds: convSeconds)
    }
}
