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
        for plane in 0..<(batch * channels) {
            let source = x + plane * height * width
            for oy in 0..<outHeight {
                for ox in 0..<outWidth {
                    var best = (oy * stride) * width + ox * stride
                    for dy in 0..<size {
                        for dx in 0..<size {
                            let i = (oy * stride + dy) * width + ox * stride + dx
                            if source[i] > source[best] { best = i }
                        }
                    }
                    let o = plane * outHeight * outWidth + oy * outWidth + ox
                    y[o] = source[best]
                    argmax[o] = Int32(plane * height * width + best)
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
