// Max pooling over P x P windows with stride S (default P), without padding: the remainder
// rows/columns are dropped, as in Keras. Overlapping windows (Keskar's C1 pools 3 x 3 with stride 2)
// send a pixel's gradient once for every window it wins.
// Shapes: x (N, C, H, W), y (N, C, (H - P) / S + 1, (W - P) / S + 1). The argmax of each window is kept for backward.
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
        let argmax = argmax!
        if size == 2 && stride == 2 {
            forward2x2(x, into: y, argmax: argmax, planes: batch * channels)
            return
        }
        // Keskar's C1 pools 3 x 3 with stride 2: a literal size lets the compiler unroll the window.
        if size == 3 {
            forwardWindows(x, into: y, argmax: argmax, planes: batch * channels, size: 3)
        } else {
            forwardWindows(x, into: y, argmax: argmax, planes: batch * channels, size: size)
        }
    }

    /// Any window and stride, with selects rather than branches (see forward2x2); ties go to the
    /// first pixel in row order. (Measured alone on 128 x 64 planes of 28 x 28, 3 x 3 stride 2: the
    /// branching loop 44 ms, this 20 ms; a row of outputs as the inner loop was 26 ms.)
    @inline(__always)
    private func forwardWindows(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                                argmax: UnsafeMutablePointer<Int32>, planes: Int, size: Int) {
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
                    argmax[o + ox] = Int32(truncatingIfNeeded: best)
                }
            }
        }
    }

    /// The common 2x2 window without the generic window loops (the seed CNN's pool was a seventh
    /// of its step). Ties go to the first in row order, as in the general loop.
    private func forward2x2(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                            argmax: UnsafeMutablePointer<Int32>, planes: Int) {
        let (planeSize, outSize) = (height * width, outHeight * outWidth)
        for plane in 0..<planes {
            let base = plane * planeSize
            for oy in 0..<outHeight {
                let top = base + 2 * oy * width
                let o = plane * outSize + oy * outWidth
                for ox in 0..<outWidth {
                    // Selects, not branches: which of four pixels is largest is a coin toss to the
                    // branch predictor, and mispredictions made this loop a sixth of the step.
                    // (Written out: a nested helper capturing value and best allocated boxes in debug builds.)
                    let i = top + 2 * ox
                    var best = i, value = x[i]
                    var larger = x[i + 1] > value
                    value = larger ? x[i + 1] : value
                    best = larger ? i + 1 : best
                    larger = x[i + width] > value
                    value = larger ? x[i + width] : value
                    best = larger ? i + width : best
                    larger = x[i + width + 1] > value
                    value = larger ? x[i + width + 1] : value
                    best = larger ? i + width + 1 : best
                    y[o + ox] = value
                    argmax[o + ox] = Int32(truncatingIfNeeded: best)
                }
            }
        }
    }

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
