// Max pooling over P x P windows with stride S (default P), without padding: the remainder
// rows/columns are dropped, as in Keras. Overlapping windows (Keskar's C1 pools 3 x 3 with stride 2)
// send a pixel's gradient once for every window it wins.
// Shapes: x (N, C, H, W), y (N, C, (H - P) / S + 1, (W - P) / S + 1). The argmax of each window is kept for backward.
import CConv
import Tensor

public final class MaxPool: Layer {
    public let channels: Int, height: Int, width: Int, size: Int, stride: Int
    private var argmax: UnsafeMutablePointer<Int32>?
    private var capacity = 0

    public init(channels: Int, height: Int, width: Int, size: Int, stride: Int? = nil) {
        self.channels = channels
        self.height = height
        self.width = width
        self.size = size
        self.stride = stride ?? size
        outHeight = (height - size) / self.stride + 1
        outWidth = (width - size) / self.stride + 1
        inputShape = [channels, height, width]
        outputShape = [channels, outHeight, outWidth]
    }

    deinit { argmax?.deallocate() }

    public let outHeight: Int, outWidth: Int
    public let inputShape: [Int]
    public let outputShape: [Int]

    public func reserve(batch: Int, trainingBatch: Int) {
        guard batch > capacity else { return }
        precondition(batch * inputSize <= Int(Int32.max), "MaxPool batch \(batch) too large for its Int32 argmax")
        argmax?.deallocate()
        argmax = .allocate(capacity: batch * outputSize)
        capacity = batch
    }

    public func forward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, batch: Int, context: PassContext) {
        precondition(batch <= capacity, "MaxPool used before reserve(batch:)")
        pool(x, into: y, argmax: argmax!, planes: batch * channels, indexBase: 0)
    }

    /// Where one sample's input planes lie for the per-sample passes: rows `rowStride` floats apart,
    /// planes `planeStride` apart (dense: width and height x width; a convolution's grid: its row
    /// width and length, readable by the 2 x 2 stride-2 kernels only).
    struct PlaneLayout {
        let rowStride: Int, planeStride: Int
    }

    var dense: PlaneLayout { PlaneLayout(rowStride: width, planeStride: height * width) }

    /// Whether the per-sample passes take a layout other than dense, and a bias and ReLU (CConv's
    /// max_pool.h): the 2 x 2 windows with stride 2.
    var readsAnyLayout: Bool { size == 2 && stride == 2 }

    /// Forward for sample n alone, x its input (C planes in `layout`): y and the argmax at sample n's
    /// place, the argmax as indices into the batch's dense input, as forward writes them
    /// (ConvPoolPair). With a bias (readsAnyLayout only), each pixel is taken as relu?(x + bias[c]).
    func forward(sample n: Int, _ x: UnsafePointer<Float>, layout: PlaneLayout, bias: UnsafePointer<Float>? = nil, relu: Bool = false,
                 into y: UnsafeMutablePointer<Float>) {
        if readsAnyLayout {
            ddp_pool2x2(x, Int32(channels), Int32(height), Int32(width), Int32(layout.rowStride), Int32(layout.planeStride), bias,
                        relu ? 1 : 0, Int32(n * inputSize), y + n * outputSize, argmax! + n * outputSize)
            return
        }
        precondition(layout.rowStride == width && layout.planeStride == height * width && bias == nil,
                     "MaxPool \(size)x\(size)/\(stride) reads dense planes only")
        pool(x, into: y + n * outputSize, argmax: argmax! + n * outputSize, planes: channels, indexBase: n * inputSize)
    }

    /// Sample n's input gradient, written into `target` (C planes in `layout`, every float of each
    /// plane's stride written): dy's routes to each window's winner, in backward's order, only where
    /// `output` (this layer's y) is positive when given: a fused ReLU before the pool passes a
    /// gradient only where its output, the window's winner, is positive. Each pixel's value is what
    /// backward would add to a cleared buffer (0 + its dy's); padding gets 0.
    func backward(sample n: Int, outputGradient dy: UnsafePointer<Float>, maskedBy output: UnsafePointer<Float>?,
                  layout: PlaneLayout, into target: UnsafeMutablePointer<Float>) {
        let argmax = argmax!, base = n * inputSize
        if readsAnyLayout {
            ddp_pool2x2_gradient(dy + n * outputSize, output.map { $0 + n * outputSize }, argmax + n * outputSize, Int32(base),
                                 Int32(channels), Int32(height), Int32(width), Int32(layout.rowStride), Int32(layout.planeStride), target)
            return
        }
        precondition(layout.rowStride == width && layout.planeStride == height * width, "MaxPool \(size)x\(size)/\(stride) writes dense planes only")
        target.update(repeating: 0, count: inputSize)
        let outputs = (n * outputSize)..<((n + 1) * outputSize)
        guard let output else {
            for o in outputs { target[Int(argmax[o]) - base] += dy[o] }
            return
        }
        // A select, not a branch (half the outputs are cut: a branch mispredicted at every other
        // one and took 4x the unmasked loop); adding 0 leaves a cut pixel's 0 as it was.
        for o in outputs {
            let value = dy[o]
            target[Int(argmax[o]) - base] += output[o] > 0 ? value : 0
        }
    }

    /// `planes` planes from x, their argmax written as indexBase + the index into x.
    private func pool(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>,
                      planes: Int, indexBase: Int) {
        if readsAnyLayout {
            // The common window in vectors (CConv's max_pool.h; the scalar select loop took 1.4 ms
            // of the seed CNN's 9.9 ms step, Swift's SSE vectors 1.0).
            ddp_pool2x2(x, Int32(planes), Int32(height), Int32(width), Int32(width), Int32(height * width), nil, 0, Int32(indexBase), y, argmax)
            return
        }
        // Keskar's C1 pools 3 x 3 with stride 2: in vectors of outputs (max_pool.h; this loop took
        // 4.7-6.3 ms of C1's step at 128 per rank on its 64 x 28 x 28 input).
        if size == 3 && stride == 2 {
            ddp_pool3x3s2(x, Int32(planes), Int32(height), Int32(width), Int32(outHeight), Int32(outWidth), Int32(indexBase), y, argmax)
            return
        }
        // Other 3 x 3 pools: a literal size lets the compiler unroll the window.
        if size == 3 {
            forwardWindows(x, into: y, argmax: argmax, planes: planes, size: 3, indexBase: indexBase)
        } else {
            forwardWindows(x, into: y, argmax: argmax, planes: planes, size: size, indexBase: indexBase)
        }
    }

    /// Any window and stride, with selects rather than branches (see max_pool.h); ties go to the
    /// first pixel in row order. (Measured alone on 128 x 64 planes of 28 x 28, 3 x 3 stride 2: the
    /// branching loop 44 ms, this 20 ms; a row of outputs as the inner loop was 26 ms.)
    @inline(__always)
    private func forwardWindows(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                                argmax: UnsafeMutablePointer<Int32>, planes: Int, size: Int, indexBase: Int) {
        let (planeSize, outSize) = (height * width, outHeight * outWidth)
        for plane in 0..<planes {
            let base = plane * planeSize
            for oy in 0..<outHeight {
                let top = base + oy * stride * width
                let o = plane * outSize + oy * outWidth
                for ox in 0..<outWidth {
                    // Wrapping arithmetic: indices stay below Int32.max (reserve checks that).
                    let corner = top &+ ox &* stride
                    var best = corner, value = x[corner]
                    for dy in 0..<size {
                        let row = corner &+ dy &* width
                        for dx in 0..<size {
                            let i = row &+ dx
                            let larger = x[i] > value
                            value = larger ? x[i] : value
                            best = larger ? i : best
                        }
                    }
                    y[o + ox] = value
                    argmax[o + ox] = Int32(truncatingIfNeeded: indexBase &+ best)
                }
            }
        }
    }

    /// Sample n's winners as forward wrote them (tests).
    func argmaxForTests(sample n: Int) -> [Int32] { Array(UnsafeBufferPointer(start: argmax! + n * outputSize, count: outputSize)) }

    /// P*P - 1 comparisons per output forward; one add per output backward.
    public func flops(batch: Int, inputGradient: Bool) -> PassFlops {
        let outputs = Double(batch * outputSize)
        return PassFlops(forward: outputs * Double(size * size - 1), backward: inputGradient ? outputs : 0)
    }

    public func backward(input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
                         outputGradient dy: UnsafePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>?,
                         batch: Int, context: PassContext) {
        guard let dx, let argmax else { return }
        for o in 0..<(batch * outputSize) { dx[Int(argmax[o])] += dy[o] }
    }
}
